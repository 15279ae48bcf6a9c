package s3diff_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
	"github.com/shipshape-dev/shipshape/textdiff"
)

func newFake(t *testing.T) (*s3difftest.Bucket, *s3diff.Client) {
	t.Helper()
	b := s3difftest.New()
	b.CreateBucket("bucket")
	return b, newClient(t, b, func(o *s3diff.Options) { o.RetryWait = func(int) time.Duration { return 0 } })
}

func putN(b *s3difftest.Bucket, key string, n int) []string {
	var ids []string // newest first
	for i := range n {
		ids = append([]string{b.Put("bucket", key, []byte(fmt.Sprintf("%d\n", i)))}, ids...)
	}
	return ids
}

func TestRetainReportsAndRetriesPartialFailures(t *testing.T) {
	b, c := newFake(t)
	v := putN(b, "k", 5) // keep 1: delete v[1:]
	b.FailDelete(v[1], "AccessDenied", "Access Denied", 0)
	b.FailDelete(v[2], "SlowDown", "Please reduce your request rate.", 2)

	res, err := c.Retain(context.Background(), "bucket", "k", 1)
	require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
	assert.Contains(t, err.Error(), "AccessDenied")
	require.Len(t, res.Failed, 1)
	assert.Equal(t, v[1], res.Failed[0].Version.VersionID)
	assert.Equal(t, "AccessDenied", res.Failed[0].Code)
	assert.ElementsMatch(t, []string{v[2], v[3], v[4]}, ids(res.Deleted), "SlowDown was retried until it worked")
	assert.Equal(t, 3, res.DeleteCalls)
	assert.Equal(t, []string{v[0], v[1]}, b.VersionIDs("bucket", "k"))
}

func TestRetainWholeCallErrors(t *testing.T) {
	t.Run("throttled after the SDK's retries", func(t *testing.T) {
		// Whole calls are retried by the SDK's retryer (an *s3.Client), never again by
		// Retain: on the fake, which has no retryer, one call is all there is.
		b, c := newFake(t)
		putN(b, "k", 3)
		b.Fail(s3difftest.OpDeleteObjects, &smithy.GenericAPIError{Code: "SlowDown"}, 1)
		res, err := c.Retain(context.Background(), "bucket", "k", 1)
		require.ErrorContains(t, err, "SlowDown")
		assert.Empty(t, res.Deleted)
		assert.Len(t, res.Failed, 2)
		assert.Equal(t, 1, b.Calls(s3difftest.OpDeleteObjects))
	})
	t.Run("not retryable", func(t *testing.T) {
		b, c := newFake(t)
		putN(b, "k", 3)
		b.Fail(s3difftest.OpDeleteObjects, &smithy.GenericAPIError{Code: "AccessDenied"}, 1)
		res, err := c.Retain(context.Background(), "bucket", "k", 1)
		require.Error(t, err)
		var apiErr smithy.APIError
		require.ErrorAs(t, err, &apiErr, "the API error stays reachable")
		assert.Equal(t, "AccessDenied", apiErr.ErrorCode())
		assert.Empty(t, res.Deleted, "nothing claimed deleted")
		assert.Len(t, res.Failed, 2)
		assert.Len(t, b.VersionIDs("bucket", "k"), 3)
	})
	t.Run("listing fails", func(t *testing.T) {
		b, c := newFake(t)
		putN(b, "k", 3)
		b.Fail(s3difftest.OpListObjectVersions, &smithy.GenericAPIError{Code: "AccessDenied"}, 1)
		_, err := c.Retain(context.Background(), "bucket", "k", 1)
		require.ErrorContains(t, err, "listing versions of s3://bucket/k")
		assert.Equal(t, 0, b.Calls(s3difftest.OpDeleteObjects))
	})
}

// racingUpload puts a new version of the key just before the first DeleteObjects call, as a
// concurrent upload would.
type racingUpload struct {
	*s3difftest.Bucket
	key     string
	newID   string
	started bool
}

func (r *racingUpload) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	if !r.started {
		r.started = true
		r.newID = r.Put("bucket", r.key, []byte("uploaded during retention\n"))
	}
	return r.Bucket.DeleteObjects(ctx, in, optFns...)
}

func TestRetainLosesNothingUploadedMeanwhile(t *testing.T) {
	b, _ := newFake(t)
	v := putN(b, "k", 3)
	race := &racingUpload{Bucket: b, key: "k"}
	res, err := newClient(t, race).Retain(context.Background(), "bucket", "k", 1)
	require.NoError(t, err)
	assert.ElementsMatch(t, v[1:], ids(res.Deleted))
	assert.Equal(t, []string{race.newID, v[0]}, b.VersionIDs("bucket", "k"),
		"the new upload and the version that was latest when the plan was made both survive")
}

func TestListingStopsAtTheKey(t *testing.T) {
	b, c := newFake(t)
	b.Put("bucket", "a", []byte("x"))
	putN(b, "a.bak", 2500)
	vs, err := c.Versions(context.Background(), "bucket", "a")
	require.NoError(t, err)
	assert.Len(t, vs, 1)
	assert.Equal(t, 1, b.Calls(s3difftest.OpListObjectVersions), "no page read past the key")
}

func TestBadInput(t *testing.T) {
	_, c := newFake(t)
	ctx := context.Background()
	_, err := c.Versions(ctx, "", "k")
	require.ErrorIs(t, err, s3diff.ErrInvalidInput)
	_, err = c.Versions(ctx, "bucket", "")
	require.ErrorIs(t, err, s3diff.ErrInvalidInput)
	_, err = c.Diff(ctx, "bucket", "never-written")
	require.ErrorIs(t, err, s3diff.ErrNoVersions)
	_, err = c.Diff(ctx, "no-such-bucket", "k")
	require.ErrorContains(t, err, "NoSuchBucket")

	b, c := newFake(t)
	v := putN(b, "k", 2)
	_, err = c.Diff(ctx, "bucket", "k", func(o *s3diff.DiffOptions) { o.To = v[1] })
	require.ErrorIs(t, err, s3diff.ErrNoPredecessor)
	_, err = c.Diff(ctx, "bucket", "k", func(o *s3diff.DiffOptions) { o.To = "nope" })
	require.ErrorIs(t, err, s3diff.ErrVersionNotFound)
	r, err := c.Diff(ctx, "bucket", "k", func(o *s3diff.DiffOptions) { o.From, o.To = v[0], v[1] })
	require.NoError(t, err, "any two versions, in either order")
	assert.Equal(t, "@@ -1 +1 @@\n-1\n+0\n", r.Unified()[strings.Index(r.Unified(), "@@"):])
}

func TestTooLargeIsNotDownloaded(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	c := newClient(t, b, func(o *s3diff.Options) { o.MaxObjectBytes = 10 })
	b.Put("bucket", "k", []byte("0123456789abc"))
	b.Put("bucket", "k", []byte("x"))
	r, err := c.Diff(context.Background(), "bucket", "k")
	require.NoError(t, err)
	assert.Equal(t, s3diff.StatusTooLarge, r.Status)
	assert.Equal(t, 0, b.Calls(s3difftest.OpGetObject))
}

func TestUnifiedDiffEdgeCases(t *testing.T) {
	cases := []struct{ name, old, new string }{
		{"from empty", "", "a\nb\n"},
		{"to empty", "a\nb\n", ""},
		{"newline added at the end", "a\nb", "a\nb\n"},
		{"newline removed at the end", "a\nb\n", "a\nb"},
		{"both without newline", "a\nb", "a\nc"},
		{"far apart changes", strings.Repeat("same\n", 3) + "x\n" + strings.Repeat("same\n", 20) + "y\n", strings.Repeat("same\n", 3) + "X\n" + strings.Repeat("same\n", 20) + "Y\n"},
		{"close changes share a hunk", "1\n2\n3\n4\n5\n6\n7\n8\n", "1\nTWO\n3\n4\n5\n6\nSEVEN\n8\n"},
		{"crlf lines", "a\r\nb\r\n", "a\r\nB\r\n"},
	}
	for _, ctxLines := range []int{-1, 1, 3} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/context %d", tc.name, ctxLines), func(t *testing.T) {
				b := s3difftest.New()
				b.CreateBucket("bucket")
				c := newClient(t, b, func(o *s3diff.Options) { o.ContextLines = ctxLines })
				b.Put("bucket", "f.txt", []byte(tc.old))
				b.Put("bucket", "f.txt", []byte(tc.new))
				r, err := c.Diff(context.Background(), "bucket", "f.txt")
				require.NoError(t, err)
				require.Equal(t, s3diff.StatusChanged, r.Status)
				assert.Equal(t, tc.new, applyWithPatch(t, tc.old, r.Unified()))
			})
		}
	}
}

func TestHunksAndCounts(t *testing.T) {
	b, c := newFake(t)
	b.Put("bucket", "f", []byte("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"))
	b.Put("bucket", "f", []byte("1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n"))
	r, err := c.Diff(context.Background(), "bucket", "f")
	require.NoError(t, err)
	assert.Equal(t, 2, r.LinesAdded)
	assert.Equal(t, 1, r.LinesRemoved)
	require.Len(t, r.Hunks, 2)
	assert.Equal(t, textdiff.Hunk{OldStart: 1, OldLines: 5, NewStart: 1, NewLines: 5, Added: 1, Removed: 1}, stripOps(r.Hunks[0]))
	assert.Equal(t, textdiff.Hunk{OldStart: 10, OldLines: 3, NewStart: 10, NewLines: 4, Added: 1}, stripOps(r.Hunks[1]))
}

func stripOps(h textdiff.Hunk) textdiff.Hunk {
	return textdiff.Hunk{OldStart: h.OldStart, OldLines: h.OldLines, NewStart: h.NewStart, NewLines: h.NewLines, Added: h.Added, Removed: h.Removed}
}

func TestWordDiff(t *testing.T) {
	b, c := newFake(t)
	b.Put("bucket", "f", []byte("the quick brown fox\njumps\n"))
	b.Put("bucket", "f", []byte("the quick red fox\njumps\n"))
	r, err := c.Diff(context.Background(), "bucket", "f")
	require.NoError(t, err)
	assert.Equal(t, "@@ -1,2 +1,2 @@\nthe quick [-brown-]{+red+} fox\njumps\n", r.WordDiff())
}

func TestJSONChanges(t *testing.T) {
	b, c := newFake(t)
	b.Put("bucket", "cfg.json", []byte(`{"name":"api","replicas":2,"tags":["a","b"],"limits":{"cpu":"1"},"gone":true,"odd key":1}`))
	b.Put("bucket", "cfg.json", []byte(`{"name":"api","replicas":3,"tags":["a"],"limits":{"cpu":"1","mem":"2Gi"},"odd key":2}`))
	r, err := c.Diff(context.Background(), "bucket", "cfg.json")
	require.NoError(t, err)
	changes, err := r.JSONChanges()
	require.NoError(t, err)
	assert.Equal(t, []s3diff.JSONChange{
		{Path: "$.gone", Op: "removed", Old: "true"},
		{Path: "$.limits.mem", Op: "added", New: `"2Gi"`},
		{Path: "$.replicas", Op: "changed", Old: "2", New: "3"},
		{Path: "$.tags[1]", Op: "removed", Old: `"b"`},
		{Path: `$["odd key"]`, Op: "changed", Old: "1", New: "2"},
	}, changes)

	b.Put("bucket", "cfg.json", []byte(`{"broken":`))
	r, err = c.Diff(context.Background(), "bucket", "cfg.json")
	require.NoError(t, err)
	_, err = r.JSONChanges()
	require.ErrorIs(t, err, s3diff.ErrInvalidInput)
	assert.Contains(t, err.Error(), "the new version is not JSON")
}

func TestContextCancel(t *testing.T) {
	_, c := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Versions(ctx, "bucket", "k")
	require.True(t, errors.Is(err, context.Canceled), err)
}

// markerOrder answers ListObjectVersions with delete markers whose LastModified values say
// nothing (as Versity S3 Gateway returns them) and the latest marker last.
type markerOrder struct{ *s3difftest.Bucket }

func (m markerOrder) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	out, err := m.Bucket.ListObjectVersions(ctx, in, optFns...)
	if err != nil {
		return nil, err
	}
	same := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range out.DeleteMarkers {
		out.DeleteMarkers[i].LastModified = &same
	}
	slices.Reverse(out.DeleteMarkers)
	return out, nil
}

func TestLatestDeleteMarkerComesFirstWhateverItsTime(t *testing.T) {
	b, _ := newFake(t)
	b.Put("bucket", "k", []byte("a"))
	b.Delete("bucket", "k")
	b.Put("bucket", "k", []byte("b"))
	top := b.Delete("bucket", "k")
	vs, err := newClient(t, markerOrder{b}).Versions(context.Background(), "bucket", "k")
	require.NoError(t, err)
	require.Len(t, vs, 4)
	assert.Equal(t, top, vs[0].VersionID)
	assert.True(t, vs[0].IsLatest)
}
