package s3diff_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// batchEvent is an invocation as S3 Batch Operations sends it, built with aws-lambda-go's
// event type and sent through JSON as the Lambda runtime does.
func batchEvent(t *testing.T, bucket string, args map[string]string, keys ...string) events.S3BatchJobEventV2 {
	t.Helper()
	ev := events.S3BatchJobEventV2{InvocationSchemaVersion: "2.0", InvocationID: "aW52b2NhdGlvbg",
		Job: events.S3BatchJobV2{ID: "f3cc4f60-61f6-4a2b-8a21-d07600c373ce", UserArguments: args}}
	for i, k := range keys {
		// Keys arrive URL-encoded as in an inventory manifest: a space as '+'.
		ev.Tasks = append(ev.Tasks, events.S3BatchJobTaskV2{TaskID: fmt.Sprintf("task-%d", i), S3Key: url.QueryEscape(k), S3Bucket: bucket})
	}
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	require.True(t, s3diff.IsBatchEvent(raw))
	var back events.S3BatchJobEventV2
	require.NoError(t, json.Unmarshal(raw, &back))
	return back
}

func newBatchHandler(t *testing.T, api s3diff.S3API, optFns ...func(*s3diff.HandlerOptions)) *s3diff.Handler {
	t.Helper()
	h, err := s3diff.NewHandler(newClient(t, api, func(o *s3diff.Options) { o.Clock = clocktest.New() }), optFns...)
	require.NoError(t, err)
	return h
}

func resultCodes(resp events.S3BatchJobResponse) map[string]string {
	out := map[string]string{}
	for _, r := range resp.Results {
		out[r.TaskID] = r.ResultCode
	}
	return out
}

func TestBatchRetainsEachTaskKey(t *testing.T) {
	ctx := context.Background()
	st := newFakeStore(t).(*fakeStore)
	keys := []string{"logs/a b.txt", "logs/c+d.txt", "logs/ü.json"}
	newest := map[string][]string{}
	for _, k := range keys {
		for i := range 5 {
			newest[k] = append([]string{st.put(t, k, []byte{byte(i)})}, newest[k]...)
		}
	}
	st.put(t, "logs/a", []byte("a sibling of no task"))
	st.put(t, "logs/a", []byte("a sibling of no task, 2"))

	h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 2 })
	ev := batchEvent(t, st.bucket(), nil, keys...)
	resp := h.HandleBatch(ctx, ev)
	assert.Equal(t, "2.0", resp.InvocationSchemaVersion)
	assert.Equal(t, ev.InvocationID, resp.InvocationID)
	assert.Equal(t, s3diff.BatchPermanentFailure, resp.TreatMissingKeysAs, "a task left out is a failure, never a success")
	require.Len(t, resp.Results, len(keys))
	for i, r := range resp.Results {
		assert.Equal(t, fmt.Sprintf("task-%d", i), r.TaskID)
		assert.Equal(t, s3diff.BatchSucceeded, r.ResultCode, r.ResultString)
		assert.Equal(t, "kept 2, deleted 3", r.ResultString)
	}
	for _, k := range keys {
		assert.Equal(t, newest[k][:2], st.s.VersionIDs(st.bucket(), k), "key %q", k)
	}
	assert.Len(t, st.s.VersionIDs(st.bucket(), "logs/a"), 2, "a key of no task is untouched")

	// The response is what Batch Operations reads: the SDK type's field names.
	raw, err := json.Marshal(resp)
	require.NoError(t, err)
	for _, field := range []string{`"invocationSchemaVersion":"2.0"`, `"treatMissingKeysAs":"PermanentFailure"`, `"resultCode":"Succeeded"`, `"taskId":"task-0"`} {
		assert.Contains(t, string(raw), field)
	}

	// A redelivered invocation finds nothing more to delete.
	resp = h.HandleBatch(ctx, ev)
	for _, r := range resp.Results {
		assert.Equal(t, s3diff.BatchSucceeded, r.ResultCode)
		assert.Equal(t, "kept 2, deleted 0", r.ResultString)
	}
}

func TestBatchUserArguments(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*fakeStore, *s3diff.Handler) {
		st := newFakeStore(t).(*fakeStore)
		for i := range 4 {
			st.put(t, "k", []byte{byte(i)})
		}
		return st, newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 3 })
	}
	t.Run("keep overrides the function's default", func(t *testing.T) {
		st, h := setup(t)
		resp := h.HandleBatch(ctx, batchEvent(t, st.bucket(), map[string]string{"keep": "1"}, "k"))
		assert.Equal(t, "kept 1, deleted 3", resp.Results[0].ResultString)
		assert.Len(t, st.s.VersionIDs(st.bucket(), "k"), 1)
	})
	t.Run("dryRun deletes nothing and reports the plan", func(t *testing.T) {
		st, h := setup(t)
		resp := h.HandleBatch(ctx, batchEvent(t, st.bucket(), map[string]string{"keep": "1", "dryRun": "true"}, "k"))
		assert.Equal(t, s3diff.BatchSucceeded, resp.Results[0].ResultCode)
		assert.Equal(t, "dry run: would keep 1, would delete 3", resp.Results[0].ResultString)
		assert.Len(t, st.s.VersionIDs(st.bucket(), "k"), 4)
		assert.Zero(t, st.s.Calls(s3difftest.OpDeleteObjects))
	})
	for name, args := range map[string]map[string]string{
		"a misspelt argument":   {"Keep": "1"},
		"keep 0":                {"keep": "0"},
		"keep not a number":     {"keep": "five"},
		"dryRun not a boolean":  {"dryRun": "yes please"},
		"an argument of no use": {"keep": "1", "mode": "all"},
	} {
		t.Run(name+" fails every task and deletes nothing", func(t *testing.T) {
			st, h := setup(t)
			resp := h.HandleBatch(ctx, batchEvent(t, st.bucket(), args, "k", "k2"))
			require.Len(t, resp.Results, 2)
			for _, r := range resp.Results {
				assert.Equal(t, s3diff.BatchPermanentFailure, r.ResultCode)
				assert.Contains(t, r.ResultString, "user argument")
			}
			assert.Zero(t, st.s.Total(), "no S3 call")
		})
	}
	t.Run("no keep anywhere", func(t *testing.T) {
		st := newFakeStore(t).(*fakeStore)
		h := newBatchHandler(t, st.api())
		resp := h.HandleBatch(ctx, batchEvent(t, st.bucket(), nil, "k"))
		assert.Equal(t, s3diff.BatchPermanentFailure, resp.Results[0].ResultCode)
		assert.Contains(t, resp.Results[0].ResultString, "KEEP_VERSIONS")
	})
	t.Run("schema 1.0", func(t *testing.T) {
		st, h := setup(t)
		ev := batchEvent(t, st.bucket(), nil, "k")
		ev.InvocationSchemaVersion = "1.0"
		resp := h.HandleBatch(ctx, ev)
		assert.Equal(t, s3diff.BatchPermanentFailure, resp.Results[0].ResultCode)
		assert.Contains(t, resp.Results[0].ResultString, "2.0")
		assert.Len(t, st.s.VersionIDs(st.bucket(), "k"), 4)
	})
}

func TestBatchTaskResultCodes(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		fault func(st *fakeStore, ids []string)
		want  string
	}{
		{"listing throttled", func(st *fakeStore, _ []string) {
			st.s.Fail(s3difftest.OpListObjectVersions, fakeapi.Error("SlowDown", "Please reduce your request rate."), 0)
		}, s3diff.BatchTemporaryFailure},
		{"listing 500", func(st *fakeStore, _ []string) {
			st.s.Fail(s3difftest.OpListObjectVersions, fakeapi.Error("InternalError", "We encountered an internal error."), 0)
		}, s3diff.BatchTemporaryFailure},
		{"listing denied", func(st *fakeStore, _ []string) {
			st.s.Fail(s3difftest.OpListObjectVersions, fakeapi.Error("AccessDenied", "Access Denied"), 0)
		}, s3diff.BatchPermanentFailure},
		{"a version throttled in every DeleteObjects answer", func(st *fakeStore, ids []string) {
			st.s.FailDelete(ids[0], "SlowDown", "Please reduce your request rate.", 0)
		}, s3diff.BatchTemporaryFailure},
		{"a version denied", func(st *fakeStore, ids []string) {
			st.s.FailDelete(ids[0], "SlowDown", "Please reduce your request rate.", 0)
			st.s.FailDelete(ids[1], "AccessDenied", "Access Denied", 0)
		}, s3diff.BatchPermanentFailure},
		{"the bucket is gone", func(st *fakeStore, _ []string) {
			st.s.Fail(s3difftest.OpListObjectVersions, fakeapi.Error("NoSuchBucket", "The specified bucket does not exist"), 0)
		}, s3diff.BatchPermanentFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newFakeStore(t).(*fakeStore)
			var ids []string // oldest first
			for i := range 4 {
				ids = append(ids, st.put(t, "k", []byte{byte(i)}))
			}
			tc.fault(st, ids)
			h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
			resp := h.HandleBatch(ctx, batchEvent(t, st.bucket(), nil, "k"))
			require.Len(t, resp.Results, 1)
			assert.Equal(t, tc.want, resp.Results[0].ResultCode, resp.Results[0].ResultString)
			assert.NotEmpty(t, resp.Results[0].ResultString)
		})
	}

	t.Run("malformed tasks", func(t *testing.T) {
		st := newFakeStore(t).(*fakeStore)
		h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
		ev := batchEvent(t, st.bucket(), nil, "ok")
		ev.Tasks = append(ev.Tasks,
			events.S3BatchJobTaskV2{TaskID: "no-bucket", S3Key: "k"},
			events.S3BatchJobTaskV2{TaskID: "no-key", S3Bucket: st.bucket()},
			events.S3BatchJobTaskV2{TaskID: "bad-escape", S3Key: "a%zz", S3Bucket: st.bucket()})
		codes := resultCodes(h.HandleBatch(ctx, ev))
		assert.Equal(t, map[string]string{"task-0": s3diff.BatchSucceeded, "no-bucket": s3diff.BatchPermanentFailure,
			"no-key": s3diff.BatchPermanentFailure, "bad-escape": s3diff.BatchPermanentFailure}, codes)
	})

	t.Run("a cancelled context is retried later", func(t *testing.T) {
		st := newFakeStore(t).(*fakeStore)
		st.put(t, "k", []byte("1"))
		h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		resp := h.HandleBatch(cctx, batchEvent(t, st.bucket(), nil, "k"))
		assert.Equal(t, s3diff.BatchTemporaryFailure, resp.Results[0].ResultCode)
	})

	t.Run("S3 unreachable after the SDK's retries", func(t *testing.T) {
		api := s3.New(s3.Options{BaseEndpoint: aws.String("http://127.0.0.1:1"), Region: "us-east-1", UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
		h, err := s3diff.NewHandler(newClient(t, api, func(o *s3diff.Options) { o.Clock = clocktest.New() }),
			func(o *s3diff.HandlerOptions) { o.Keep = 1 })
		require.NoError(t, err)
		resp := h.HandleBatch(ctx, batchEvent(t, "bkt", nil, "k"))
		assert.Equal(t, s3diff.BatchTemporaryFailure, resp.Results[0].ResultCode, resp.Results[0].ResultString)
	})
}

func TestBatchTwoTasksForOneKeyShareOneRun(t *testing.T) {
	st := newFakeStore(t).(*fakeStore)
	for i := range 3 {
		st.put(t, "k", []byte{byte(i)})
	}
	h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
	// An inventory of all versions lists a key once per version: one task each.
	resp := h.HandleBatch(context.Background(), batchEvent(t, st.bucket(), nil, "k", "k", "k"))
	require.Len(t, resp.Results, 3)
	for _, r := range resp.Results {
		assert.Equal(t, s3diff.BatchSucceeded, r.ResultCode)
		assert.Equal(t, "kept 1, deleted 2", r.ResultString)
	}
	assert.Equal(t, 1, st.s.Calls(s3difftest.OpListObjectVersions))
}

func TestBatchFilters(t *testing.T) {
	st := newFakeStore(t).(*fakeStore)
	for i := range 3 {
		st.put(t, "img/a.png", []byte{byte(i)})
	}
	h := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1; o.Suffix = ".json" })
	resp := h.HandleBatch(context.Background(), batchEvent(t, st.bucket(), nil, "img/a.png"))
	assert.Equal(t, s3diff.BatchSucceeded, resp.Results[0].ResultCode)
	assert.True(t, strings.HasPrefix(resp.Results[0].ResultString, "skipped"))
	assert.Len(t, st.s.VersionIDs(st.bucket(), "img/a.png"), 3)
}

func TestParseEventNamesABatchInvocation(t *testing.T) {
	raw, err := json.Marshal(events.S3BatchJobEventV2{InvocationSchemaVersion: "2.0", Tasks: []events.S3BatchJobTaskV2{{TaskID: "t"}}})
	require.NoError(t, err)
	_, err = s3diff.ParseEvent(raw)
	require.ErrorIs(t, err, s3diff.ErrInvalidInput)
	assert.Contains(t, err.Error(), "HandleBatch")
	assert.False(t, s3diff.IsBatchEvent([]byte(`{"Records":[]}`)))
	assert.False(t, s3diff.IsBatchEvent([]byte(`not json`)))
}
