// Package docscheck keeps the documentation honest: every test a doc names must exist.
package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testRef is how docs name a test: `dir:TestName` (or Fuzz..., Benchmark...).
var testRef = regexp.MustCompile("`([a-z0-9/_-]+):((?:Test|Fuzz|Benchmark)\\w+)`")

// TestReliabilityNamesRealTests: every test docs/RELIABILITY.md names exists in its
// directory, and no table cell is empty.
func TestReliabilityNamesRealTests(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "RELIABILITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	refs := testRef.FindAllStringSubmatch(string(doc), -1)
	if len(refs) < 50 {
		t.Fatalf("only %d test references found; the tables are meant to name a test in every cell", len(refs))
	}
	for _, ref := range refs {
		dir, name := ref[1], ref[2]
		files, _ := filepath.Glob(filepath.Join(root, dir, "*_test.go"))
		found := false
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(src), "func "+name+"(") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("docs/RELIABILITY.md names %s:%s, which does not exist", dir, name)
		}
	}
	for i, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for _, c := range cells {
			if strings.TrimSpace(c) == "" {
				t.Errorf("docs/RELIABILITY.md line %d has an empty cell: %s", i+1, line)
			}
		}
	}
}
