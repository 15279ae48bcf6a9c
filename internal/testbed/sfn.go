package testbed

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

//go:embed sfn/run.mjs
var sfnRunner []byte

// SFNLocal returns the node_modules folder that holds aws-local-stepfunctions.
func SFNLocal(t testing.TB) string {
	t.Helper()
	return need(t, "aws-local-stepfunctions", "SHIPSHAPE_SFN_LOCAL_PATH")[0]
}

// Machines are state machine definitions, by ARN, and the Lambda functions their Task
// states name, by function ARN.
type Machines struct {
	Definitions map[string]json.RawMessage
	Lambdas     map[string]*Lambda
}

// Definition reads an ASL file and replaces each ${Name} of subs in it, as the template's
// DefinitionSubstitutions do.
func Definition(t testing.TB, path string, subs map[string]string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the state machine %s: %v", path, err)
	}
	s := string(raw)
	for k, v := range subs {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	if strings.Contains(s, "${") {
		t.Fatalf("%s still holds a ${...} substitution after %v", path, subs)
	}
	return json.RawMessage(s)
}

// Execution is how a state machine's execution ended, with its event log.
type Execution struct {
	Status       string          `json:"status"` // SUCCEEDED or FAILED
	Output       json.RawMessage `json:"output"`
	Error, Cause string
	Events       []ExecutionEvent `json:"events"`
}

// ExecutionEvent is one entry of the interpreter's event log.
type ExecutionEvent struct {
	Execution string `json:"execution"`
	Type      string `json:"type"` // ExecutionStarted, StateEntered, StateFailed, StateRetried, StateCaught, ...
	State     struct {
		Name string `json:"name"`
	} `json:"state"`
	Error string `json:"Error"`
	Cause string `json:"Cause"`
	// Status is, for a ChildExecution (a state machine that a Task started), how it ended.
	Status string `json:"status"`
}

// Entered lists, in order, the states execution entered (with its child executions'
// states, prefixed "child:").
func (e Execution) Entered(execution string) []string {
	var out []string
	for _, ev := range e.Events {
		if ev.Type != "StateEntered" {
			continue
		}
		name := ev.State.Name
		if ev.Execution != execution {
			name = "child:" + name
		}
		out = append(out, name)
	}
	return out
}

// RunStateMachine runs the machine start of m as an execution named name with input, in
// aws-local-stepfunctions: Task states that name a Lambda function are invoked in its
// Runtime Interface Emulator; a function error is an error named by its errorType, with the
// error's JSON as Cause, as in Step Functions; $$.Execution.Name and $$.Execution.Input are
// what Step Functions gives; Retry intervals and Wait states take no time.
func RunStateMachine(t testing.TB, m Machines, start, name string, input any) Execution {
	t.Helper()
	lib := SFNLocal(t)
	runner := filepath.Join(t.TempDir(), "run.mjs")
	if err := os.WriteFile(runner, sfnRunner, 0o600); err != nil {
		t.Fatal(err)
	}
	lambdas := map[string]string{}
	for arn, l := range m.Lambdas {
		lambdas[arn] = l.url
	}
	job, err := json.Marshal(map[string]any{"machines": m.Definitions, "start": start, "input": input, "name": name, "lambdas": lambdas})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", runner)
	cmd.Env = append(os.Environ(), "SHIPSHAPE_SFN_LOCAL_PATH="+lib)
	cmd.Stdin = bytes.NewReader(job)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("running the state machine: %v\n%s", err, stderr.String())
	}
	var ex Execution
	if err := json.Unmarshal(stdout.Bytes(), &ex); err != nil {
		t.Fatalf("the runner's answer does not parse: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	return ex
}
