package s3diff_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/s3diff"
)

// bigBucket: n keys "f/0000"... each with versions puts (keys divisible by 7 have a single
// version, nothing to delete, and keys divisible by 5 are deleted: the latest is a marker).
func bigBucket(t *testing.T, n, puts int) (*model, []string) {
	m := newModel(t)
	var keys []string
	for i := range n {
		k := fmt.Sprintf("f/%04d", i)
		keys = append(keys, k)
		p := puts
		if i%7 == 0 {
			p = 1
		}
		for range p {
			m.put(k)
		}
		if i%5 == 0 {
			m.del(k)
		}
	}
	m.snapshot(keys)
	return m, keys
}

// resumeAndFinish runs again from the interrupted run's StartAfter and checks that every
// key ends pruned.
func resumeAndFinish(t *testing.T, m *model, keys []string, keep int, res *s3diff.PrefixRetainResult, name string) {
	t.Helper()
	g := &guard{S3API: m.api(), prefix: "f/", mustStay: m.mustStay(keep)}
	c := newClient(t, g, func(o *s3diff.Options) { o.Clock = clocktest.New() })
	res2, err := c.RetainPrefix(context.Background(), m.bucket(), "f/", keep, func(o *s3diff.PrefixRetainOptions) { o.StartAfter = res.StartAfter })
	require.NoError(t, err, name)
	g.check(t)
	assert.True(t, res2.Complete, name)
	for _, k := range keys {
		if !m.done(k, keep) {
			t.Errorf("%s: after resuming with -start-after %q, %q is still %v (want %v)", name, res.StartAfter, k, m.ids(k), m.kept(m.start[k], keep))
			return
		}
	}
}

// TestPrefixWholeDeleteCallFails: the first, second or third DeleteObjects call fails
// outright (denied, or a 5xx the SDK gave up on); with one and with several calls in flight
// the run says so, is not complete, and every key up to StartAfter is done.
func TestPrefixWholeDeleteCallFails(t *testing.T) {
	for _, conc := range []int{1, 2, 4} {
		for _, failing := range []int{1, 2, 3} {
			for _, code := range []string{"AccessDenied", "InternalError"} {
				name := fmt.Sprintf("concurrency %d, call %d fails with %s", conc, failing, code)
				m, keys := bigBucket(t, 400, 9) // about 2900 deletions: three batches
				g := &guard{S3API: m.api(), prefix: "f/", mustStay: m.mustStay(1)}
				g.delHook = func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
					if n == failing {
						return nil, fakeapi.Error(code, "injected", "InternalError")
					}
					return next(in)
				}
				c := newClient(t, g, func(o *s3diff.Options) { o.PageSize = 250; o.Clock = clocktest.New() })
				var col collector
				res, err := c.RetainPrefix(context.Background(), m.bucket(), "f/", 1, func(o *s3diff.PrefixRetainOptions) {
					o.Concurrency, o.OnDelete = conc, col.add
				})
				g.check(t)
				require.Error(t, err, name)
				assert.ErrorContains(t, err, code, name)
				checkResume(t, m, keys, 1, "", res)
				// No silent partial result: the counts are what S3 did.
				deleted := 0
				for _, k := range keys {
					deleted += len(m.start[k]) - len(m.ids(k))
				}
				assert.Equal(t, deleted, res.Deleted, "%s: Deleted is what S3 confirmed", name)
				assert.Len(t, col.set(), deleted, "%s: OnDelete once per deleted version", name)
				checkOnDeleteGone(t, m, &col, name)
				assert.Positive(t, res.Failed, "%s: the versions of the failed call are failures", name)
				resumeAndFinish(t, m, keys, 1, res, name)
			}
		}
	}
}

// TestPrefixVersionRefused: one version of a key in the middle is refused for good; the
// run goes on but is not complete, StartAfter stops before that key, and the failure is
// reported.
func TestPrefixVersionRefused(t *testing.T) {
	for _, conc := range []int{1, 4} {
		m, keys := bigBucket(t, 400, 9)
		victim := "f/0251"
		bad := m.start[victim][3]
		m.fake().FailDelete(bad, "AccessDenied", "Access Denied", 0)
		g := &guard{S3API: m.api(), prefix: "f/", mustStay: m.mustStay(1)}
		c := newClient(t, g, func(o *s3diff.Options) { o.Clock = clocktest.New() })
		res, err := c.RetainPrefix(context.Background(), m.bucket(), "f/", 1, func(o *s3diff.PrefixRetainOptions) { o.Concurrency = conc })
		g.check(t)
		require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
		checkResume(t, m, keys, 1, "", res)
		assert.Less(t, res.StartAfter, victim)
		assert.Equal(t, 1, res.Failed)
		require.Len(t, res.Failures, 1)
		assert.Equal(t, bad, res.Failures[0].Version.VersionID)
		assert.Equal(t, "AccessDenied", res.Failures[0].Code)
		for _, k := range keys {
			if k != victim {
				assert.True(t, m.done(k, 1), "concurrency %d: %q is pruned even though %q failed", conc, k, victim)
			}
		}
	}
}

// TestPrefixThrottledVersionRetried: a version throttled once in a DeleteObjects answer
// is tried again and the run completes.
func TestPrefixThrottledVersionRetried(t *testing.T) {
	m, keys := bigBucket(t, 300, 9)
	m.fake().FailDelete(m.start["f/0123"][2], "SlowDown", "Please reduce your request rate.", 2)
	m.fake().FailDelete(m.start["f/0299"][1], "InternalError", "We encountered an internal error.", 1)
	g := &guard{S3API: m.api(), prefix: "f/", mustStay: m.mustStay(1)}
	c := newClient(t, g, func(o *s3diff.Options) { o.Clock = clocktest.New() })
	res, err := c.RetainPrefix(context.Background(), m.bucket(), "f/", 1)
	g.check(t)
	require.NoError(t, err)
	assert.True(t, res.Complete)
	assert.Zero(t, res.Failed)
	for _, k := range keys {
		assert.True(t, m.done(k, 1), k)
	}
}

// TestPrefixListingFails: a listing call fails on the n-th page; deletions already
// planned must either have been sent or lie after StartAfter.
func TestPrefixListingFails(t *testing.T) {
	for _, conc := range []int{1, 4} {
		for _, failing := range []int{1, 2, 3, 5, 8, 10} {
			name := fmt.Sprintf("concurrency %d, listing page %d fails", conc, failing)
			m, keys := bigBucket(t, 400, 9)
			g := &guard{S3API: m.api(), prefix: "f/", mustStay: m.mustStay(1)}
			g.listHook = func(n int, in *s3.ListObjectVersionsInput, out *s3.ListObjectVersionsOutput, err error) (*s3.ListObjectVersionsOutput, error) {
				if n == failing {
					return nil, fakeapi.Error("AccessDenied", "injected")
				}
				return out, err
			}
			c := newClient(t, g, func(o *s3diff.Options) { o.PageSize = 333; o.Clock = clocktest.New() })
			res, err := c.RetainPrefix(context.Background(), m.bucket(), "f/", 1, func(o *s3diff.PrefixRetainOptions) { o.Concurrency = conc })
			g.check(t)
			require.Error(t, err, name)
			checkResume(t, m, keys, 1, "", res)
			resumeAndFinish(t, m, keys, 1, res, name)
		}
	}
}

// TestPrefixCancelled: the context ends at every call of the run in turn (during a
// listing, or during a DeleteObjects call); the result is never complete and StartAfter is
// safe.
func TestPrefixCancelled(t *testing.T) {
	for _, conc := range []int{1, 3} {
		for _, at := range []string{"list 1", "list 2", "list 4", "list 7", "delete 1", "delete 2", "delete 3"} {
			name := fmt.Sprintf("concurrency %d, cancelled at %s", conc, at)
			m, keys := bigBucket(t, 400, 9)
			ctx, cancel := context.WithCancel(context.Background())
			g := &guard{S3API: m.api(), prefix: "f/", mustStay: m.mustStay(1)}
			g.listHook = func(n int, in *s3.ListObjectVersionsInput, out *s3.ListObjectVersionsOutput, err error) (*s3.ListObjectVersionsOutput, error) {
				if fmt.Sprintf("list %d", n) == at {
					cancel()
					return nil, context.Canceled
				}
				return out, err
			}
			g.delHook = func(_ context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
				if fmt.Sprintf("delete %d", n) == at {
					cancel()
					return nil, context.Canceled
				}
				return next(in)
			}
			c := newClient(t, g, func(o *s3diff.Options) { o.PageSize = 333; o.Clock = clocktest.New() })
			res, err := c.RetainPrefix(ctx, m.bucket(), "f/", 1, func(o *s3diff.PrefixRetainOptions) { o.Concurrency = conc })
			g.check(t)
			require.ErrorIs(t, err, context.Canceled, name)
			checkResume(t, m, keys, 1, "", res)
			resumeAndFinish(t, m, keys, 1, res, name)
		}
	}
}

// TestPrefixCancelledBeforeStart: a context that is already done deletes nothing and
// says so.
func TestPrefixCancelledBeforeStart(t *testing.T) {
	m, keys := bigBucket(t, 20, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := newClient(t, m.api())
	res, err := c.RetainPrefix(ctx, m.bucket(), "f/", 1, func(o *s3diff.PrefixRetainOptions) { o.StartAfter = "f/0005" })
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, res)
	assert.False(t, res.Complete)
	assert.True(t, res.StartAfter == "" || res.StartAfter == "f/0005", "a resumed run stopped at once resumes where it was: %q", res.StartAfter)
	for _, k := range keys {
		assert.True(t, m.untouched(k))
	}
}

// deleteAnswer rewrites DeleteObjects answers: rewrite gets the call and a send that
// passes a (possibly changed) input on to the bucket.
func deleteAnswer(rewrite func(in *s3.DeleteObjectsInput, send func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput) func(context.Context, int, *s3.DeleteObjectsInput, func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
	return func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
		var sendErr error
		out := rewrite(in, func(in2 *s3.DeleteObjectsInput) *s3.DeleteObjectsOutput {
			if len(in2.Delete.Objects) == 0 {
				return &s3.DeleteObjectsOutput{}
			}
			o, err := next(in2)
			sendErr = err
			if o == nil {
				o = &s3.DeleteObjectsOutput{}
			}
			return o
		})
		return out, sendErr
	}
}

// withoutObject returns a copy of in without the object at i.
func withoutObject(in *s3.DeleteObjectsInput, i int) *s3.DeleteObjectsInput {
	objs := append([]types.ObjectIdentifier(nil), in.Delete.Objects[:i]...)
	objs = append(objs, in.Delete.Objects[i+1:]...)
	cp := *in
	d := *in.Delete
	d.Objects = objs
	cp.Delete = &d
	return &cp
}

// TestPrefixStrangeDeleteAnswers: DeleteObjects answers that omit a version, list
// versions never sent, report errors without a version id or for another key, or say a delete
// marker was created: none of them counts as deleted, the run is not complete, and StartAfter
// stops before the key concerned.
func TestPrefixStrangeDeleteAnswers(t *testing.T) {
	const victim = "f/0251"
	cases := []struct {
		name    string
		rewrite func(m *model) func(in *s3.DeleteObjectsInput, send func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput
		// the victim's version stays in the bucket
		stays bool
	}{
		{"a version left out of the answer (and not deleted)", func(m *model) func(*s3.DeleteObjectsInput, func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput {
			return func(in *s3.DeleteObjectsInput, send func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput {
				for i, o := range in.Delete.Objects {
					if aws.ToString(o.Key) == victim {
						return send(withoutObject(in, i))
					}
				}
				return send(in)
			}
		}, true},
		{"an error without a version id", func(m *model) func(*s3.DeleteObjectsInput, func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput {
			return func(in *s3.DeleteObjectsInput, send func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput {
				for i, o := range in.Delete.Objects {
					if aws.ToString(o.Key) == victim {
						out := send(withoutObject(in, i))
						out.Errors = append(out.Errors, types.Error{Key: aws.String(victim), Code: aws.String("InternalError"), Message: aws.String("no version id")})
						return out
					}
				}
				return send(in)
			}
		}, true},
		{"an error naming our version id under another key", func(m *model) func(*s3.DeleteObjectsInput, func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput {
			return func(in *s3.DeleteObjectsInput, send func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput {
				for i, o := range in.Delete.Objects {
					if aws.ToString(o.Key) == victim {
						out := send(withoutObject(in, i))
						out.Errors = append(out.Errors, types.Error{Key: aws.String("f/0252"), VersionId: o.VersionId, Code: aws.String("AccessDenied"), Message: aws.String("wrong key")})
						return out
					}
				}
				return send(in)
			}
		}, true},
		{"Deleted names our version id under another key", func(m *model) func(*s3.DeleteObjectsInput, func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput {
			return func(in *s3.DeleteObjectsInput, send func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput {
				for i, o := range in.Delete.Objects {
					if aws.ToString(o.Key) == victim {
						out := send(withoutObject(in, i))
						out.Deleted = append(out.Deleted, types.DeletedObject{Key: aws.String("f/0252"), VersionId: o.VersionId})
						return out
					}
				}
				return send(in)
			}
		}, true},
		{"Deleted says a delete marker was created", func(m *model) func(*s3.DeleteObjectsInput, func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput {
			return func(in *s3.DeleteObjectsInput, send func(*s3.DeleteObjectsInput) *s3.DeleteObjectsOutput) *s3.DeleteObjectsOutput {
				for i, o := range in.Delete.Objects {
					if aws.ToString(o.Key) == victim {
						out := send(withoutObject(in, i))
						out.Deleted = append(out.Deleted, types.DeletedObject{Key: o.Key, VersionId: o.VersionId, DeleteMarker: aws.Bool(true), DeleteMarkerVersionId: aws.String("new-marker")})
						return out
					}
				}
				return send(in)
			}
		}, true},
	}
	for _, tc := range cases {
		for _, conc := range []int{1, 4} {
			name := fmt.Sprintf("%s, concurrency %d", tc.name, conc)
			m, keys := bigBucket(t, 400, 9)
			g := &guard{S3API: m.api(), prefix: "f/", mustStay: m.mustStay(1), delHook: deleteAnswer(tc.rewrite(m))}
			c := newClient(t, g, func(o *s3diff.Options) { o.Clock = clocktest.New() })
			var col collector
			res, err := c.RetainPrefix(context.Background(), m.bucket(), "f/", 1, func(o *s3diff.PrefixRetainOptions) {
				o.Concurrency, o.OnDelete = conc, col.add
			})
			g.check(t)
			require.ErrorIs(t, err, s3diff.ErrDeleteFailed, name)
			checkResume(t, m, keys, 1, "", res)
			assert.Less(t, res.StartAfter, victim, name)
			checkOnDeleteGone(t, m, &col, name)
			deleted := 0
			for _, k := range keys {
				deleted += len(m.start[k]) - len(m.ids(k))
			}
			assert.Equal(t, deleted, res.Deleted, "%s: Deleted counts only confirmed versions", name)
			if strings.Contains(tc.name, "delete marker was created") {
				// The pass stops there (TestPrefixMarkerCreatedStopsTheRun): what was
				// not sent yet is not deleted either.
				assert.GreaterOrEqual(t, res.Failed, 1, name)
				require.NotEmpty(t, res.Failures, name)
				assert.Equal(t, s3diff.CodeMarkerCreated, res.Failures[0].Code, name)
			} else {
				assert.Equal(t, 1, res.Failed, name)
			}
			resumeAndFinish(t, m, keys, 1, res, name)
		}
	}
}

// TestPrefixDeletedListsVersionsNeverSent: an answer that lists under Deleted versions
// that were never sent (a kept version of a sibling, a made-up id) changes no count.
func TestPrefixDeletedListsVersionsNeverSent(t *testing.T) {
	m, keys := bigBucket(t, 50, 4)
	kept := m.kept(m.start["f/0003"], 1)[0]
	g := &guard{S3API: m.api(), prefix: "f/", mustStay: m.mustStay(1)}
	g.delHook = func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
		out, err := next(in)
		if out != nil {
			out.Deleted = append(out.Deleted,
				types.DeletedObject{Key: aws.String("f/0003"), VersionId: aws.String(kept)},
				types.DeletedObject{Key: aws.String("f/9999"), VersionId: aws.String("made-up")},
				types.DeletedObject{Key: aws.String("f/0004")}) // no version id at all
		}
		return out, err
	}
	c := newClient(t, g)
	var col collector
	res, err := c.RetainPrefix(context.Background(), m.bucket(), "f/", 1, func(o *s3diff.PrefixRetainOptions) { o.OnDelete = col.add })
	g.check(t)
	// The answer confirmed everything that was sent, and more: an answer S3 never gives, so
	// the pass stops (TestDeleteAnswersThatMayHaveCreatedAMarkerAreNeverDeletions).
	require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
	planned := 0
	for _, k := range keys {
		planned += len(m.start[k]) - len(m.kept(m.start[k], 1))
	}
	assert.Equal(t, planned, res.Deleted, "versions never sent are not counted")
	assert.Len(t, col.set(), planned)
	_, bogus := col.set()[[2]string{"f/0003", kept}]
	assert.False(t, bogus, "OnDelete for a kept version the server claims to have deleted")
}

// TestPrefixMarkerCreatedStopsTheRun: a server that answers a delete by id with a new
// delete marker hides objects; the doc says the run stops early on versions S3 did not
// confirm. With one call in flight, no further DeleteObjects call may follow the answer that
// revealed it.
func TestPrefixMarkerCreatedStopsTheRun(t *testing.T) {
	m, keys := bigBucket(t, 600, 9) // about 4000 deletions: several batches
	var mu sync.Mutex
	calls := 0
	g := &guard{S3API: m.api(), prefix: "f/", mustStay: m.mustStay(1)}
	g.delHook = func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		// The server ignores version ids: every "deletion" adds a marker.
		out := &s3.DeleteObjectsOutput{}
		for _, o := range in.Delete.Objects {
			id := m.del(aws.ToString(o.Key))
			out.Deleted = append(out.Deleted, types.DeletedObject{Key: o.Key, VersionId: o.VersionId, DeleteMarker: aws.Bool(true), DeleteMarkerVersionId: aws.String(id)})
		}
		return out, nil
	}
	c := newClient(t, g, func(o *s3diff.Options) { o.Clock = clocktest.New() })
	res, err := c.RetainPrefix(context.Background(), m.bucket(), "f/", 1, func(o *s3diff.PrefixRetainOptions) { o.Concurrency = 1 })
	require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
	assert.False(t, res.Complete)
	assert.Zero(t, res.Deleted)
	hidden := 0
	for _, k := range keys {
		if ids := m.ids(k); len(ids) > 0 && m.markers[ids[0]] && !m.markers[m.start[k][0]] {
			hidden++
		}
	}
	assert.Equal(t, 1, calls, "DeleteObjects calls after the server showed it ignores version ids (%d keys now hidden)", hidden)
}

// checkOnDeleteGone: OnDelete was called only for versions that are gone from the bucket.
func checkOnDeleteGone(t *testing.T, m *model, col *collector, name string) {
	t.Helper()
	for v := range col.set() {
		for _, id := range m.ids(v[0]) {
			if id == v[1] {
				t.Errorf("%s: OnDelete for %q %s, which S3 did not delete", name, v[0], v[1])
			}
		}
	}
}

// TestPrefixCancelledAfterTheLastPage: Ctrl-C after the last listing page, before the
// last batch goes out. The run must say it was cancelled (not complete, StartAfter safe), and
// must not panic.
func TestPrefixCancelledAfterTheLastPage(t *testing.T) {
	for _, pages := range []int32{1000, 7} {
		m, keys := bigBucket(t, 10, 4)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := newClient(t, m.api(), func(o *s3diff.Options) { o.PageSize = pages })
		var res *s3diff.PrefixRetainResult
		var err error
		panicked := false
		func() {
			defer func() {
				if r := recover(); r != nil {
					panicked = true
					t.Errorf("page size %d: RetainPrefix panicked: %v", pages, r)
				}
			}()
			res, err = c.RetainPrefix(ctx, m.bucket(), "f/", 1, func(o *s3diff.PrefixRetainOptions) {
				o.OnProgress = func(p s3diff.PrefixProgress) {
					if p.Versions == func() int {
						n := 0
						for _, k := range keys {
							n += len(m.start[k])
						}
						return n
					}() {
						cancel() // every version listed: the operator presses Ctrl-C
					}
				}
			})
		}()
		if panicked {
			continue
		}
		require.Error(t, err, "page size %d", pages)
		assert.ErrorIs(t, err, context.Canceled, "page size %d", pages)
		checkResume(t, m, keys, 1, "", res)
	}
}

// TestPrefixManyFailuresAreCounted: Failures keeps the first 1000, Failed counts all,
// and the error says how many.
func TestPrefixManyFailuresAreCounted(t *testing.T) {
	m, keys := bigBucket(t, 300, 9)
	refused := 0
	for _, k := range keys {
		if ids := m.start[k]; len(ids) > 3 {
			for _, id := range ids[2:] {
				m.fake().FailDelete(id, "AccessDenied", "Access Denied", 0)
				refused++
			}
		}
	}
	require.Greater(t, refused, 1000)
	c := newClient(t, m.api(), func(o *s3diff.Options) { o.Clock = clocktest.New() })
	res, err := c.RetainPrefix(context.Background(), m.bucket(), "f/", 1)
	require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
	assert.Equal(t, refused, res.Failed)
	assert.Len(t, res.Failures, 1000)
	assert.Contains(t, err.Error(), fmt.Sprintf("%d of %d", refused, res.Planned))
	checkResume(t, m, keys, 1, "", res)
}

// TestPrefixOneKeyOverManyBatches: one key with 2,500 deletions among small keys; the
// second of its batches fails: StartAfter stays before it, with one and with four calls in
// flight.
func TestPrefixOneKeyOverManyBatches(t *testing.T) {
	for _, conc := range []int{1, 4} {
		for _, failing := range []int{1, 2, 3} {
			m := newModel(t)
			keys := []string{"f/a", "f/b", "f/big", "f/c", "f/d"}
			for _, k := range keys {
				n := 300
				if k == "f/big" {
					n = 2501
				}
				for range n {
					m.put(k)
				}
			}
			m.snapshot(keys)
			g := &guard{S3API: m.api(), prefix: "f/", mustStay: m.mustStay(1)}
			g.delHook = func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error) {
				if n == failing {
					return nil, fakeapi.Error("AccessDenied", "injected")
				}
				return next(in)
			}
			c := newClient(t, g, func(o *s3diff.Options) { o.Clock = clocktest.New() })
			res, err := c.RetainPrefix(context.Background(), m.bucket(), "f/", 1, func(o *s3diff.PrefixRetainOptions) { o.Concurrency = conc })
			g.check(t)
			require.Error(t, err)
			checkResume(t, m, keys, 1, "", res)
			if failing >= 1 && res.StartAfter >= "f/big" {
				t.Errorf("concurrency %d, call %d fails: StartAfter %q is not before f/big", conc, failing, res.StartAfter)
			}
			resumeAndFinish(t, m, keys, 1, res, fmt.Sprintf("concurrency %d call %d", conc, failing))
		}
	}
}
