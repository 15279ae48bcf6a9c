package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// TestIntegrationBatchOperationsInTheEmulator runs the function's bootstrap in AWS's Lambda
// Runtime Interface Emulator against the real local S3 server and invokes it as S3 Batch
// Operations does (schema 2.0, URL-encoded keys, the job's user arguments): every task must
// succeed with its counts, the keys must keep their newest versions, and the redelivered
// invocation must delete nothing more.
func TestIntegrationBatchOperationsInTheEmulator(t *testing.T) {
	ep := testbed.S3(t)
	client := testbed.S3Client(t)
	ctx := context.Background()
	bucket := testbed.VersionedBucket(t, client, "s3diff-batch")
	keys := []string{"cfg/app one.json", "cfg/c++.txt", "cfg/ü.yaml"}
	newest := map[string]string{}
	for _, k := range keys {
		for i := range 4 {
			out, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader([]byte{byte('a' + i)})})
			require.NoError(t, err)
			newest[k] = aws.ToString(out.VersionId)
		}
	}

	fn := testbed.StartLambda(t, ".", append(ep.Env(), "S3_USE_PATH_STYLE=true", "KEEP_VERSIONS=3")...)
	ev := events.S3BatchJobEventV2{InvocationSchemaVersion: "2.0", InvocationID: "aW52b2NhdGlvbi0x",
		Job: events.S3BatchJobV2{ID: "job-1", UserArguments: map[string]string{"keep": "1"}}}
	for i, k := range keys {
		ev.Tasks = append(ev.Tasks, events.S3BatchJobTaskV2{TaskID: fmt.Sprintf("t%d", i), S3Key: url.QueryEscape(k), S3Bucket: bucket})
	}
	payload, err := json.Marshal(ev)
	require.NoError(t, err)

	for run, want := range []string{"kept 1, deleted 3", "kept 1, deleted 0"} {
		var resp events.S3BatchJobResponse
		require.NoError(t, json.Unmarshal(fn.Invoke(t, payload), &resp))
		assert.Equal(t, "2.0", resp.InvocationSchemaVersion)
		assert.Equal(t, ev.InvocationID, resp.InvocationID)
		require.Len(t, resp.Results, len(keys), "logs:\n%s", fn.Logs())
		for i, r := range resp.Results {
			assert.Equal(t, fmt.Sprintf("t%d", i), r.TaskID)
			assert.Equal(t, "Succeeded", r.ResultCode, "run %d: %s\nlogs:\n%s", run, r.ResultString, fn.Logs())
			assert.Equal(t, want, r.ResultString, "run %d", run)
		}
	}
	for _, k := range keys {
		out, err := client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(k)})
		require.NoError(t, err)
		require.Len(t, out.Versions, 1, "key %q", k)
		assert.Equal(t, newest[k], aws.ToString(out.Versions[0].VersionId), "key %q keeps its newest version", k)
	}
}
