package s3diff

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// opKind is what happened to one line.
type opKind byte

const (
	opEqual  opKind = ' '
	opDelete opKind = '-'
	opInsert opKind = '+'
)

// lineOp is one line of the edit script.
type lineOp struct {
	kind         opKind
	line         string // with its "\n", if it has one
	oldAt, newAt int    // lines of the old and new text before this one
}

// splitLines splits s into lines that keep their "\n"; a last line without one is kept as is.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := make([]string, 0, strings.Count(s, "\n")+1)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// tokenRunes maps tokens to runes, one rune per distinct token, so that go-diff can diff
// sequences of lines (or words) as if they were characters. Runes skip the UTF-16 surrogate
// range, which Go strings can't hold.
type tokenRunes struct {
	index  map[string]rune
	tokens []string
}

const maxTokens = 0x10FFFF - 0x800

func newTokenRunes() *tokenRunes { return &tokenRunes{index: make(map[string]rune)} }

func (t *tokenRunes) runes(tokens []string) ([]rune, error) {
	out := make([]rune, len(tokens))
	for i, tok := range tokens {
		r, ok := t.index[tok]
		if !ok {
			n := len(t.tokens)
			if n >= maxTokens {
				return nil, fmt.Errorf("s3diff: more than %d distinct lines; too many to diff", maxTokens)
			}
			r = rune(n)
			if r >= 0xD800 {
				r += 0x800
			}
			t.index[tok] = r
			t.tokens = append(t.tokens, tok)
		}
		out[i] = r
	}
	return out, nil
}

func (t *tokenRunes) token(r rune) string {
	if r >= 0xD800 {
		r -= 0x800
	}
	return t.tokens[r]
}

// diffTokens diffs two token sequences with go-diff (on one rune per token), within timeout.
// It returns the edit script as (kind, token) pairs, and whether the timeout cut it short.
func diffTokens(a, b []string, timeout time.Duration) ([]opKind, []string, bool, error) {
	tr := newTokenRunes()
	ra, err := tr.runes(a)
	if err != nil {
		return nil, nil, false, err
	}
	rb, err := tr.runes(b)
	if err != nil {
		return nil, nil, false, err
	}
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = timeout
	start := time.Now()
	diffs := dmp.DiffMainRunes(ra, rb, false)
	approximate := timeout > 0 && time.Since(start) >= timeout

	kinds := make([]opKind, 0, len(a)+len(b))
	toks := make([]string, 0, len(a)+len(b))
	for _, d := range diffs {
		k := opEqual
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			k = opDelete
		case diffmatchpatch.DiffInsert:
			k = opInsert
		}
		for _, r := range d.Text {
			kinds = append(kinds, k)
			toks = append(toks, tr.token(r))
		}
	}
	return kinds, toks, approximate, nil
}

// diffLines returns the line edit script from old to new.
func diffLines(old, new string, timeout time.Duration) ([]lineOp, bool, error) {
	kinds, lines, approximate, err := diffTokens(splitLines(old), splitLines(new), timeout)
	if err != nil {
		return nil, false, err
	}
	ops := make([]lineOp, len(kinds))
	oldAt, newAt := 0, 0
	for i, k := range kinds {
		ops[i] = lineOp{kind: k, line: lines[i], oldAt: oldAt, newAt: newAt}
		if k != opInsert {
			oldAt++
		}
		if k != opDelete {
			newAt++
		}
	}
	return ops, approximate, nil
}

// Hunk is one group of changes with its context, as in a unified diff.
type Hunk struct {
	OldStart, OldLines int // 1-based start and length in the old version
	NewStart, NewLines int // likewise in the new version
	Added, Removed     int
	ops                []lineOp
}

// hunks groups the edit script into hunks with ctx lines of context around each change;
// changes separated by at most 2*ctx unchanged lines share a hunk, as in GNU diff.
func hunks(ops []lineOp, ctx int) []Hunk {
	var out []Hunk
	n := len(ops)
	i := 0
	for {
		for i < n && ops[i].kind == opEqual {
			i++
		}
		if i == n {
			return out
		}
		start := max(i-ctx, 0)
		end := i
		for end < n {
			if ops[end].kind != opEqual {
				end++
				continue
			}
			j := end
			for j < n && ops[j].kind == opEqual {
				j++
			}
			if j == n || j-end > 2*ctx {
				end = min(end+ctx, j)
				break
			}
			end = j
		}
		out = append(out, makeHunk(ops[start:end]))
		i = end
	}
}

func makeHunk(ops []lineOp) Hunk {
	h := Hunk{ops: ops, OldStart: ops[0].oldAt, NewStart: ops[0].newAt}
	for _, op := range ops {
		switch op.kind {
		case opEqual:
			h.OldLines++
			h.NewLines++
		case opDelete:
			h.OldLines++
			h.Removed++
		case opInsert:
			h.NewLines++
			h.Added++
		}
	}
	// A side with lines starts at its first line; an empty side is named by the line before
	// it (0 at the top of the file), as GNU diff writes it.
	if h.OldLines > 0 {
		h.OldStart++
	}
	if h.NewLines > 0 {
		h.NewStart++
	}
	return h
}

// header writes "@@ -a,b +c,d @@" the way GNU diff does (",1" left out).
func (h Hunk) header() string {
	rng := func(start, n int) string {
		if n == 1 {
			return strconv.Itoa(start)
		}
		return strconv.Itoa(start) + "," + strconv.Itoa(n)
	}
	return "@@ -" + rng(h.OldStart, h.OldLines) + " +" + rng(h.NewStart, h.NewLines) + " @@"
}
