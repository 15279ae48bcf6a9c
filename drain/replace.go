package drain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/shipshape-dev/shipshape/internal/errtext"
	"github.com/shipshape-dev/shipshape/lifecycle"
)

// ReplaceOptions configure Replace.
type ReplaceOptions struct {
	// MaxDrain bounds the drain. When it passes with tasks left, the instance is NOT
	// terminated: its scale-in protection is put back and Replace returns ErrTimeout.
	// Default: 30 minutes.
	MaxDrain time.Duration
	// OnProgress and OnEvent are passed to the drain (see DrainOptions).
	OnProgress func(Progress)
	OnEvent    func(lifecycle.Event)
}

// ReplaceResult says what Replace did.
type ReplaceResult struct {
	Drain Result
	// Group is the instance's Auto Scaling group.
	Group string
	// WasProtected: the instance was protected from scale-in (protection was turned off
	// before the termination; on a failure before it, turned back on).
	WasProtected bool
	// Terminated: TerminateInstanceInAutoScalingGroup was called (the group launches a
	// replacement: the desired capacity is not decremented).
	Terminated bool
	// Activity is the termination's scaling activity id.
	Activity string
	// HooksCompleted counts termination hooks completed with CONTINUE after the termination.
	HooksCompleted int
}

// Replace does a planned replacement of one instance of an Auto Scaling group, the order an
// operator follows by hand: turn the instance's scale-in protection off, drain it, then
// TerminateInstanceInAutoScalingGroup with ShouldDecrementDesiredCapacity=false, so the group
// launches a replacement, and complete the group's termination hooks with CONTINUE (the
// instance is empty already). The instance must be InService in a group. Nothing is
// terminated unless the drain finished: on ErrTimeout, an error or a cancellation before
// the termination, a protection it turned off is turned back on.
func (d *Drainer) Replace(ctx context.Context, asg AutoScalingAPI, in Instance, o ReplaceOptions) (res ReplaceResult, err error) {
	if asg == nil {
		return res, fmt.Errorf("%w: Replace needs an Auto Scaling client", ErrInvalidInput)
	}
	out, err := asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{in.EC2InstanceID}}, d.asgCallOpts()...)
	if err != nil {
		return res, errtext.Wrap("drain", "describing "+in.EC2InstanceID+" in Auto Scaling", err)
	}
	if len(out.AutoScalingInstances) == 0 {
		return res, fmt.Errorf("%w: %s is in no Auto Scaling group; nothing would replace it", ErrInvalidInput, in.EC2InstanceID)
	}
	inst := out.AutoScalingInstances[0]
	res.Group, res.WasProtected = aws.ToString(inst.AutoScalingGroupName), aws.ToBool(inst.ProtectedFromScaleIn)
	if state := aws.ToString(inst.LifecycleState); state != "InService" {
		return res, fmt.Errorf("%w: %s is %s in group %s, not InService: leave it to what is already happening", ErrInvalidInput, in.EC2InstanceID, state, res.Group)
	}
	protect := func(ctx context.Context, on bool) error {
		_, err := asg.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String(res.Group),
			InstanceIds: []string{in.EC2InstanceID}, ProtectedFromScaleIn: aws.Bool(on)}, d.asgCallOpts()...)
		return err
	}
	if res.WasProtected {
		if err := protect(ctx, false); err != nil {
			return res, errtext.Wrap("drain", "turning scale-in protection off", err)
		}
		defer func() {
			if res.Terminated {
				return
			}
			// Put the protection back on any path that did not terminate, even cancelled.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if perr := protect(cctx, true); perr != nil {
				err = errors.Join(err, errtext.Wrap("drain", "turning scale-in protection back on (do it by hand)", perr))
			}
		}()
	}
	res.Drain, err = d.Drain(ctx, in, DrainOptions{MaxDrain: o.MaxDrain, OnProgress: o.OnProgress, OnEvent: o.OnEvent})
	if err != nil {
		return res, err
	}
	term, err := asg.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(in.EC2InstanceID), ShouldDecrementDesiredCapacity: aws.Bool(false)}, d.asgCallOpts()...)
	if err != nil {
		return res, errtext.Wrap("drain", "terminating "+in.EC2InstanceID+" in group "+res.Group, err)
	}
	res.Terminated = true
	if term.Activity != nil {
		res.Activity = aws.ToString(term.Activity.ActivityId)
	}
	gate, err := lifecycle.New(asg, func(g *lifecycle.Options) { g.Clock, g.Logger, g.OnEvent = d.opts.Clock, d.log, o.OnEvent })
	if err != nil {
		return res, err
	}
	hooks, err := gate.Discover(ctx, nil, lifecycle.DiscoverOptions{InstanceID: in.EC2InstanceID, Group: res.Group, Transition: lifecycle.TerminateTransition})
	if errors.Is(err, lifecycle.ErrNoHook) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	done, err := gate.Complete(ctx, hooks, lifecycle.Continue, "drained before the termination")
	if err != nil {
		return res, err
	}
	if !done.NoActiveAction {
		res.HooksCompleted = len(hooks.Hooks)
	}
	return res, nil
}
