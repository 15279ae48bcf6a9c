package textdiff

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// splitLines splits s into lines that keep their "\n"; a last line without one is kept.
func splitLines(s string) []string {
	t := splitText(s)
	out := make([]string, t.lines())
	for i := range out {
		out[i] = t.line(i)
	}
	return out
}

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

// testDiff is a diff of two texts with its hunks and counts, as s3diff's Result holds one.
type testDiff struct {
	diff                     *Diff
	Hunks                    []Hunk
	LinesAdded, LinesRemoved int
	Approximate              bool
}

// header is the file header the tests put before the hunks.
const header = "--- a/k\ta\n+++ b/k\tb\n"

func (r *testDiff) unifiedHeader() string { return header }

// Unified is the whole unified diff: the header, then the hunks.
func (r *testDiff) Unified() string {
	var b strings.Builder
	b.WriteString(header)
	r.diff.WriteUnified(&b, r.Hunks)
	return b.String()
}

// WordDiff is the word diff of the hunks, with the default budget per word.
func (r *testDiff) WordDiff() string {
	var b strings.Builder
	r.diff.WriteWordDiff(&b, r.Hunks, 0)
	return b.String()
}

// diffResult runs the line diff on two texts with a budget and ctx lines of context.
func diffResult(t testing.TB, old, new string, ctx int, budget int64) *testDiff {
	t.Helper()
	d, err := compute(context.Background(), old, new, budget)
	if err != nil {
		t.Fatalf("compute: %v", err)
	}
	r := &testDiff{diff: d, Hunks: d.Hunks(ctx), Approximate: d.Coarse().Regions > 0}
	for _, h := range r.Hunks {
		r.LinesAdded += h.Added
		r.LinesRemoved += h.Removed
	}
	return r
}

func FuzzUnifiedDiffApplies(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nB\nc\n", uint8(3), uint16(0))
	f.Add("", "x", uint8(0), uint16(1))
	f.Add("x\ny", "x\ny\n", uint8(1), uint16(3))
	f.Add("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "0\n1\n2\n3\n5\n6\n7\n9\n10", uint8(2), uint16(7))
	f.Add(strings.Repeat("a\nb\n", 40), strings.Repeat("b\na\n", 40), uint8(3), uint16(50))
	f.Fuzz(func(t *testing.T, old, new string, ctx uint8, budget uint16) {
		if old == new {
			return
		}
		b := int64(budget) // 0: unlimited
		if b == 0 {
			b = 1 << 40
		}
		r := diffResult(t, old, new, int(ctx%6), b)
		d := r.Unified()
		checkScript(t, r.diff)
		got, err := applyUnified(old, d)
		if err != nil {
			t.Fatalf("does not apply: %v\nold %q\nnew %q\ndiff:\n%s", err, old, new, d)
		}
		if got != new {
			t.Fatalf("applies to %q, want %q\ndiff:\n%s", got, new, d)
		}
		if again := diffResult(t, old, new, int(ctx%6), b).Unified(); again != d {
			t.Fatalf("not deterministic:\n%s\nthen\n%s", d, again)
		}
		if len(d) != len(r.Unified()) || len(r.unifiedHeader())+r.diff.UnifiedSize(r.Hunks) != len(d) {
			t.Fatalf("UnifiedSize %d, text %d", r.diff.UnifiedSize(r.Hunks)+len(r.unifiedHeader()), len(d))
		}
		wordDiffKeepsText(t, r)
	})
}

// checkScript verifies that the unchanged lines of both sides pair up: as many on each side,
// with the same text in the same order.
func checkScript(t testing.TB, d *Diff) {
	t.Helper()
	var oldKept, newKept []string
	for i, ch := range d.chOld {
		if !ch {
			oldKept = append(oldKept, d.old.line(i))
		}
	}
	for j, ch := range d.chNew {
		if !ch {
			newKept = append(newKept, d.new.line(j))
		}
	}
	if strings.Join(oldKept, "\x00") != strings.Join(newKept, "\x00") || len(oldKept) != len(newKept) {
		t.Fatalf("unchanged lines do not pair up: %q vs %q", oldKept, newKept)
	}
}

// wordDiffKeepsText checks that the word diff, read back, gives both versions of every hunk:
// dropping {+...+} and unwrapping [-...-] gives the old lines, and the other way round.
func wordDiffKeepsText(t testing.TB, r *testDiff) {
	t.Helper()
	wd := r.WordDiff()
	if strings.ContainsAny(r.diff.old.s+r.diff.new.s, "[]{}@\\") {
		return // text that looks like marks can't be read back
	}
	if r.LinesAdded+r.LinesRemoved == 0 {
		return
	}
	if !strings.HasPrefix(wd, "@@ ") {
		t.Fatalf("word diff does not start with a hunk header: %q", wd)
	}
	if strings.Contains(wd, "\n\\ word diff skipped") {
		return // a line diff, checked through Unified
	}
	for k, body := range strings.Split(wd, "\n@@ ")[0:] {
		h := r.Hunks[k]
		body = body[strings.IndexByte(body, '\n')+1:]
		oldWant := r.diff.old.span(h.oldAt, h.oldAt+h.OldLines)
		newWant := r.diff.new.span(h.newAt, h.newAt+h.NewLines)
		oldGot, newGot := unmark(body, "[-", "-]", "{+", "+}"), unmark(body, "{+", "+}", "[-", "-]")
		// The word diff ends every hunk with a newline, so it can't tell whether a version
		// ends with one: compare without trailing newlines.
		trim := func(s string) string { return strings.TrimRight(s, "\n") }
		if trim(oldGot) != trim(oldWant) || trim(newGot) != trim(newWant) {
			t.Fatalf("hunk %d of the word diff does not give back its lines:\n%q\nold %q\nnew %q", k, body, oldWant, newWant)
		}
	}
}

// unmark keeps the text inside keepOpen/keepClose and drops what is inside dropOpen/dropClose.
// The texts of the tests contain no marks of their own.
func unmark(s, keepOpen, keepClose, dropOpen, dropClose string) string {
	var b strings.Builder
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, keepOpen):
			end := strings.Index(s, keepClose)
			b.WriteString(s[len(keepOpen):end])
			s = s[end+len(keepClose):]
		case strings.HasPrefix(s, dropOpen):
			end := strings.Index(s, dropClose)
			s = s[end+len(dropClose):]
		default:
			b.WriteByte(s[0])
			s = s[1:]
		}
	}
	return b.String()
}
