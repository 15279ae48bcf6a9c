package s3diff_test

// DeleteObjects answers whose ids collide with other entries of the same batch, per-key
// errors that name what nobody asked to delete, and a version both deleted and refused in
// one answer. The rule (docs/RELIABILITY.md, "Hostile answers"): for a delete by version id,
// DeleteMarkerVersionId is absent or the id deleted; anything else may have created a delete
// marker and is never a deletion. Per-version errors are retried only for versions that
// were asked for; the summary accounts for every planned version once.

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
)

// mixedKey gives key the entries v1, v2, m1 (marker), v3, m2 (marker), v4, v5 (latest) and
// returns them by name.
func mixedKey(m *model, key string) map[string]string {
	ids := map[string]string{}
	ids["v1"] = m.put(key)
	ids["v2"] = m.put(key)
	ids["m1"] = m.del(key)
	ids["v3"] = m.put(key)
	ids["m2"] = m.del(key)
	ids["v4"] = m.put(key)
	ids["v5"] = m.put(key)
	return ids
}

func editEntry(out *s3.DeleteObjectsOutput, key, id string, edit func(e *types.DeletedObject)) {
	for i := range out.Deleted {
		if aws.ToString(out.Deleted[i].Key) == key && aws.ToString(out.Deleted[i].VersionId) == id {
			edit(&out.Deleted[i])
		}
	}
}

// TestAMarkerIDFromTheSameBatchNeverConfirmsADeletion: the marker id in an answer is one the
// batch itself names (another old marker of the key, a version of the key, a marker of
// another key): still not the id deleted, so the answer may have made a marker.
func TestAMarkerIDFromTheSameBatchNeverConfirmsADeletion(t *testing.T) {
	type shape struct {
		name   string
		target string // the entry whose answer lies
		edit   func(e *types.DeletedObject, ids, other map[string]string)
	}
	shapes := []shape{
		{"an old version answered DeleteMarker=true with the id of an old marker of the batch", "v3",
			func(e *types.DeletedObject, ids, _ map[string]string) {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(true), aws.String(ids["m1"])
			}},
		{"an old marker answered with the id of the other old marker of the batch", "m1",
			func(e *types.DeletedObject, ids, _ map[string]string) {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(true), aws.String(ids["m2"])
			}},
		{"an old marker answered with the id of a version of the batch", "m1",
			func(e *types.DeletedObject, ids, _ map[string]string) {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(true), aws.String(ids["v2"])
			}},
		{"an old marker answered with the id of another key's old marker in the batch", "m1",
			func(e *types.DeletedObject, _, other map[string]string) {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(true), aws.String(other["m1"])
			}},
		{"an old version answered DeleteMarker=false with another version's id as marker id", "v2",
			func(e *types.DeletedObject, ids, _ map[string]string) {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(false), aws.String(ids["v1"])
			}},
		{"an old marker answered with the id of the latest version", "m2",
			func(e *types.DeletedObject, ids, _ map[string]string) {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(true), aws.String(ids["v5"])
			}},
	}
	ctx := context.Background()
	for _, sh := range shapes {
		t.Run("Retain/"+sh.name, func(t *testing.T) {
			m := newModel(t)
			ids := mixedKey(m, "k")
			other := mixedKey(m, "other")
			rw := &rewriting{S3API: m.api(), del: func(_ *s3.DeleteObjectsInput, out *s3.DeleteObjectsOutput) {
				editEntry(out, "k", ids[sh.target], func(e *types.DeletedObject) { sh.edit(e, ids, other) })
			}}
			res, err := newClient(t, rw, func(o *s3diff.Options) { o.RetryWait = noWait }).Retain(ctx, m.bucket(), "k", 1)
			require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
			require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
			require.NotNil(t, res)
			assert.NotContains(t, versionIDs(res.Deleted), ids[sh.target], "never counted as deleted")
			assert.Contains(t, []string{s3diff.CodeMarkerCreated, s3diff.CodeNotConfirmed}, codeOf(res.Failed, ids[sh.target]), "%+v", res.Failed)
			assert.Len(t, rw.deletes, 1, "no retry")
		})
		t.Run("RetainPrefix/"+sh.name, func(t *testing.T) {
			m := newModel(t)
			all := map[string]map[string]string{}
			for _, k := range []string{"p/a", "p/b", "p/c"} {
				all[k] = mixedKey(m, k)
			}
			target := all["p/b"][sh.target]
			rw := &rewriting{S3API: m.api(), del: func(_ *s3.DeleteObjectsInput, out *s3.DeleteObjectsOutput) {
				editEntry(out, "p/b", target, func(e *types.DeletedObject) { sh.edit(e, all["p/b"], all["p/c"]) })
			}}
			var col collector
			res, err := newClient(t, rw, func(o *s3diff.Options) { o.RetryWait = noWait }).
				RetainPrefix(ctx, m.bucket(), "p/", 1, func(o *s3diff.PrefixRetainOptions) { o.OnDelete = col.add })
			require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
			require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
			require.NotNil(t, res)
			assert.False(t, res.Complete)
			assert.Less(t, res.StartAfter, "p/b")
			assert.Zero(t, col.set()[[2]string{"p/b", target}], "never recorded as deleted")
			assert.Contains(t, []string{s3diff.CodeMarkerCreated, s3diff.CodeNotConfirmed}, codeOf(res.Failures, target), "%+v", res.Failures)
			assert.Equal(t, res.Planned, res.Deleted+res.Failed+res.Stopped+res.Unknown, "%+v", res.PrefixProgress)
			assert.Equal(t, res.Deleted, len(col.set()))
		})
	}
}

// TestRetryableErrorsNamingWhatWasNotAskedAreNeverRetried: an answer reports a retryable
// per-key error (SlowDown) for a version nobody asked to delete: the latest version of the
// key, a kept version, another key's latest. Retrying it would delete what must stay.
func TestRetryableErrorsNamingWhatWasNotAskedAreNeverRetried(t *testing.T) {
	ctx := context.Background()
	for _, victim := range []string{"latest", "kept", "another key's latest"} {
		for _, prefix := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s prefix %v", victim, prefix), func(t *testing.T) {
				m := newModel(t)
				key := "k"
				if prefix {
					key = "p/k"
				}
				ids := mixedKey(m, key)
				otherKey := "p/zz"
				m.put(otherKey)
				otherLatest := m.put(otherKey)
				m.snapshot([]string{key, otherKey})
				errKey, errID := key, ids["v5"]
				switch victim {
				case "kept":
					errID = ids["v4"]
				case "another key's latest":
					errKey, errID = otherKey, otherLatest
				}
				g := &guard{S3API: m.api(), prefix: map[bool]string{false: "", true: "p/"}[prefix], mustStay: m.mustStay(2)}
				var once sync.Once
				g.delHook = func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
					out, err := next(in)
					if err == nil {
						once.Do(func() {
							out.Errors = append(out.Errors, types.Error{Key: aws.String(errKey), VersionId: aws.String(errID),
								Code: aws.String("SlowDown"), Message: aws.String("Please reduce your request rate.")})
						})
					}
					return out, err
				}
				c := newClient(t, g, func(o *s3diff.Options) { o.RetryWait = noWait })
				if !prefix {
					res, err := c.Retain(ctx, m.bucket(), key, 2)
					g.check(t)
					if err != nil {
						require.NotNil(t, res)
					}
					assert.Equal(t, ids["v5"], m.ids(key)[0], "the latest version stays")
					assert.Contains(t, m.ids(key), ids["v4"])
					assert.Contains(t, m.ids(otherKey), otherLatest)
					return
				}
				res, err := c.RetainPrefix(ctx, m.bucket(), "p/", 2)
				g.check(t)
				require.NotNil(t, res)
				assert.Equal(t, res.Planned, res.Deleted+res.Failed+res.Stopped+res.Unknown, "%v %+v", err, res.PrefixProgress)
				assert.Contains(t, m.ids(key), ids["v5"])
				assert.Contains(t, m.ids(key), ids["v4"])
				assert.Contains(t, m.ids(otherKey), otherLatest)
			})
		}
	}
}

// TestAVersionBothDeletedAndRefusedInOneAnswerIsCountedOnce: an answer lists a version under
// Deleted and also reports an error for it (retryable or not). The version is gone (the fake
// deleted it); the record names it at most once, counts add up to Planned, and the record
// never names a version that is still there.
func TestAVersionBothDeletedAndRefusedInOneAnswerIsCountedOnce(t *testing.T) {
	ctx := context.Background()
	for _, code := range []string{"SlowDown", "AccessDenied"} {
		t.Run(code, func(t *testing.T) {
			m := newModel(t)
			all := map[string]map[string]string{}
			keys := []string{"p/a", "p/b", "p/c"}
			for _, k := range keys {
				all[k] = mixedKey(m, k)
			}
			m.snapshot(keys)
			target := all["p/b"]["v2"]
			g := &guard{S3API: m.api(), prefix: "p/", mustStay: m.mustStay(1)}
			g.delHook = func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
				out, err := next(in)
				if err == nil && n == 1 {
					out.Errors = append(out.Errors, types.Error{Key: aws.String("p/b"), VersionId: aws.String(target),
						Code: aws.String(code), Message: aws.String("no")})
				}
				return out, err
			}
			var col collector
			res, err := newClient(t, g, func(o *s3diff.Options) { o.RetryWait = noWait }).
				RetainPrefix(ctx, m.bucket(), "p/", 1, func(o *s3diff.PrefixRetainOptions) { o.OnDelete = col.add })
			g.check(t)
			require.NotNil(t, res)
			t.Logf("err %v, progress %+v, failures %+v", err, res.PrefixProgress, res.Failures)
			for kv, n := range col.set() {
				assert.Equal(t, 1, n, "%v recorded %d times", kv, n)
				assert.NotContains(t, m.ids(kv[0]), kv[1], "recorded as deleted but still there")
			}
			assert.Equal(t, res.Deleted, len(col.set()), "the count and the record agree")
			assert.Equal(t, res.Planned, res.Deleted+res.Failed+res.Stopped+res.Unknown, "every planned version accounted for once: %+v", res.PrefixProgress)
			if err == nil {
				assert.True(t, res.Complete)
				for _, k := range keys {
					assert.True(t, m.done(k, 1), "%s: %v", k, m.ids(k))
				}
			}
		})
	}
}
