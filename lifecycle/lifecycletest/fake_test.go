package lifecycletest_test

import (
	"context"
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

// The termination rules of the fake, through the real SDK client and the wire server.
func TestTerminationHooks(t *testing.T) {
	ctx := context.Background()
	fake := lifecycletest.New(nil)
	fake.CreateGroup("ecs",
		lifecycletest.Hook{Name: "warm", HeartbeatTimeout: 300 * time.Second},
		lifecycletest.Hook{Name: "drain", Transition: lifecycle.TerminateTransition, HeartbeatTimeout: 300 * time.Second, DefaultResult: lifecycle.Continue})
	srv := lifecycletest.NewWireServer(fake)
	defer srv.Close()
	client := autoscaling.New(autoscaling.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDWIRE", "wire", "")})

	tokens := fake.Launch("ecs", "i-00000001")
	assert.Contains(t, tokens, "warm", "a launch opens the launch hooks only")
	assert.NotContains(t, tokens, "drain")
	_, err := client.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("ecs"),
		LifecycleHookName: aws.String("warm"), LifecycleActionResult: aws.String("CONTINUE"), InstanceId: aws.String("i-00000001")})
	require.NoError(t, err)
	assert.Equal(t, "InService", fake.State("i-00000001"))
	assert.Equal(t, 1, fake.Desired("ecs"))

	// Scale-in protection keeps an instance out of scale-in, not out of a termination by id.
	_, err = client.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("ecs"),
		InstanceIds: []string{"i-00000001"}, ProtectedFromScaleIn: aws.Bool(true)})
	require.NoError(t, err)
	assert.Nil(t, fake.ScaleIn("ecs", "i-00000001"))
	assert.Equal(t, "InService", fake.State("i-00000001"))

	out, err := client.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String("i-00000001"), ShouldDecrementDesiredCapacity: aws.Bool(false)})
	require.NoError(t, err)
	assert.Contains(t, aws.ToString(out.Activity.Description), "i-00000001")
	assert.Equal(t, "Terminating:Wait", fake.State("i-00000001"), "the termination hook holds it")
	assert.Equal(t, 1, fake.Desired("ecs"), "a replacement is launched")

	_, err = client.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String("i-00000001"), ShouldDecrementDesiredCapacity: aws.Bool(false)})
	var apiErr smithy.APIError
	require.ErrorAs(t, err, &apiErr, "terminating twice is refused")
	assert.Equal(t, "ValidationError", apiErr.ErrorCode())

	_, err = client.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("ecs"),
		LifecycleHookName: aws.String("drain"), LifecycleActionResult: aws.String("CONTINUE"), InstanceId: aws.String("i-00000001")})
	require.NoError(t, err)
	assert.Equal(t, "Terminated", fake.State("i-00000001"))

	// A scale-in of an unprotected instance opens the termination hook; expiry applies its default.
	fake.Launch("ecs", "i-00000002")
	_, _ = client.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("ecs"),
		LifecycleHookName: aws.String("warm"), LifecycleActionResult: aws.String("CONTINUE"), InstanceId: aws.String("i-00000002")})
	require.Contains(t, fake.ScaleIn("ecs", "i-00000002"), "drain")
	fake.Clock().Advance(301 * time.Second)
	res, expired := fake.Result("i-00000002", "drain")
	assert.Equal(t, lifecycle.Continue, res)
	assert.True(t, expired)
	assert.Equal(t, "Terminated", fake.State("i-00000002"))
}
