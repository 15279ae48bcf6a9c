package textdiff

import (
	"context"
	"hash/maphash"
	"math/bits"
	"strconv"
	"strings"
)

// lineText is one text split into lines without copying: line i is s[off[i]:off[i+1]],
// with its "\n" when it has one (the last line may have none).
type lineText struct {
	s   string
	off []int32
}

func splitText(s string) lineText {
	n := strings.Count(s, "\n")
	if len(s) > 0 && s[len(s)-1] != '\n' {
		n++
	}
	off := make([]int32, n+1)
	pos := 0
	for i := 1; i <= n; i++ {
		j := strings.IndexByte(s[pos:], '\n')
		if j < 0 {
			pos = len(s)
		} else {
			pos += j + 1
		}
		off[i] = int32(pos)
	}
	return lineText{s: s, off: off}
}

func (t *lineText) lines() int           { return len(t.off) - 1 }
func (t *lineText) line(i int) string    { return t.s[t.off[i]:t.off[i+1]] }
func (t *lineText) span(i, j int) string { return t.s[t.off[i]:t.off[j]] }

// Diff is the line edit script between two texts: chOld[i] is set when old line i is
// deleted, chNew[j] when new line j is inserted; the other lines pair up in order.
type Diff struct {
	old, new     lineText
	chOld, chNew []bool
	stats        engineStats
}

// compute computes the line edit script from old to new within budget steps.
func compute(ctx context.Context, old, new string, budget int64) (*Diff, error) {
	d := &Diff{old: splitText(old), new: splitText(new)}
	no, nn := d.old.lines(), d.new.lines()
	d.chOld, d.chNew = make([]bool, no), make([]bool, nn)
	// Equal lines at both ends cost a comparison each and are never hashed.
	p := 0
	for p < no && p < nn && d.old.line(p) == d.new.line(p) {
		p++
	}
	s := 0
	for s < no-p && s < nn-p && d.old.line(no-1-s) == d.new.line(nn-1-s) {
		s++
	}
	a, b, nid, sc := internLines(&d.old, &d.new, p, no-s, nn-s)
	st, err := diffIDs(ctx, a, b, nid, d.chOld[p:no-s], d.chNew[p:nn-s], budget, sc)
	d.stats = st
	return d, err
}

// interner gives each distinct line an id, in order of first appearance (old text
// first), so ids and all that follows from them are the same whatever the hash seed: the
// seed only decides where lines land in the table. Lines are compared byte for byte on a
// hash match, so the number of distinct lines is unbounded. Open addressing, linear probing;
// a slot holds the upper 32 bits of the hash and id+1 (0: empty).
type interner struct {
	seed     maphash.Seed
	old, new *lineText
	p, na    int // lines [p, p+na) of old, then lines [p, ...) of new, are numbered 0, 1, ...
	slots    []uint64
	mask     uint64
	reps     []uint32 // per id: the number of its first line
}

// internLines returns the ids of old lines [p, oe) and new lines [p, ne), how many distinct
// ids there are, and its memory for the engine to reuse.
func internLines(old, new *lineText, p, oe, ne int) (a, b []int32, nid int, sc scratch) {
	na, nb := oe-p, ne-p
	in := &interner{seed: maphash.MakeSeed(), old: old, new: new, p: p, na: na}
	in.resize(max(na, nb) * 3 / 2)
	in.reps = make([]uint32, 0, na+nb)
	a = make([]int32, na)
	for i := range a {
		a[i] = in.id(uint32(i), old.line(p+i))
	}
	b = make([]int32, nb)
	for j := range b {
		b[j] = in.id(uint32(na+j), new.line(p+j))
	}
	return a, b, len(in.reps), scratch{wide: in.slots, narrow: in.reps}
}

// resize makes the table the smallest power of two of at least n slots (and 16).
func (in *interner) resize(n int) {
	size := 1 << bits.Len(uint(max(n, 16)-1))
	in.slots = make([]uint64, size)
	in.mask = uint64(size - 1)
	for id, g := range in.reps {
		h := maphash.String(in.seed, in.line(g))
		i := h & in.mask
		for in.slots[i] != 0 {
			i = (i + 1) & in.mask
		}
		in.slots[i] = h>>32<<32 | uint64(id+1)
	}
}

// line returns line number g of the numbering.
func (in *interner) line(g uint32) string {
	if int(g) < in.na {
		return in.old.line(in.p + int(g))
	}
	return in.new.line(in.p + int(g) - in.na)
}

// id returns the id of line, which is line number g.
func (in *interner) id(g uint32, line string) int32 {
	h := maphash.String(in.seed, line)
	tag := h >> 32
	for i := h & in.mask; ; i = (i + 1) & in.mask {
		s := in.slots[i]
		if s == 0 {
			id := int32(len(in.reps))
			in.reps = append(in.reps, g)
			in.slots[i] = tag<<32 | uint64(id+1)
			if len(in.reps) > len(in.slots)*3/4 {
				in.resize(len(in.slots) * 2)
			}
			return id
		}
		if s>>32 == tag {
			if id := int32(s&(1<<32-1)) - 1; in.line(in.reps[id]) == line {
				return id
			}
		}
	}
}

// eachBlock calls fn for each run of changes in [i, iEnd) x [j, jEnd) (a stretch of both
// texts that starts and ends aligned): old lines [i0, i1) deleted and new lines [j0, j1)
// inserted, in order.
func (d *Diff) eachBlock(i, iEnd, j, jEnd int, fn func(i0, i1, j0, j1 int) bool) {
	for i < iEnd || j < jEnd {
		for i < iEnd && j < jEnd && !d.chOld[i] && !d.chNew[j] {
			i++
			j++
		}
		i0, j0 := i, j
		for i < iEnd && d.chOld[i] {
			i++
		}
		for j < jEnd && d.chNew[j] {
			j++
		}
		if i == i0 && j == j0 {
			// Unchanged lines left on one side only: the engine never leaves that, but
			// show them as changes rather than lose them.
			if i < iEnd {
				i++
			} else if j < jEnd {
				j++
			}
		}
		if i > i0 || j > j0 {
			if !fn(i0, i, j0, j) {
				return
			}
		}
	}
}

// hunks groups the changes into hunks with ctx lines of context; changes separated by at
// most 2*ctx unchanged lines share a hunk, as in GNU diff.
func (d *Diff) hunks(ctx int) []Hunk {
	no, nn := d.old.lines(), d.new.lines()
	ctx = min(ctx, no+nn) // more context than lines changes nothing, and 2*ctx can't overflow
	// Count first, so that a diff with many hunks fills one array of the right size.
	n, endI := 0, -1
	d.eachBlock(0, no, 0, nn, func(i0, i1, j0, j1 int) bool {
		if endI < 0 || i0-endI > 2*ctx {
			n++
		}
		endI = i1
		return true
	})
	out := make([]Hunk, 0, n)
	var cur *Hunk
	endI, endJ := 0, 0 // end of the last block
	finish := func() {
		tail := min(ctx, no-endI, nn-endJ)
		cur.OldLines = endI + tail - cur.oldAt
		cur.NewLines = endJ + tail - cur.newAt
		cur.OldStart, cur.NewStart = cur.oldAt, cur.newAt
		// A side with lines starts at its first line; an empty side is named by the line
		// before it (0 at the top of the file), as GNU diff writes it.
		if cur.OldLines > 0 {
			cur.OldStart++
		}
		if cur.NewLines > 0 {
			cur.NewStart++
		}
	}
	d.eachBlock(0, no, 0, nn, func(i0, i1, j0, j1 int) bool {
		gap := i0 - endI
		if cur != nil && gap > 2*ctx {
			finish()
			cur = nil
		}
		if cur == nil {
			lead := min(ctx, gap)
			out = append(out, Hunk{oldAt: i0 - lead, newAt: j0 - lead})
			cur = &out[len(out)-1]
		}
		cur.Removed += i1 - i0
		cur.Added += j1 - j0
		endI, endJ = i1, j1
		return true
	})
	if cur != nil {
		finish()
	}
	return out
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
	OldStart, OldLines int // 1-based start and length in the old text
	NewStart, NewLines int // likewise in the new text
	Added, Removed     int

	oldAt, newAt int // 0-based first line of each side
}

const noNewline = "\n\\ No newline at end of file\n"

// writeLine writes one diff line: the mark, the line, and GNU's note when it has no "\n".
func writeLine(w Writer, mark byte, line string) {
	w.WriteByte(mark)
	w.WriteString(line)
	if !strings.HasSuffix(line, "\n") {
		w.WriteString(noNewline)
	}
}

// writeHunk writes one hunk of a unified diff.
func (d *Diff) writeHunk(w Writer, h *Hunk) {
	w.WriteString(h.header())
	w.WriteByte('\n')
	d.writeHunkLines(w, h)
}

// writeHunkLines writes the lines of a hunk, without its header.
func (d *Diff) writeHunkLines(w Writer, h *Hunk) {
	i, j := h.oldAt, h.newAt
	iEnd, jEnd := i+h.OldLines, j+h.NewLines
	d.eachBlock(i, iEnd, j, jEnd, func(i0, i1, j0, j1 int) bool {
		for ; i < i0; i, j = i+1, j+1 {
			writeLine(w, ' ', d.old.line(i))
		}
		for ; i < i1; i++ {
			writeLine(w, '-', d.old.line(i))
		}
		for ; j < j1; j++ {
			writeLine(w, '+', d.new.line(j))
		}
		return true
	})
	for ; i < iEnd; i, j = i+1, j+1 {
		writeLine(w, ' ', d.old.line(i))
	}
}

// unifiedSize is the exact length of the hunks as writeHunk writes them.
func (d *Diff) unifiedSize(hunks []Hunk) int {
	n := 0
	add := func(s string) {
		n += 1 + len(s)
		if !strings.HasSuffix(s, "\n") {
			n += len(noNewline)
		}
	}
	for k := range hunks {
		h := &hunks[k]
		n += len(h.header()) + 1
		i, j := h.oldAt, h.newAt
		iEnd, jEnd := i+h.OldLines, j+h.NewLines
		d.eachBlock(i, iEnd, j, jEnd, func(i0, i1, j0, j1 int) bool {
			n += int(d.old.off[i0]-d.old.off[i]) + (i0 - i) // context: all lines end in "\n"
			for i = i0; i < i1; i++ {
				add(d.old.line(i))
			}
			for j = j0; j < j1; j++ {
				add(d.new.line(j))
			}
			i = i1
			return true
		})
		for ; i < iEnd; i++ {
			add(d.old.line(i))
		}
	}
	return n
}
