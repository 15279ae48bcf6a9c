package lifecycle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// wireClient is the real SDK client against a WireServer. The Gate sets its retryer on every
// call; the test's own direct calls are not retried.
func wireClient(t *testing.T, fake *lifecycletest.AutoScaling) (*autoscaling.Client, *lifecycletest.WireServer) {
	srv := lifecycletest.NewWireServer(fake)
	t.Cleanup(srv.Close)
	return autoscaling.New(autoscaling.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDWIRE", "wire", ""),
	}), srv
}

func TestWireNoActiveActionIsRecognised(t *testing.T) {
	e := newEnv(t)
	client := e.client
	_, err := client.CompleteLifecycleAction(context.Background(), &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("launch"),
		LifecycleActionResult: aws.String("CONTINUE"), InstanceId: aws.String("i-404")})
	var apiErr smithy.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "ValidationError", apiErr.ErrorCode())
	assert.Equal(t, "No active Lifecycle Action found with instance ID i-404", apiErr.ErrorMessage())

	g := e.gate()
	tgt, err := g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1"})
	require.NoError(t, err, "DescribeAutoScalingInstances and DescribeLifecycleHooks parse from XML")
	assert.Equal(t, "web", tgt.Group)
	assert.Equal(t, 300*time.Second, tgt.Hooks[0].HeartbeatTimeout)

	e.asg.Clock().Advance(10 * time.Minute) // the action expires
	out, err := g.Run(context.Background(), tgt, &scripted{results: []error{nil}})
	require.NoError(t, err)
	assert.True(t, out.NoActiveAction)
	assert.Equal(t, 2, e.asg.Calls(lifecycletest.OpComplete), "the test's own call, then the gate's: not retried")

	_, err = g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1", Group: "nope"})
	require.Error(t, err)
	assert.False(t, errors.Is(err, lifecycle.ErrNoActiveAction), "other ValidationErrors are not mistaken for it")
}

func TestWireThrottlingIsRetried(t *testing.T) {
	e := newEnv(t)
	srv := e.srv
	e.asg.Fail(lifecycletest.OpComplete, lifecycletest.APIError("Throttling", "Rate exceeded"), 2)
	e.asg.Fail(lifecycletest.OpHeartbeat, lifecycletest.APIError("ServiceUnavailable", "try later"), 1)
	g := e.gate(func(o *lifecycle.Options) { o.Timeout = time.Hour })
	tgt, err := g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1", Group: "web"})
	require.NoError(t, err)
	out, err := g.Run(context.Background(), tgt, healthyAfter{e.clock, e.clock.Now().Add(150 * time.Second)})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Continue, out.Result)
	assert.Equal(t, "InService", e.asg.State("i-1"))
	assert.Equal(t, []string{"DescribeLifecycleHooks", "RecordLifecycleActionHeartbeat", "RecordLifecycleActionHeartbeat",
		"CompleteLifecycleAction", "CompleteLifecycleAction", "CompleteLifecycleAction"}, srv.Actions())
}
