package textdiff

import (
	"context"
	"math/bits"
	"slices"
)

// The sequence diff engine. It compares two sequences of integer ids (interned lines, or
// interned words) and marks which elements are changed: deleted from a, or inserted into b.
// Unmarked elements pair up in order and form the common subsequence.
//
// The steps, each of them a pure function of the input (see doc.go for why this design):
//
//  1. Elements whose id does not occur on the other side at all can never be matched: they
//     are marked changed at once and left out of everything that follows (GNU diff's
//     discarding of lines without a match, in its exact form).
//  2. Patience anchoring: in a region, ids that occur exactly once on each side are anchors;
//     the longest chain of anchors in the same order on both sides (longest increasing
//     subsequence) is kept as matched, and each gap between two kept anchors becomes a
//     region of its own, anchored again on what is unique inside it.
//  3. A region without anchors, or a small one, goes to Myers' O(ND) algorithm in its
//     linear-space form (the middle snake, divide and conquer). A region without anchors
//     first drops, when they are many, the elements with no counterpart inside the region
//     (step 1 again, locally: lines of blocks that moved elsewhere). Like GNU diff, a
//     middle-snake search that goes on for more than `cutoff` rounds stops and splits the
//     region at the point that got furthest, which bounds one search to about cutoff² steps.
//  4. Every step counts its work in steps (about one element comparison each). When the total
//     passes the budget, the region being worked on and every region still waiting are marked
//     changed as a whole: coarser, still a correct edit script, and reported.
//
// Prefixes and suffixes that are equal are trimmed off every region before anything else.

// engineStats reports what the engine did.
type engineStats struct {
	steps int64
	// over is set when the budget ran out; coarseRegions regions with coarseA elements of a
	// and coarseB of b were then marked changed as a whole.
	over                            bool
	coarseRegions, coarseA, coarseB int
	// stuck counts middle-snake searches that found no point to split at (none should);
	// their regions are coarse too.
	stuck int
}

// level is a pair of reduced sequences: the ids of the elements still in play, and the
// index of each in the original sequences (nil: the same index).
type level struct {
	a, b   []int32
	ia, ib []int32
}

// region is a part of a level still to be solved: a[alo:ahi] against b[blo:bhi].
type region struct {
	lv                 *level
	alo, ahi, blo, bhi int32
	myers              bool // skip patience anchoring (a part split off by Myers)
}

func newRegion(lv *level, alo, ahi, blo, bhi int, myers bool) region {
	return region{lv, int32(alo), int32(ahi), int32(blo), int32(bhi), myers}
}

func (r region) bounds() (alo, ahi, blo, bhi int) {
	return int(r.alo), int(r.ahi), int(r.blo), int(r.bhi)
}

// smallRegion: regions with at most this many elements on both sides together go straight
// to Myers, which is minimal and cheap at that size.
const smallRegion = 64

// minCutoff is the fewest middle-snake rounds before the too-expensive split (GNU diff's
// figure).
const minCutoff = 4096

type engine struct {
	ctx    context.Context
	chA    []bool // changed flags of the original sequences
	chB    []bool
	budget int64
	cutoff int
	st     engineStats
	nextCk int64 // steps at which ctx is checked next
	err    error

	state   []uint8  // per id: counts in the current region (bits 0-1: a, 2-3: b), saturating at 2
	posB    []uint32 // per id: position in b of its occurrence in the current region
	anchors []uint64 // position in a << 32 | position in b
	tails   []uint32
	prev    []uint32
	spare   []uint32 // scratch space left for prev
	fd, bd  []int
	work    []region
}

// scratch is memory the caller no longer needs (the line interner's table and list), used
// for the engine's largest arrays instead of allocating them anew.
type scratch struct {
	wide   []uint64
	narrow []uint32
}

// diffIDs marks the changed elements of a and b in chA and chB (len(a) and len(b) long,
// false on entry). Ids are in [0, nid). a and b are overwritten (compacted in place), and so
// is sc. budget bounds the work in steps; it is at least 1.
func diffIDs(ctx context.Context, a, b []int32, nid int, chA, chB []bool, budget int64, sc scratch) (engineStats, error) {
	e := &engine{ctx: ctx, chA: chA, chB: chB, budget: max(budget, 1), nextCk: 1 << 20}
	n := len(a) + len(b)
	e.cutoff = max(minCutoff, 1<<(bits.Len(uint(n))/2))
	e.state = make([]uint8, nid)

	// Step 1: discard ids that occur on one side only.
	for _, c := range a {
		e.state[c] |= 1
	}
	for _, c := range b {
		e.state[c] |= 2
	}
	top := &level{}
	top.a, top.ia = keepMatched(a, e.state, 2, chA)
	top.b, top.ib = keepMatched(b, e.state, 1, chB)
	clear(e.state)
	e.st.steps += int64(2 * n)
	if len(top.a) == 0 || len(top.b) == 0 {
		e.markA(top, 0, len(top.a))
		e.markB(top, 0, len(top.b))
		return e.st, nil
	}
	if cap(sc.narrow) >= nid {
		e.posB, e.spare = sc.narrow[:nid], sc.narrow[nid:cap(sc.narrow)]
	} else {
		e.posB = make([]uint32, nid)
	}
	if cap(sc.wide) >= min(len(top.a), len(top.b)) {
		e.anchors = sc.wide[:0]
	}

	e.work = append(e.work, newRegion(top, 0, len(top.a), 0, len(top.b), false))
	for len(e.work) > 0 {
		r := e.work[len(e.work)-1]
		e.work = e.work[:len(e.work)-1]
		e.solve(r)
		if e.err != nil {
			return e.st, e.err
		}
	}
	return e.st, nil
}

// keepMatched keeps the elements of s whose id has the bit other set in state (they occur on
// the other side), marks the others changed, and returns the kept ids (in s's own array)
// with their original indexes, or nil indexes when everything was kept.
func keepMatched(s []int32, state []uint8, other uint8, ch []bool) ([]int32, []int32) {
	k := 0
	for k < len(s) && state[s[k]]&other != 0 {
		k++
	}
	if k == len(s) {
		return s, nil
	}
	idx := make([]int32, k, len(s))
	for i := range k {
		idx[i] = int32(i)
	}
	for i := k; i < len(s); i++ {
		if state[s[i]]&other == 0 {
			ch[i] = true
			continue
		}
		s[k] = s[i]
		idx = append(idx, int32(i))
		k++
	}
	return s[:k], idx
}

func (e *engine) markA(lv *level, lo, hi int) { mark(e.chA, lv.ia, lo, hi) }
func (e *engine) markB(lv *level, lo, hi int) { mark(e.chB, lv.ib, lo, hi) }

func mark(ch []bool, idx []int32, lo, hi int) {
	if idx == nil {
		for i := lo; i < hi; i++ {
			ch[i] = true
		}
		return
	}
	for _, i := range idx[lo:hi] {
		ch[i] = true
	}
}

// coarse marks a whole region changed because the budget ran out.
func (e *engine) coarse(r region) {
	alo, ahi, blo, bhi := r.bounds()
	e.markA(r.lv, alo, ahi)
	e.markB(r.lv, blo, bhi)
	e.st.coarseRegions++
	e.st.coarseA += ahi - alo
	e.st.coarseB += bhi - blo
}

// spend counts work and reports whether the budget still holds; it also checks ctx now and
// then (a cancelled diff is an error, never a different result).
func (e *engine) spend(n int) bool {
	e.st.steps += int64(n)
	if e.st.steps >= e.nextCk {
		e.nextCk = e.st.steps + 1<<20
		if err := e.ctx.Err(); err != nil && e.err == nil {
			e.err = err
		}
	}
	if e.st.steps > e.budget {
		e.st.over = true
	}
	return !e.st.over
}

// solve works on one region: trims it, then anchors it or hands it to Myers, pushing what is
// left as new regions.
func (e *engine) solve(r region) {
	a, b := r.lv.a, r.lv.b
	alo, ahi, blo, bhi := r.bounds()
	start, end := alo, ahi
	for alo < ahi && blo < bhi && a[alo] == b[blo] {
		alo++
		blo++
	}
	for alo < ahi && blo < bhi && a[ahi-1] == b[bhi-1] {
		ahi--
		bhi--
	}
	ok := e.spend(alo - start + end - ahi + 1)
	r = newRegion(r.lv, alo, ahi, blo, bhi, r.myers)
	switch {
	case alo == ahi || blo == bhi:
		e.markA(r.lv, alo, ahi)
		e.markB(r.lv, blo, bhi)
		return
	case !ok || e.err != nil:
		e.coarse(r)
		return
	}
	if !r.myers && ahi-alo+bhi-blo > smallRegion {
		if e.patience(r) {
			return
		}
	}
	if e.st.over || e.err != nil {
		e.coarse(r)
		return
	}
	e.myers(r)
}

// patience anchors a region on the ids that occur exactly once on each side of it. When
// there are none, it leaves the region to Myers (returning false), after taking out the
// elements whose id does not occur on the other side of the region when they are many:
// they can't match, so that is exact, and Myers then works on what can. When the two sides
// have no id in common at all, it marks the region changed, which is exact too.
func (e *engine) patience(r region) bool {
	lv := r.lv
	alo, ahi, blo, bhi := r.bounds()
	a, b := lv.a[alo:ahi], lv.b[blo:bhi]
	st := e.state
	for _, c := range a {
		if s := st[c]; s&3 < 2 {
			st[c] = s + 1
		}
	}
	for j, c := range b {
		if s := st[c]; s&12 < 8 {
			st[c] = s + 4
		}
		e.posB[c] = uint32(blo + j)
	}
	if e.anchors == nil {
		e.anchors = make([]uint64, 0, min(len(a), len(b))) // the top region: the most there can be
	}
	anchors := e.anchors[:0]
	ka, kb := 0, 0 // elements whose id occurs on the other side
	for i, c := range a {
		s := st[c]
		if s == 5 {
			anchors = append(anchors, uint64(alo+i)<<32|uint64(e.posB[c]))
		}
		if s&12 != 0 {
			ka++
		}
	}
	for _, c := range b {
		if st[c]&3 != 0 {
			kb++
		}
	}
	e.anchors = anchors
	var sub *level
	if len(anchors) == 0 && ka > 0 && 2*(ka+kb) < len(a)+len(b) {
		sub = e.reduce(r, ka, kb)
	}
	for _, c := range a {
		st[c] = 0
	}
	for _, c := range b {
		st[c] = 0
	}
	if !e.spend(4*len(a) + 3*len(b) + len(anchors)*(1+bits.Len(uint(len(anchors))))) {
		return false // solve marks it coarse
	}
	switch {
	case ka == 0:
		e.markA(lv, alo, ahi)
		e.markB(lv, blo, bhi)
		return true
	case sub != nil:
		e.work = append(e.work, newRegion(sub, 0, len(sub.a), 0, len(sub.b), true))
		return true
	case len(anchors) == 0:
		return false
	}
	chain := e.lis(anchors)
	// Push the gaps right to left, so that regions are solved left to right.
	e.work = slices.Grow(e.work, len(chain)+1)
	hiA, hiB := ahi, bhi
	for k := len(chain) - 1; k >= 0; k-- {
		an := anchors[chain[k]]
		a, b := int(an>>32), int(uint32(an))
		if a+1 < hiA || b+1 < hiB {
			e.work = append(e.work, newRegion(lv, a+1, hiA, b+1, hiB, false))
		}
		hiA, hiB = a, b
	}
	if alo < hiA || blo < hiB {
		e.work = append(e.work, newRegion(lv, alo, hiA, blo, hiB, false))
	}
	return true
}

// reduce returns a level with the ka elements of the region's a and the kb of its b whose
// ids occur on the other side (as e.state says), and marks the others changed.
func (e *engine) reduce(r region, ka, kb int) *level {
	lv, st := r.lv, e.state
	alo, ahi, blo, bhi := r.bounds()
	sub := &level{a: make([]int32, 0, ka), b: make([]int32, 0, kb), ia: make([]int32, 0, ka), ib: make([]int32, 0, kb)}
	for i := alo; i < ahi; i++ {
		orig := int32(i)
		if lv.ia != nil {
			orig = lv.ia[i]
		}
		if c := lv.a[i]; st[c]&12 != 0 {
			sub.a, sub.ia = append(sub.a, c), append(sub.ia, orig)
		} else {
			e.chA[orig] = true
		}
	}
	for j := blo; j < bhi; j++ {
		orig := int32(j)
		if lv.ib != nil {
			orig = lv.ib[j]
		}
		if c := lv.b[j]; st[c]&3 != 0 {
			sub.b, sub.ib = append(sub.b, c), append(sub.ib, orig)
		} else {
			e.chB[orig] = true
		}
	}
	return sub
}

// lis returns the indexes (into anchors, ascending) of a longest chain of anchors whose b
// positions increase; anchors are in increasing order of a. Patience sorting, O(n log n),
// with a constant-time path for the usual case of an anchor that extends the longest chain.
func (e *engine) lis(anchors []uint64) []uint32 {
	const none = ^uint32(0)
	tails := e.tails[:0]
	switch {
	case cap(e.prev) >= len(anchors):
	case cap(e.spare) >= len(anchors):
		e.prev, e.spare = e.spare, nil
	default:
		e.prev = make([]uint32, len(anchors))
	}
	prev := e.prev[:len(anchors)]
	if cap(tails) < len(anchors) && len(anchors) > 1024 {
		tails = make([]uint32, 0, len(anchors)) // the top region: no doubling of a big array
	}
	for k, an := range anchors {
		b := uint32(an)
		n := len(tails)
		if n == 0 || uint32(anchors[tails[n-1]]) < b {
			prev[k] = none
			if n > 0 {
				prev[k] = tails[n-1]
			}
			tails = append(tails, uint32(k))
			continue
		}
		lo, hi := 0, n-1 // first tail whose b is above this one's
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if uint32(anchors[tails[mid]]) < b {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		prev[k] = none
		if lo > 0 {
			prev[k] = tails[lo-1]
		}
		tails[lo] = uint32(k)
	}
	// Walk back from the end of the longest chain; reuse tails for the result.
	n := len(tails)
	chain := tails
	k := tails[n-1]
	for i := n - 1; i >= 0; i-- {
		chain[i] = k
		k = prev[k]
	}
	e.tails = tails
	return chain
}

// myers splits a trimmed region with both sides non-empty at a point of a shortest edit
// path (or, past the cutoff, the point that got furthest) and pushes the two halves.
func (e *engine) myers(r region) {
	alo, ahi, blo, bhi := r.bounds()
	x, y, ok := e.split(r.lv, alo, ahi, blo, bhi)
	if !ok {
		e.coarse(r)
		return
	}
	e.work = append(e.work, newRegion(r.lv, x, ahi, y, bhi, true), newRegion(r.lv, alo, x, blo, y, true))
}

// split finds the middle snake of a[xoff:xlim] against b[yoff:ylim] (both non-empty, first
// and last elements different) and returns a point (x, y) strictly inside the region that
// lies on a shortest edit path. Diagonal k holds the points with x-y = k; fd[k] is the
// furthest x that a forward path of the current cost reaches on it, bd[k] the smallest x
// that a backward path (from the end) reaches. ok is false when the budget ran out.
func (e *engine) split(lv *level, xoff, xlim, yoff, ylim int) (int, int, bool) {
	a, b := lv.a, lv.b
	dmin, dmax := xoff-ylim, xlim-yoff
	fmid, bmid := xoff-yoff, xlim-ylim
	odd := (fmid-bmid)&1 != 0
	size := dmax - dmin + 1
	if len(e.fd) < size {
		e.fd = make([]int, size)
		e.bd = make([]int, size)
	}
	off := -dmin
	fd, bd := e.fd, e.bd
	fd[fmid+off] = xoff
	bd[bmid+off] = xlim
	fmin, fmax, bmin, bmax := fmid, fmid, bmid, bmid
	for c := 1; ; c++ {
		steps := 0
		// Forward: one more edit on each diagonal, then the snake of equal elements.
		pmin, pmax := fmin, fmax
		if fmin > dmin {
			fmin--
		} else {
			fmin++
		}
		if fmax < dmax {
			fmax++
		} else {
			fmax--
		}
		for k := fmax; k >= fmin; k -= 2 {
			var x int
			switch {
			case k-1 >= pmin && k+1 <= pmax:
				x = max(fd[k-1+off]+1, fd[k+1+off])
			case k-1 >= pmin:
				x = fd[k-1+off] + 1
			default:
				x = fd[k+1+off]
			}
			x = min(x, xlim, ylim+k) // stay inside the region
			y := x - k
			x0 := x
			for x < xlim && y < ylim && a[x] == b[y] {
				x++
				y++
			}
			steps += 1 + x - x0
			fd[k+off] = x
			if odd && bmin <= k && k <= bmax && bd[k+off] <= x && e.inside(x, y, xoff, xlim, yoff, ylim) {
				e.spend(steps)
				return x, y, true
			}
		}
		// Backward, the same from the end.
		pmin, pmax = bmin, bmax
		if bmin > dmin {
			bmin--
		} else {
			bmin++
		}
		if bmax < dmax {
			bmax++
		} else {
			bmax--
		}
		for k := bmin; k <= bmax; k += 2 {
			var x int
			switch {
			case k-1 >= pmin && k+1 <= pmax:
				x = min(bd[k-1+off], bd[k+1+off]-1)
			case k-1 >= pmin:
				x = bd[k-1+off]
			default:
				x = bd[k+1+off] - 1
			}
			x = max(x, xoff, yoff+k)
			y := x - k
			x0 := x
			for x > xoff && y > yoff && a[x-1] == b[y-1] {
				x--
				y--
			}
			steps += 1 + x0 - x
			bd[k+off] = x
			if !odd && fmin <= k && k <= fmax && x <= fd[k+off] && e.inside(x, y, xoff, xlim, yoff, ylim) {
				e.spend(steps)
				return x, y, true
			}
		}
		if !e.spend(steps) || e.err != nil {
			return 0, 0, false
		}
		if c >= e.cutoff {
			// Too expensive: split where the forward or the backward paths got furthest.
			fx, fy, fbest := 0, 0, -1
			for k := fmin; k <= fmax; k += 2 {
				x := fd[k+off]
				if y := x - k; x+y > fbest && e.inside(x, y, xoff, xlim, yoff, ylim) {
					fx, fy, fbest = x, y, x+y
				}
			}
			bx, by, bbest := 0, 0, -1
			for k := bmin; k <= bmax; k += 2 {
				x := bd[k+off]
				if y := x - k; (bbest < 0 || x+y < bbest) && e.inside(x, y, xoff, xlim, yoff, ylim) {
					bx, by, bbest = x, y, x+y
				}
			}
			e.spend(fmax - fmin + bmax - bmin)
			switch {
			case fbest >= 0 && (bbest < 0 || fbest-xoff-yoff >= xlim+ylim-bbest):
				return fx, fy, true
			case bbest >= 0:
				return bx, by, true
			}
			// No usable point: should not happen, but never loop; the caller goes coarse.
			e.st.stuck++
			return 0, 0, false
		}
	}
}

// inside reports whether (x, y) splits the region into two smaller ones.
func (e *engine) inside(x, y, xoff, xlim, yoff, ylim int) bool {
	return x >= xoff && x <= xlim && y >= yoff && y <= ylim &&
		!(x == xoff && y == yoff) && !(x == xlim && y == ylim)
}
