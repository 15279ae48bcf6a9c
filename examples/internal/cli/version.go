package cli

import (
	"fmt"
	"io"
	"runtime/debug"
)

// Version is what `-version` prints and a Lambda's first log line holds: the program, the
// module's version (a release tag when built from the module, "devel" in a checkout), the
// VCS revision it was built from, whether the tree had uncommitted changes, and Go's version.
func Version(prog string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return prog + " (no build information)"
	}
	version := bi.Main.Version
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		rev = "unknown revision"
	}
	return fmt.Sprintf("%s %s (%s%s, %s) %s", prog, version, rev, modified, bi.Main.Path, bi.GoVersion)
}

// AskedVersion reports whether the command line asks for -version (anywhere before "--"),
// and prints the version to stdout when it does: every binary answers it, and nothing else is
// done then.
func AskedVersion(prog string, args []string, stdout io.Writer) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-version", "--version", "-version=true", "--version=true":
			fmt.Fprintln(stdout, Version(prog))
			return true
		}
	}
	return false
}
