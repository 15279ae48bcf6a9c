package s3diff_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff"
)

// store is a versioned bucket the behaviour suite runs against: the in-memory fake, or the
// test bed's Versity S3 Gateway.
type store interface {
	api() s3diff.S3API
	bucket() string
	put(t *testing.T, key string, body []byte) string // returns the version id
	del(t *testing.T, key string) string              // puts a delete marker, returns its id
}

// runSuite is the behaviour suite: every rule of the package, against one store.
func runSuite(t *testing.T, newStore func(t *testing.T) store) {
	ctx := context.Background()

	t.Run("only the exact key, never a sibling with the same prefix", func(t *testing.T) {
		st := newStore(t)
		c := newClient(t, st.api())
		v1 := st.put(t, "notes.txt", []byte("one\n"))
		bak := st.put(t, "notes.txt.bak", []byte("backup\n"))
		v2 := st.put(t, "notes.txt", []byte("two\n"))
		st.put(t, "notes.txt.bak", []byte("backup 2\n"))
		st.put(t, "notes.txt~", []byte("editor\n"))

		vs, err := c.Versions(ctx, st.bucket(), "notes.txt")
		require.NoError(t, err)
		assert.Equal(t, []string{v2, v1}, ids(vs))
		for _, v := range vs {
			assert.Equal(t, "notes.txt", v.Key)
		}
		res, err := c.Retain(ctx, st.bucket(), "notes.txt", 1)
		require.NoError(t, err)
		assert.Equal(t, []string{v1}, ids(res.Deleted))
		bakVersions, err := c.Versions(ctx, st.bucket(), "notes.txt.bak")
		require.NoError(t, err)
		assert.Len(t, bakVersions, 2, "the sibling keeps all its versions")
		assert.Contains(t, ids(bakVersions), bak)
	})

	t.Run("versions uploaded in one second keep S3's order", func(t *testing.T) {
		st := newStore(t)
		c := newClient(t, st.api())
		var want []string
		for i := range 4 {
			want = append([]string{st.put(t, "same-second.txt", []byte(fmt.Sprintf("v%d\n", i)))}, want...)
		}
		vs, err := c.Versions(ctx, st.bucket(), "same-second.txt")
		require.NoError(t, err)
		assert.Equal(t, want, ids(vs), "newest first, as S3 returns them, not by LastModified")
		r, err := c.Diff(ctx, st.bucket(), "same-second.txt")
		require.NoError(t, err)
		assert.Equal(t, "--- a/same-second.txt\t"+want[1]+"\n+++ b/same-second.txt\t"+want[0]+"\n@@ -1 +1 @@\n-v2\n+v3\n", r.Unified())
	})

	t.Run("delete markers at the top and in the middle", func(t *testing.T) {
		st := newStore(t)
		c := newClient(t, st.api())
		v1 := st.put(t, "doc.txt", []byte("a\n"))
		v2 := st.put(t, "doc.txt", []byte("b\n"))
		mid := st.del(t, "doc.txt")
		v3 := st.put(t, "doc.txt", []byte("c\n"))
		top := st.del(t, "doc.txt")

		vs, err := c.Versions(ctx, st.bucket(), "doc.txt")
		require.NoError(t, err)
		require.Len(t, vs, 5)
		assert.Equal(t, top, vs[0].VersionID)
		assert.True(t, vs[0].DeleteMarker)
		assert.True(t, vs[0].IsLatest)
		assert.ElementsMatch(t, []string{top, v3, mid, v2, v1}, ids(vs))

		r, err := c.Diff(ctx, st.bucket(), "doc.txt")
		require.NoError(t, err)
		assert.Equal(t, v3, r.To.VersionID, "the newest object version, not the delete marker")
		assert.Equal(t, v2, r.From.VersionID, "the delete marker in between is skipped")
		assert.Contains(t, strings.Join(r.Notes, "\n"), "latest entry is delete marker")
		assert.Contains(t, strings.Join(r.Notes, "\n"), "skipped delete marker")

		_, err = c.Diff(ctx, st.bucket(), "doc.txt", func(o *s3diff.DiffOptions) { o.To = top })
		require.ErrorIs(t, err, s3diff.ErrVersionNotFound)
		assert.Contains(t, err.Error(), "delete marker")

		res, err := c.Retain(ctx, st.bucket(), "doc.txt", 1)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{v2, v1, mid}, ids(res.Deleted))
		assert.ElementsMatch(t, []string{top, v3}, ids(res.Kept), "the latest delete marker stays: deleting it would bring the object back")
		left, err := c.Versions(ctx, st.bucket(), "doc.txt")
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{top, v3}, ids(left))
	})

	t.Run("keep: 1, more than there are, and invalid", func(t *testing.T) {
		st := newStore(t)
		c := newClient(t, st.api())
		var all []string
		for i := range 3 {
			all = append([]string{st.put(t, "k.txt", []byte{byte('a' + i)})}, all...)
		}
		for _, keep := range []int{0, -1} {
			_, err := c.Retain(ctx, st.bucket(), "k.txt", keep)
			require.ErrorIs(t, err, s3diff.ErrInvalidKeep)
		}
		res, err := c.Retain(ctx, st.bucket(), "k.txt", 10)
		require.NoError(t, err)
		assert.Empty(t, res.Deleted)
		assert.Equal(t, 0, res.DeleteCalls)

		dry, err := c.Retain(ctx, st.bucket(), "k.txt", 1, func(o *s3diff.RetainOptions) { o.DryRun = true })
		require.NoError(t, err)
		assert.Equal(t, all[1:], ids(dry.Deleted))
		assert.Equal(t, 0, dry.DeleteCalls)
		vs, err := c.Versions(ctx, st.bucket(), "k.txt")
		require.NoError(t, err)
		assert.Len(t, vs, 3, "a dry run deletes nothing")

		res, err = c.Retain(ctx, st.bucket(), "k.txt", 1)
		require.NoError(t, err)
		assert.Equal(t, all[1:], ids(res.Deleted))
		vs, err = c.Versions(ctx, st.bucket(), "k.txt")
		require.NoError(t, err)
		assert.Equal(t, all[:1], ids(vs), "the latest version survives")
	})

	t.Run("unicode keys with spaces and plus signs", func(t *testing.T) {
		st := newStore(t)
		c := newClient(t, st.api())
		key := "configs/naïve café + menu (v2).txt"
		st.put(t, key, []byte("crème brûlée\n"))
		st.put(t, key, []byte("crème brûlée\ntarte tatin\n"))
		st.put(t, "configs/naïve café + menu (v2).txt.old", []byte("x"))
		r, err := c.Diff(ctx, st.bucket(), key)
		require.NoError(t, err)
		assert.Equal(t, 1, r.LinesAdded)
		assert.Equal(t, key, r.To.Key)
	})

	t.Run("binary, oversize and identical versions", func(t *testing.T) {
		st := newStore(t)
		c := newClient(t, st.api(), func(o *s3diff.Options) { o.MaxObjectBytes = 1024 })
		st.put(t, "img.bin", []byte("GIF89a\x00\x01"))
		st.put(t, "img.bin", []byte("GIF89a\x00\x02"))
		r, err := c.Diff(ctx, st.bucket(), "img.bin")
		require.NoError(t, err)
		assert.Equal(t, s3diff.StatusBinary, r.Status)
		assert.Contains(t, r.Summary, "binary versions differ: 8 bytes")
		assert.Empty(t, r.Unified())

		st.put(t, "latin1.txt", []byte("caf\xe9\n"))
		st.put(t, "latin1.txt", []byte("cafe\n"))
		r, err = c.Diff(ctx, st.bucket(), "latin1.txt")
		require.NoError(t, err)
		assert.Equal(t, s3diff.StatusBinary, r.Status, "invalid UTF-8 never reaches the diff")

		st.put(t, "big.txt", bytes.Repeat([]byte("x\n"), 600))
		st.put(t, "big.txt", bytes.Repeat([]byte("y\n"), 600))
		r, err = c.Diff(ctx, st.bucket(), "big.txt")
		require.NoError(t, err)
		assert.Equal(t, s3diff.StatusTooLarge, r.Status)
		assert.Contains(t, r.Summary, "limit 1024")

		st.put(t, "same.txt", []byte("same\n"))
		st.put(t, "same.txt", []byte("same\n"))
		r, err = c.Diff(ctx, st.bucket(), "same.txt")
		require.NoError(t, err)
		assert.Equal(t, s3diff.StatusNoChanges, r.Status)
	})

	t.Run("the diff applies with GNU patch", func(t *testing.T) {
		st := newStore(t)
		c := newClient(t, st.api())
		old := "alpha\nbeta\ngamma\ndelta\nepsilon\nzeta\neta\ntheta\niota\nkappa\nlambda\nmu\nno newline at the end"
		new := "alpha\nBETA\ngamma\ndelta\nepsilon\nzeta\neta\ntheta\niota\nkappa\nlambda\nmu\nnu\nnow with one\n"
		from := st.put(t, "greek.txt", []byte(old))
		st.put(t, "greek.txt", []byte(new))
		r, err := c.Diff(ctx, st.bucket(), "greek.txt")
		require.NoError(t, err)
		assert.Equal(t, from, r.From.VersionID)
		assert.Len(t, r.Hunks, 2)
		assert.Equal(t, new, applyWithPatch(t, old, r.Unified()))
		assert.Contains(t, r.WordDiff(), "[-beta-]{+BETA+}")
	})

	t.Run("more than 1000 and more than 2000 versions", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: skips the 2,500-version listing")
		}
		st := newStore(t)
		c := newClient(t, st.api())
		var want []string
		for i := range 2500 {
			want = append(want, st.put(t, "many.txt", []byte(fmt.Sprintf("version %d\n", i))))
		}
		st.put(t, "many.txt.bak", []byte("sibling"))
		vs, err := c.Versions(ctx, st.bucket(), "many.txt")
		require.NoError(t, err)
		require.Len(t, vs, 2500)
		assert.Equal(t, want[2499], vs[0].VersionID)
		assert.Equal(t, want[0], vs[2499].VersionID)

		res, err := c.Retain(ctx, st.bucket(), "many.txt", 3)
		require.NoError(t, err)
		assert.Len(t, res.Deleted, 2497)
		assert.Equal(t, 3, res.ListPages, "ceil(2500/1000) pages")
		assert.Equal(t, 3, res.DeleteCalls, "ceil(2497/1000) DeleteObjects calls")
		vs, err = c.Versions(ctx, st.bucket(), "many.txt")
		require.NoError(t, err)
		assert.Equal(t, []string{want[2499], want[2498], want[2497]}, ids(vs))
		sib, err := c.Versions(ctx, st.bucket(), "many.txt.bak")
		require.NoError(t, err)
		assert.Len(t, sib, 1)
	})
}

func ids(vs []s3diff.Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.VersionID
	}
	return out
}

// applyWithPatch applies a unified diff to old with GNU patch and returns the result.
func applyWithPatch(t *testing.T, old, diff string) string {
	t.Helper()
	patch, err := exec.LookPath("patch")
	require.NoError(t, err, "GNU patch is needed: apt-get install patch")
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte(old), 0o600))
	cmd := exec.Command(patch, "--quiet", "--batch", file)
	cmd.Stdin = strings.NewReader(diff)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "patch failed: %s\ndiff:\n%s", out, diff)
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	return string(got)
}
