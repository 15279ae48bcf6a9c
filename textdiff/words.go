package textdiff

import (
	"bytes"
	"context"
	"strconv"
	"unicode/utf8"
)

// The word diff works hunk by hunk, and inside a hunk only on its runs of changed lines:
// context lines are copied as they are. A run's old and new lines are contiguous in their
// texts, so its words are offsets into them, never copies. Each hunk has a budget of steps
// (the perWord budget per word of its changed lines, at least minWordBudget) and at most
// maxHunkWords words; a hunk that needs more is shown as its line diff, after a note line.

const (
	minWordBudget = 1 << 12
	maxHunkWords  = 1 << 20
)

// wordDiffer holds the scratch space reused from hunk to hunk.
type wordDiffer struct {
	d       *Diff
	perWord int64
	ids     map[string]int32
	ta, tb  []int32 // word ends (offsets into the block text)
	ia, ib  []int32 // word ids
	chA     []bool
	chB     []bool
	buf     bytes.Buffer
}

// writeHunk writes one hunk of the word diff, or its line diff with a note when the
// word diff would take more than its budget.
func (wd *wordDiffer) writeHunk(w Writer, h *Hunk) {
	d := wd.d
	words := 0
	d.eachBlock(h.oldAt, h.oldAt+h.OldLines, h.newAt, h.newAt+h.NewLines, func(i0, i1, j0, j1 int) bool {
		words += countWords(d.old.span(i0, i1)) + countWords(d.new.span(j0, j1))
		return words <= maxHunkWords
	})
	limit := max(int64(words)*min(wd.perWord, 1<<40), minWordBudget) // 1<<40: no overflow
	budget := limit
	if words > maxHunkWords {
		wd.fallback(w, h, "word diff skipped: more than "+strconv.Itoa(maxHunkWords)+" changed words in this hunk; its line diff follows")
		return
	}
	wd.buf.Reset()
	b := &wd.buf
	b.WriteString(h.header())
	b.WriteByte('\n')
	i, j := h.oldAt, h.newAt
	iEnd := i + h.OldLines
	ok := true
	d.eachBlock(i, iEnd, j, h.newAt+h.NewLines, func(i0, i1, j0, j1 int) bool {
		b.WriteString(d.old.span(i, i0))
		var steps int64
		steps, ok = wd.block(b, d.old.span(i0, i1), d.new.span(j0, j1), budget)
		budget -= steps
		i, j = i1, j1
		return ok
	})
	if !ok {
		wd.fallback(w, h, "word diff skipped: over its budget of "+strconv.FormatInt(limit, 10)+" steps; the line diff of this hunk follows")
		return
	}
	b.WriteString(d.old.span(i, iEnd))
	if out := b.Bytes(); len(out) > 0 && out[len(out)-1] != '\n' {
		b.WriteByte('\n')
	}
	w.Write(b.Bytes())
}

func (wd *wordDiffer) fallback(w Writer, h *Hunk, note string) {
	w.WriteString(h.header())
	w.WriteString("\n\\ ")
	w.WriteString(note)
	w.WriteByte('\n')
	wd.d.writeHunkLines(w, h)
}

// block writes the word diff of one run of changes, old text a replaced by new text b, and
// returns the steps it took and whether it stayed within budget.
func (wd *wordDiffer) block(w *bytes.Buffer, a, b string, budget int64) (int64, bool) {
	if len(wd.ids) > 4096 || wd.ids == nil {
		wd.ids = make(map[string]int32) // clearing a big map costs its size every time
	}
	clear(wd.ids)
	wd.ta, wd.ia = splitWords(a, wd.ta[:0], wd.ia[:0], wd.ids)
	wd.tb, wd.ib = splitWords(b, wd.tb[:0], wd.ib[:0], wd.ids)
	wd.chA = resetFlags(wd.chA, len(wd.ia))
	wd.chB = resetFlags(wd.chB, len(wd.ib))
	st, err := diffIDs(context.Background(), wd.ia, wd.ib, len(wd.ids), wd.chA, wd.chB, budget, scratch{})
	if err != nil || st.over || st.stuck > 0 {
		return st.steps, false
	}
	// Equal words pair up in order; runs of deleted and inserted words are marked.
	x, y := 0, 0
	start := func(t []int32, k int) int {
		if k == 0 {
			return 0
		}
		return int(t[k-1])
	}
	for x < len(wd.ta) || y < len(wd.tb) {
		x0 := x
		for x < len(wd.ta) && y < len(wd.tb) && !wd.chA[x] && !wd.chB[y] {
			x++
			y++
		}
		w.WriteString(a[start(wd.ta, x0):start(wd.ta, x)])
		x0, y0 := x, y
		for x < len(wd.ta) && wd.chA[x] {
			x++
		}
		for y < len(wd.tb) && wd.chB[y] {
			y++
		}
		if x == x0 && y == y0 { // words left on one side only: never happens, never lose them
			if x < len(wd.ta) {
				x++
			} else if y < len(wd.tb) {
				y++
			}
		}
		if x > x0 {
			w.WriteString("[-" + a[start(wd.ta, x0):start(wd.ta, x)] + "-]")
		}
		if y > y0 {
			w.WriteString("{+" + b[start(wd.tb, y0):start(wd.tb, y)] + "+}")
		}
	}
	return st.steps, true
}

func resetFlags(f []bool, n int) []bool {
	if cap(f) < n {
		return make([]bool, n)
	}
	f = f[:n]
	clear(f)
	return f
}

// splitWords appends the end offset and id of each word of s: runs of letters and digits,
// runs of spaces, and single other runes (so that the words concatenate back to s).
func splitWords(s string, ends, ids []int32, table map[string]int32) ([]int32, []int32) {
	for pos := 0; pos < len(s); {
		n := wordLen(s[pos:])
		w := s[pos : pos+n]
		id, ok := table[w]
		if !ok {
			id = int32(len(table))
			table[w] = id
		}
		pos += n
		ends = append(ends, int32(pos))
		ids = append(ids, id)
	}
	return ends, ids
}

func countWords(s string) int {
	n := 0
	for pos := 0; pos < len(s); pos += wordLen(s[pos:]) {
		n++
	}
	return n
}

// wordLen is the length in bytes of the word at the start of s (non-empty).
func wordLen(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	class := runeClass(r)
	if class == 2 {
		return n
	}
	for n < len(s) {
		r2, size := utf8.DecodeRuneInString(s[n:])
		if runeClass(r2) != class {
			break
		}
		n += size
	}
	return n
}

// runeClass: 0 word, 1 space, 2 anything else (one rune per token).
func runeClass(r rune) int {
	switch {
	case r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f && r != utf8.RuneError && !isSpace(r):
		return 0
	case isSpace(r):
		return 1
	}
	return 2
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\u00a0' }
