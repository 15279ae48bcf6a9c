package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/examples/internal/drstep"
	"github.com/shipshape-dev/shipshape/examples/internal/drsteptest"
)

type asl struct {
	StartAt string `json:"StartAt"`
	States  map[string]struct {
		Type    string `json:"Type"`
		Next    string `json:"Next"`
		Default string `json:"Default"`
		End     bool   `json:"End"`
		Catch   []struct {
			ErrorEquals []string `json:"ErrorEquals"`
			ResultPath  string   `json:"ResultPath"`
			Next        string   `json:"Next"`
		} `json:"Catch"`
		Parameters map[string]any `json:"Parameters"`
		Retry      []struct {
			ErrorEquals     []string `json:"ErrorEquals"`
			IntervalSeconds int      `json:"IntervalSeconds"`
			BackoffRate     float64  `json:"BackoffRate"`
			MaxAttempts     int      `json:"MaxAttempts"`
		} `json:"Retry"`
		Choices []struct {
			Next string `json:"Next"`
		} `json:"Choices"`
	} `json:"States"`
}

// TestStateMachineAlwaysReachesCleanup parses the ASL: every state is reachable, every task
// but Cleanup catches States.ALL into Cleanup, Cleanup is reachable from every state before
// it, and Ready retries NotReady every 60 s without backoff.
func TestStateMachineAlwaysReachesCleanup(t *testing.T) {
	tmpl, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(tmpl, &doc), "the SAM template is valid YAML")
	assert.Contains(t, string(tmpl), "DefinitionUri: statemachine.asl.json")
	raw, err := os.ReadFile("statemachine.asl.json")
	require.NoError(t, err)
	var m asl
	require.NoError(t, json.Unmarshal(raw, &m))
	edges := map[string][]string{}
	for name, s := range m.States {
		for _, n := range []string{s.Next, s.Default} {
			if n != "" {
				edges[name] = append(edges[name], n)
			}
		}
		for _, c := range s.Catch {
			edges[name] = append(edges[name], c.Next)
		}
		for _, c := range s.Choices {
			edges[name] = append(edges[name], c.Next)
		}
	}
	reach := func(from string) map[string]bool {
		seen := map[string]bool{from: true}
		stack := []string{from}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, next := range edges[n] {
				require.Contains(t, m.States, next, "%s points at a missing state", n)
				if !seen[next] {
					seen[next] = true
					stack = append(stack, next)
				}
			}
		}
		return seen
	}
	all := reach(m.StartAt)
	for name := range m.States {
		assert.True(t, all[name], "state %s is unreachable", name)
	}
	for name, s := range m.States {
		if s.Type != "Task" || name == "Cleanup" || name == "Report" {
			continue
		}
		caught := false
		for _, c := range s.Catch {
			caught = caught || (c.Next == "Cleanup" && len(c.ErrorEquals) == 1 && c.ErrorEquals[0] == "States.ALL")
		}
		assert.True(t, caught, "task %s must catch States.ALL into Cleanup", name)
		assert.True(t, reach(name)["Cleanup"], "Cleanup unreachable from %s", name)
	}
	ready := m.States["Ready"]
	require.NotEmpty(t, ready.Retry)
	assert.Equal(t, []string{"NotReady"}, ready.Retry[0].ErrorEquals, "only NotReady is waited on: TimedOut, RestoreFailed and the rest go to Cleanup")
	assert.Equal(t, 60, ready.Retry[0].IntervalSeconds)
	assert.Equal(t, 1.0, ready.Retry[0].BackoffRate)
	assert.GreaterOrEqual(t, ready.Retry[0].MaxAttempts*ready.Retry[0].IntervalSeconds, 3600+3600,
		"longer than the default DR_TIMEOUT, so the Lambda's TimedOut (not the retry count) ends the wait")
	for name, s := range m.States {
		if s.Type == "Task" {
			assert.Equal(t, "$$.Execution.Name", s.Parameters["run.$"], "%s gets the execution name: cleanup must find the instance without the earlier answers", name)
			assert.Equal(t, "$$.Execution.Input.region", s.Parameters["region.$"], "%s runs in the execution's region", name)
		}
	}
	require.NotEmpty(t, edges["Cleanup"])
	for _, next := range edges["Cleanup"] { // Next, and the Catch of a cleanup that kept failing
		assert.Equal(t, "Report", next, "the report is written after the cleanup, also when it failed")
	}
	require.Len(t, m.States["Report"].Catch, 1)
	assert.Equal(t, "Outcome", m.States["Report"].Catch[0].Next, "a report that can't be delivered does not hide the outcome")

	var fan struct {
		States map[string]struct {
			Type          string         `json:"Type"`
			ItemsPath     string         `json:"ItemsPath"`
			ItemSelector  map[string]any `json:"ItemSelector"`
			ItemProcessor struct {
				States map[string]struct {
					Resource   string         `json:"Resource"`
					Parameters map[string]any `json:"Parameters"`
				} `json:"States"`
			} `json:"ItemProcessor"`
		} `json:"States"`
	}
	raw, err = os.ReadFile("fanout.asl.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &fan))
	each := fan.States["EachRegion"]
	assert.Equal(t, "Map", each.Type)
	assert.Equal(t, "$.regions", each.ItemsPath, "one execution per region in the schedule's input")
	start := each.ItemProcessor.States["StartVerification"]
	assert.Equal(t, "arn:aws:states:::states:startExecution", start.Resource, "not .sync: each region's execution runs and fails on its own")
	assert.Equal(t, map[string]any{"region.$": "$.region"}, start.Parameters["Input"])
	assert.Contains(t, string(tmpl), "'{\"regions\": [\"${List}\"]}'")
}

func readASL(t *testing.T) asl {
	raw, err := os.ReadFile("statemachine.asl.json")
	require.NoError(t, err)
	var m asl
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// TestRestoreTimeoutFitsTheWait: Ready retries NotReady for longer than the longest
// DR_TIMEOUT the Lambda accepts (drstep.MaxTimeout), so that the Lambda's TimedOut ends the
// wait, not the retry count; a longer DR_TIMEOUT is refused when the Lambda starts; and the
// template's RestoreTimeout allows only what the Lambda accepts.
func TestRestoreTimeoutFitsTheWait(t *testing.T) {
	settings := func(timeout string) error {
		e := map[string]string{"DR_TIMEOUT": timeout}
		for k, v := range env {
			if k != "DR_TIMEOUT" {
				e[k] = v
			}
		}
		_, err := drstep.Settings(drstep.StepSettingsFromEnv, func(k string) string { return e[k] })
		return err
	}
	require.NoError(t, drsteptest.CheckTimeouts("statemachine.asl.json", "template.yaml", settings))
	assert.Error(t, drsteptest.CheckTimeouts("statemachine.asl.json", "template.yaml", func(string) error { return nil }),
		"a Lambda that took any DR_TIMEOUT would be caught")
}

type bucketS3 struct {
	keys   []string
	bodies [][]byte
}

func (b *bucketS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	b.keys = append(b.keys, *in.Key)
	body, _ := io.ReadAll(in.Body)
	b.bodies = append(b.bodies, body)
	return &s3.PutObjectOutput{}, nil
}

// GetObject finds nothing: every put here is of a new key.
func (*bucketS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, &s3types.NoSuchKey{}
}

// TestAFailedCleanupIsStillReported: a Cleanup that still fails after its retries may leave
// the temporary instance behind, so its Catch goes on to Report with Cleanup's input and the
// error in a field of its own (the state, and an earlier step's $.error, stay as they
// were). Report, decoding that input as the Lambda runtime does, writes the report and
// alerts: the report is not OK, since only a cleanup that ran marks it OK, and its cleanup
// field says why the cleanup failed and what to delete (not only $.cleanupError in the
// execution).
func TestAFailedCleanupIsStillReported(t *testing.T) {
	m := readASL(t)
	var resultPath string
	for _, c := range m.States["Cleanup"].Catch {
		if c.Next == "Report" {
			resultPath = c.ResultPath
		}
	}
	require.Equal(t, "$.cleanupError", resultPath)
	assert.Equal(t, "Outcome", m.States["Report"].Next)

	ctx := context.Background()
	f := bed()
	const topic = "arn:aws:sns:us-east-1:111111111111:dr"
	notices, bucket := drtest.NewSNS(topic), &bucketS3{}
	e := map[string]string{"DR_REPORT_BUCKET": "dr-reports", "DR_SNS_TOPIC_ARN": topic}
	for k, v := range env {
		e[k] = v
	}
	s, err := drstep.Settings(drstep.StepSettingsFromEnv, func(k string) string { return e[k] })
	require.NoError(t, err)
	r, err := restore.NewStepRunner(s, restore.StepClients{RDS: func(string) restore.SanitizerAPI { return f }, S3: bucket, SNS: notices}, false,
		func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	h := drstep.Handler(r)
	const run = "exec-cleanup-failed"
	st, err := h(ctx, restore.StepRequest{Step: "start", Run: run})
	require.NoError(t, err)
	f.Clock().Advance(30 * time.Minute)
	st, err = h(ctx, restore.StepRequest{Step: "ready", Run: run, State: st})
	require.NoError(t, err)
	st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "table count", OK: true, Detail: "12 tables"}) // every check passed

	// Cleanup's input with its error at $.cleanupError, as Report's Parameters pass it.
	raw, err := json.Marshal(st)
	require.NoError(t, err)
	var state map[string]any
	require.NoError(t, json.Unmarshal(raw, &state))
	state["cleanupError"] = map[string]string{"Error": "States.TaskFailed", "Cause": `{"errorMessage":"deleting shipshape-verify-exec-cleanup-failed: AccessDenied"}`}
	raw, err = json.Marshal(map[string]any{"step": "report", "run": run, "region": "", "state": state})
	require.NoError(t, err)
	var req restore.StepRequest
	require.NoError(t, json.Unmarshal(raw, &req))

	out, err := h(ctx, req)
	require.NoError(t, err)
	assert.False(t, out.Report.OK, "Outcome: NotVerified")
	require.Len(t, bucket.keys, 2, "the report is written, then the record of its alert")
	assert.Regexp(t, `\.alerted$`, bucket.keys[1])
	assert.Equal(t, "s3://dr-reports/"+bucket.keys[0], out.Report.Location)
	for _, cleanup := range []string{out.Report.Cleanup, decodeReport(t, bucket.bodies[0]).Cleanup} {
		assert.Contains(t, cleanup, "FAILED")
		assert.Contains(t, cleanup, "AccessDenied", "why the cleanup failed")
		assert.Contains(t, cleanup, dr.TagRun+"="+run, "what to delete by hand")
	}
	assert.True(t, out.Report.Finished.IsZero(), "finished means cleanup ran; and a retried report step writes the same bytes")
	require.Len(t, notices.Messages(), 1, "and alerted")
	assert.Contains(t, notices.Messages()[0].Subject, "verification of orders-db FAILED")
	assert.Contains(t, notices.Messages()[0].Body, "the cleanup")
	assert.Contains(t, notices.Messages()[0].Body, "AccessDenied")
}

func decodeReport(t *testing.T, body []byte) dr.Report {
	var rep dr.Report
	require.NoError(t, json.Unmarshal(body, &rep))
	return rep
}

// TestStepsThroughTheHandler drives the handler as the state machine would, against the fake.
func TestStepsThroughTheHandler(t *testing.T) {
	f := drtest.New(nil)
	f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), map[string]string{dr.TagDR: "true"})
	f.Endpoint = func(string) (string, int32) { return "127.0.0.1", 1 } // no database there: the check fails
	h := handler(t, f, env)
	ctx := context.Background()
	const run = "5e0b9a57-1d3c-4a51-9f0e-3c2d1b0a9f8e"

	st, err := h(ctx, restore.StepRequest{Step: "start", Run: run})
	require.NoError(t, err)
	st, err = h(ctx, restore.StepRequest{Step: "ready", Run: run, State: st})
	require.Error(t, err)
	assert.Equal(t, "NotReady", errorType(err), "the errorType the state machine retries on")
	f.Clock().Advance(30 * time.Minute)
	st, err = h(ctx, restore.StepRequest{Step: "ready", Run: run, State: st})
	require.NoError(t, err)
	st, err = h(ctx, restore.StepRequest{Step: "check", Run: run, State: st})
	require.NoError(t, err)
	st, err = h(ctx, restore.StepRequest{Step: "cleanup", Run: run, State: st})
	require.NoError(t, err)
	assert.False(t, st.Report.OK, "the database was unreachable")
	assert.Empty(t, f.Instances(), "deleted")

	_, err = h(ctx, restore.StepRequest{Step: "dance", Run: run})
	assert.Equal(t, "InvalidInput", errorType(err))
}

var env = map[string]string{"DR_SOURCE_INSTANCE": "orders-db", "DR_INSTANCE_CLASS": "db.t4g.medium", "DR_DSN": "postgres://x@{host}:{port}/db?connect_timeout=1",
	"DR_CHECKS": `{"MinTables":1}`, "DR_TIMEOUT": "45m"}

func handler(t *testing.T, f *drtest.RDS, env map[string]string) func(context.Context, restore.StepRequest) (dr.VerifyState, error) {
	s, err := drstep.StepSettingsFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	r, err := restore.NewStepRunner(s, restore.StepClients{RDS: func(string) restore.SanitizerAPI { return f }}, false, func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	return drstep.Handler(r)
}

func errorType(err error) string {
	var e messages.InvokeResponse_Error
	if errors.As(err, &e) {
		return e.Type
	}
	return "(not an InvokeResponse_Error)"
}

// TestLostAnswersAndTerminalStates: what the state machine sees when things go wrong; in
// every case its Cleanup (run name only, as after a Catch) leaves nothing behind.
func TestLostAnswersAndTerminalStates(t *testing.T) {
	ctx := context.Background()
	t.Run("the restore's answer is lost", func(t *testing.T) {
		f := bed()
		h := handler(t, f, env)
		f.LoseAnswers(drtest.OpRestore, 1)
		_, err := h(ctx, restore.StepRequest{Step: "start", Run: "exec-1"})
		assert.Equal(t, "Failed", errorType(err))
		require.Len(t, f.Instances(), 1, "RDS made the instance")
		st, err := h(ctx, restore.StepRequest{Step: "cleanup", Run: "exec-1"}) // the Catch passes no state
		require.NoError(t, err)
		assert.Empty(t, f.Instances(), "found by the execution name and deleted")
		assert.False(t, st.Report.OK)
	})
	t.Run("terminal state", func(t *testing.T) {
		f := bed()
		f.RestoreOutcome = "incompatible-restore"
		h := handler(t, f, env)
		st, err := h(ctx, restore.StepRequest{Step: "start", Run: "exec-2"})
		require.NoError(t, err)
		f.Clock().Advance(30 * time.Minute)
		_, err = h(ctx, restore.StepRequest{Step: "ready", Run: "exec-2", State: st})
		assert.Equal(t, "RestoreFailed", errorType(err), "not NotReady: the machine stops waiting at once")
		_, err = h(ctx, restore.StepRequest{Step: "cleanup", Run: "exec-2", State: st})
		require.NoError(t, err)
		assert.Empty(t, f.Instances())
	})
	t.Run("DR_TIMEOUT passes", func(t *testing.T) {
		f := bed()
		f.RestoreTime = 3 * time.Hour
		h := handler(t, f, env)
		st, err := h(ctx, restore.StepRequest{Step: "start", Run: "exec-3"})
		require.NoError(t, err)
		f.Clock().Advance(44 * time.Minute)
		_, err = h(ctx, restore.StepRequest{Step: "ready", Run: "exec-3", State: st})
		assert.Equal(t, "NotReady", errorType(err))
		f.Clock().Advance(time.Minute)
		_, err = h(ctx, restore.StepRequest{Step: "ready", Run: "exec-3", State: st})
		assert.Equal(t, "TimedOut", errorType(err))
	})
	t.Run("an instance of another run", func(t *testing.T) {
		f := bed()
		h := handler(t, f, env)
		_, err := h(ctx, restore.StepRequest{Step: "start", Run: "exec-4"})
		require.NoError(t, err)
		_, err = h(ctx, restore.StepRequest{Step: "start", Run: "EXEC-4"}) // the same identifier, another execution
		assert.Equal(t, "ForeignResource", errorType(err))
		st, err := h(ctx, restore.StepRequest{Step: "cleanup", Run: "EXEC-4"})
		require.NoError(t, err)
		assert.Equal(t, "left shipshape-verify-exec-4 alone: not made by this run", st.Report.Cleanup)
		assert.Equal(t, []string{"shipshape-verify-exec-4"}, f.Instances(), "not ours to delete")
	})
}

func bed() *drtest.RDS {
	f := drtest.New(nil)
	f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), map[string]string{dr.TagDR: "true"})
	return f
}

func TestBadEnvironment(t *testing.T) {
	for name, bad := range map[string]map[string]string{
		"DR_DSN":            {"DR_DSN": "no placeholder"},
		"DR_CHECKS":         {"DR_DSN": "{host}", "DR_CHECKS": `{"MinTable": 1}`},
		"DR_TIMEOUT":        {"DR_DSN": "{host}", "DR_TIMEOUT": "soon"},
		"DR_REGIONS":        {"DR_DSN": "{host}", "DR_REGIONS": `{"eu-west-1": {"Subnets": "x"}}`},
		"DR_DB_SECRET_ARN":  {"DR_DSN": "{host}", "DR_DB_SECRET_ARN": "prod/db"},
		"DR_SOURCE_CLUSTER": {"DR_DSN": "{host}", "DR_SOURCE_INSTANCE": "a", "DR_SOURCE_CLUSTER": "b"},
		"DR_SOURCE_ACCOUNT": {"DR_DSN": "{host}", "DR_SOURCE_INSTANCE": "a", "DR_SOURCE_ACCOUNT": "1111-2222-3333"},
	} {
		_, err := drstep.StepSettingsFromEnv(func(k string) string { return bad[k] })
		require.ErrorContains(t, err, name)
	}
}

// TestSeveralRegionsAndTheReport: one deployment verifies the DR copies in two regions (one
// execution each, the region in its input); a failure is reported to SNS through its wire
// protocol; a region not configured is refused.
func TestSeveralRegionsAndTheReport(t *testing.T) {
	w := drtest.NewWorld(nil)
	west, central := w.RDS("222222222222", "eu-west-1"), w.RDS("222222222222", "eu-central-1")
	for _, f := range []*drtest.RDS{west, central} {
		f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), map[string]string{dr.TagDR: "true"})
		f.Endpoint = func(string) (string, int32) { return "127.0.0.1", 1 }
	}
	central.RestoreOutcome = "storage-full"
	const topic = "arn:aws:sns:eu-west-1:222222222222:dr"
	notices := drtest.NewSNS(topic)
	srv := drtest.NewSNSWireServer(notices)
	t.Cleanup(srv.Close)
	regional := map[string]string{"DR_SOURCE_INSTANCE": "orders-db", "DR_INSTANCE_CLASS": "db.t4g.medium", "DR_DSN": "postgres://x@{host}:{port}/db?connect_timeout=1",
		"DR_REGIONS":       `{"eu-west-1": {"SubnetGroup": "private", "SecurityGroups": ["sg-w"]}, "eu-central-1": {"SubnetGroup": "private", "SecurityGroups": ["sg-c"]}}`,
		"DR_SNS_TOPIC_ARN": topic}
	s, err := drstep.StepSettingsFromEnv(func(k string) string { return regional[k] })
	require.NoError(t, err)
	byRegion := map[string]*drtest.RDS{"eu-west-1": west, "eu-central-1": central}
	r, err := restore.NewStepRunner(s, restore.StepClients{RDS: func(region string) restore.SanitizerAPI { return byRegion[region] }, SNS: srv.Client()}, false,
		func(o *dr.VerifyOptions) { o.Clock = west.Clock() })
	require.NoError(t, err)
	h := drstep.Handler(r)
	ctx := context.Background()

	for region, f := range byRegion {
		run := "exec-" + region
		st, err := h(ctx, restore.StepRequest{Step: "start", Run: run, Region: region})
		require.NoError(t, err)
		_, _, sgs, _ := f.Instance(st.Instance)
		assert.Equal(t, []string{map[string]string{"eu-west-1": "sg-w", "eu-central-1": "sg-c"}[region]}, sgs, "the region's own settings")
		w.RDS("222222222222", region).Clock().Advance(25 * time.Minute)
		next, err := h(ctx, restore.StepRequest{Step: "ready", Run: run, Region: region, State: st})
		if region == "eu-central-1" {
			assert.Equal(t, "RestoreFailed", errorType(err))
			cause, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": errorType(err)})
			next = st // the Catch passes the Ready step's input, with the error at $.error
			next.Error = &dr.CaughtError{Error: errorType(err), Cause: string(cause)}
		} else {
			require.NoError(t, err)
		}
		st, err = h(ctx, restore.StepRequest{Step: "cleanup", Run: run, Region: region, State: next})
		require.NoError(t, err)
		st, err = h(ctx, restore.StepRequest{Step: "report", Run: run, Region: region, State: st})
		require.NoError(t, err)
		assert.Empty(t, f.Instances())
		assert.Equal(t, region, st.Report.Region)
	}
	msgs := notices.Messages()
	require.Len(t, msgs, 2, "both failed (nothing listens on the fake endpoint in eu-west-1)")
	bodies := map[string]string{}
	for _, m := range msgs {
		bodies[m.Subject] = m.Body
	}
	assert.Contains(t, bodies["shipshape dr: verification of orders-db FAILED in eu-central-1"], "is storage-full", "the failed step names the terminal state")
	_, err = h(ctx, restore.StepRequest{Step: "start", Run: "x", Region: "us-east-1"})
	assert.Equal(t, "InvalidInput", errorType(err))
}

// TestStepsFailWithAmbiguousSource: two source accounts each have an orders-db here. Without
// DR_SOURCE_ACCOUNT the Start step fails with the error type AmbiguousSource (which no Retry
// of the state machine repeats: it goes to Cleanup and Report) before anything is restored;
// with it, the chosen account's newest copy is restored.
func TestStepsFailWithAmbiguousSource(t *testing.T) {
	ctx := context.Background()
	f := drtest.New(nil)
	at := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	f.AddManual("shipshape-dr-orders-db-202611230300-111111111111", "orders-db", at, map[string]string{dr.TagDR: "true", dr.TagSourceAccount: "111111111111"})
	f.AddManual("shipshape-dr-orders-db-202611230400-333333333333", "orders-db", at.Add(time.Hour), map[string]string{dr.TagDR: "true", dr.TagSourceAccount: "333333333333"})
	_, err := handler(t, f, env)(ctx, restore.StepRequest{Step: "start", Run: "exec-1"})
	assert.Equal(t, "AmbiguousSource", errorType(err))
	assert.Contains(t, err.Error(), "111111111111, 333333333333")
	assert.Zero(t, f.Calls(drtest.OpRestore))
	for name, state := range readASL(t).States {
		for _, r := range state.Retry {
			assert.NotContains(t, r.ErrorEquals, "AmbiguousSource", "retrying can't choose the account")
			if name != "Cleanup" { // the Start step's error does not reach Cleanup's own retries
				assert.NotContains(t, r.ErrorEquals, "States.ALL", "%s: a retry of everything would repeat it", name)
			}
		}
	}

	chosen := map[string]string{"DR_SOURCE_ACCOUNT": "111111111111"}
	for k, v := range env {
		chosen[k] = v
	}
	st, err := handler(t, f, chosen)(ctx, restore.StepRequest{Step: "start", Run: "exec-2"})
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-db-202611230300-111111111111", st.Snapshot)
}
