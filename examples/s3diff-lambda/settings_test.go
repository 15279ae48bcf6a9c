package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// TestLambdaBatchSettings: the function's environment and the job's user arguments,
// through the function's own handler and JSON as the runtime passes it.
func TestLambdaBatchSettings(t *testing.T) {
	invoke := func(t *testing.T, envv map[string]string, args map[string]string, keys ...string) (events.S3BatchJobResponse, *s3difftest.Bucket) {
		b := s3difftest.New()
		b.CreateBucket("bucket")
		for _, k := range []string{"logs/a.json", "logs/b.txt", "other/c.json"} {
			for range 3 {
				b.Put("bucket", k, []byte(k))
			}
		}
		s, err := settingsFromEnv(env(envv))
		require.NoError(t, err)
		h, err := newHandler(b, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
		require.NoError(t, err)
		ev := events.S3BatchJobEventV2{InvocationSchemaVersion: "2.0", InvocationID: "inv", Job: events.S3BatchJobV2{ID: "job", UserArguments: args}}
		for i, k := range keys {
			ev.Tasks = append(ev.Tasks, events.S3BatchJobTaskV2{TaskID: string(rune('a' + i)), S3Key: k, S3Bucket: "bucket"})
		}
		raw, err := json.Marshal(ev)
		require.NoError(t, err)
		out, err := h(context.Background(), raw)
		require.NoError(t, err)
		var resp events.S3BatchJobResponse
		rawResp, err := json.Marshal(out)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(rawResp, &resp))
		return resp, b
	}
	t.Run("KEEP_VERSIONS=0 and a keep argument", func(t *testing.T) {
		resp, b := invoke(t, map[string]string{"KEEP_VERSIONS": "0"}, map[string]string{"keep": "2"}, "logs/a.json")
		assert.Equal(t, "Succeeded", resp.Results[0].ResultCode, resp.Results[0].ResultString)
		assert.Len(t, b.VersionIDs("bucket", "logs/a.json"), 2)
	})
	t.Run("KEEP_VERSIONS=0 and no keep argument", func(t *testing.T) {
		resp, b := invoke(t, map[string]string{"KEEP_VERSIONS": "0"}, nil, "logs/a.json")
		assert.Equal(t, "PermanentFailure", resp.Results[0].ResultCode)
		assert.Zero(t, b.Total())
	})
	t.Run("KEY_SUFFIX and KEY_PREFIX skip other keys", func(t *testing.T) {
		resp, b := invoke(t, map[string]string{"KEEP_VERSIONS": "1", "KEY_SUFFIX": ".json", "KEY_PREFIX": "logs/"}, nil,
			"logs/a.json", "logs/b.txt", "other/c.json")
		for _, r := range resp.Results {
			assert.Equal(t, "Succeeded", r.ResultCode, r.ResultString)
		}
		assert.Len(t, b.VersionIDs("bucket", "logs/a.json"), 1)
		assert.Len(t, b.VersionIDs("bucket", "logs/b.txt"), 3)
		assert.Len(t, b.VersionIDs("bucket", "other/c.json"), 3)
	})
	t.Run("a dry run from the job overrides nothing else", func(t *testing.T) {
		resp, b := invoke(t, map[string]string{"KEEP_VERSIONS": "1"}, map[string]string{"dryRun": "true"}, "logs/a.json")
		assert.Equal(t, "Succeeded", resp.Results[0].ResultCode)
		assert.Equal(t, "dry run: would keep 1, would delete 2", resp.Results[0].ResultString)
		assert.Zero(t, b.Calls(s3difftest.OpDeleteObjects))
	})
}
