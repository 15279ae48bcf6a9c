package main

// Adversarial tests of the verification state machine and its settings against docs/dr.md
// ("The wait ends at DR_TIMEOUT", "a report that is not OK is also published to
// AlertTopicArn") and the RELIABILITY guard ("the state machine reaches cleanup from every
// path"). A failing test is a bug found.

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/examples/internal/drstep"
)

func atkMachine(t *testing.T) asl {
	raw, err := os.ReadFile("statemachine.asl.json")
	require.NoError(t, err)
	var m asl
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// TestAFailedCleanupIsStillReported: when Cleanup keeps failing (its retries run out),
// the temporary instance may be left behind: that is when the report and the alert matter
// most. Cleanup without a Catch ends the execution before Report: no report in S3, no SNS.
func TestAFailedCleanupIsStillReportedAfterEveryCatch(t *testing.T) {
	cleanup := atkMachine(t).States["Cleanup"]
	caught := false
	for _, c := range cleanup.Catch {
		caught = caught || (c.Next == "Report" && len(c.ErrorEquals) == 1 && c.ErrorEquals[0] == "States.ALL")
	}
	assert.True(t, caught, "Cleanup must catch States.ALL into Report (after its retries), so that a leak is reported and alerted")
}

// TestRestoreWaitLastsUntilDRTimeout: "The wait ends at DR_TIMEOUT" (RestoreTimeout in
// the template, passed through unchecked). Ready retries NotReady 60 s apart MaxAttempts
// times: a DR_TIMEOUT the settings accept must fit in that, or the wait ends early, routed
// to Cleanup as NotReady instead of TimedOut.
func TestRestoreWaitLastsUntilDRTimeout(t *testing.T) {
	ready := atkMachine(t).States["Ready"]
	require.NotEmpty(t, ready.Retry)
	budget := time.Duration(ready.Retry[0].MaxAttempts*ready.Retry[0].IntervalSeconds) * time.Second
	for _, timeout := range []string{"1h", "3h", "12h"} {
		e := map[string]string{"DR_SOURCE_INSTANCE": "orders-db", "DR_INSTANCE_CLASS": "db.t4g.medium", "DR_DSN": "postgres://{host}/db", "DR_TIMEOUT": timeout}
		s, err := drstep.StepSettingsFromEnv(func(k string) string { return e[k] })
		if err != nil {
			continue // refused up front: fine
		}
		assert.GreaterOrEqual(t, budget, s.Timeout, "DR_TIMEOUT=%s is accepted but the state machine stops waiting after %s", timeout, budget)
	}
}

// TestCleanupAfterAnyCatchFindsTheInstance: whatever step failed, the Catch hands
// Cleanup the failed step's input plus $.error; Cleanup, with the execution name, deletes
// what the execution made, and records the caught error in the report.
func TestCleanupAfterAnyCatchFindsTheInstance(t *testing.T) {
	ctx := context.Background()
	f := bed()
	f.Endpoint = func(string) (string, int32) { return "127.0.0.1", 1 }
	h := handler(t, f, env)
	const run = "exec-catch"
	st, err := h(ctx, restore.StepRequest{Step: "start", Run: run})
	require.NoError(t, err)
	f.Clock().Advance(30 * time.Minute)
	st, err = h(ctx, restore.StepRequest{Step: "ready", Run: run, State: st})
	require.NoError(t, err)
	// Check fails as a Lambda (a timeout): the Catch passes Check's input with $.error.
	st.Error = &dr.CaughtError{Error: "Sandbox.Timedout", Cause: `{"errorMessage":"Task timed out after 300.00 seconds"}`}
	out, err := h(ctx, restore.StepRequest{Step: "cleanup", Run: run, State: st})
	require.NoError(t, err)
	assert.Empty(t, f.Instances())
	assert.False(t, out.Report.OK)
	require.NotNil(t, out.Report.Failed())
	assert.Contains(t, out.Report.Failed().Detail, "Task timed out")
	assert.Equal(t, 1, f.Calls(drtest.OpDeleteDB))
}

// atkS3 records the keys of the reports put (not of the records of their alerts, .alerted).
type atkS3 struct{ keys []string }

func (s *atkS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if strings.HasSuffix(aws.ToString(in.Key), ".alerted") {
		return &s3.PutObjectOutput{}, nil
	}
	s.keys = append(s.keys, aws.ToString(in.Key))
	return &s3.PutObjectOutput{}, nil
}

// GetObject finds nothing: every put here is of a new key.
func (*atkS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, &s3types.NoSuchKey{}
}

// TestAReportAfterAFailedStartNamesItsDatabase: the Catch after a failed Start hands
// Cleanup the execution's input (no state). The report (s3://<ReportBucket>/<ReportPrefix>/
// [<region>/]<database>/<started>.json) and the alert ("verification of orders-db FAILED")
// must still name the database and the time: two failed executions must not write the same
// key, and the alert must say which database failed.
func TestAReportAfterAFailedStartNamesItsDatabase(t *testing.T) {
	ctx := context.Background()
	f := drtest.New(nil) // no DR copy at all: Start fails with NoSnapshot
	const topic = "arn:aws:sns:us-east-1:111111111111:dr"
	notices := drtest.NewSNS(topic)
	bucket := &atkS3{}
	e := map[string]string{}
	for k, v := range env {
		e[k] = v
	}
	e["DR_REPORT_BUCKET"], e["DR_SNS_TOPIC_ARN"] = "dr-reports", topic
	s, err := drstep.StepSettingsFromEnv(func(k string) string { return e[k] })
	require.NoError(t, err)
	r, err := restore.NewStepRunner(s, restore.StepClients{RDS: func(string) restore.SanitizerAPI { return f }, S3: bucket, SNS: notices}, false,
		func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	h := drstep.Handler(r)
	for _, run := range []string{"exec-day-1", "exec-day-2"} {
		_, err := h(ctx, restore.StepRequest{Step: "start", Run: run})
		require.Equal(t, "NoSnapshot", errorType(err))
		caught := dr.VerifyState{Error: &dr.CaughtError{Error: "NoSnapshot", Cause: `{"errorMessage":"` + err.Error() + `"}`}}
		st, err := h(ctx, restore.StepRequest{Step: "cleanup", Run: run, State: caught})
		require.NoError(t, err)
		_, err = h(ctx, restore.StepRequest{Step: "report", Run: run, State: st})
		require.NoError(t, err)
		f.Clock().Advance(24 * time.Hour)
	}
	require.Len(t, bucket.keys, 2)
	assert.NotEqual(t, bucket.keys[0], bucket.keys[1], "the second failed execution's report overwrote the first")
	for _, k := range bucket.keys {
		assert.Contains(t, k, "orders-db/", k)
		assert.NotContains(t, k, "0001-01-01", k)
	}
	for _, m := range notices.Messages() {
		assert.Contains(t, m.Subject, "orders-db", "the alert names the database")
	}
}
