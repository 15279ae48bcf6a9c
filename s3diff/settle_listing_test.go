package s3diff_test

// The listing that settles a lost DeleteObjects answer is held to the rules of every
// listing (s3diff/doc.go: "Every listing is checked as it comes: entries with a key and a
// version id, keys once each and ascending, exactly one latest entry per key, markers that
// never come back; anything else is ErrMalformedResponse before the key is acted on"). Here
// the lost call never took effect, and the settling listing lies in a shape no S3 gives: it
// may not turn versions that are still there into "deleted" on stdout.

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/s3diff"
)

// settleLie rewrites the true listing of keys into an answer no S3 gives.
type settleLie struct {
	name string
	lie  func(out *s3.ListObjectVersionsOutput) *s3.ListObjectVersionsOutput
	// prefixOnly: with one key (Retain) the shape is not malformed.
	prefixOnly bool
}

func settleLies() []settleLie {
	latestOnly := func(out *s3.ListObjectVersionsOutput, flag bool) *s3.ListObjectVersionsOutput {
		res := &s3.ListObjectVersionsOutput{IsTruncated: aws.Bool(false)}
		for _, v := range out.Versions {
			if aws.ToBool(v.IsLatest) {
				v.IsLatest = aws.Bool(flag)
				res.Versions = append(res.Versions, v)
			}
		}
		return res
	}
	return []settleLie{
		{"only the latest versions, none flagged latest", func(out *s3.ListObjectVersionsOutput) *s3.ListObjectVersionsOutput {
			return latestOnly(out, false)
		}, false},
		{"only the latest versions, in descending key order", func(out *s3.ListObjectVersionsOutput) *s3.ListObjectVersionsOutput {
			res := latestOnly(out, true)
			for i, j := 0, len(res.Versions)-1; i < j; i, j = i+1, j-1 {
				res.Versions[i], res.Versions[j] = res.Versions[j], res.Versions[i]
			}
			return res
		}, true},
		{"only the latest versions, each without a version id", func(out *s3.ListObjectVersionsOutput) *s3.ListObjectVersionsOutput {
			res := latestOnly(out, true)
			for i := range res.Versions {
				res.Versions[i].VersionId = nil
			}
			return res
		}, false},
		{"only the latest versions, the first key listed twice", func(out *s3.ListObjectVersionsOutput) *s3.ListObjectVersionsOutput {
			res := latestOnly(out, true)
			dup := res.Versions[0]
			dup.VersionId = aws.String("another-latest")
			res.Versions = append(res.Versions[:1], append(append(res.Versions[:0:0], dup), res.Versions[1:]...)...)
			return res
		}, false},
		{"a truncated page whose markers point back before the first key", func(out *s3.ListObjectVersionsOutput) *s3.ListObjectVersionsOutput {
			res := latestOnly(out, true)
			res.IsTruncated, res.NextKeyMarker, res.NextVersionIdMarker = aws.Bool(true), aws.String("a"), aws.String("x")
			return res
		}, false},
		{"a page of keys outside the prefix", func(out *s3.ListObjectVersionsOutput) *s3.ListObjectVersionsOutput {
			res := latestOnly(out, true)
			for i := range res.Versions {
				res.Versions[i].Key = aws.String("q/" + aws.ToString(res.Versions[i].Key))
			}
			return res
		}, false},
	}
}

// TestTheSettlingListingIsCheckedLikeEveryListing: RetainPrefix and Retain, a DeleteObjects
// call that fails (InternalError, retries used up) without having taken effect, and a
// settling listing that lies in a malformed shape: nothing is recorded or counted as
// deleted, the versions are Unknown (or Failed/Stopped), and the resume point does not pass
// them.
func TestTheSettlingListingIsCheckedLikeEveryListing(t *testing.T) {
	for _, sl := range settleLies() {
		t.Run("RetainPrefix/"+sl.name, func(t *testing.T) {
			st := newFakeStore(t).(*fakeStore)
			prefixOf(st, 10)
			planned := oldestIDs(st, 10)
			var lost atomic.Bool
			g := &guard{S3API: st.s, prefix: "p/"}
			g.delHook = func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
				lost.Store(true) // never sent: the answer is an error, the versions stay
				return nil, fakeapi.Error("InternalError", "We encountered an internal error.")
			}
			g.listHook = func(n int, in *s3.ListObjectVersionsInput, out *s3.ListObjectVersionsOutput, err error) (*s3.ListObjectVersionsOutput, error) {
				if err != nil || !lost.Load() {
					return out, err
				}
				return sl.lie(out), nil
			}
			rec := &recorder{}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := newClient(t, g).RetainPrefix(ctx, st.name, "p/", 1, func(o *s3diff.PrefixRetainOptions) { o.OnDelete = rec.onDelete })
			g.check(t)
			require.Error(t, err)
			require.NotNil(t, res)
			t.Logf("err %v; %+v", err, res.PrefixProgress)
			assert.Zero(t, res.Deleted, "nothing was deleted; a malformed listing can't say otherwise")
			assert.Empty(t, rec.ids, "stdout names versions that are still there")
			assert.False(t, res.Complete)
			assert.Empty(t, res.StartAfter, "no key is done")
			assert.Equal(t, res.Planned, res.Deleted+res.Failed+res.Stopped+res.Unknown)
			checkRecordMatchesListing(t, st, 10, rec, res, planned)
		})
		if sl.prefixOnly {
			continue
		}
		t.Run("Retain/"+sl.name, func(t *testing.T) {
			st := newFakeStore(t).(*fakeStore)
			for range 4 {
				st.put(t, "p/k", []byte("x"))
			}
			var lost atomic.Bool
			g := &guard{S3API: st.s, prefix: "p/"}
			g.delHook = func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
				lost.Store(true)
				return nil, fakeapi.Error("InternalError", "We encountered an internal error.")
			}
			g.listHook = func(n int, in *s3.ListObjectVersionsInput, out *s3.ListObjectVersionsOutput, err error) (*s3.ListObjectVersionsOutput, error) {
				if err != nil || !lost.Load() {
					return out, err
				}
				return sl.lie(out), nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := newClient(t, g).Retain(ctx, st.name, "p/k", 1)
			g.check(t)
			require.Error(t, err)
			require.NotNil(t, res)
			assert.Empty(t, res.Deleted, "nothing was deleted: %s", fmt.Sprint(res.Failed))
			assert.Len(t, res.Failed, 3)
			assert.Len(t, st.s.VersionIDs(st.name, "p/k"), 4)
		})
	}
}

// TestASettlingListingWithoutTheKeptEntriesConfirmsNothing: the settling listing answers
// without the batch's keys at all (an empty bucket, or only other keys), although the run
// never deleted their latest entries. Nothing was deleted: stdout, the summary and the exit
// status must not say the work is done.
func TestASettlingListingWithoutTheKeptEntriesConfirmsNothing(t *testing.T) {
	answers := map[string]func(out *s3.ListObjectVersionsOutput) *s3.ListObjectVersionsOutput{
		"an empty listing": func(*s3.ListObjectVersionsOutput) *s3.ListObjectVersionsOutput {
			return &s3.ListObjectVersionsOutput{IsTruncated: aws.Bool(false)}
		},
		"only a key after the batch's keys": func(*s3.ListObjectVersionsOutput) *s3.ListObjectVersionsOutput {
			return buildPage([]pageEntry{{key: "p/zzzz", id: "z1", latest: true}}, false, nil, nil)
		},
	}
	for name, answer := range answers {
		t.Run("RetainPrefix/"+name, func(t *testing.T) {
			st := newFakeStore(t).(*fakeStore)
			prefixOf(st, 10)
			planned := oldestIDs(st, 10)
			var lost atomic.Bool
			g := &guard{S3API: st.s, prefix: "p/"}
			g.delHook = func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
				lost.Store(true)
				return nil, fakeapi.Error("InternalError", "We encountered an internal error.")
			}
			g.listHook = func(n int, in *s3.ListObjectVersionsInput, out *s3.ListObjectVersionsOutput, err error) (*s3.ListObjectVersionsOutput, error) {
				if err != nil || !lost.Load() {
					return out, err
				}
				return answer(out), nil
			}
			rec := &recorder{}
			res, err := newClient(t, g).RetainPrefix(context.Background(), st.name, "p/", 1, func(o *s3diff.PrefixRetainOptions) { o.OnDelete = rec.onDelete })
			g.check(t)
			require.NotNil(t, res)
			t.Logf("err %v; complete %v; %+v", err, res.Complete, res.PrefixProgress)
			assert.Error(t, err, "nothing was deleted, yet the run reports success")
			assert.False(t, res.Complete)
			assert.Empty(t, rec.ids, "stdout names versions that are still there")
			checkRecordMatchesListing(t, st, 10, rec, res, planned)
		})
		t.Run("Retain/"+name, func(t *testing.T) {
			st := newFakeStore(t).(*fakeStore)
			for range 4 {
				st.put(t, "p/k", []byte("x"))
			}
			var lost atomic.Bool
			g := &guard{S3API: st.s, prefix: "p/"}
			g.delHook = func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
				lost.Store(true)
				return nil, fakeapi.Error("InternalError", "We encountered an internal error.")
			}
			g.listHook = func(n int, in *s3.ListObjectVersionsInput, out *s3.ListObjectVersionsOutput, err error) (*s3.ListObjectVersionsOutput, error) {
				if err != nil || !lost.Load() {
					return out, err
				}
				return answer(out), nil
			}
			res, err := newClient(t, g).Retain(context.Background(), st.name, "p/k", 1)
			g.check(t)
			require.NotNil(t, res)
			assert.Error(t, err, "nothing was deleted, yet Retain reports success")
			assert.Empty(t, res.Deleted, "still there: %v", st.s.VersionIDs(st.name, "p/k"))
		})
	}
}
