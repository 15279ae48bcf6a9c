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

// lineOp is one line of a hunk.
type lineOp struct {
	kind opKind
	line string // with its "\n", if it has one
}

// edit is one line of the whole edit script: what happened, and which line (as its rune in
// the tokenRunes table). Eight bytes a line, so that big files stay cheap.
type edit struct {
	kind opKind
	r    rune
}

// script is the line edit script from an old to a new text.
type script struct {
	edits []edit
	lines *tokenRunes
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

func newTokenRunes(hint int) *tokenRunes {
	return &tokenRunes{index: make(map[string]rune, hint), tokens: make([]string, 0, hint)}
}

func (t *tokenRunes) runes(tokens []string) ([]rune, error) {
	out := make([]rune, len(tokens))
	for i, tok := range tokens {
		r, err := t.rune(tok)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// lineRunes maps each line of s (with its "\n") to a rune, without keeping the lines.
func (t *tokenRunes) lineRunes(s string) ([]rune, error) {
	out := make([]rune, 0, strings.Count(s, "\n")+1)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		line := s
		if i >= 0 {
			line = s[:i+1]
		}
		s = s[len(line):]
		r, err := t.rune(line)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (t *tokenRunes) rune(tok string) (rune, error) {
	if r, ok := t.index[tok]; ok {
		return r, nil
	}
	n := len(t.tokens)
	if n >= maxTokens {
		return 0, fmt.Errorf("s3diff: more than %d distinct lines; too many to diff", maxTokens)
	}
	r := rune(n)
	if r >= 0xD800 {
		r += 0x800
	}
	t.index[tok] = r
	t.tokens = append(t.tokens, tok)
	return r, nil
}

func (t *tokenRunes) token(r rune) string {
	if r >= 0xD800 {
		r -= 0x800
	}
	return t.tokens[r]
}

// diffRunes runs go-diff on two rune sequences within timeout (0: none) and reports whether
// the timeout cut it short.
func diffRunes(ra, rb []rune, timeout time.Duration) ([]diffmatchpatch.Diff, bool) {
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = timeout
	start := time.Now()
	diffs := dmp.DiffMainRunes(ra, rb, false)
	return diffs, timeout > 0 && time.Since(start) >= timeout
}

func kindOf(t diffmatchpatch.Operation) opKind {
	switch t {
	case diffmatchpatch.DiffDelete:
		return opDelete
	case diffmatchpatch.DiffInsert:
		return opInsert
	}
	return opEqual
}

// diffTokens diffs two token sequences (words) with go-diff, one rune per token, and
// returns the edit script as (kind, token) pairs.
func diffTokens(a, b []string, timeout time.Duration) ([]opKind, []string, bool, error) {
	tr := newTokenRunes(max(len(a), len(b)))
	ra, err := tr.runes(a)
	if err != nil {
		return nil, nil, false, err
	}
	rb, err := tr.runes(b)
	if err != nil {
		return nil, nil, false, err
	}
	diffs, approximate := diffRunes(ra, rb, timeout)
	var kinds []opKind
	var toks []string
	for _, d := range diffs {
		for _, r := range d.Text {
			kinds = append(kinds, kindOf(d.Type))
			toks = append(toks, tr.token(r))
		}
	}
	return kinds, toks, approximate, nil
}

// diffLines returns the line edit script from old to new.
func diffLines(old, new string, timeout time.Duration) (script, bool, error) {
	tr := newTokenRunes(strings.Count(old, "\n") + 1)
	ra, err := tr.lineRunes(old)
	if err != nil {
		return script{}, false, err
	}
	rb, err := tr.lineRunes(new)
	if err != nil {
		return script{}, false, err
	}
	tr.index = nil // the lookup table is done with; let the GC have it while go-diff works
	diffs, approximate := diffRunes(ra, rb, timeout)
	edits := make([]edit, 0, max(len(ra), len(rb))+len(diffs))
	for _, d := range diffs {
		k := kindOf(d.Type)
		for _, r := range d.Text {
			edits = append(edits, edit{kind: k, r: r})
		}
	}
	return script{edits: edits, lines: tr}, approximate, nil
}

// hunks groups the edit script into hunks with ctx lines of context around each change;
// changes separated by at most 2*ctx unchanged lines share a hunk, as in GNU diff.
func hunks(sc script, ctx int) []Hunk {
	var out []Hunk
	ed := sc.edits
	n := len(ed)
	i := 0
	oldAt, newAt := 0, 0 // lines of each side before ed[pos]
	pos := 0
	advance := func(to int) {
		for ; pos < to; pos++ {
			if ed[pos].kind != opInsert {
				oldAt++
			}
			if ed[pos].kind != opDelete {
				newAt++
			}
		}
	}
	for {
		for i < n && ed[i].kind == opEqual {
			i++
		}
		if i == n {
			return out
		}
		start := max(i-ctx, 0)
		end := i
		for end < n {
			if ed[end].kind != opEqual {
				end++
				continue
			}
			j := end
			for j < n && ed[j].kind == opEqual {
				j++
			}
			if j == n || j-end > 2*ctx {
				end = min(end+ctx, j)
				break
			}
			end = j
		}
		advance(start)
		out = append(out, makeHunk(sc, ed[start:end], oldAt, newAt))
		i = end
	}
}

func makeHunk(sc script, ed []edit, oldAt, newAt int) Hunk {
	h := Hunk{OldStart: oldAt, NewStart: newAt, ops: make([]lineOp, len(ed))}
	for i, e := range ed {
		h.ops[i] = lineOp{kind: e.kind, line: sc.lines.token(e.r)}
		switch e.kind {
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

// Hunk is one group of changes with its context, as in a unified diff.
type Hunk struct {
	OldStart, OldLines int // 1-based start and length in the old version
	NewStart, NewLines int // likewise in the new version
	Added, Removed     int
	ops                []lineOp
}
