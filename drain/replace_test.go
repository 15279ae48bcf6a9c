package drain_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// inService launches i-1 into group "ecs" (InService) with scale-in protection on.
func (c *cluster) inService(t *testing.T) {
	c.asg.Launch("ecs", "i-00000001")
	require.NoError(t, protect(c, true))
}

func protect(c *cluster, on bool) error {
	_, err := c.asg.SetInstanceProtection(context.Background(), setProtection(on))
	return err
}

func TestReplaceDrainsThenTerminatesWithAReplacement(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Minute)
	c.inService(t)
	desired := c.asg.Desired("ecs")
	d := c.drainer()
	res, err := d.Replace(context.Background(), c.asg, c.instance(t, d), drain.ReplaceOptions{})
	require.NoError(t, err)
	assert.True(t, res.WasProtected)
	assert.True(t, res.Terminated)
	assert.True(t, res.Drain.Last.Done, "drained before the termination")
	assert.Equal(t, 1, res.HooksCompleted, "the termination hook completed: the instance is empty")
	assert.Equal(t, "Terminated", c.asg.State("i-00000001"))
	assert.Equal(t, desired, c.asg.Desired("ecs"), "ShouldDecrementDesiredCapacity=false: a replacement comes")
	in := c.asg.Inputs(lifecycletest.OpTerminate)
	require.Len(t, in, 1)
}

func TestReplaceTerminatesNothingWhenTheDrainDoesNotFinish(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "", 0) // standalone: never stops under the Wait policy
	c.inService(t)
	d := c.drainer()
	res, err := d.Replace(context.Background(), c.asg, c.instance(t, d), drain.ReplaceOptions{MaxDrain: 5 * time.Minute})
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.False(t, res.Terminated)
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate), "never terminated with tasks on it")
	assert.True(t, c.asg.Protected("i-00000001"), "scale-in protection put back")
	assert.Equal(t, "InService", c.asg.State("i-00000001"))

	// Cancelled halfway: the same.
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	_, err = d.Replace(ctx, c.asg, c.instance(t, d), drain.ReplaceOptions{OnProgress: func(drain.Progress) {
		if steps++; steps == 2 {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	assert.True(t, c.asg.Protected("i-00000001"))
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
}

func TestReplaceRefusesAnInstanceNotInService(t *testing.T) {
	c := newCluster(t)
	d := c.drainer()
	_, err := d.Replace(context.Background(), c.asg, c.instance(t, d), drain.ReplaceOptions{})
	require.ErrorIs(t, err, drain.ErrInvalidInput, "in no group: nothing would replace it")

	c.terminating() // already on its way out
	_, err = d.Replace(context.Background(), c.asg, c.instance(t, d), drain.ReplaceOptions{})
	require.ErrorIs(t, err, drain.ErrInvalidInput)
	assert.Contains(t, err.Error(), "Terminating:Wait")
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
}

func setProtection(on bool) *autoscaling.SetInstanceProtectionInput {
	return &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("ecs"), InstanceIds: []string{"i-00000001"}, ProtectedFromScaleIn: aws.Bool(on)}
}
