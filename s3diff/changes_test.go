package s3diff_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// changesScenario puts a history around a point in time and returns that time. tick makes the
// store's clock pass a second boundary.
func changesScenario(t *testing.T, st store, tick func()) (since time.Time, before, after map[string]string) {
	before = map[string]string{"cfg/a.txt": "one\ntwo\nthree\n", "cfg/b.txt": "b\n", "cfg/c.txt": "same\n", "cfg/d e.txt": "x\ny\n", "cfg/bin": "\x00\x01"}
	for _, k := range []string{"cfg/a.txt", "cfg/b.txt", "cfg/c.txt", "cfg/d e.txt", "cfg/bin"} {
		st.put(t, k, []byte("older "+k+"\n"))
		st.put(t, k, []byte(before[k]))
	}
	st.put(t, "cfg/rev.txt", []byte("r1\n"))
	st.del(t, "cfg/rev.txt") // deleted before: re-added after
	st.put(t, "other/x", []byte("outside\n"))
	tick()
	since = nowOf(t, st)
	tick()
	after = map[string]string{"cfg/a.txt": "one\nTWO\nthree\n", "cfg/c.txt": "same\n", "cfg/d e.txt": "x\nY\nz\n", "cfg/new.txt": "n1\nn2\n", "cfg/rev.txt": "r2\n", "cfg/bin": "\x00\x02"}
	st.put(t, "cfg/a.txt", []byte(after["cfg/a.txt"]))
	st.del(t, "cfg/b.txt")
	st.put(t, "cfg/d e.txt", []byte("x\nY\n"))
	st.put(t, "cfg/d e.txt", []byte(after["cfg/d e.txt"]))
	st.put(t, "cfg/new.txt", []byte(after["cfg/new.txt"]))
	st.put(t, "cfg/gone.txt", []byte("briefly\n"))
	st.del(t, "cfg/gone.txt")
	st.put(t, "cfg/rev.txt", []byte(after["cfg/rev.txt"]))
	st.put(t, "cfg/bin", []byte(after["cfg/bin"]))
	st.put(t, "other/x", []byte("outside, changed\n"))
	return since, before, after
}

// nowOf is the store's time: the fake's clock, or the wall clock for a real server.
func nowOf(t *testing.T, st store) time.Time {
	switch f := st.(type) {
	case *fakeStore:
		return f.clock.Now()
	case *wireStore:
		return f.clock.Now()
	}
	return time.Now()
}

// runChanges checks Changes and DiffChange on a store. exactTimes: the store reports each
// version's upload time as LastModified, as S3 does; without it only the keys are checked.
func runChanges(t *testing.T, st store, tick func(), exactTimes bool) {
	ctx := context.Background()
	since, before, after := changesScenario(t, st, tick)
	c := newClient(t, st.api(), func(o *s3diff.Options) { o.PageSize = 3 })
	var changes []s3diff.Change
	require.NoError(t, c.Changes(ctx, st.bucket(), "cfg/", since, func(ch s3diff.Change) error {
		changes = append(changes, ch)
		return nil
	}))
	got := map[string]s3diff.ChangeKind{}
	var keys []string
	for _, ch := range changes {
		got[ch.Key] = ch.Kind
		keys = append(keys, ch.Key)
	}
	assert.True(t, sort.StringsAreSorted(keys), "key order: %v", keys)
	if !exactTimes {
		assert.Equal(t, []string{"cfg/a.txt", "cfg/b.txt", "cfg/bin", "cfg/d e.txt", "cfg/gone.txt", "cfg/new.txt", "cfg/rev.txt"}, keys)
		return
	}
	assert.Equal(t, map[string]s3diff.ChangeKind{
		"cfg/a.txt": s3diff.ChangeModified, "cfg/b.txt": s3diff.ChangeDeleted, "cfg/bin": s3diff.ChangeModified,
		"cfg/d e.txt": s3diff.ChangeModified, "cfg/gone.txt": s3diff.ChangeGone, "cfg/new.txt": s3diff.ChangeAdded,
		"cfg/rev.txt": s3diff.ChangeAdded,
	}, got, "cfg/c.txt did not change; other/x is outside the prefix")
	for _, ch := range changes {
		if ch.Key == "cfg/d e.txt" {
			assert.Equal(t, 2, ch.Entries)
		}
	}

	// The diffs, concatenated, are a patch from the old tree to the new one.
	var patch bytes.Buffer
	for _, ch := range changes {
		if ch.Kind == s3diff.ChangeGone {
			_, err := c.DiffChange(ctx, st.bucket(), ch)
			require.ErrorIs(t, err, s3diff.ErrInvalidInput)
			continue
		}
		r, err := c.DiffChange(ctx, st.bucket(), ch)
		require.NoError(t, err, ch.Key)
		if ch.Key == "cfg/bin" {
			assert.Equal(t, s3diff.StatusBinary, r.Status)
		}
		require.NoError(t, r.WriteGitDiff(&patch))
	}
	assert.Contains(t, patch.String(), "diff --git a/cfg/new.txt b/cfg/new.txt\nnew file mode 100644\n--- /dev/null\n+++ b/cfg/new.txt\t")
	assert.Contains(t, patch.String(), "diff --git a/cfg/b.txt b/cfg/b.txt\ndeleted file mode 100644\n--- a/cfg/b.txt\t")
	assert.NotContains(t, patch.String(), "cfg/bin", "a binary change has no text patch")

	text := map[string]string{} // what a text patch can reproduce
	for k, v := range before {
		if k != "cfg/bin" {
			text[k] = v
		}
	}
	for name, apply := range map[string][]string{"git apply": {"git", "apply", "-"}, "GNU patch -p1": {"patch", "-p1", "--quiet", "--force"}} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, text)
			cmd := exec.Command(apply[0], apply[1:]...)
			cmd.Dir, cmd.Stdin = dir, bytes.NewReader(patch.Bytes())
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s\npatch:\n%s", out, patch.String())
			want := map[string]string{}
			for k, v := range after {
				if k != "cfg/bin" {
					want[k] = v
				}
			}
			assert.Equal(t, want, readTree(t, dir))
		})
	}
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	for k, v := range files {
		p := filepath.Join(dir, filepath.FromSlash(k))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(v), 0o644))
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return out
}

func TestChangesOnTheFake(t *testing.T) {
	st := newFakeStoreOnAClock(t)
	runChanges(t, st, func() { st.clock.Advance(time.Minute) }, true)
}

func TestChangesThroughTheWire(t *testing.T) {
	f := newFakeStoreOnAClock(t)
	srv := s3difftest.NewWireServer(f.s)
	t.Cleanup(srv.Close)
	st := &wireStore{fakeStore: *f, client: wireClient(srv.URL), srv: srv}
	runChanges(t, st, func() { f.clock.Advance(time.Minute) }, true)
}

func TestIntegrationChangesOnVersity(t *testing.T) {
	st := newVersityStore(t)
	// Versity reports a noncurrent version's LastModified as the time it became noncurrent,
	// not its upload time, so what was current at a past time can't be told from it there:
	// the keys are right, the versions before are not (docs/s3diff.md says so).
	runChanges(t, st, func() { time.Sleep(1100 * time.Millisecond) }, false) // whole seconds
}

func TestChangesBadInput(t *testing.T) {
	c := newClient(t, s3difftest.New())
	noop := func(s3diff.Change) error { return nil }
	require.ErrorIs(t, c.Changes(context.Background(), "", "p/", time.Now(), noop), s3diff.ErrInvalidInput)
	require.ErrorIs(t, c.Changes(context.Background(), "bucket", "p/", time.Time{}, noop), s3diff.ErrInvalidInput)
	require.ErrorIs(t, c.Changes(context.Background(), "bucket", "p/", time.Now(), nil), s3diff.ErrInvalidInput)
	_, err := c.DiffChange(context.Background(), "bucket", s3diff.Change{Key: "k", Kind: s3diff.ChangeModified})
	require.ErrorIs(t, err, s3diff.ErrInvalidInput, "a modified change without the version before")
	_, err = c.DiffChange(context.Background(), "bucket", s3diff.Change{Key: "k", Kind: s3diff.ChangeAdded,
		After: s3diff.Version{Key: "other", VersionID: "v"}})
	require.ErrorIs(t, err, s3diff.ErrInvalidInput, "a version of another key")
	assert.True(t, strings.HasPrefix(err.Error(), "s3diff: "))
}
