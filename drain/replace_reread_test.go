package drain_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// rewrittenReads wraps a hostileASG: once rewrite is set, every DescribeAutoScalingInstances
// answer (after the hostile one) goes through it.
type rewrittenReads struct {
	*hostileASG
	rewrite atomic.Pointer[func(out *autoscaling.DescribeAutoScalingInstancesOutput)]
}

func (r *rewrittenReads) DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	out, err := r.hostileASG.DescribeAutoScalingInstances(ctx, in, optFns...)
	if f := r.rewrite.Load(); err == nil && f != nil {
		(*f)(out)
	}
	return out, err
}

func (r *rewrittenReads) set(f func(out *autoscaling.DescribeAutoScalingInstancesOutput)) {
	r.rewrite.Store(&f)
}

func asgEntry(id, group, state string, protected bool) types.AutoScalingInstanceDetails {
	return types.AutoScalingInstanceDetails{InstanceId: aws.String(id), AutoScalingGroupName: aws.String(group), LifecycleState: aws.String(state),
		HealthStatus: aws.String("HEALTHY"), AvailabilityZone: aws.String("us-east-1a"), ProtectedFromScaleIn: aws.Bool(protected)}
}

// The termination took effect and its answer was lost; the group, read again, answers in a
// way that settles nothing about i-1 in group ecs. Replace must not claim "not terminated,
// protection restored", nor complete another group's hooks: the outcome is unknown.
type rereadCase = func(out *autoscaling.DescribeAutoScalingInstancesOutput)

// ... i-1 in two groups, or twice in ecs with states that disagree.
func TestReplaceTerminationLostAndAReReadThatContradictsItselfIsUnknown(t *testing.T) {
	replaceTerminationLostThenReRead(t, map[string]rereadCase{
		"in two groups": func(out *autoscaling.DescribeAutoScalingInstancesOutput) {
			out.AutoScalingInstances = append(out.AutoScalingInstances, asgEntry("i-00000001", "other", "InService", true))
		},
		"twice in ecs, InService and Terminating": func(out *autoscaling.DescribeAutoScalingInstancesOutput) {
			out.AutoScalingInstances = append([]types.AutoScalingInstanceDetails{asgEntry("i-00000001", "ecs", "InService", true)}, out.AutoScalingInstances...)
		},
	})
}

// ... group ecs no longer lists i-1 but another group lists it InService, or ecs lists it
// with no lifecycle state: neither says i-1 is InService in ecs.
func TestReplaceTerminationLostAndAReReadWithoutItsStateInTheGroupIsUnknown(t *testing.T) {
	replaceTerminationLostThenReRead(t, map[string]rereadCase{
		"only in another group, InService": func(out *autoscaling.DescribeAutoScalingInstancesOutput) {
			out.AutoScalingInstances = []types.AutoScalingInstanceDetails{asgEntry("i-00000001", "other", "InService", true)}
		},
		"in ecs with no state": func(out *autoscaling.DescribeAutoScalingInstancesOutput) {
			for i := range out.AutoScalingInstances {
				out.AutoScalingInstances[i].LifecycleState = nil
			}
		},
	})
}

func replaceTerminationLostThenReRead(t *testing.T, cases map[string]rereadCase) {
	for name, rewrite := range cases {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t)
			c.ecs.RunTask(c.arn, "web", time.Minute)
			c.inService(t)
			c.asg.CreateGroup("other", lifecycletest.Hook{Name: "other-drain", Transition: lifecycle.TerminateTransition, HeartbeatTimeout: 300 * time.Second})
			r := &rewrittenReads{hostileASG: &hostileASG{AutoScaling: c.asg}}
			r.hostileASG.terminateThen = func() error { r.set(rewrite); return errReset }
			d := c.drainer()
			res, err := d.Replace(context.Background(), r, c.instance(t, d), drain.ReplaceOptions{})
			t.Logf("err=%v res=%+v state=%s", err, res, c.asg.State("i-00000001"))
			require.Error(t, err)
			assert.False(t, !res.Terminated && res.ProtectionRestored, "says not terminated and restored while i-1 is %s", c.asg.State("i-00000001"))
			assert.False(t, res.LeftDraining, "advises setting ACTIVE an instance that is %s", c.asg.State("i-00000001"))
			assert.True(t, res.TerminationUnknown)
			assert.ErrorIs(t, err, drain.ErrTerminationUnknown)
			for _, in := range fakeapi.Inputs[*autoscaling.CompleteLifecycleActionInput](c.asg, lifecycletest.OpComplete) {
				assert.Equal(t, "ecs", aws.ToString(in.AutoScalingGroupName), "another group's hook completed")
			}
		})
	}
}

// Termination unknown and turning the protection back on refused: the error says the outcome
// is unknown and how the protection went (ProtectionErr), but is not a *ProtectionError
// (ErrProtectionNotRestored), whose word is "did not terminate" (ecs-drain exit 4).
func TestReplaceTerminationUnknownWithTheProtectionRefusedNeverSaysNotTerminated(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Minute)
	c.inService(t)
	h := &hostileASG{AutoScaling: c.asg}
	h.terminateThen = func() error { h.describeFails.Store(true); h.restoreRefused.Store(true); return errReset }
	d := c.drainer()
	res, err := d.Replace(context.Background(), h, c.instance(t, d), drain.ReplaceOptions{})
	t.Logf("err=%v res=%+v", err, res)
	require.ErrorIs(t, err, drain.ErrTerminationUnknown)
	assert.NotErrorIs(t, err, drain.ErrProtectionNotRestored, "a *ProtectionError says the instance was not terminated")
	var uerr *drain.TerminationUnknownError
	require.ErrorAs(t, err, &uerr)
	assert.Error(t, uerr.ProtectionErr, "says the protection could not be turned back on")
	assert.True(t, res.TerminationUnknown)
	assert.False(t, res.Terminated)
	assert.False(t, res.ProtectionRestored)
	assert.False(t, res.LeftDraining)
}

// The drain timed out, turning the protection back on was refused, and the read-back lists
// i-1 twice: protected in another group, unprotected in ecs. That is no read-back of i-1's
// protection in ecs: never "restored".
func TestReplaceNeverSaysRestoredOnAReadBackInTwoGroups(t *testing.T) {
	var r *rewrittenReads
	c, _, res, err := replaceTimingOut(t, func(h *hostileASG) {
		h.restoreRefused.Store(true)
		r.set(func(out *autoscaling.DescribeAutoScalingInstancesOutput) {
			out.AutoScalingInstances = append([]types.AutoScalingInstanceDetails{asgEntry("i-00000001", "other", "InService", true)}, out.AutoScalingInstances...)
		})
	}, func(h *hostileASG) drain.AutoScalingAPI { r = &rewrittenReads{hostileASG: h}; return r })
	t.Logf("err=%v res=%+v", err, res)
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.False(t, c.asg.Protected("i-00000001"))
	assert.False(t, res.ProtectionRestored, "restored, on an answer that also lists i-1 unprotected in ecs")
	assert.ErrorIs(t, err, drain.ErrProtectionNotRestored)
}

// An entry that names no group (or a blank one) for an InService instance is not "InService
// in one group": refused before anything changes, no SetInstanceProtection on group "".
func TestReplaceRefusesAnEntryWithoutAGroup(t *testing.T) {
	for name, group := range map[string]*string{"nil": nil, "empty": aws.String(""), "blank": aws.String("  ")} {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t)
			c.inService(t)
			r := &rewrittenReads{hostileASG: &hostileASG{AutoScaling: c.asg}}
			r.set(func(out *autoscaling.DescribeAutoScalingInstancesOutput) {
				for i := range out.AutoScalingInstances {
					out.AutoScalingInstances[i].AutoScalingGroupName = group
				}
			})
			d := c.drainer()
			_, err := d.Replace(context.Background(), r, c.instance(t, d), drain.ReplaceOptions{})
			t.Logf("err=%v", err)
			require.Error(t, err)
			assert.Equal(t, 1, c.asg.Calls(lifecycletest.OpProtect), "the test's own call only")
			assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
			assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(c.arn))
		})
	}
}

// Two entries for i-1 whose group names differ only in case ("ecs", "ECS") are two groups
// (Auto Scaling group names are case-sensitive): refused before any change.
func TestReplaceRefusesGroupsThatDifferOnlyInCase(t *testing.T) {
	c := newCluster(t)
	c.inService(t)
	r := &rewrittenReads{hostileASG: &hostileASG{AutoScaling: c.asg}}
	r.set(func(out *autoscaling.DescribeAutoScalingInstancesOutput) {
		if len(out.AutoScalingInstances) == 1 {
			e := out.AutoScalingInstances[0]
			e.AutoScalingGroupName = aws.String(strings.ToUpper(aws.ToString(e.AutoScalingGroupName)))
			out.AutoScalingInstances = append(out.AutoScalingInstances, e)
		}
	})
	d := c.drainer()
	_, err := d.Replace(context.Background(), r, c.instance(t, d), drain.ReplaceOptions{})
	t.Logf("err=%v", err)
	require.ErrorIs(t, err, lifecycle.ErrSeveralGroups)
	assert.Equal(t, 1, c.asg.Calls(lifecycletest.OpProtect), "the test's own call only")
	assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(c.arn))
}
