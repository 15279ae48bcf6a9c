// Package textdiff diffs two texts line by line and word by word, and writes the result as
// a unified diff (what GNU patch applies) or a word diff ([-removed-]{+added+}, as
// `git diff --word-diff`). It knows nothing of S3: s3diff uses it for object versions, and
// anything else can use it for two strings.
//
//	d, err := textdiff.Lines(ctx, old, new, 0) // 0: the default budget
//	hunks := d.Hunks(3)                         // 3 lines of context, as diff -u
//	d.WriteUnified(w, hunks)                    // after your own "---"/"+++" header
//
// or, all in one, textdiff.Unified(ctx, "a/file", "b/file", old, new).
//
// # The line diff
//
// The output is a function of the two texts and the budget alone: no clock is read, so the
// same texts give the same diff on a laptop and on a loaded Lambda. Lines are slices of the
// text, never copies, interned as integer ids by hashing (ids in order of first appearance,
// so the hash seed never shows), so the number of distinct lines is unbounded. Then:
//
//   - Equal lines at both ends are set aside, and lines whose text does not occur in the
//     other text at all are marked changed at once (GNU diff does the same); at high
//     change ratios that leaves little to do.
//   - Patience anchoring, as git's patience diff: lines that occur exactly once in each
//     text anchor the diff; the longest run of anchors in the same order on both sides
//     (longest increasing subsequence, O(n log n)) is matched, and each gap between anchors
//     is diffed on its own, anchored again on what is unique inside it. A gap without
//     anchors drops the lines that have no counterpart inside the gap.
//   - What is left (small gaps, or stretches of repeated lines such as blank lines and
//     braces) goes to Myers' O(ND) algorithm in its linear-space form, with GNU diff's
//     heuristic for expensive stretches: a middle-snake search that runs past 4096 rounds
//     splits at the point that got furthest.
//
// Why this and not plain Myers (GNU diff) or go-diff: Myers costs O(N·D), so a moved or
// reordered block makes it slow (GNU diff -u needs 2.4 s for a 10 MB file with one block
// moved, 5.7 s when its paragraphs are reordered, 60 s at 100 MB) or, with its heuristic,
// coarse (the moved block comes out as nearly 8 times the lines it needs). Anchoring on
// unique lines finds moved and reordered blocks in O(n log n) and leaves Myers only small
// gaps, so the cost stays near linear at every change ratio. On the benchmark's text the
// diffs have the same number of changed lines as GNU's to within 1.5%, and far fewer for
// a moved block; docs/PERFORMANCE.md has the figures.
//
// Work is counted in steps (about one line comparison each). Past the budget (DefaultBudget:
// 50,000,000 plus 200 a line), the stretches not yet diffed come out as whole replacements:
// the diff is coarser but correct and applies, and Diff.Coarse says how many lines that
// covers. Ordinary text, reordered paragraphs included, takes 5 to 25 steps a line; it
// takes input built to defeat the diff (long runs of a few repeated lines, shuffled) to
// reach the budget.
//
// The word diff works inside the changed lines of each hunk only, with a budget per hunk
// (steps per changed word, at most 1,048,576 words); a hunk over it is shown as its line
// diff after a note line, so it is bounded in time and memory.
//
// # Testing
//
// Property and fuzz tests: random and pathological pairs (all lines equal, all distinct,
// few distinct lines, one huge line, CRLF, no final newline) under budgets from unlimited
// down to 1 give diffs that GNU patch and an in-process applier apply exactly, the same
// every time; small inputs are checked for a minimal diff.
package textdiff
