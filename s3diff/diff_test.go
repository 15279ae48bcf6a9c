package s3diff_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

func writeFiles(t *testing.T, old, new string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	o, n := filepath.Join(dir, "old.txt"), filepath.Join(dir, "new.txt")
	require.NoError(t, os.WriteFile(o, []byte(old), 0o600))
	require.NoError(t, os.WriteFile(n, []byte(new), 0o600))
	return o, n
}

func TestDiffFilesEdgeCases(t *testing.T) {
	huge := strings.Repeat("word ", 400000) // one 2 MB line
	cases := []struct {
		name, old, new string
		status         s3diff.Status
	}{
		{"both empty", "", "", s3diff.StatusNoChanges},
		{"identical", "a\nb\n", "a\nb\n", s3diff.StatusNoChanges},
		{"old empty", "", "a\nb\n", s3diff.StatusChanged},
		{"new empty", "a\nb\n", "", s3diff.StatusChanged},
		{"no final newline on the old side", "a\nb", "a\nb\nc\n", s3diff.StatusChanged},
		{"no final newline on the new side", "a\nb\n", "a\nB", s3diff.StatusChanged},
		{"no final newline on either side", "a\nb", "a\nc", s3diff.StatusChanged},
		{"only the final newline differs", "a\nb", "a\nb\n", s3diff.StatusChanged},
		{"crlf", "a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\n", s3diff.StatusChanged},
		{"crlf to lf", "a\r\nb\r\n", "a\nb\n", s3diff.StatusChanged},
		{"a single huge line", "x\n" + huge + "\ny\n", "x\n" + huge + "changed\ny\n", s3diff.StatusChanged},
		{"nul byte", "a\n", "a\x00\n", s3diff.StatusBinary},
		{"invalid utf-8", "caf\xe9\n", "cafe\n", s3diff.StatusBinary},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, n := writeFiles(t, tc.old, tc.new)
			r, err := s3diff.DiffFiles(context.Background(), o, n)
			require.NoError(t, err)
			require.Equal(t, tc.status, r.Status, r.Summary)
			if tc.status != s3diff.StatusChanged {
				assert.Empty(t, r.Unified())
				assert.Empty(t, r.WordDiff())
				return
			}
			d := r.Unified()
			assert.True(t, strings.HasPrefix(d, "--- "+o+"\n+++ "+n+"\n@@ "), "headers name the files: %.200q", d)
			assert.Equal(t, tc.new, applyWithPatch(t, tc.old, d))
			var streamed bytes.Buffer
			require.NoError(t, r.WriteUnified(&streamed))
			assert.Equal(t, d, streamed.String(), "WriteUnified writes what Unified returns")
			assert.False(t, r.Approximate)
			assert.NotEmpty(t, r.WordDiff())
		})
	}
}

func TestDiffFilesSizeLimit(t *testing.T) {
	o, n := writeFiles(t, "0123456789\n", "01234567890\n") // 11 and 12 bytes
	r, err := s3diff.DiffFiles(context.Background(), o, n, func(o *s3diff.Options) { o.MaxObjectBytes = 12 })
	require.NoError(t, err)
	assert.Equal(t, s3diff.StatusChanged, r.Status, "a file of exactly the limit is diffed")

	r, err = s3diff.DiffFiles(context.Background(), o, n, func(o *s3diff.Options) { o.MaxObjectBytes = 11 })
	require.NoError(t, err, "too large is a result, not an error")
	assert.Equal(t, s3diff.StatusTooLarge, r.Status)
	assert.Contains(t, r.Summary, "11 -> 12 bytes, limit 11")
	assert.Empty(t, r.Unified())
}

func TestDiffFilesBadInput(t *testing.T) {
	ctx := context.Background()
	o, _ := writeFiles(t, "a\n", "b\n")
	_, err := s3diff.DiffFiles(ctx, "", o)
	require.ErrorIs(t, err, s3diff.ErrInvalidInput)
	_, err = s3diff.DiffFiles(ctx, o, filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "missing")
	_, err = s3diff.DiffFiles(ctx, o, t.TempDir())
	require.ErrorIs(t, err, s3diff.ErrInvalidInput)
	assert.Contains(t, err.Error(), "directory")
}

func TestDiffVersionAgainstFile(t *testing.T) {
	ctx := context.Background()
	b, c := newFake(t)
	v1 := b.Put("bucket", "app.yaml", []byte("replicas: 1\nimage: api:1.3\n"))
	v2 := b.Put("bucket", "app.yaml", []byte("replicas: 2\nimage: api:1.4\n"))
	local, _ := writeFiles(t, "replicas: 3\nimage: api:1.4\n", "")

	// About to upload local: what changes against the newest version?
	r, err := c.Diff(ctx, "bucket", "app.yaml", func(o *s3diff.DiffOptions) { o.ToFile = local })
	require.NoError(t, err)
	assert.Equal(t, v2, r.From.VersionID, "From defaults to the newest version when To is a file")
	assert.Equal(t, local, r.ToFile)
	assert.Equal(t, "--- a/app.yaml\t"+v2+"\n+++ "+local+"\n@@ -1,2 +1,2 @@\n-replicas: 2\n+replicas: 3\n image: api:1.4\n", r.Unified())
	assert.Contains(t, r.Summary, "file "+local)

	r, err = c.Diff(ctx, "bucket", "app.yaml", func(o *s3diff.DiffOptions) { o.From, o.ToFile = v1, local })
	require.NoError(t, err)
	assert.Equal(t, 2, r.LinesAdded)

	r, err = c.Diff(ctx, "bucket", "app.yaml", func(o *s3diff.DiffOptions) { o.FromFile = local })
	require.NoError(t, err)
	assert.Equal(t, v2, r.To.VersionID)
	assert.Equal(t, "replicas: 2\nimage: api:1.4\n", applyWithPatch(t, "replicas: 3\nimage: api:1.4\n", r.Unified()))

	gets := b.Calls(s3difftest.OpGetObject)
	lists := b.Calls(s3difftest.OpListObjectVersions)
	r, err = c.Diff(ctx, "", "", func(o *s3diff.DiffOptions) { o.FromFile, o.ToFile = local, local })
	require.NoError(t, err)
	assert.Equal(t, s3diff.StatusNoChanges, r.Status)
	assert.Equal(t, gets, b.Calls(s3difftest.OpGetObject), "two files: no S3 request")
	assert.Equal(t, lists, b.Calls(s3difftest.OpListObjectVersions))

	for _, opt := range []func(*s3diff.DiffOptions){
		func(o *s3diff.DiffOptions) { o.From, o.FromFile = v1, local },
		func(o *s3diff.DiffOptions) { o.To, o.ToFile = v1, local },
	} {
		_, err = c.Diff(ctx, "bucket", "app.yaml", opt)
		require.ErrorIs(t, err, s3diff.ErrInvalidInput)
	}
	assert.Equal(t, lists, b.Calls(s3difftest.OpListObjectVersions), "bad options: no request")
}

// Reordered stretches of a few repeated lines are expensive to diff exactly; with a budget
// of 1 the diff is coarse, says so, still applies, and is the same each time.
func TestDiffBudgetIsReported(t *testing.T) {
	var o, n strings.Builder
	for i := range 300 {
		o.WriteString([]string{"a\n", "b\n", "c\n"}[i%3])
		n.WriteString([]string{"a\n", "c\n", "b\n", "b\n"}[i%4])
	}
	old, new := "top\n"+o.String()+"end\n", "top\n"+n.String()+"end\n"
	oldPath, newPath := writeFiles(t, old, new)
	tight := func(opt *s3diff.Options) { opt.DiffBudget = 1 }

	r, err := s3diff.DiffFiles(context.Background(), oldPath, newPath, tight)
	require.NoError(t, err)
	require.True(t, r.Approximate)
	assert.Contains(t, r.Summary, "approximate")
	require.Len(t, r.Notes, 1)
	assert.Contains(t, r.Notes[0], "budget of 1 steps (Options.DiffBudget)")
	assert.Equal(t, new, applyWithPatch(t, old, r.Unified()))
	again, err := s3diff.DiffFiles(context.Background(), oldPath, newPath, tight)
	require.NoError(t, err)
	assert.Equal(t, r.Unified(), again.Unified())

	exact, err := s3diff.DiffFiles(context.Background(), oldPath, newPath)
	require.NoError(t, err)
	assert.False(t, exact.Approximate)
	assert.Empty(t, exact.Notes)
	assert.Less(t, exact.LinesAdded+exact.LinesRemoved, r.LinesAdded+r.LinesRemoved)
	assert.Equal(t, new, applyWithPatch(t, old, exact.Unified()))
}

// A hunk whose word diff is over its budget comes as its line diff after a note; the other
// hunks are word diffs as usual.
func TestWordDiffBudgetPerHunk(t *testing.T) {
	var o, n strings.Builder
	o.WriteString("the quick brown fox\n")
	n.WriteString("the quick red fox\n")
	for range 10 {
		o.WriteString("same\n")
		n.WriteString("same\n")
	}
	// Many words from two letters, in unrelated orders: a costly word diff.
	for i := range 400 {
		o.WriteString([]string{"a ", "b ", "a b ", "b a "}[i%4])
		n.WriteString([]string{"b ", "a a ", "b b ", "a "}[i%4])
	}
	o.WriteString("\n")
	n.WriteString("\n")
	oldPath, newPath := writeFiles(t, o.String(), n.String())
	r, err := s3diff.DiffFiles(context.Background(), oldPath, newPath, func(o *s3diff.Options) { o.WordDiffBudget = 1 })
	require.NoError(t, err)
	require.Len(t, r.Hunks, 2)
	wd := r.WordDiff()
	assert.True(t, strings.HasPrefix(wd, "@@ -1,4 +1,4 @@\nthe quick [-brown-]{+red+} fox\n"), wd[:100])
	assert.Equal(t, 1, strings.Count(wd, "\n\\ word diff skipped: over its budget"), "only the costly hunk falls back")
	second := wd[strings.Index(wd, "\n@@ ")+1:]
	assert.Contains(t, second, "\n-a b a b b a")
	assert.Contains(t, second, "\n+b a a b b a")

	generous, err := s3diff.DiffFiles(context.Background(), oldPath, newPath, func(o *s3diff.Options) { o.WordDiffBudget = 10000 })
	require.NoError(t, err)
	assert.NotContains(t, generous.WordDiff(), "word diff skipped", "a larger budget covers it")
	assert.Equal(t, wd, r.WordDiff(), "the same every time")
}

// Options at their extremes: all the context there is, and an unbounded word budget.
func TestExtremeOptions(t *testing.T) {
	old, new := "a\nb\nc\nd\n", "a\nB\nc\nD\n"
	o, n := writeFiles(t, old, new)
	r, err := s3diff.DiffFiles(context.Background(), o, n, func(o *s3diff.Options) {
		o.ContextLines = math.MaxInt
		o.WordDiffBudget = math.MaxInt64
		o.DiffBudget = math.MaxInt64
	})
	require.NoError(t, err)
	require.Len(t, r.Hunks, 1)
	assert.Equal(t, "@@ -1,4 +1,4 @@", strings.SplitN(r.Unified(), "\n", 4)[2])
	assert.Equal(t, new, applyWithPatch(t, old, r.Unified()))
	assert.Equal(t, "@@ -1,4 +1,4 @@\na\n[-b-]{+B+}\nc\n[-d-]{+D+}\n", r.WordDiff())
}

// A hunk with more changed words than the word diff takes at all is shown as its line diff
// at once, without splitting it into words.
func TestWordDiffWordCap(t *testing.T) {
	huge := strings.Repeat("a ", 600000) // 1,200,000 words and spaces on one line
	old, new := "x\n"+huge+"\ny\n", "x\n"+huge+"b\ny\n"
	o, n := writeFiles(t, old, new)
	r, err := s3diff.DiffFiles(context.Background(), o, n)
	require.NoError(t, err)
	wd := r.WordDiff()
	assert.True(t, strings.HasPrefix(wd, "@@ -1,3 +1,3 @@\n\\ word diff skipped: more than 1048576 changed words in this hunk; its line diff follows\n x\n-a a "), wd[:120])
	assert.Equal(t, r.Unified()[strings.Index(r.Unified(), "@@"):], strings.Replace(wd, "\\ word diff skipped: more than 1048576 changed words in this hunk; its line diff follows\n", "", 1))
}
