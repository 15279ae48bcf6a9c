// Package cli is the little that the example binaries share: exit codes, flag parsing that
// turns every mistake into one line on stderr and exit 2 before anything else happens, and
// printing an error with the program's name exactly once.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Exit codes every binary uses; binaries document their own codes from 3 up.
const (
	ExitOK    = 0
	ExitError = 1 // operational error: something failed at run time
	ExitUsage = 2 // usage error: nothing was done, no request was made
)

// Parse parses args into fs. -h/-help prints usage to stderr and gives (ExitOK, true); a flag
// error prints one line naming the flag and gives (ExitUsage, true); otherwise (0, false).
func Parse(fs *flag.FlagSet, args []string, stderr io.Writer, usage func(io.Writer)) (code int, done bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(stderr)
		return ExitOK, true
	case err != nil:
		return Usage(stderr, fs.Name(), "%v", err), true
	}
	return 0, false
}

// Help is a usage function for Parse: text, then the flags with their defaults.
func Help(fs *flag.FlagSet, text string) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprint(w, text)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// Usage prints "prog: message (see prog -h)" on one line and returns ExitUsage.
func Usage(stderr io.Writer, prog, format string, args ...any) int {
	msg := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " ")
	name, _, _ := strings.Cut(prog, " ")
	fmt.Fprintf(stderr, "%s: %s (see %s -h)\n", prog, msg, name)
	return ExitUsage
}

// Fail prints "prog: err" and returns ExitError. When the error's text already starts with
// "prog: " (the package the binary is named after said so), the name is not repeated.
func Fail(stderr io.Writer, prog string, err error) int {
	fmt.Fprintln(stderr, Message(prog, err))
	return ExitError
}

// Message is the one line Fail prints.
func Message(prog string, err error) string {
	text := err.Error()
	if strings.HasPrefix(text, prog+": ") {
		return text
	}
	return prog + ": " + text
}

// Duration checks a duration flag that must be positive.
func Duration(name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("-%s %s: want a positive duration such as 30s or 5m", name, d)
	}
	return nil
}

// IsSet reports whether the flag was given on the command line (even with its default
// value), so that an explicitly empty value can be told from a missing one.
func IsSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// SplitList reads a comma-separated setting, trimmed, empty items dropped.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
