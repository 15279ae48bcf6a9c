package textdiff

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// MaxBytes is the largest text Lines takes: line offsets are 32-bit.
const MaxBytes = 1<<31 - 1

// Defaults of the budgets (see Lines and WriteWordDiff).
const (
	// DefaultBudgetBase and DefaultBudgetPerLine make DefaultBudget: 50,000,000 steps plus
	// 200 a line of both texts. Ordinary text takes 5 to 25 steps a line.
	DefaultBudgetBase    = 50_000_000
	DefaultBudgetPerLine = 200
	// DefaultWordBudget is the word diff's budget per changed word of a hunk.
	DefaultWordBudget = 16
)

// DefaultBudget is the line diff's budget for two texts: DefaultBudgetBase plus
// DefaultBudgetPerLine per line of both.
func DefaultBudget(old, new string) int64 {
	lines := strings.Count(old, "\n") + strings.Count(new, "\n") + 2
	return DefaultBudgetBase + DefaultBudgetPerLine*int64(lines)
}

// Lines computes the line diff from old to new, spending at most budget steps (about one
// line comparison each; budget <= 0 means DefaultBudget). Past the budget, the stretches not
// yet diffed are marked changed as a whole: the diff is coarser (Coarse says how much) but
// still correct, and it applies. The result depends on old, new and budget alone, never on
// time or load. The error is ctx's, or a text over MaxBytes.
func Lines(ctx context.Context, old, new string, budget int64) (*Diff, error) {
	if len(old) > MaxBytes || len(new) > MaxBytes {
		return nil, fmt.Errorf("textdiff: a text of %d bytes is over the limit of %d", max(len(old), len(new)), MaxBytes)
	}
	if budget <= 0 {
		budget = DefaultBudget(old, new)
	}
	return compute(ctx, old, new, budget)
}

// Coarse is what a budget cut short: Regions stretches, OldLines and NewLines lines in all,
// shown as whole replacements. The zero value means the diff is exact.
type Coarse struct {
	Regions, OldLines, NewLines int
}

// Coarse says how much of the diff the budget cut short.
func (d *Diff) Coarse() Coarse {
	return Coarse{Regions: d.stats.coarseRegions, OldLines: d.stats.coarseA, NewLines: d.stats.coarseB}
}

// Hunks groups the changes into hunks with context lines of context (3 is diff -u's);
// changes at most 2*context unchanged lines apart share a hunk, as in GNU diff. Nil when the
// texts are equal.
func (d *Diff) Hunks(context int) []Hunk { return d.hunks(max(context, 0)) }

// Writer is what the diff is written to: a *bufio.Writer, a *strings.Builder or a
// *bytes.Buffer.
type Writer interface {
	io.Writer
	io.StringWriter
	io.ByteWriter
}

// WriteUnified writes hunks (from d.Hunks) in unified format, each with its "@@" header and
// GNU diff's "\ No newline at end of file" where a line has none. The "---" and "+++" file
// header is the caller's: together they are what GNU patch applies.
func (d *Diff) WriteUnified(w Writer, hunks []Hunk) {
	for k := range hunks {
		d.writeHunk(w, &hunks[k])
	}
}

// UnifiedSize is the exact length of what WriteUnified writes for hunks, to size a buffer.
func (d *Diff) UnifiedSize(hunks []Hunk) int { return d.unifiedSize(hunks) }

// WriteWordDiff writes hunks with changed words marked inline, [-removed-]{+added+}, as
// `git diff --word-diff` shows them. Only the changed lines of a hunk are diffed word by
// word, within perWord steps per changed word (<= 0: DefaultWordBudget) and at most
// 1,048,576 words a hunk; a hunk over that comes as its line diff, after a note line that
// starts with "\ ", so the word diff is bounded in time and memory.
func (d *Diff) WriteWordDiff(w Writer, hunks []Hunk, perWord int64) {
	if perWord <= 0 {
		perWord = DefaultWordBudget
	}
	wd := &wordDiffer{d: d, perWord: perWord}
	for k := range hunks {
		wd.writeHunk(w, &hunks[k])
	}
}

// Unified is the whole unified diff of two texts in one call: a "---"/"+++" header naming
// oldName and newName, then the hunks with 3 lines of context, within DefaultBudget. It is
// empty when the texts are equal.
func Unified(ctx context.Context, oldName, newName, old, new string) (string, error) {
	if old == new {
		return "", nil
	}
	d, err := Lines(ctx, old, new, 0)
	if err != nil {
		return "", err
	}
	hunks := d.Hunks(3)
	header := "--- " + oldName + "\n+++ " + newName + "\n"
	var b strings.Builder
	b.Grow(len(header) + d.UnifiedSize(hunks))
	b.WriteString(header)
	d.WriteUnified(&b, hunks)
	return b.String(), nil
}
