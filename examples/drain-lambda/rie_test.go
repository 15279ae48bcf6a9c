package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/internal/testbed"
)

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// TestIntegrationLambdaRuntimeInterfaceEmulator builds the function's bootstrap for this
// machine's architecture (`make lambda GOARCH=...` does the same) and runs it in AWS's Lambda
// Runtime Interface Emulator, invoked with an SQS batch holding a Spot interruption warning,
// against the ECS wire server. The function must answer with a batch item failure (the drain
// is not done: the queue brings it back) and have set the instance DRAINING.
func TestIntegrationLambdaRuntimeInterfaceEmulator(t *testing.T) {
	rie := testbed.LambdaRIE(t)
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bootstrap, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	ecs := draintest.New(nil)
	ecs.CreateCluster("prod")
	arn := ecs.AddInstance("prod", "i-00000001")
	ecs.AddService("prod", "web", false)
	ecs.RunTask(arn, "web", time.Hour)
	srv := draintest.NewWireServer(ecs)
	defer srv.Close()

	invoke, runtimeAPI := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", invoke, "--runtime-api-address", runtimeAPI, bootstrap)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDRIE", "AWS_SECRET_ACCESS_KEY=rie",
		"AWS_ENDPOINT_URL_ECS=" + srv.URL, "AWS_ENDPOINT_URL_AUTO_SCALING=" + srv.URL, "ECS_CLUSTERS=prod", "MAX_DRAIN=30m",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	detail, _ := json.Marshal(map[string]string{"instance-id": "i-00000001", "instance-action": "terminate"})
	body, _ := json.Marshal(events.CloudWatchEvent{Version: "0", ID: "e1", DetailType: "EC2 Spot Instance Interruption Warning",
		Source: "aws.ec2", Time: time.Now().UTC(), Region: "us-east-1", Detail: detail})
	payload, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "spot-1", Body: string(body), EventSource: "aws:sqs"}}})

	url := fmt.Sprintf("http://%s/2015-03-31/functions/function/invocations", invoke)
	var resp events.SQSEventResponse
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := http.Post(url, "application/json", bytes.NewReader(payload))
		if err == nil {
			defer r.Body.Close()
			require.Equal(t, http.StatusOK, r.StatusCode)
			require.NoError(t, json.NewDecoder(r.Body).Decode(&resp), "the emulator's answer is the handler's")
			break
		}
		require.True(t, time.Now().Before(deadline), "the emulator never answered: %v\n%s", err, logs.String())
		time.Sleep(50 * time.Millisecond) // the emulator is still starting: poll its port

	}
	require.Len(t, resp.BatchItemFailures, 1, "logs:\n%s", logs.String())
	assert.Equal(t, "spot-1", resp.BatchItemFailures[0].ItemIdentifier, "not done: the queue brings it back")
	assert.Equal(t, "DRAINING", ecs.InstanceStatus(arn))
}

// lockedBuffer collects a process's output while the test may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
