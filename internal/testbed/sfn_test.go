package testbed_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// TestIntegrationStateMachineRunner: the runner gives Task states a real Lambda under the
// emulator, Retry and Catch match the function's errorType, Cause is the error's JSON, and the
// context object holds the execution's name and input, as in Step Functions.
func TestIntegrationStateMachineRunner(t *testing.T) {
	fn := testbed.StartLambda(t, "testdata/steplambda")
	const arn = "arn:aws:lambda:us-east-1:123456789012:function:step"
	def := json.RawMessage(`{"StartAt":"Flaky","States":{
		"Flaky":{"Type":"Task","Resource":"` + arn + `","Parameters":{"fail":"NotReady","times":2,"run.$":"$$.Execution.Name","region.$":"$$.Execution.Input.region"},
			"Retry":[{"ErrorEquals":["NotReady"],"IntervalSeconds":60,"MaxAttempts":3}],"ResultPath":"$.flaky","Next":"Broken"},
		"Broken":{"Type":"Task","Resource":"` + arn + `","Parameters":{"fail":"RestoreFailed"},
			"Catch":[{"ErrorEquals":["RestoreFailed"],"ResultPath":"$.error","Next":"Caught"}],"End":true},
		"Caught":{"Type":"Pass","End":true}}}`)
	const sm = "arn:aws:states:us-east-1:123456789012:stateMachine:runner-test"
	ex := testbed.RunStateMachine(t, testbed.Machines{Definitions: map[string]json.RawMessage{sm: def},
		Lambdas: map[string]*testbed.Lambda{arn: fn}}, sm, "exec-1", map[string]any{"region": "eu-west-1"})
	require.Equal(t, "SUCCEEDED", ex.Status, "%+v\n%s", ex, fn.Logs())
	var out struct {
		Flaky struct {
			Echo  map[string]any `json:"echo"`
			Calls int            `json:"calls"`
		} `json:"flaky"`
		Error struct{ Error, Cause string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(ex.Output, &out))
	assert.Equal(t, 3, out.Flaky.Calls, "two NotReady, then the retry that worked")
	assert.Equal(t, "exec-1", out.Flaky.Echo["run"])
	assert.Equal(t, "eu-west-1", out.Flaky.Echo["region"])
	assert.Equal(t, "RestoreFailed", out.Error.Error)
	var cause struct{ ErrorType, ErrorMessage string }
	require.NoError(t, json.Unmarshal([]byte(out.Error.Cause), &cause), out.Error.Cause)
	assert.Equal(t, "RestoreFailed", cause.ErrorType)
	assert.Equal(t, []string{"Flaky", "Broken", "Caught"}, ex.Entered("exec-1"))
}
