package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// TestIntegrationLambdaRuntimeInterfaceEmulator builds the function's bootstrap for this
// machine's architecture (`make lambda ARCH=...` builds the same for Lambda) and runs it in AWS's Lambda
// Runtime Interface Emulator, invoked with an SQS batch holding a Spot interruption warning,
// against the ECS wire server. The function must answer with a batch item failure (the drain
// is not done: the queue brings it back) and have set the instance DRAINING.
func TestIntegrationLambdaRuntimeInterfaceEmulator(t *testing.T) {
	ecs := draintest.New(nil)
	ecs.CreateCluster("prod")
	arn := ecs.AddInstance("prod", "i-00000001")
	ecs.AddService("prod", "web", false)
	ecs.RunTask(arn, "web", time.Hour)
	srv := draintest.NewWireServer(ecs)
	defer srv.Close()

	fn := testbed.StartLambda(t, ".", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDRIE", "AWS_SECRET_ACCESS_KEY=rie",
		"AWS_ENDPOINT_URL_ECS="+srv.URL, "AWS_ENDPOINT_URL_AUTO_SCALING="+srv.URL, "ECS_CLUSTERS=prod", "MAX_DRAIN=30m",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")

	detail, _ := json.Marshal(map[string]string{"instance-id": "i-00000001", "instance-action": "terminate"})
	body, _ := json.Marshal(events.CloudWatchEvent{Version: "0", ID: "e1", DetailType: "EC2 Spot Instance Interruption Warning",
		Source: "aws.ec2", Time: time.Now().UTC(), Region: "us-east-1", Detail: detail})
	payload, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "spot-1", Body: string(body), EventSource: "aws:sqs"}}})

	var resp events.SQSEventResponse
	require.NoError(t, json.Unmarshal(fn.Invoke(t, payload), &resp), "the emulator's answer is the handler's")
	require.Len(t, resp.BatchItemFailures, 1, "logs:\n%s", fn.Logs())
	assert.Equal(t, "spot-1", resp.BatchItemFailures[0].ItemIdentifier, "not done: the queue brings it back")
	assert.Equal(t, "DRAINING", ecs.InstanceStatus(arn))
}
