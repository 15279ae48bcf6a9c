package drain_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/fakeapi"
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
	in := fakeapi.Inputs[*autoscaling.TerminateInstanceInAutoScalingGroupInput](c.asg, lifecycletest.OpTerminate)
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
	assert.True(t, res.ProtectionRestored)
	assert.True(t, res.LeftDraining, "the container instance stays DRAINING until Replace runs again or it is set ACTIVE")
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

// A Replace that does not terminate says exactly what it left: a scale-in protection that
// could not be turned back on is a *ProtectionError with the command to run by hand, never
// "restored", and a container instance left DRAINING is named with the command that puts
// it back in service.
func TestReplaceSaysWhenTheScaleInProtectionCouldNotBeRestored(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "", 0) // standalone: the drain times out
	c.inService(t)
	d := c.drainer()
	denied := lifecycletest.APIError("AccessDenied", "User is not authorized to perform: autoscaling:SetInstanceProtection")
	res, err := d.Replace(context.Background(), c.asg, c.instance(t, d), drain.ReplaceOptions{MaxDrain: 5 * time.Minute,
		OnProgress: func(drain.Progress) {
			if c.asg.Calls(lifecycletest.OpProtect) == 2 { // the test's own call, then Replace's (off)
				c.asg.Fail(lifecycletest.OpProtect, denied, 0) // every later call
			}
		}})
	require.ErrorIs(t, err, drain.ErrTimeout)
	require.ErrorIs(t, err, drain.ErrProtectionNotRestored)
	var perr *drain.ProtectionError
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, "ecs", perr.Group)
	assert.Equal(t, "i-00000001", perr.InstanceID)
	assert.Equal(t, "aws autoscaling set-instance-protection --auto-scaling-group-name ecs --instance-ids i-00000001 --protected-from-scale-in --region eu-west-1",
		perr.Command("eu-west-1"))
	assert.Contains(t, err.Error(), "AccessDenied")
	assert.True(t, res.WasProtected)
	assert.False(t, res.ProtectionRestored)
	assert.False(t, res.Terminated)
	assert.False(t, c.asg.Protected("i-00000001"), "what the result says is what the group shows")

	assert.True(t, res.LeftDraining)
	assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn))
	assert.Equal(t, "aws ecs update-container-instances-state --cluster prod --container-instances "+c.arn+" --status ACTIVE --region eu-west-1",
		res.ActivateCommand("eu-west-1"))
}

// A failed SetInstanceProtection is not taken as "left off" when the group shows the
// protection on (turning it off was refused, so it never was off).
func TestReplaceReadsTheProtectionBackBeforeSayingItIsOff(t *testing.T) {
	c := newCluster(t)
	c.inService(t)
	c.asg.Fail(lifecycletest.OpProtect, lifecycletest.APIError("AccessDenied", "not authorized"), 0)
	d := c.drainer()
	res, err := d.Replace(context.Background(), c.asg, c.instance(t, d), drain.ReplaceOptions{})
	require.ErrorContains(t, err, "turning scale-in protection off")
	assert.NotErrorIs(t, err, drain.ErrProtectionNotRestored)
	assert.True(t, res.ProtectionRestored, "read back as on")
	assert.True(t, c.asg.Protected("i-00000001"))
	assert.False(t, res.LeftDraining, "no drain step ran")
	assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(c.arn))
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
}

// lostTermination terminates, then loses the answer.
type lostTermination struct{ *lifecycletest.AutoScaling }

func (l lostTermination) TerminateInstanceInAutoScalingGroup(ctx context.Context, in *autoscaling.TerminateInstanceInAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error) {
	if _, err := l.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, in, optFns...); err != nil {
		return nil, err
	}
	return nil, errors.New("read tcp 10.0.0.1:443: connection reset by peer")
}

// The termination worked but its answer was lost: the group shows the instance terminating,
// so the replacement goes on (hooks completed), and the protection is not "restored" on an
// instance that is going away.
func TestReplaceWhoseTerminationAnswerWasLost(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Minute)
	c.inService(t)
	d := c.drainer()
	res, err := d.Replace(context.Background(), lostTermination{c.asg}, c.instance(t, d), drain.ReplaceOptions{})
	require.NoError(t, err)
	assert.True(t, res.Terminated)
	assert.Equal(t, 1, res.HooksCompleted)
	assert.Equal(t, "Terminated", c.asg.State("i-00000001"))
	assert.Equal(t, 2, c.asg.Calls(lifecycletest.OpProtect), "the test's own (on) and Replace's (off): nothing turned back on")
	assert.False(t, res.LeftDraining)
}

// otherInstance answers DescribeAutoScalingInstances with another instance's details.
type otherInstance struct{ *lifecycletest.AutoScaling }

func (o otherInstance) DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	return o.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{"i-00000002"}}, optFns...)
}

// An Auto Scaling answer about another instance is never taken for the one replaced.
func TestReplaceTakesOnlyTheAnswerAboutItsInstance(t *testing.T) {
	c := newCluster(t)
	c.inService(t)
	c.asg.Launch("ecs", "i-00000002")
	d := c.drainer()
	_, err := d.Replace(context.Background(), otherInstance{c.asg}, c.instance(t, d), drain.ReplaceOptions{})
	require.ErrorIs(t, err, drain.ErrInvalidInput)
	assert.Contains(t, err.Error(), "i-00000001 is in no Auto Scaling group")
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
	assert.Equal(t, 1, c.asg.Calls(lifecycletest.OpProtect), "the test's own call only")
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
