package drain_test

import (
	"context"
	"errors"
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

var errReset = errors.New("read tcp 10.0.0.1:443: connection reset by peer")

// hostileASG wraps the fake Auto Scaling with switchable hostile behaviours, each armed by
// the test at the moment it wants (after the protection was turned off, ...).
type hostileASG struct {
	*lifecycletest.AutoScaling
	// restoreLost: a SetInstanceProtection(on) takes effect, then its answer is lost.
	restoreLost atomic.Bool
	// restoreRefused: a SetInstanceProtection(on) is refused.
	restoreRefused atomic.Bool
	// describeFails: DescribeAutoScalingInstances fails.
	describeFails atomic.Bool
	// describeLies: DescribeAutoScalingInstances says every instance asked is protected and
	// InService, in group ecs, whatever is true.
	describeLies atomic.Bool
	// describeOther: DescribeAutoScalingInstances answers about i-00000002 instead.
	describeOther atomic.Bool
	// terminateLostBefore: the termination fails on the network before reaching the group.
	terminateLostBefore atomic.Bool
	// terminateThen runs after a termination took effect; its error, if any, is returned.
	terminateThen func() error
}

func (h *hostileASG) SetInstanceProtection(ctx context.Context, in *autoscaling.SetInstanceProtectionInput, optFns ...func(*autoscaling.Options)) (*autoscaling.SetInstanceProtectionOutput, error) {
	on := aws.ToBool(in.ProtectedFromScaleIn)
	if on && h.restoreRefused.Load() {
		fakeapi.Enter(&h.AutoScaling.Script, "refused", in)
		return nil, lifecycletest.APIError("AccessDenied", "not authorized to perform autoscaling:SetInstanceProtection")
	}
	out, err := h.AutoScaling.SetInstanceProtection(ctx, in, optFns...)
	if err == nil && on && h.restoreLost.Load() {
		return nil, errReset
	}
	return out, err
}

func (h *hostileASG) DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	switch {
	case h.describeFails.Load():
		return nil, errReset
	case h.describeLies.Load():
		out := &autoscaling.DescribeAutoScalingInstancesOutput{}
		for _, id := range in.InstanceIds {
			out.AutoScalingInstances = append(out.AutoScalingInstances, types.AutoScalingInstanceDetails{InstanceId: aws.String(id),
				AutoScalingGroupName: aws.String("ecs"), LifecycleState: aws.String("InService"), ProtectedFromScaleIn: aws.Bool(true),
				HealthStatus: aws.String("HEALTHY"), AvailabilityZone: aws.String("eu-west-1a")})
		}
		return out, nil
	case h.describeOther.Load():
		return h.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{"i-00000002"}}, optFns...)
	}
	return h.AutoScaling.DescribeAutoScalingInstances(ctx, in, optFns...)
}

func (h *hostileASG) TerminateInstanceInAutoScalingGroup(ctx context.Context, in *autoscaling.TerminateInstanceInAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error) {
	if h.terminateLostBefore.Load() {
		return nil, errReset
	}
	out, err := h.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, in, optFns...)
	if err == nil && h.terminateThen != nil {
		if err := h.terminateThen(); err != nil {
			return nil, err
		}
	}
	return out, err
}

// replaceTimingOut: i-1 InService and protected, a standalone task that never stops (the
// drain times out, so the protection must be put back); hostile behaviours are armed once
// the protection is off (the second SetInstanceProtection: the test's own, then Replace's).
func replaceTimingOut(t *testing.T, arm func(h *hostileASG), wrap ...func(h *hostileASG) drain.AutoScalingAPI) (*cluster, *hostileASG, drain.ReplaceResult, error) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "", 0)
	c.inService(t)
	h := &hostileASG{AutoScaling: c.asg}
	var api drain.AutoScalingAPI = h
	for _, w := range wrap {
		api = w(h)
	}
	d := c.drainer()
	armed := false
	res, err := d.Replace(context.Background(), api, c.instance(t, d), drain.ReplaceOptions{MaxDrain: 5 * time.Minute,
		OnProgress: func(drain.Progress) {
			if !armed && c.asg.Calls(lifecycletest.OpProtect) == 2 {
				armed = true
				arm(h)
			}
		}})
	require.True(t, armed, "the drain ran")
	return c, h, res, err
}

// Turning the protection back on took effect but its answer was lost: read back as on, it
// is restored (no false alarm, no exit 4).
func TestReplaceSaysRestoredWhenTheRestoreAnswerWasLostButTookEffect(t *testing.T) {
	c, _, res, err := replaceTimingOut(t, func(h *hostileASG) { h.restoreLost.Store(true) })
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.True(t, c.asg.Protected("i-00000001"))
	assert.NotErrorIs(t, err, drain.ErrProtectionNotRestored, "the group shows it on")
	assert.True(t, res.ProtectionRestored)
	assert.False(t, res.Terminated)
}

// Turning the protection back on was refused and the read-back fails: never "restored".
func TestReplaceNeverSaysRestoredWhenTheReadBackFails(t *testing.T) {
	c, _, res, err := replaceTimingOut(t, func(h *hostileASG) { h.restoreRefused.Store(true); h.describeFails.Store(true) })
	require.ErrorIs(t, err, drain.ErrProtectionNotRestored)
	var perr *drain.ProtectionError
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, "ecs", perr.Group)
	assert.False(t, res.ProtectionRestored)
	assert.False(t, c.asg.Protected("i-00000001"))
	assert.True(t, res.LeftDraining)
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
}

// Turning the protection back on was refused and the read-back answers about another
// instance (protected): that is no read-back of this one, never "restored".
func TestReplaceNeverSaysRestoredWhenTheReadBackNamesAnotherInstance(t *testing.T) {
	c, _, res, err := replaceTimingOut(t, func(h *hostileASG) {
		c := h.AutoScaling
		c.Launch("ecs", "i-00000002")
		_, _ = c.SetInstanceProtection(context.Background(), &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("ecs"),
			InstanceIds: []string{"i-00000002"}, ProtectedFromScaleIn: aws.Bool(true)})
		h.restoreRefused.Store(true)
		h.describeOther.Store(true)
	})
	require.ErrorIs(t, err, drain.ErrProtectionNotRestored)
	assert.False(t, res.ProtectionRestored)
	assert.False(t, c.asg.Protected("i-00000001"))
}

// An instance that was not protected is not protected by Replace: it turned nothing off, so
// it turns nothing on (the group's scale-in choices stay as the operator set them).
func TestReplaceNeverProtectsAnInstanceThatWasNotProtected(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "", 0)
	c.asg.Launch("ecs", "i-00000001") // not protected
	d := c.drainer()
	res, err := d.Replace(context.Background(), c.asg, c.instance(t, d), drain.ReplaceOptions{MaxDrain: 5 * time.Minute})
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.NotErrorIs(t, err, drain.ErrProtectionNotRestored)
	assert.False(t, res.WasProtected)
	assert.False(t, c.asg.Protected("i-00000001"), "left as it was")
	assert.False(t, res.Terminated)
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
}

// A termination that failed before reaching the group (the group still shows InService):
// not terminated, the protection put back, the DRAINING container instance named.
func TestReplaceTerminationLostBeforeItReachedTheGroup(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Minute)
	c.inService(t)
	h := &hostileASG{AutoScaling: c.asg}
	h.terminateLostBefore.Store(true)
	d := c.drainer()
	res, err := d.Replace(context.Background(), h, c.instance(t, d), drain.ReplaceOptions{})
	require.Error(t, err)
	assert.Equal(t, "InService", c.asg.State("i-00000001"))
	assert.False(t, res.Terminated, "the group shows it InService")
	assert.True(t, c.asg.Protected("i-00000001"), "protection put back")
	assert.True(t, res.ProtectionRestored)
	assert.True(t, res.LeftDraining)
	assert.Zero(t, res.HooksCompleted)
}

// The termination took effect, its answer was lost, and the group can't be read any more:
// Replace can't know whether it terminated. It must not say "not terminated, protection
// restored" about an instance that is terminating.
func TestReplaceTerminationLostAndTheGroupUnreadableIsNotReportedAsRestored(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Minute)
	c.inService(t)
	h := &hostileASG{AutoScaling: c.asg}
	h.terminateThen = func() error { h.describeFails.Store(true); return errReset }
	d := c.drainer()
	res, err := d.Replace(context.Background(), h, c.instance(t, d), drain.ReplaceOptions{})
	t.Logf("err=%v res=%+v state=%s", err, res, c.asg.State("i-00000001"))
	require.Error(t, err, "the outcome is unknown")
	assert.False(t, !res.Terminated && res.ProtectionRestored, "says not terminated and restored, while the instance is %s", c.asg.State("i-00000001"))
	assertTerminationUnknown(t, res, err)
}

// assertTerminationUnknown: Replace says the termination's outcome is unknown and what to
// check, and claims nothing else (not terminated, restored, left DRAINING).
func assertTerminationUnknown(t *testing.T, res drain.ReplaceResult, err error) {
	t.Helper()
	require.ErrorIs(t, err, drain.ErrTerminationUnknown)
	assert.NotErrorIs(t, err, drain.ErrProtectionNotRestored, "the advice for an instance known not to be terminated")
	var uerr *drain.TerminationUnknownError
	require.ErrorAs(t, err, &uerr)
	assert.Equal(t, "ecs", uerr.Group)
	assert.Equal(t, "i-00000001", uerr.InstanceID)
	assert.True(t, uerr.WasProtected)
	assert.Equal(t, "aws autoscaling describe-auto-scaling-instances --instance-ids i-00000001 --region eu-west-1", uerr.CheckCommand("eu-west-1"))
	assert.Contains(t, err.Error(), "whether i-00000001 was terminated is unknown")
	assert.ErrorIs(t, err, errReset, "the termination call's own error stays reachable")
	assert.True(t, res.TerminationUnknown)
	assert.False(t, res.Terminated)
	assert.False(t, res.ProtectionRestored)
	assert.False(t, res.LeftDraining, "the advice to set it ACTIVE would put tasks on an instance that may be terminating")
	assert.Zero(t, res.HooksCompleted)
}

// The termination's answer was lost and the group, read again, no longer lists the instance
// (terminated and gone already, or detached: the group can't say which): unknown as well.
func TestReplaceTerminationLostAndTheInstanceNoLongerListedIsUnknown(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Minute)
	c.inService(t)
	h := &hostileASG{AutoScaling: c.asg}
	h.terminateThen = func() error { h.describeOther.Store(true); return errReset }
	d := c.drainer()
	res, err := d.Replace(context.Background(), h, c.instance(t, d), drain.ReplaceOptions{})
	t.Logf("err=%v res=%+v", err, res)
	assertTerminationUnknown(t, res, err)
	assert.Contains(t, err.Error(), "no longer lists i-00000001")
}

// The termination took effect and the group reads back as if nothing happened (a lying
// read-back: InService, protected): the answer was lost, so Replace may not know; but the
// test documents what it claims.
func TestReplaceCancelledDuringTheTerminationRecognisesIt(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Minute)
	c.inService(t)
	ctx, cancel := context.WithCancel(context.Background())
	h := &hostileASG{AutoScaling: c.asg}
	h.terminateThen = func() error { cancel(); return context.Canceled }
	d := c.drainer()
	res, err := d.Replace(ctx, h, c.instance(t, d), drain.ReplaceOptions{})
	t.Logf("err=%v res=%+v", err, res)
	assert.NotEqual(t, "InService", c.asg.State("i-00000001"))
	assert.True(t, res.Terminated, "the group shows it terminating: the termination happened")
	assert.False(t, res.ProtectionRestored, "nothing restored on an instance going away")
}

// Cancelled after the drain finished and before the termination: nothing terminated, the
// protection put back.
func TestReplaceCancelledAfterTheDrainTerminatesNothing(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Minute)
	c.inService(t)
	ctx, cancel := context.WithCancel(context.Background())
	d := c.drainer()
	res, err := d.Replace(ctx, c.asg, c.instance(t, d), drain.ReplaceOptions{OnProgress: func(p drain.Progress) {
		if p.Done {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
	assert.Equal(t, "InService", c.asg.State("i-00000001"))
	assert.True(t, c.asg.Protected("i-00000001"))
	assert.True(t, res.ProtectionRestored)
	assert.True(t, res.LeftDraining)
}

// Cancelled before anything: nothing changed, nothing claimed.
func TestReplaceCancelledBeforeItStartsChangesNothing(t *testing.T) {
	c := newCluster(t)
	c.inService(t)
	d := c.drainer()
	in := c.instance(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := d.Replace(ctx, c.asg, in, drain.ReplaceOptions{})
	require.ErrorIs(t, err, context.Canceled)
	assert.True(t, c.asg.Protected("i-00000001"))
	assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(c.arn))
	assert.False(t, res.LeftDraining)
	assert.False(t, res.Terminated)
}

// A read of the group that lies (protected, InService, whatever is true) cannot make
// Replace terminate an instance that is not drained.
func TestReplaceNeverTerminatesAnUndrainedInstanceWhateverTheGroupSays(t *testing.T) {
	c, _, res, err := replaceTimingOut(t, func(h *hostileASG) { h.describeLies.Store(true) })
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.False(t, res.Terminated)
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
}

// An instance in Standby or Pending is not InService: refused before anything changes.
func TestReplaceRefusesAnInstanceInStandby(t *testing.T) {
	for _, state := range []string{"Standby", "Pending", "Pending:Wait", "Terminating", "Detaching", "EnteringStandby", "Warmed:Running"} {
		t.Run(state, func(t *testing.T) {
			c := newCluster(t)
			c.inService(t)
			asg := stateASG{c.asg, state}
			d := c.drainer()
			_, err := d.Replace(context.Background(), asg, c.instance(t, d), drain.ReplaceOptions{})
			require.ErrorIs(t, err, drain.ErrInvalidInput)
			assert.Equal(t, 1, c.asg.Calls(lifecycletest.OpProtect), "the test's own call only")
			assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
			assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(c.arn))
		})
	}
}

type stateASG struct {
	*lifecycletest.AutoScaling
	state string
}

func (s stateASG) DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	out, err := s.AutoScaling.DescribeAutoScalingInstances(ctx, in, optFns...)
	if err == nil {
		for i := range out.AutoScalingInstances {
			out.AutoScalingInstances[i].LifecycleState = aws.String(s.state)
		}
	}
	return out, err
}

// Two entries for the instance in two groups (an instance is in one group at most): which
// group's protection to turn off and which hooks to complete is not guessed.
func TestReplaceRefusesAnInstanceListedInTwoGroups(t *testing.T) {
	c := newCluster(t)
	c.inService(t)
	c.asg.CreateGroup("other")
	d := c.drainer()
	res, err := d.Replace(context.Background(), twoGroups{c.asg}, c.instance(t, d), drain.ReplaceOptions{})
	t.Logf("err=%v res=%+v", err, res)
	for _, in := range fakeapi.Inputs[*autoscaling.SetInstanceProtectionInput](c.asg, lifecycletest.OpProtect) {
		p := in
		t.Logf("SetInstanceProtection %s %v", aws.ToString(p.AutoScalingGroupName), aws.ToBool(p.ProtectedFromScaleIn))
	}
	require.Error(t, err)
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
	assert.Equal(t, 1, c.asg.Calls(lifecycletest.OpProtect), "the test's own call only")
	require.ErrorIs(t, err, lifecycle.ErrSeveralGroups)
	assert.Contains(t, err.Error(), "other, ecs", "names the groups")
	assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(c.arn), "nothing drained")
}

type twoGroups struct{ *lifecycletest.AutoScaling }

func (s twoGroups) DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	out, err := s.AutoScaling.DescribeAutoScalingInstances(ctx, in, optFns...)
	if err == nil && len(out.AutoScalingInstances) == 1 {
		other := out.AutoScalingInstances[0]
		other.AutoScalingGroupName = aws.String("other")
		out.AutoScalingInstances = []types.AutoScalingInstanceDetails{other, out.AutoScalingInstances[0]}
	}
	return out, err
}

// Two entries for the instance in its one group that disagree (InService and Standby): the
// answer contradicts itself, and nothing is changed on it.
func TestReplaceRefusesAnAnswerThatContradictsItself(t *testing.T) {
	c := newCluster(t)
	c.inService(t)
	d := c.drainer()
	_, err := d.Replace(context.Background(), contradicting{c.asg}, c.instance(t, d), drain.ReplaceOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lists i-00000001 twice")
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
	assert.Equal(t, 1, c.asg.Calls(lifecycletest.OpProtect), "the test's own call only")
	assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(c.arn))
}

type contradicting struct{ *lifecycletest.AutoScaling }

func (s contradicting) DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	out, err := s.AutoScaling.DescribeAutoScalingInstances(ctx, in, optFns...)
	if err == nil && len(out.AutoScalingInstances) == 1 {
		standby := out.AutoScalingInstances[0]
		standby.LifecycleState = aws.String("Standby")
		out.AutoScalingInstances = append(out.AutoScalingInstances, standby)
	}
	return out, err
}
