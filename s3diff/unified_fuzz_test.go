package s3diff

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// applyUnified is a strict patch: it applies a unified diff to old, checking every context
// and removed line, and handling "\ No newline at end of file".
func applyUnified(old, diff string) (string, error) {
	src := splitLines(old)
	lines := splitLines(diff)
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		return "", fmt.Errorf("no headers")
	}
	var out []string
	pos := 0 // next source line (0-based)
	i := 2
	for i < len(lines) {
		h := lines[i]
		var oldStart, oldN, newStart, newN int
		if err := parseHunkHeader(h, &oldStart, &oldN, &newStart, &newN); err != nil {
			return "", err
		}
		i++
		start := oldStart - 1
		if oldN == 0 {
			start = oldStart
		}
		if start < pos || start > len(src) {
			return "", fmt.Errorf("hunk %q out of order", h)
		}
		out = append(out, src[pos:start]...)
		pos = start
		seenOld, seenNew := 0, 0
		for i < len(lines) && !strings.HasPrefix(lines[i], "@@ ") {
			l := lines[i]
			i++
			text := l[1:]
			if i < len(lines) && strings.HasPrefix(lines[i], "\\ No newline at end of file") {
				text = strings.TrimSuffix(text, "\n")
				i++
			}
			switch l[0] {
			case ' ', '-':
				if pos >= len(src) || src[pos] != text {
					return "", fmt.Errorf("line %d: want %q, have %q", pos+1, text, at(src, pos))
				}
				pos++
				seenOld++
				if l[0] == ' ' {
					out = append(out, text)
					seenNew++
				}
			case '+':
				out = append(out, text)
				seenNew++
			default:
				return "", fmt.Errorf("bad line %q", l)
			}
		}
		if seenOld != oldN || seenNew != newN {
			return "", fmt.Errorf("hunk %q has %d/%d lines", strings.TrimSpace(h), seenOld, seenNew)
		}
	}
	out = append(out, src[pos:]...)
	return strings.Join(out, ""), nil
}

func at(src []string, i int) string {
	if i < len(src) {
		return src[i]
	}
	return "<end of file>"
}

func parseHunkHeader(h string, os, on, ns, nn *int) error {
	f := strings.Fields(h)
	if len(f) < 4 || f[0] != "@@" || f[3] != "@@" {
		return fmt.Errorf("bad hunk header %q", h)
	}
	rng := func(s string, start, n *int) error {
		a, b, found := strings.Cut(s, ",")
		var err error
		if *start, err = strconv.Atoi(a); err != nil {
			return err
		}
		*n = 1
		if found {
			*n, err = strconv.Atoi(b)
		}
		return err
	}
	if err := rng(strings.TrimPrefix(f[1], "-"), os, on); err != nil {
		return err
	}
	return rng(strings.TrimPrefix(f[2], "+"), ns, nn)
}

func unified(old, new string, ctx int) string {
	sc, _, err := diffLines(old, new, 0)
	if err != nil {
		panic(err)
	}
	r := &Result{Key: "k", From: Version{VersionID: "a"}, To: Version{VersionID: "b"}, Status: StatusChanged, Hunks: hunks(sc, ctx)}
	return r.Unified()
}

func FuzzUnifiedDiffApplies(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nB\nc\n", uint8(3))
	f.Add("", "x", uint8(0))
	f.Add("x\ny", "x\ny\n", uint8(1))
	f.Add("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "0\n1\n2\n3\n5\n6\n7\n9\n10", uint8(2))
	f.Fuzz(func(t *testing.T, old, new string, ctx uint8) {
		if old == new {
			return
		}
		d := unified(old, new, int(ctx%6))
		got, err := applyUnified(old, d)
		if err != nil {
			t.Fatalf("does not apply: %v\nold %q\nnew %q\ndiff:\n%s", err, old, new, d)
		}
		if got != new {
			t.Fatalf("applies to %q, want %q\ndiff:\n%s", got, new, d)
		}
	})
}
