// Package sizecheck holds the test that keeps every room of the house small enough to hold in
// the head: no package over maxPackageLines lines of library code, no file over maxFileLines.
package sizecheck

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	// maxPackageLines: non-blank, non-comment lines of a package's non-test .go files.
	maxPackageLines = 2500
	// maxFileLines: all lines of one non-test .go file.
	maxFileLines = 800
)

// codeLines counts the lines of a Go file, all of them and those that are neither blank nor
// only a comment (a line inside a /* */ block counts as comment).
func codeLines(path string) (all, code int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	inBlock := false
	for sc.Scan() {
		all++
		line := strings.TrimSpace(sc.Text())
		switch {
		case inBlock:
			if strings.Contains(line, "*/") {
				inBlock = false
			}
		case line == "", strings.HasPrefix(line, "//"):
		case strings.HasPrefix(line, "/*"):
			inBlock = !strings.Contains(line, "*/")
		default:
			code++
		}
	}
	return all, code, sc.Err()
}

func TestNoPackageOrFileIsTooBigToHoldInTheHead(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{.Dir}}{{range .GoFiles}} {{.}}{{end}}`, "github.com/shipshape-dev/shipshape/...").CombinedOutput()
	require.NoError(t, err, "go list: %s", out)

	var problems []string
	packages := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		require.GreaterOrEqual(t, len(fields), 2, "go list line %q", line)
		pkg, dir, files := fields[0], fields[1], fields[2:]
		total := 0
		for _, name := range files {
			all, code, err := codeLines(filepath.Join(dir, name))
			require.NoError(t, err)
			total += code
			if all > maxFileLines {
				problems = append(problems, fmt.Sprintf("%s/%s: %d lines (at most %d: split it by what its parts do)", pkg, name, all, maxFileLines))
			}
		}
		if total > maxPackageLines {
			problems = append(problems, fmt.Sprintf("%s: %d lines of library code (at most %d: cut it into packages by what they own)", pkg, total, maxPackageLines))
		}
		packages++
	}
	sort.Strings(problems)
	require.Empty(t, problems, "rooms too big to hold in the head (docs/ARCHITECTURE.md)")
	require.Greater(t, packages, 20, "go list returned fewer packages than the module has")
}

func TestCodeLinesCountsNeitherBlanksNorComments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.go")
	src := "// Package x.\npackage x\n\n/* a\nblock */\nvar a = 1 // trailing\n\t// indented comment\nfunc f() {}\n"
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	all, code, err := codeLines(path)
	require.NoError(t, err)
	require.Equal(t, 8, all)
	require.Equal(t, 3, code, "package x, var a, func f")
}
