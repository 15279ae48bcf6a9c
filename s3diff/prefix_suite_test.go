package s3diff_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// runPrefixSuite is the behaviour of RetainPrefix, against one store (the fake, the fake
// through its wire server, Versity).
func runPrefixSuite(t *testing.T, newStore func(t *testing.T) store) {
	ctx := context.Background()
	putN := func(t *testing.T, st store, key string, n int) []string { // newest first
		var ids []string
		for i := range n {
			ids = append([]string{st.put(t, key, []byte{byte('a' + i%26)})}, ids...)
		}
		return ids
	}

	t.Run("every key keeps its newest N; siblings, case and trailing spaces are keys of their own", func(t *testing.T) {
		st := newStore(t)
		keys := []string{"cfg/a", "cfg/a.bak", "cfg/a/b", "cfg/A", "cfg/a ", "cfg/one"}
		if _, posix := st.(*versityStore); posix {
			// Versity's posix backend keeps objects as files: "cfg/a" can't also be a folder.
			keys = []string{"cfg/a", "cfg/a.bak", "cfg/ab/b", "cfg/A", "cfg/a ", "cfg/one"}
		}
		want := map[string][]string{}
		for i, k := range keys {
			ids := putN(t, st, k, 4+i%3)
			want[k] = ids[:2]
		}
		st.put(t, "other/x", []byte("outside the prefix"))
		st.put(t, "other/x", []byte("outside the prefix, 2"))
		c := newClient(t, st.api(), func(o *s3diff.Options) { o.PageSize = 5 }) // keys span pages
		res, err := c.RetainPrefix(ctx, st.bucket(), "cfg/", 2)
		require.NoError(t, err)
		assert.True(t, res.Complete)
		assert.Equal(t, len(keys), res.Keys)
		assert.Empty(t, res.StartAfter)
		for _, k := range keys {
			vs, err := c.Versions(ctx, st.bucket(), k)
			require.NoError(t, err)
			assert.Equal(t, want[k], ids(vs), "key %q", k)
		}
		other, err := c.Versions(ctx, st.bucket(), "other/x")
		require.NoError(t, err)
		assert.Len(t, other, 2, "outside the prefix: untouched")
	})

	t.Run("delete markers: the latest stays, older ones go, across page boundaries", func(t *testing.T) {
		st := newStore(t)
		st.put(t, "m/1", []byte("v1"))
		st.del(t, "m/1")
		v3 := st.put(t, "m/1", []byte("v3"))
		latestMarker := ""
		for range 3 {
			st.put(t, "m/2", []byte("x"))
		}
		latestMarker = st.del(t, "m/2") // m/2 is deleted: its marker is the latest entry
		c := newClient(t, st.api(), func(o *s3diff.Options) { o.PageSize = 2 })
		res, err := c.RetainPrefix(ctx, st.bucket(), "m/", 1)
		require.NoError(t, err)
		require.True(t, res.Complete)
		vs, err := c.Versions(ctx, st.bucket(), "m/1")
		require.NoError(t, err)
		assert.Equal(t, []string{v3}, ids(vs), "the newest version, no marker")
		vs, err = c.Versions(ctx, st.bucket(), "m/2")
		require.NoError(t, err)
		require.NotEmpty(t, vs)
		assert.Equal(t, latestMarker, vs[0].VersionID, "the latest delete marker is never deleted")
		assert.True(t, vs[0].DeleteMarker)
	})

	t.Run("API calls at the minimum: ceil(V/1000) lists and ceil(D/1000) deletes across keys", func(t *testing.T) {
		st := newStore(t)
		for i := range 120 {
			putN(t, st, "n/"+string(rune('a'+i/26))+string(rune('a'+i%26)), 3)
		}
		c := newClient(t, st.api())
		var deleted []string
		var mu sync.Mutex
		res, err := c.RetainPrefix(ctx, st.bucket(), "n/", 1, func(o *s3diff.PrefixRetainOptions) {
			o.OnDelete = func(v s3diff.Version) { mu.Lock(); deleted = append(deleted, v.Key); mu.Unlock() }
		})
		require.NoError(t, err)
		assert.Equal(t, 120, res.Keys)
		assert.Equal(t, 360, res.Versions)
		assert.Equal(t, 240, res.Planned)
		assert.Equal(t, 240, res.Deleted)
		assert.Len(t, deleted, 240)
		assert.LessOrEqual(t, res.ListPages, 2, "360 versions: one page (an S3-compatible server may add an empty last page)")
		assert.Equal(t, 1, res.DeleteCalls, "240 deletions of 120 keys: one DeleteObjects")
	})

	t.Run("dry run deletes nothing", func(t *testing.T) {
		st := newStore(t)
		putN(t, st, "d/x", 3)
		c := newClient(t, st.api())
		var planned []s3diff.Version
		res, err := c.RetainPrefix(ctx, st.bucket(), "d/", 1, func(o *s3diff.PrefixRetainOptions) {
			o.DryRun = true
			o.OnDelete = func(v s3diff.Version) { planned = append(planned, v) }
		})
		require.NoError(t, err)
		assert.Equal(t, 2, res.Planned)
		assert.Zero(t, res.DeleteCalls)
		assert.Len(t, planned, 2)
		vs, err := c.Versions(ctx, st.bucket(), "d/x")
		require.NoError(t, err)
		assert.Len(t, vs, 3)
	})
}

func TestPrefixBehaviourOnTheFake(t *testing.T)       { runPrefixSuite(t, newFakeStore) }
func TestPrefixBehaviourThroughTheWire(t *testing.T)  { runPrefixSuite(t, newWireStore) }
func TestIntegrationVersityRetainPrefix(t *testing.T) { runPrefixSuite(t, newVersityStore) }

// racing puts a new version of a key while the listing is under way, as an upload during
// the pass would.
type racing struct {
	s3diff.S3API
	put  func()
	done bool
}

func (r *racing) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	out, err := r.S3API.ListObjectVersions(ctx, in, optFns...)
	if !r.done {
		r.done = true
		r.put()
	}
	return out, err
}

func TestPrefixUploadsDuringThePassAreNeverDeleted(t *testing.T) {
	st := newFakeStore(t).(*fakeStore)
	for range 3 {
		st.put(t, "r/a", []byte("old"))
	}
	var fresh string
	r := &racing{S3API: st.api(), put: func() { fresh = st.put(t, "r/a", []byte("uploaded during the pass")) }}
	c := newClient(t, r)
	res, err := c.RetainPrefix(context.Background(), st.bucket(), "r/", 1)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Deleted, "the plan came from the listing, which did not have the new upload")
	vs, err := c.Versions(context.Background(), st.bucket(), "r/a")
	require.NoError(t, err)
	assert.Equal(t, fresh, vs[0].VersionID, "the upload survives")
	assert.Len(t, vs, 2)
}

func TestPrefixInterruptedAndResumed(t *testing.T) {
	st := newFakeStore(t).(*fakeStore)
	var keys []string
	for i := range 3000 { // 6000 deletions: six batches, sent one at a time while the listing goes on
		k := fmt.Sprintf("s/%04d", i)
		keys = append(keys, k)
		for range 3 {
			st.put(t, k, []byte("v"))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := newClient(t, st.api(), func(o *s3diff.Options) { o.PageSize = 100 })
	res, err := c.RetainPrefix(ctx, st.bucket(), "s/", 1, func(o *s3diff.PrefixRetainOptions) {
		o.Concurrency = 1
		o.OnProgress = func(p s3diff.PrefixProgress) {
			if p.Deleted >= 1000 {
				cancel() // the operator presses Ctrl-C after the first batch
			}
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, res.Complete)
	require.NotEmpty(t, res.StartAfter)
	assert.Less(t, res.StartAfter, keys[len(keys)-1])
	for _, k := range keys {
		if k > res.StartAfter {
			break
		}
		vs, err := c.Versions(context.Background(), st.bucket(), k)
		require.NoError(t, err)
		require.Len(t, vs, 1, "every key up to StartAfter is done: %s", k)
	}

	res2, err := c.RetainPrefix(context.Background(), st.bucket(), "s/", 1, func(o *s3diff.PrefixRetainOptions) { o.StartAfter = res.StartAfter })
	require.NoError(t, err)
	assert.True(t, res2.Complete)
	assert.Less(t, res2.Keys, len(keys), "the resume skipped what was done")
	for _, k := range keys {
		vs, err := c.Versions(context.Background(), st.bucket(), k)
		require.NoError(t, err)
		assert.Len(t, vs, 1, "every key is pruned after the resume: %s", k)
	}
	_, err = c.RetainPrefix(context.Background(), st.bucket(), "s/", 1, func(o *s3diff.PrefixRetainOptions) { o.StartAfter = "t/zz" })
	require.ErrorIs(t, err, s3diff.ErrInvalidInput, "a resume point outside the prefix")
}

// repeatingMarker lists the entry named by the page's markers again at the start of the
// next page, as Versity S3 Gateway does.
type repeatingMarker struct {
	s3diff.S3API
	last map[[2]string]any // key, version id -> the entry of the previous page
}

func (r *repeatingMarker) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	out, err := r.S3API.ListObjectVersions(ctx, in, optFns...)
	if err != nil {
		return out, err
	}
	if e, ok := r.last[[2]string{aws.ToString(in.KeyMarker), aws.ToString(in.VersionIdMarker)}]; ok {
		switch e := e.(type) {
		case types.ObjectVersion:
			out.Versions = append([]types.ObjectVersion{e}, out.Versions...)
		case types.DeleteMarkerEntry:
			out.DeleteMarkers = append([]types.DeleteMarkerEntry{e}, out.DeleteMarkers...)
		}
	}
	r.last = map[[2]string]any{}
	for _, v := range out.Versions {
		r.last[[2]string{aws.ToString(v.Key), aws.ToString(v.VersionId)}] = v
	}
	for _, m := range out.DeleteMarkers {
		r.last[[2]string{aws.ToString(m.Key), aws.ToString(m.VersionId)}] = m
	}
	return out, nil
}

func TestAMarkerEntryListedTwiceIsCountedOnce(t *testing.T) {
	for _, pageSize := range []int32{1, 2, 3} {
		st := newFakeStore(t).(*fakeStore)
		var want = map[string][]string{}
		for _, k := range []string{"d/a", "d/b"} {
			var newest []string
			for i := range 5 {
				newest = append([]string{st.put(t, k, []byte{byte('0' + i)})}, newest...)
			}
			want[k] = newest[:3]
		}
		st.del(t, "d/a") // the latest entry of d/a is a delete marker: it stays, with 3 versions
		rm := &repeatingMarker{S3API: st.api()}
		c := newClient(t, rm, func(o *s3diff.Options) { o.PageSize = pageSize })
		vs, err := c.Versions(context.Background(), st.bucket(), "d/b")
		require.NoError(t, err)
		require.Len(t, vs, 5, "page size %d: each version once", pageSize)

		res, err := c.RetainPrefix(context.Background(), st.bucket(), "d/", 3)
		require.NoError(t, err, "page size %d", pageSize)
		assert.Equal(t, 4, res.Deleted, "page size %d: the two oldest versions of each key", pageSize)
		vs, err = c.Versions(context.Background(), st.bucket(), "d/a")
		require.NoError(t, err)
		require.Len(t, vs, 4)
		assert.True(t, vs[0].DeleteMarker)
		assert.Equal(t, want["d/a"], ids(vs[1:]))
		vs, err = c.Versions(context.Background(), st.bucket(), "d/b")
		require.NoError(t, err)
		assert.Equal(t, want["d/b"], ids(vs))
	}
}

func TestPrefixRefusesListingsOutOfOrderOrOutsideThePrefix(t *testing.T) {
	for name, edit := range map[string]func(page int, out *s3.ListObjectVersionsOutput){
		"a key outside the prefix": func(page int, out *s3.ListObjectVersionsOutput) {
			if page == 2 {
				out.Versions[0].Key = aws.String("other/x")
			}
		},
		"a key that goes back": func(page int, out *s3.ListObjectVersionsOutput) {
			if page == 3 {
				out.Versions[0].Key = aws.String("p/a")
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			st := newFakeStore(t).(*fakeStore)
			for _, k := range []string{"p/a", "p/b", "p/c", "other/x"} {
				for range 3 {
					st.put(t, k, []byte(k))
				}
			}
			page := 0
			rw := &rewriting{S3API: st.api(), list: func(out *s3.ListObjectVersionsOutput) { page++; edit(page, out) }}
			c := newClient(t, rw, func(o *s3diff.Options) { o.PageSize = 3 })
			res, err := c.RetainPrefix(context.Background(), st.bucket(), "p/", 1)
			require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
			assert.False(t, res.Complete)
			assert.Len(t, st.s.VersionIDs(st.bucket(), "other/x"), 3)
			assert.Zero(t, res.Deleted, "the plans of p/a and p/b are in the batch that was never sent")
			assert.Zero(t, st.s.Calls(s3difftest.OpDeleteObjects))
		})
	}
}
