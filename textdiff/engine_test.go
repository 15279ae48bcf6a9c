package textdiff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lcs is the length of a longest common subsequence, by dynamic programming.
func lcs(a, b []int32) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// runEngine diffs copies of a and b and checks that the unchanged elements pair up.
func runEngine(t *testing.T, a, b []int32, budget int64) ([]bool, []bool, engineStats) {
	t.Helper()
	nid := 0
	for _, c := range append(append([]int32(nil), a...), b...) {
		nid = max(nid, int(c)+1)
	}
	chA, chB := make([]bool, len(a)), make([]bool, len(b))
	st, err := diffIDs(context.Background(), append([]int32(nil), a...), append([]int32(nil), b...), nid, chA, chB, budget, scratch{})
	require.NoError(t, err)
	var keptA, keptB []int32
	for i, ch := range chA {
		if !ch {
			keptA = append(keptA, a[i])
		}
	}
	for j, ch := range chB {
		if !ch {
			keptB = append(keptB, b[j])
		}
	}
	require.Equal(t, keptA, keptB, "the unchanged elements of both sides must be the same sequence\na %v\nb %v", a, b)
	assert.Zero(t, st.stuck, "a middle-snake search found no split point")
	return chA, chB, st
}

func changed(ch []bool) int {
	n := 0
	for _, c := range ch {
		if c {
			n++
		}
	}
	return n
}

func randSeq(rng *rand.Rand, n, alphabet int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(rng.IntN(alphabet))
	}
	return s
}

// Small regions go to Myers' algorithm alone, which finds a shortest edit script.
func TestMyersIsMinimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 3000 {
		alphabet := 1 + rng.IntN(6)
		a, b := randSeq(rng, rng.IntN(32), alphabet), randSeq(rng, rng.IntN(32), alphabet)
		chA, chB, st := runEngine(t, a, b, 1<<40)
		require.False(t, st.over)
		require.Equal(t, len(a)+len(b)-2*lcs(a, b), changed(chA)+changed(chB), "a %v\nb %v", a, b)
	}
}

// Larger inputs go through anchoring and the cutoff; the script must stay consistent and
// close to minimal, under any budget, and be the same every time.
func TestEngineOnRandomInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for n := range 400 {
		size := 50 + rng.IntN(600)
		var a, b []int32
		switch n % 4 {
		case 0: // mostly unique with edits
			a = make([]int32, size)
			for i := range a {
				a[i] = int32(i)
			}
			b = edits(rng, a, 0.2, int32(size))
		case 1: // few distinct values
			a, b = randSeq(rng, size, 3), randSeq(rng, size, 3)
		case 2: // unique lines in blocks, blocks shuffled, plus duplicates
			a = make([]int32, size)
			for i := range a {
				a[i] = int32(i)
				if rng.IntN(10) == 0 {
					a[i] = int32(size + rng.IntN(3))
				}
			}
			b = shuffleBlocks(rng, a)
		default: // one side a sub-sequence of the other
			a = randSeq(rng, size, 50)
			for _, x := range a {
				if rng.IntN(3) > 0 {
					b = append(b, x)
				}
			}
		}
		chA, chB, st := runEngine(t, a, b, 1<<40)
		require.False(t, st.over)
		if size <= 300 {
			best := len(a) + len(b) - 2*lcs(a, b)
			got := changed(chA) + changed(chB)
			assert.LessOrEqual(t, got, best*3/2+4, "case %d: %d changed, minimum %d", n%4, got, best)
		}
		budget := int64(1 + rng.IntN(5000))
		chA1, chB1, _ := runEngine(t, a, b, budget)
		chA2, chB2, _ := runEngine(t, a, b, budget)
		require.Equal(t, chA1, chA2, "same budget, same result")
		require.Equal(t, chB1, chB2)
	}
}

func edits(rng *rand.Rand, a []int32, p float64, fresh int32) []int32 {
	var b []int32
	for _, x := range a {
		switch r := rng.Float64(); {
		case r < p/2:
			b = append(b, fresh)
			fresh++
		case r < 3*p/4:
		case r < p:
			b = append(b, fresh, x)
			fresh++
		default:
			b = append(b, x)
		}
	}
	return b
}

func shuffleBlocks(rng *rand.Rand, a []int32) []int32 {
	var blocks [][]int32
	for i := 0; i < len(a); {
		k := min(1+rng.IntN(20), len(a)-i)
		blocks = append(blocks, a[i:i+k])
		i += k
	}
	rng.Shuffle(len(blocks), func(i, j int) { blocks[i], blocks[j] = blocks[j], blocks[i] })
	var b []int32
	for _, bl := range blocks {
		b = append(b, bl...)
	}
	return b
}

// textPair makes an old and a new text of one pathological kind.
func textPair(rng *rand.Rand, kind string) (string, string) {
	line := func(n int) string { return fmt.Sprintf("line %d\n", n) }
	var o, n strings.Builder
	switch kind {
	case "all lines equal":
		k := 1 + rng.IntN(300)
		o.WriteString(strings.Repeat("same\n", k))
		n.WriteString(strings.Repeat("same\n", max(0, k+rng.IntN(21)-10)))
	case "all lines distinct":
		for i := range rng.IntN(400) {
			o.WriteString(line(i))
		}
		for i := range rng.IntN(400) {
			n.WriteString(line(100000 + i))
		}
	case "many duplicates":
		vocab := []string{"a\n", "b\n", "\n", "}\n"}
		for range rng.IntN(500) {
			o.WriteString(vocab[rng.IntN(len(vocab))])
		}
		for range rng.IntN(500) {
			n.WriteString(vocab[rng.IntN(len(vocab))])
		}
	case "one huge line":
		huge := strings.Repeat("word ", 200000)
		o.WriteString("before\n" + huge + "\nafter\n")
		n.WriteString("before\n" + huge[:len(huge)/2] + "changed " + huge[len(huge)/2:] + "\nafter\n")
	case "edits, crlf, no final newline":
		var lines []string
		for i := range 50 + rng.IntN(500) {
			lines = append(lines, fmt.Sprintf("line %d\r\n", i))
			if rng.IntN(10) == 0 {
				lines = append(lines, "\r\n")
			}
		}
		for i, l := range lines {
			o.WriteString(l)
			switch rng.IntN(12) {
			case 0:
				n.WriteString("changed " + l)
			case 1:
			case 2:
				n.WriteString(l + line(i))
			default:
				n.WriteString(l)
			}
		}
		return strings.TrimSuffix(o.String(), "\r\n"), strings.TrimSuffix(n.String(), "\n")
	case "one side empty":
		for i := range 1 + rng.IntN(50) {
			o.WriteString(line(i))
		}
		if rng.IntN(2) == 0 {
			return o.String(), ""
		}
		return "", o.String()
	}
	return o.String(), n.String()
}

var pairKinds = []string{"all lines equal", "all lines distinct", "many duplicates", "one huge line", "edits, crlf, no final newline", "one side empty"}

// Random pairs of every pathological kind, under budgets from none to 1: the unified diff
// applies exactly with the in-process applier and with GNU patch, and is the same each time.
func TestUnifiedDiffAppliesOnPathologicalPairs(t *testing.T) {
	if _, err := exec.LookPath("patch"); err != nil {
		t.Fatal("GNU patch is needed: apt-get install patch")
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for _, kind := range pairKinds {
		for k := range 6 {
			old, new := textPair(rng, kind)
			if old == new {
				continue
			}
			for _, budget := range []int64{1 << 40, 1, 100, 10000} {
				ctxLines := rng.IntN(4)
				t.Run(fmt.Sprintf("%s/%d/budget %d", kind, k, budget), func(t *testing.T) {
					r := diffResult(t, old, new, ctxLines, budget)
					d := r.Unified()
					checkScript(t, r.diff)
					got, err := applyUnified(old, d)
					require.NoError(t, err)
					require.Equal(t, new, got, "in-process applier")
					require.Equal(t, new, gnuPatch(t, old, d), "GNU patch")
					require.Equal(t, d, diffResult(t, old, new, ctxLines, budget).Unified(), "deterministic")
					wordDiffKeepsText(t, r)
				})
			}
		}
	}
}

// gnuPatch applies a unified diff to old with GNU patch.
func gnuPatch(t *testing.T, old, diff string) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte(old), 0o600))
	cmd := exec.Command("patch", "--quiet", "--batch", "--force", file)
	cmd.Stdin = strings.NewReader(diff)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "patch: %s\ndiff:\n%.2000s", out, diff)
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	return string(got)
}

// A budget of 1 is spent at once: everything that is not trimmed off the ends comes out as
// one replacement, correct and the same every time.
func TestTinyBudget(t *testing.T) {
	old := "head\n" + strings.Repeat("a\nb\nc\n", 50) + "tail\n"
	new := "head\n" + strings.Repeat("a\nc\nb\n", 50) + "tail\n"
	r := diffResult(t, old, new, 3, 1)
	require.True(t, r.Approximate)
	require.Equal(t, 1, r.diff.stats.coarseRegions)
	require.Len(t, r.Hunks, 1)
	// "head" and the first "a" are equal at the top, "tail" at the bottom: the 149 lines
	// between are replaced as a whole.
	assert.Equal(t, 149, r.LinesRemoved)
	assert.Equal(t, 149, r.LinesAdded)
	got, err := applyUnified(old, r.Unified())
	require.NoError(t, err)
	assert.Equal(t, new, got)

	exact := diffResult(t, old, new, 3, 1<<40)
	assert.False(t, exact.Approximate)
	assert.Less(t, exact.LinesAdded, r.LinesAdded, "with a budget the diff is finer")
}

// A cancelled context is an error, never a partial diff.
func TestEngineHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rng := rand.New(rand.NewPCG(4, 4))
	a, b := randSeq(rng, 20000, 4), randSeq(rng, 20000, 4)
	_, err := diffIDs(ctx, a, b, 4, make([]bool, len(a)), make([]bool, len(b)), 1<<40, scratch{})
	require.ErrorIs(t, err, context.Canceled)
}

// Lines are ids by hashing with a table that grows: many distinct lines (more than the old
// rune mapping allowed) and lines that differ only late all keep their identity.
func TestInterning(t *testing.T) {
	var o, n strings.Builder
	for i := range 300000 {
		fmt.Fprintf(&o, "%s%d\n", strings.Repeat("x", i%50), i)
		if i%1000 != 0 {
			fmt.Fprintf(&n, "%s%d\n", strings.Repeat("x", i%50), i)
		}
	}
	oldT, newT := splitText(o.String()), splitText(n.String())
	a, b, nid, _ := internLines(&oldT, &newT, 0, oldT.lines(), newT.lines())
	require.Equal(t, 300000, nid)
	for i := range 300000 {
		require.Equal(t, int32(i), a[i])
	}
	for j, id := range b {
		require.Equal(t, newT.line(j), oldT.line(int(id)))
	}
}
