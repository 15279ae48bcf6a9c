package s3diff_test

// The record of what was deleted is exact, also when a DeleteObjects answer is lost after
// the call took effect: the run was interrupted with the call in flight (Ctrl-C, a Lambda
// deadline), or the call's retries ran out on a server that deleted and then failed. Such a
// call is settled by a fresh listing before the run returns: what is gone is Deleted (and
// recorded through OnDelete), what is still there is Stopped (the run stopped) or Failed,
// what no listing could check is Unknown; never "failed" for versions that are gone. The
// resume point stays at or before the first batch not known to be done.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// losing is an S3API whose DeleteObjects calls take effect and whose answers a test can then
// lose: after is called once the real call has returned; a non-nil error replaces the answer.
type losing struct {
	s3diff.S3API
	after func(ctx context.Context, n int) error
	lists func(n int) error // when set, a non-nil error fails ListObjectVersions call n
	calls atomic.Int32
	listN atomic.Int32
}

func (l *losing) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	out, err := l.S3API.DeleteObjects(context.WithoutCancel(ctx), in, optFns...)
	if n := int(l.calls.Add(1)); err == nil && l.after != nil {
		if lost := l.after(ctx, n); lost != nil {
			return nil, lost
		}
	}
	return out, err
}

func (l *losing) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	if n := int(l.listN.Add(1)); l.lists != nil {
		if err := l.lists(n); err != nil {
			return nil, err
		}
	}
	return l.S3API.ListObjectVersions(ctx, in, optFns...)
}

// prefixOf fills bucket with keys p/00000.. of two versions each (one deletion per key).
func prefixOf(st *fakeStore, keys int) {
	for i := range keys {
		k := fmt.Sprintf("p/%05d", i)
		st.s.Put(st.name, k, []byte("old"))
		st.s.Put(st.name, k, []byte("new"))
	}
}

// recorder is an OnDelete that keeps the record, as the CLI's stdout does.
type recorder struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (r *recorder) onDelete(v s3diff.Version) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[string]bool{}
	}
	r.ids[v.Key+"\x00"+v.VersionID] = true
}

// checkRecordMatchesListing holds the record against a fresh listing of the fake: every
// recorded version is gone, every planned version that is gone is recorded, and every key
// up to the resume point is done.
func checkRecordMatchesListing(t *testing.T, st *fakeStore, keys int, rec *recorder, res *s3diff.PrefixRetainResult, planned map[string]string) {
	t.Helper()
	gone := 0
	for i := range keys {
		k := fmt.Sprintf("p/%05d", i)
		old := planned[k]
		still := false
		for _, id := range st.s.VersionIDs(st.name, k) {
			if id == old {
				still = true
			}
		}
		recorded := rec.ids[k+"\x00"+old]
		if still {
			assert.False(t, recorded, "%s %s is recorded as deleted but is still there", k, old)
			if res.StartAfter != "" || res.Complete {
				assert.Greater(t, k, res.StartAfter, "%s is not done but lies before the resume point", k)
			}
		} else {
			gone++
			assert.True(t, recorded, "%s %s is gone but not in the record", k, old)
		}
	}
	assert.Equal(t, gone, res.Deleted, "the summary counts what a fresh listing shows gone")
	assert.Equal(t, gone, len(rec.ids))
	assert.Equal(t, res.Planned, res.Deleted+res.Failed+res.Stopped+res.Unknown, "every planned version is accounted for once")
}

func oldestIDs(st *fakeStore, keys int) map[string]string {
	out := map[string]string{}
	for i := range keys {
		k := fmt.Sprintf("p/%05d", i)
		ids := st.s.VersionIDs(st.name, k)
		out[k] = ids[len(ids)-1]
	}
	return out
}

func TestRetainPrefixRecordIsExactWhenInterrupted(t *testing.T) {
	t.Run("Ctrl-C with three batches in flight, all of which took effect", func(t *testing.T) {
		st := newFakeStore(t).(*fakeStore)
		prefixOf(st, 3000)
		planned := oldestIDs(st, 3000)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		api := &losing{S3API: st.s, after: func(ctx context.Context, n int) error {
			if n == 3 {
				cancel() // the interrupt comes once all three calls reached S3
			}
			<-ctx.Done() // the answer never arrives
			return ctx.Err()
		}}
		rec := &recorder{}
		res, err := newClient(t, api).RetainPrefix(ctx, st.name, "p/", 1, func(o *s3diff.PrefixRetainOptions) { o.OnDelete = rec.onDelete })
		require.NoError(t, err, "everything planned was done: the listing shows it")
		assert.True(t, res.Complete)
		assert.Equal(t, 3000, res.Deleted, "not 'deleted 0, failed 3000'")
		assert.Zero(t, res.Failed)
		assert.Zero(t, res.Stopped)
		checkRecordMatchesListing(t, st, 3000, rec, res, planned)
	})

	t.Run("Ctrl-C during the listing: the batch in flight is settled, the rest is Stopped", func(t *testing.T) {
		st := newFakeStore(t).(*fakeStore)
		prefixOf(st, 5000)
		planned := oldestIDs(st, 5000)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		api := &losing{S3API: st.s, after: func(ctx context.Context, n int) error {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}}
		rec := &recorder{}
		res, err := newClient(t, api).RetainPrefix(ctx, st.name, "p/", 1, func(o *s3diff.PrefixRetainOptions) {
			o.OnDelete, o.Concurrency = rec.onDelete, 1
		})
		require.ErrorIs(t, err, context.Canceled)
		assert.False(t, res.Complete)
		assert.Equal(t, 1000, res.Deleted, "the batch in flight took effect")
		assert.Zero(t, res.Failed, "nothing failed: the run stopped")
		assert.Equal(t, res.Planned-1000, res.Stopped)
		assert.Equal(t, "p/00999", res.StartAfter, "resume after the batch that is done")
		checkRecordMatchesListing(t, st, 5000, rec, res, planned)
	})

	t.Run("Ctrl-C before the call reached S3: still there, so Stopped, never Deleted", func(t *testing.T) {
		st := newFakeStore(t).(*fakeStore)
		prefixOf(st, 10)
		planned := oldestIDs(st, 10)
		ctx, cancel := context.WithCancel(context.Background())
		api := &rewriting{S3API: st.s}
		blocking := &losingBefore{rewriting: api, before: func(ctx context.Context) error { cancel(); <-ctx.Done(); return ctx.Err() }}
		rec := &recorder{}
		res, err := newClient(t, blocking).RetainPrefix(ctx, st.name, "p/", 1, func(o *s3diff.PrefixRetainOptions) { o.OnDelete = rec.onDelete })
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, res.Deleted)
		assert.Zero(t, res.Failed)
		assert.Equal(t, 10, res.Stopped)
		assert.Empty(t, res.StartAfter)
		checkRecordMatchesListing(t, st, 10, rec, res, planned)
	})

	t.Run("retries ran out after the deletion took effect: the pass stops, the batch is settled", func(t *testing.T) {
		st := newFakeStore(t).(*fakeStore)
		prefixOf(st, 2500)
		planned := oldestIDs(st, 2500)
		api := &losing{S3API: st.s, after: func(_ context.Context, n int) error {
			if n == 1 {
				return fakeapi.Error("InternalError", "We encountered an internal error. Please try again.")
			}
			return nil
		}}
		rec := &recorder{}
		res, err := newClient(t, api).RetainPrefix(context.Background(), st.name, "p/", 1, func(o *s3diff.PrefixRetainOptions) {
			o.OnDelete, o.Concurrency = rec.onDelete, 1
		})
		require.ErrorContains(t, err, "InternalError", "a call that failed after its retries stops the pass")
		assert.False(t, res.Complete)
		assert.Equal(t, 1000, res.Deleted, "the first batch, whose answer was lost, is confirmed by the listing")
		assert.Zero(t, res.Failed)
		assert.Equal(t, "p/00999", res.StartAfter)
		checkRecordMatchesListing(t, st, 2500, rec, res, planned)
	})

	t.Run("the listing that should settle the lost answer fails too: Unknown, no resume past it", func(t *testing.T) {
		st := newFakeStore(t).(*fakeStore)
		prefixOf(st, 10)
		var lost atomic.Bool
		api := &losing{S3API: st.s,
			after: func(context.Context, int) error {
				lost.Store(true)
				return fakeapi.Error("InternalError", "We encountered an internal error.")
			},
			lists: func(int) error {
				if lost.Load() {
					return fakeapi.Error("AccessDenied", "Access Denied")
				}
				return nil
			}}
		rec := &recorder{}
		res, err := newClient(t, api).RetainPrefix(context.Background(), st.name, "p/", 1, func(o *s3diff.PrefixRetainOptions) { o.OnDelete = rec.onDelete })
		require.Error(t, err)
		assert.False(t, res.Complete)
		assert.Equal(t, 10, res.Unknown)
		assert.Zero(t, res.Deleted)
		assert.Zero(t, res.Failed)
		assert.Empty(t, res.StartAfter, "nothing is known to be done")
		require.NotEmpty(t, res.Failures)
		assert.Equal(t, s3diff.CodeOutcomeUnknown, res.Failures[0].Code)
		assert.Empty(t, rec.ids)
	})

	t.Run("a deadline (Lambda's timeout): the work stops early enough to settle before it", func(t *testing.T) {
		st := newFakeStore(t).(*fakeStore)
		prefixOf(st, 1500)
		planned := oldestIDs(st, 1500)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		deadline, _ := ctx.Deadline()
		api := &losing{S3API: st.s, after: func(ctx context.Context, n int) error {
			<-ctx.Done() // every answer hangs until the work's own deadline
			return ctx.Err()
		}}
		rec := &recorder{}
		res, err := newClient(t, api).RetainPrefix(ctx, st.name, "p/", 1, func(o *s3diff.PrefixRetainOptions) { o.OnDelete = rec.onDelete })
		require.NoError(t, err, "both batches took effect, and the listing before the deadline says so")
		assert.True(t, res.Complete)
		assert.True(t, time.Now().Before(deadline), "returned before the caller's deadline")
		assert.Equal(t, 1500, res.Deleted)
		checkRecordMatchesListing(t, st, 1500, rec, res, planned)
	})
}

// losingBefore blocks DeleteObjects before the call reaches S3.
type losingBefore struct {
	*rewriting
	before func(ctx context.Context) error
}

func (l *losingBefore) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	if err := l.before(ctx); err != nil {
		return nil, err
	}
	return l.rewriting.DeleteObjects(ctx, in, optFns...)
}

func TestRetainSettlesALostAnswer(t *testing.T) {
	b, ids := threeVersions(t)
	api := &losing{S3API: b, after: func(context.Context, int) error {
		return fakeapi.Error("InternalError", "We encountered an internal error.")
	}}
	res, err := newClient(t, api).Retain(context.Background(), "bucket", "k", 1)
	require.NoError(t, err, "the listing shows both versions gone")
	assert.ElementsMatch(t, []string{ids[0], ids[1]}, versionIDs(res.Deleted))
	assert.Empty(t, res.Failed)
	assert.Equal(t, 2, res.ListPages, "one listing to plan, one to settle")

	b, ids = threeVersions(t)
	ctx, cancel := context.WithCancel(context.Background())
	blocked := &losingBefore{rewriting: &rewriting{S3API: b}, before: func(ctx context.Context) error { cancel(); <-ctx.Done(); return ctx.Err() }}
	res, err = newClient(t, blocked).Retain(ctx, "bucket", "k", 1)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, res.Deleted)
	require.Len(t, res.Failed, 2)
	for _, f := range res.Failed {
		assert.Equal(t, s3diff.CodeStopped, f.Code, "interrupted, not failed")
	}
	assert.ElementsMatch(t, ids, b.VersionIDs("bucket", "k"), "nothing was deleted")
}

// answerLosingProxy forwards every request to target and, for DeleteObjects, replaces S3's
// answer with a 500 after S3 has acted on it: the SDK's retryer sends the call again, and
// every try ends the same way, so the answer is lost after the deletion took effect.
func answerLosingProxy(t *testing.T, target string) (proxyURL string, deletes *atomic.Int32) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	deletes = &atomic.Int32{}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.Host = pr.In.Host },
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Method != http.MethodPost || !resp.Request.URL.Query().Has("delete") {
				return nil
			}
			deletes.Add(1)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>`
			resp.StatusCode, resp.Status = http.StatusInternalServerError, "500 Internal Server Error"
			resp.Body = io.NopCloser(strings.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", fmt.Sprint(len(body)))
			resp.Header.Set("Content-Type", "application/xml")
			return nil
		},
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL, deletes
}

func TestLostDeleteAnswersAreSettledThroughTheWire(t *testing.T) {
	st := newFakeStore(t).(*fakeStore)
	srv := s3difftest.NewWireServer(st.s)
	t.Cleanup(srv.Close)
	checkLostAnswersSettled(t, st, func(u string) *s3.Client { return wireClient(u) }, srv.URL)
}

func TestIntegrationVersityLostDeleteAnswersAreSettled(t *testing.T) {
	ep := testbed.S3(t)
	st := newVersityStore(t)
	checkLostAnswersSettled(t, st, func(u string) *s3.Client {
		return s3.New(s3.Options{BaseEndpoint: aws.String(u), Region: ep.Region, UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, "")})
	}, ep.URL)
}

func checkLostAnswersSettled(t *testing.T, st store, client func(string) *s3.Client, target string) {
	ctx := context.Background()
	var old []string
	for _, k := range []string{"p/a", "p/b", "p/c"} {
		old = append(old, st.put(t, k, []byte("old")))
		st.del(t, k)
		st.put(t, k, []byte("new"))
	}
	one := st.put(t, "k", []byte("1"))
	st.put(t, "k", []byte("2"))
	proxy, deletes := answerLosingProxy(t, target)
	api := client(proxy)
	noBackoff := func(o *s3diff.Options) { o.Clock = clocktest.New() }

	res, err := newClient(t, api, noBackoff).Retain(ctx, st.bucket(), "k", 1)
	require.NoError(t, err)
	assert.Equal(t, []string{one}, versionIDs(res.Deleted))
	assert.Equal(t, int32(3), deletes.Load(), "the SDK tried the call three times; every answer was lost")

	rec := &recorder{}
	pres, err := newClient(t, api, noBackoff).RetainPrefix(ctx, st.bucket(), "p/", 1, func(o *s3diff.PrefixRetainOptions) { o.OnDelete = rec.onDelete })
	require.NoError(t, err)
	assert.True(t, pres.Complete)
	assert.Equal(t, 6, pres.Deleted, "three old versions and three old markers, confirmed by a fresh listing")
	assert.Len(t, rec.ids, 6)
	for i, k := range []string{"p/a", "p/b", "p/c"} {
		assert.True(t, rec.ids[k+"\x00"+old[i]])
		vs, err := newClient(t, st.api()).Versions(ctx, st.bucket(), k)
		require.NoError(t, err)
		assert.Len(t, vs, 1, "only the newest left")
	}
}
