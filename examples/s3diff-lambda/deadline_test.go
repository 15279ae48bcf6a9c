package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// TestIntegrationTimeRunsOut: docs/s3diff.md promises TemporaryFailure when "the
// function's time running out", so that Batch Operations tries the task again. In the Lambda
// emulator with a 3-second timeout and an S3 endpoint that never answers, the invocation
// must come back as a Batch Operations response with TemporaryFailure, not as a timed-out
// invocation.
func TestIntegrationTimeRunsOut(t *testing.T) {
	testbed.LambdaRIE(t)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	fn := testbed.StartLambda(t, ".", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_ENDPOINT_URL_S3="+hang.URL, "S3_USE_PATH_STYLE=true", "KEEP_VERSIONS=3", "AWS_LAMBDA_FUNCTION_TIMEOUT=3",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	ev := events.S3BatchJobEventV2{InvocationSchemaVersion: "2.0", InvocationID: "aW52",
		Job:   events.S3BatchJobV2{ID: "job-1", UserArguments: map[string]string{"keep": "1"}},
		Tasks: []events.S3BatchJobTaskV2{{TaskID: "t0", S3Key: "k", S3Bucket: "bucket"}}}
	payload, err := json.Marshal(ev)
	require.NoError(t, err)
	body := fn.Invoke(t, payload)
	var resp events.S3BatchJobResponse
	err = json.Unmarshal(body, &resp)
	require.NoError(t, err, "%s", body)
	require.Len(t, resp.Results, 1, "the invocation's answer: %s\nlogs:\n%s", body, lastLines(fn.Logs(), 15))
	assert.Equal(t, "TemporaryFailure", resp.Results[0].ResultCode, resp.Results[0].ResultString)
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
