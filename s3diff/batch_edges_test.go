package s3diff_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// rawTasks builds an invocation whose tasks carry s3Key exactly as given (already encoded).
func rawTasks(bucket string, args map[string]string, encodedKeys ...string) events.S3BatchJobEventV2 {
	ev := events.S3BatchJobEventV2{InvocationSchemaVersion: "2.0", InvocationID: "inv",
		Job: events.S3BatchJobV2{ID: "job", UserArguments: args}}
	for i, k := range encodedKeys {
		ev.Tasks = append(ev.Tasks, events.S3BatchJobTaskV2{TaskID: fmt.Sprintf("t%d", i), S3Key: k, S3Bucket: bucket})
	}
	return ev
}

// TestBatchUserArgumentSpellings: every spelling of dryRun either means a dry run, a
// real run by an explicit false, or fails every task with no S3 call; keep likewise. A
// value that is neither must never run with a default.
func TestBatchUserArgumentSpellings(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*fakeStore, *s3diff.Handler) {
		st := newFakeStore(t).(*fakeStore)
		for i := range 4 {
			st.put(t, "k", []byte{byte(i)})
		}
		return st, newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 3 })
	}
	for _, v := range []string{"true", "True", "TRUE", "1", "t", "T", " true "} {
		st, h := setup(t)
		resp := h.HandleBatch(ctx, rawTasks(st.bucket(), map[string]string{"keep": "1", "dryRun": v}, "k"))
		assert.Equal(t, s3diff.BatchSucceeded, resp.Results[0].ResultCode, "dryRun=%q", v)
		assert.True(t, strings.HasPrefix(resp.Results[0].ResultString, "dry run"), "dryRun=%q: %s", v, resp.Results[0].ResultString)
		assert.Zero(t, st.s.Calls(s3difftest.OpDeleteObjects), "dryRun=%q deletes nothing", v)
	}
	for _, v := range []string{"yes", "on", "", " ", "tru", "ture", "dry", "y", "2", "-1", "true,", "\"true\"", "null"} {
		st, h := setup(t)
		resp := h.HandleBatch(ctx, rawTasks(st.bucket(), map[string]string{"keep": "1", "dryRun": v}, "k"))
		assert.Equal(t, s3diff.BatchPermanentFailure, resp.Results[0].ResultCode, "dryRun=%q", v)
		assert.Zero(t, st.s.Total(), "dryRun=%q: no S3 call", v)
	}
	for _, v := range []string{"", " ", "0", "-0", "-3", "1.5", "1e1", "0x10", "2 3", "99999999999999999999", "three", "١"} {
		st, h := setup(t)
		resp := h.HandleBatch(ctx, rawTasks(st.bucket(), map[string]string{"keep": v}, "k"))
		assert.Equal(t, s3diff.BatchPermanentFailure, resp.Results[0].ResultCode, "keep=%q", v)
		assert.Zero(t, st.s.Total(), "keep=%q: no S3 call", v)
	}
	for _, name := range []string{"Keep", "KEEP", "keep ", " keep", "dryrun", "DryRun", "dry_run", "", "keepVersions"} {
		st, h := setup(t)
		resp := h.HandleBatch(ctx, rawTasks(st.bucket(), map[string]string{name: "1"}, "k", "k2"))
		for _, r := range resp.Results {
			assert.Equal(t, s3diff.BatchPermanentFailure, r.ResultCode, "argument %q", name)
		}
		assert.Zero(t, st.s.Total(), "argument %q: no S3 call", name)
	}
}

// TestBatchKeyEncodings: keys as manifests encode them.
func TestBatchKeyEncodings(t *testing.T) {
	ctx := context.Background()
	cases := map[string]string{ // encoded -> the key it names
		"a+b":                 "a b",
		"a%2Bb":               "a+b",
		"a%252B":              "a%2B",
		"%C3%BC":              "ü",
		"dir%2Fsub%2Ffile":    "dir/sub/file",
		"dir/sub/file":        "dir/sub/file",
		"trailing+":           "trailing ",
		"%7E%21%2A%27%28%29":  "~!*'()",
		"%F0%9F%98%80":        "\U0001F600",
		"x%0Ay":               "x\ny",
		"100%25":              "100%",
		"%E6%97%A5%E6%9C%AC+": "日本 ",
	}
	for enc, key := range cases {
		st := newFakeStore(t).(*fakeStore)
		var newest string
		for i := range 3 {
			newest = st.put(t, key, []byte{byte(i)})
		}
		if enc != key { // a sibling the wrong decoding would hit
			st.put(t, enc, []byte("sibling"))
			st.put(t, enc, []byte("sibling 2"))
		}
		h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
		resp := h.HandleBatch(ctx, rawTasks(st.bucket(), nil, enc))
		require.Len(t, resp.Results, 1)
		assert.Equal(t, s3diff.BatchSucceeded, resp.Results[0].ResultCode, "%q: %s", enc, resp.Results[0].ResultString)
		assert.Equal(t, []string{newest}, st.s.VersionIDs(st.bucket(), key), "encoded %q names %q", enc, key)
		if enc != key {
			assert.Len(t, st.s.VersionIDs(st.bucket(), enc), 2, "encoded %q: the key %q spelt as encoded is untouched", enc, enc)
		}
	}
	for _, bad := range []string{"%", "a%2", "a%zz", "%G0", "%%"} {
		st := newFakeStore(t).(*fakeStore)
		h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
		resp := h.HandleBatch(ctx, rawTasks(st.bucket(), nil, bad))
		assert.Equal(t, s3diff.BatchPermanentFailure, resp.Results[0].ResultCode, "%q", bad)
		assert.Zero(t, st.s.Total(), "%q: no S3 call", bad)
	}
	st := newFakeStore(t).(*fakeStore)
	h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
	long := strings.Repeat("k", 1025)
	resp := h.HandleBatch(ctx, rawTasks(st.bucket(), nil, long, "+", "", "ok"))
	codes := resultCodes(resp)
	assert.Equal(t, s3diff.BatchPermanentFailure, codes["t0"], "a key over 1024 bytes")
	assert.Equal(t, s3diff.BatchSucceeded, codes["t1"], "a key that is one space is a key")
	assert.Equal(t, s3diff.BatchPermanentFailure, codes["t2"], "an empty key")
	assert.Equal(t, s3diff.BatchSucceeded, codes["t3"])
}

// TestBatchNothingToDo: a key deleted for good since the manifest was made, or whose
// only entry is a delete marker, is Succeeded ("done, or nothing to do").
func TestBatchNothingToDo(t *testing.T) {
	ctx := context.Background()
	st := newFakeStore(t).(*fakeStore)
	st.del(t, "only-a-marker")
	st.put(t, "marker-on-top", []byte("1"))
	st.put(t, "marker-on-top", []byte("2"))
	top := st.del(t, "marker-on-top")
	h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
	resp := h.HandleBatch(ctx, rawTasks(st.bucket(), nil, "gone", "only-a-marker", "marker-on-top"))
	for _, r := range resp.Results {
		assert.Equal(t, s3diff.BatchSucceeded, r.ResultCode, "%s: %s", r.TaskID, r.ResultString)
	}
	ids := st.s.VersionIDs(st.bucket(), "marker-on-top")
	require.Len(t, ids, 2, "the marker that hides the object and the newest version stay")
	assert.Equal(t, top, ids[0])
	assert.Len(t, st.s.VersionIDs(st.bucket(), "only-a-marker"), 1)
}

// batchAPI lets a test rewrite DeleteObjects answers for a Batch handler.
type batchAPI struct {
	*s3difftest.Bucket
	del func(ctx context.Context, in *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)
}

func (b *batchAPI) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	return b.del(ctx, in)
}

// TestBatchResultCodes: the result code of every kind of failure the doc lists.
func TestBatchResultCodes(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		del  func(b *s3difftest.Bucket) func(ctx context.Context, in *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)
		want string
	}{
		{"DeleteObjects denied outright", func(b *s3difftest.Bucket) func(context.Context, *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
			return func(context.Context, *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
				return nil, fakeapi.Error("AccessDenied", "Access Denied")
			}
		}, s3diff.BatchPermanentFailure},
		{"DeleteObjects throttled outright (after the SDK's retries)", func(b *s3difftest.Bucket) func(context.Context, *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
			return func(context.Context, *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
				return nil, fakeapi.Error("SlowDown", "Please reduce your request rate.", "SlowDown")
			}
		}, s3diff.BatchTemporaryFailure},
		{"DeleteObjects 503 ServiceUnavailable", func(b *s3difftest.Bucket) func(context.Context, *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
			return func(context.Context, *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
				return nil, fakeapi.Error("ServiceUnavailable", "Service Unavailable", "ServiceUnavailable")
			}
		}, s3diff.BatchTemporaryFailure},
		{"a version left out of the answer", func(b *s3difftest.Bucket) func(context.Context, *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
			return func(ctx context.Context, in *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
				return b.DeleteObjects(ctx, withoutObject(in, 0))
			}
		}, s3diff.BatchTemporaryFailure},
		{"the server creates a delete marker instead", func(b *s3difftest.Bucket) func(context.Context, *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
			return func(ctx context.Context, in *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
				out := &s3.DeleteObjectsOutput{}
				for _, o := range in.Delete.Objects {
					out.Deleted = append(out.Deleted, types.DeletedObject{Key: o.Key, VersionId: o.VersionId, DeleteMarker: aws.Bool(true), DeleteMarkerVersionId: aws.String("new-marker")})
				}
				return out, nil
			}
		}, s3diff.BatchPermanentFailure},
		{"an error without a version id", func(b *s3difftest.Bucket) func(context.Context, *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
			return func(ctx context.Context, in *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
				out, err := b.DeleteObjects(ctx, withoutObject(in, 0))
				if out != nil {
					out.Errors = append(out.Errors, types.Error{Key: in.Delete.Objects[0].Key, Code: aws.String("AccessDenied"), Message: aws.String("Access Denied")})
				}
				return out, err
			}
		}, s3diff.BatchPermanentFailure},
		{"the function's time runs out during DeleteObjects", func(b *s3difftest.Bucket) func(context.Context, *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
			return func(ctx context.Context, in *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}
		}, s3diff.BatchTemporaryFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newFakeStore(t).(*fakeStore)
			for i := range 4 {
				st.put(t, "k", []byte{byte(i)})
			}
			api := &batchAPI{Bucket: st.s}
			api.del = tc.del(st.s)
			h := newBatchHandler(t, api, func(o *s3diff.HandlerOptions) { o.Keep = 1 })
			tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			resp := h.HandleBatch(tctx, rawTasks(st.bucket(), nil, "k"))
			require.Len(t, resp.Results, 1)
			assert.Equal(t, tc.want, resp.Results[0].ResultCode, resp.Results[0].ResultString)
		})
	}
}

// TestBatchManyTasks: a long task list, with duplicates spelt differently, answers
// every task once, in order, with one run per key.
func TestBatchManyTasks(t *testing.T) {
	st := newFakeStore(t).(*fakeStore)
	var enc []string
	for i := range 2000 {
		k := fmt.Sprintf("m/k %d", i)
		st.put(t, k, []byte("1"))
		st.put(t, k, []byte("2"))
		enc = append(enc, strings.ReplaceAll(k, " ", "+"))
		if i%100 == 0 {
			enc = append(enc, strings.ReplaceAll(k, " ", "%20")) // the same key, spelt otherwise
		}
	}
	h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
	ev := rawTasks(st.bucket(), nil, enc...)
	ev.Tasks = append(ev.Tasks, events.S3BatchJobTaskV2{TaskID: "t0", S3Key: "m/k+1", S3Bucket: st.bucket()}) // a duplicate task id
	resp := h.HandleBatch(context.Background(), ev)
	require.Len(t, resp.Results, len(ev.Tasks))
	for i, r := range resp.Results {
		assert.Equal(t, ev.Tasks[i].TaskID, r.TaskID)
		assert.Equal(t, s3diff.BatchSucceeded, r.ResultCode, "%s: %s", r.TaskID, r.ResultString)
	}
	assert.Equal(t, 2000, st.s.Calls(s3difftest.OpListObjectVersions), "one run per key")
	raw, err := json.Marshal(resp)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"results":[`)
}

// TestBatchEmptyAndOddInvocations: no tasks, a nil task list, an invocation that
// only looks like one.
func TestBatchEmptyAndOddInvocations(t *testing.T) {
	st := newFakeStore(t).(*fakeStore)
	h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
	resp := h.HandleBatch(context.Background(), events.S3BatchJobEventV2{InvocationSchemaVersion: "2.0"})
	raw, err := json.Marshal(resp)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"results":[]`, "an empty list, not null")

	assert.True(t, s3diff.IsBatchEvent([]byte(`{"invocationSchemaVersion":"1.0","tasks":[{"taskId":"x","s3BucketArn":"arn:aws:s3:::b","s3Key":"k"}]}`)), "schema 1.0 is a batch invocation (answered with a failure)")
	assert.False(t, s3diff.IsBatchEvent([]byte(`[{"invocationSchemaVersion":"2.0","tasks":[]}]`)))
	assert.False(t, s3diff.IsBatchEvent([]byte(`{"Records":[{"eventSource":"aws:s3","s3":{"object":{"key":"tasks"}}}]}`)))
	assert.False(t, s3diff.IsBatchEvent([]byte(`{"detail-type":"Object Created","source":"aws.s3","detail":{"tasks":[],"invocationSchemaVersion":"2.0"}}`)))
	assert.False(t, s3diff.IsBatchEvent(nil))
}

// TestLifecycleRuleEdges: the library's limits match S3's.
func TestLifecycleRuleEdges(t *testing.T) {
	for _, keep := range []int{0, -1, 102, 1 << 40} {
		_, err := s3diff.LifecycleRule(keep)
		assert.Error(t, err, "keep %d", keep)
	}
	for name, fn := range map[string]func(*s3diff.LifecycleRuleOptions){
		"negative days":   func(o *s3diff.LifecycleRuleOptions) { o.Days = -1 },
		"id over 255":     func(o *s3diff.LifecycleRuleOptions) { o.ID = strings.Repeat("i", 256) },
		"prefix too long": func(o *s3diff.LifecycleRuleOptions) { o.Prefix = strings.Repeat("p", 1025) },
	} {
		_, err := s3diff.LifecycleRule(5, fn)
		assert.ErrorIs(t, err, s3diff.ErrInvalidInput, name)
	}
	for keep, want := range map[int]int{1: 0, 2: 1, 10: 9, 101: 100} {
		cfg, err := s3diff.LifecycleRule(keep)
		require.NoError(t, err)
		require.Len(t, cfg.Rules, 1)
		r := cfg.Rules[0]
		assert.Equal(t, want, r.NoncurrentVersionExpiration.NewerNoncurrentVersions, "keep %d", keep)
		assert.Equal(t, 1, r.NoncurrentVersionExpiration.NoncurrentDays)
		assert.Equal(t, "Enabled", r.Status)
		require.NotNil(t, r.Expiration)
		assert.True(t, r.Expiration.ExpiredObjectDeleteMarker)
		var back map[string]any
		require.NoError(t, json.Unmarshal(cfg.JSON(), &back))
		if keep == 1 {
			assert.NotContains(t, string(cfg.JSON()), "NewerNoncurrentVersions", "S3 rejects 0")
		}
	}
}
