package drain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

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

// ReplaceResult says what Replace did, and what it left when it did not terminate.
type ReplaceResult struct {
	// Instance is the container instance replaced.
	Instance Instance
	Drain    Result
	// Group is the instance's Auto Scaling group.
	Group string
	// WasProtected: the instance was protected from scale-in (protection was turned off
	// before the termination; on a path that did not terminate, turned back on).
	WasProtected bool
	// ProtectionRestored: Replace turned the scale-in protection off (or tried to), did not
	// terminate the instance, and the protection is on again (turned back on, or read back
	// as on). When it is not, the error includes a *ProtectionError
	// (errors.Is(err, ErrProtectionNotRestored)): the protection is off, or may be.
	ProtectionRestored bool
	// Terminated: TerminateInstanceInAutoScalingGroup was called (the group launches a
	// replacement: the desired capacity is not decremented), or its answer was lost and the
	// group shows the instance terminating.
	Terminated bool
	// Activity is the termination's scaling activity id ("" when its answer was lost).
	Activity string
	// HooksCompleted counts termination hooks completed with CONTINUE after the termination.
	HooksCompleted int
	// LeftDraining: the instance was not terminated and its container instance is DRAINING
	// (read after the drain ended; also true when it could not be read after a step that may
	// have set it): it takes no new tasks until Replace is run again and finishes, or it is
	// set ACTIVE (ActivateCommand).
	LeftDraining bool
	// TerminationUnknown: the termination call failed and the group could not be read after
	// it (or does not list the instance in its group as staying or terminating), so whether the instance is terminating is not
	// known. Terminated, ProtectionRestored and LeftDraining are all false then: none of
	// them is known. The error is a *TerminationUnknownError, which says what to check.
	TerminationUnknown bool
}

// ActivateCommand is the AWS CLI command that puts the container instance back in service
// (ACTIVE), for an instance LeftDraining that is to stay; region "" leaves --region out.
func (r ReplaceResult) ActivateCommand(region string) string {
	return cliCommand(region, "aws", "ecs", "update-container-instances-state", "--cluster", r.Instance.Cluster,
		"--container-instances", r.Instance.ContainerInstanceARN, "--status", "ACTIVE")
}

// Replace does a planned replacement of one instance of an Auto Scaling group, the order an
// operator follows by hand: turn the instance's scale-in protection off, drain it, then
// TerminateInstanceInAutoScalingGroup with ShouldDecrementDesiredCapacity=false, so the group
// launches a replacement, and complete the group's termination hooks with CONTINUE (the
// instance is empty already). The instance must be InService in a group. Nothing is
// terminated unless the drain finished: on ErrTimeout, an error or a cancellation before
// the termination, a protection it turned off is turned back on (on a context that outlives
// the caller's, for one minute); when that fails too, the error includes a *ProtectionError.
// The result says what was left: ProtectionRestored, LeftDraining.
func (d *Drainer) Replace(ctx context.Context, asg AutoScalingAPI, in Instance, o ReplaceOptions) (res ReplaceResult, err error) {
	res.Instance = in
	if asg == nil {
		return res, fmt.Errorf("%w: Replace needs an Auto Scaling client", ErrInvalidInput)
	}
	out, err := asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{in.EC2InstanceID}}, d.asgCallOpts()...)
	if err != nil {
		return res, errtext.Wrap("drain", "describing "+in.EC2InstanceID+" in Auto Scaling", err)
	}
	inst, ok, err := asgInstance(out, in.EC2InstanceID)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, fmt.Errorf("%w: %s is in no Auto Scaling group; nothing would replace it", ErrInvalidInput, in.EC2InstanceID)
	}
	res.Group, res.WasProtected = aws.ToString(inst.AutoScalingGroupName), aws.ToBool(inst.ProtectedFromScaleIn)
	if strings.TrimSpace(res.Group) == "" {
		return res, fmt.Errorf("%w: DescribeAutoScalingInstances lists %s with no group name: an answer that does not say "+
			"which group would replace it is not acted on; nothing was changed", ErrInvalidInput, in.EC2InstanceID)
	}
	if state := aws.ToString(inst.LifecycleState); state != "InService" {
		return res, fmt.Errorf("%w: %s is %s in group %s, not InService: leave it to what is already happening", ErrInvalidInput, in.EC2InstanceID, state, res.Group)
	}
	protect := func(ctx context.Context, on bool) error {
		_, err := asg.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String(res.Group),
			InstanceIds: []string{in.EC2InstanceID}, ProtectedFromScaleIn: aws.Bool(on)}, d.asgCallOpts()...)
		return err
	}
	defer func() {
		if res.Terminated {
			return
		}
		// Whatever happened, say what is left, on a context that outlives a cancelled caller.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		var unknown *TerminationUnknownError
		if errors.As(err, &unknown) {
			// The instance may be terminating: nothing is claimed about it. Turning the
			// protection back on is still the right thing if it is not (and harmless if it
			// is); the error says how that went.
			if res.WasProtected {
				unknown.WasProtected = true
				unknown.ProtectionErr = d.restoreProtection(cctx, asg, in.EC2InstanceID, res.Group, protect)
			}
			return
		}
		if res.WasProtected {
			if perr := d.restoreProtection(cctx, asg, in.EC2InstanceID, res.Group, protect); perr != nil {
				err = errors.Join(err, &ProtectionError{Group: res.Group, InstanceID: in.EC2InstanceID, Err: perr})
			} else {
				res.ProtectionRestored = true
			}
		}
		if res.Drain.Steps > 0 {
			status, serr := d.status(cctx, in)
			if serr != nil {
				d.log.Warn("drain: could not read the container instance after the drain; it may be DRAINING", "container_instance", in.ContainerInstanceARN, "error", serr.Error())
			}
			res.LeftDraining = serr != nil || status == "DRAINING"
		}
	}()
	if res.WasProtected {
		// The defer above turns it back on also when this call fails: its answer may be lost.
		if err := protect(ctx, false); err != nil {
			return res, errtext.Wrap("drain", "turning scale-in protection off", err)
		}
	}
	res.Drain, err = d.Drain(ctx, in, DrainOptions{MaxDrain: o.MaxDrain, OnProgress: o.OnProgress, OnEvent: o.OnEvent})
	if err != nil {
		return res, err
	}
	term, err := asg.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(in.EC2InstanceID), ShouldDecrementDesiredCapacity: aws.Bool(false)}, d.asgCallOpts()...)
	if err != nil {
		// The answer may have been lost after the termination took effect: the group says.
		switch terminating, rerr := d.terminating(context.WithoutCancel(ctx), asg, in.EC2InstanceID, res.Group); {
		case rerr != nil:
			res.TerminationUnknown = true
			return res, &TerminationUnknownError{Group: res.Group, InstanceID: in.EC2InstanceID, Err: errors.Join(err, rerr)}
		case !terminating:
			return res, errtext.Wrap("drain", "terminating "+in.EC2InstanceID+" in group "+res.Group, err)
		}
		d.log.Warn("drain: the termination call failed, but the group shows the instance terminating (its answer was lost)",
			"instance", in.EC2InstanceID, "error", err.Error())
	} else if term.Activity != nil {
		res.Activity = aws.ToString(term.Activity.ActivityId)
	}
	res.Terminated = true
	gate, err := lifecycle.New(asg, func(g *lifecycle.Options) { g.Clock, g.Logger, g.OnEvent = d.opts.Clock, d.log, o.OnEvent })
	if err != nil {
		return res, err
	}
	hooks, err := gate.Discover(ctx, nil, lifecycle.DiscoverOptions{InstanceID: in.EC2InstanceID, Group: res.Group, Transition: lifecycle.TerminateTransition})
	if errors.Is(err, lifecycle.ErrNoHook) {
		return res, nil
	}
	if err == nil {
		var done lifecycle.Outcome
		if done, err = gate.Complete(ctx, hooks, lifecycle.Continue, "drained before the termination"); err == nil {
			if !done.NoActiveAction {
				res.HooksCompleted = len(hooks.Hooks)
			}
			return res, nil
		}
	}
	return res, errtext.Wrap("drain", "terminated "+in.EC2InstanceID+" (the group launches a replacement), but its termination hooks "+
		"were not completed (they end at their heartbeat timeout with their default result)", err)
}

// restoreProtection turns the scale-in protection back on; when that fails, it reads it back,
// and only a protection read as on, in group, counts as restored.
func (d *Drainer) restoreProtection(ctx context.Context, asg AutoScalingAPI, instanceID, group string, protect func(context.Context, bool) error) error {
	perr := protect(ctx, true)
	if perr == nil {
		return nil
	}
	out, rerr := asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{instanceID}}, d.asgCallOpts()...)
	switch {
	case rerr != nil:
		return errors.Join(perr, errtext.Wrap("drain", "reading it back", rerr))
	case isProtected(out, instanceID, group):
		d.log.Warn("drain: turning scale-in protection back on failed, but it is on", "instance", instanceID, "error", perr.Error())
		return nil
	}
	return perr
}

// terminating reads whether group shows the instance terminating (after a termination call
// whose answer may have been lost): true for Terminating (any of its steps) or Terminated,
// false only for a state that says the instance is still there and not leaving (InService,
// Standby, EnteringStandby) in group itself. An error when the group can't say: the read
// failed, the answer has no entry for the instance in group (it may be gone already, or
// detached: unknown either way), the entry has no state or another one (Detaching, ...), or
// its entries disagree.
func (d *Drainer) terminating(ctx context.Context, asg AutoScalingAPI, instanceID, group string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{instanceID}}, d.asgCallOpts()...)
	if err != nil {
		return false, errtext.Wrap("drain", "reading the group after the termination call", err)
	}
	inst, ok, err := asgInstance(out, instanceID)
	switch {
	case err != nil:
		return false, err
	case !ok:
		return false, fmt.Errorf("drain: the group no longer lists %s after the termination call (terminated already, or detached)", instanceID)
	case aws.ToString(inst.AutoScalingGroupName) != group:
		return false, fmt.Errorf("drain: after the termination call Auto Scaling lists %s in group %q, not %s (detached and attached elsewhere?)",
			instanceID, aws.ToString(inst.AutoScalingGroupName), group)
	}
	switch state := aws.ToString(inst.LifecycleState); {
	case strings.HasPrefix(state, "Terminating") || state == "Terminated":
		return true, nil
	case state == "InService" || state == "Standby" || state == "EnteringStandby":
		return false, nil
	default:
		return false, fmt.Errorf("drain: after the termination call group %s lists %s as %q, which says neither that it stays nor that it is terminating",
			group, instanceID, state)
	}
}

// asgInstance is the entry of instanceID in a DescribeAutoScalingInstances answer: an entry
// of another instance is never taken for it. Entries of it that disagree (several groups, or
// states or protections that differ) make the answer unreadable: an error, wrapping
// lifecycle.ErrSeveralGroups for several groups.
func asgInstance(out *autoscaling.DescribeAutoScalingInstancesOutput, instanceID string) (types.AutoScalingInstanceDetails, bool, error) {
	var found *types.AutoScalingInstanceDetails
	var groups []string
	for i := range out.AutoScalingInstances {
		in := &out.AutoScalingInstances[i]
		if aws.ToString(in.InstanceId) != instanceID {
			continue
		}
		if g := aws.ToString(in.AutoScalingGroupName); !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
		switch {
		case found == nil:
			found = in
		case aws.ToString(in.LifecycleState) != aws.ToString(found.LifecycleState) || aws.ToBool(in.ProtectedFromScaleIn) != aws.ToBool(found.ProtectedFromScaleIn):
			return types.AutoScalingInstanceDetails{}, false, fmt.Errorf("drain: DescribeAutoScalingInstances lists %s twice, as %s and %s: "+
				"an answer that contradicts itself is not acted on; nothing was changed", instanceID, aws.ToString(found.LifecycleState), aws.ToString(in.LifecycleState))
		}
	}
	if len(groups) > 1 {
		return types.AutoScalingInstanceDetails{}, false, fmt.Errorf("%w: DescribeAutoScalingInstances lists %s in groups %s; an instance is in "+
			"one group at most: nothing was changed", lifecycle.ErrSeveralGroups, instanceID, strings.Join(groups, ", "))
	}
	if found == nil {
		return types.AutoScalingInstanceDetails{}, false, nil
	}
	return *found, true, nil
}

// isProtected: the answer lists instanceID protected from scale-in in group, and nowhere else.
func isProtected(out *autoscaling.DescribeAutoScalingInstancesOutput, instanceID, group string) bool {
	inst, ok, err := asgInstance(out, instanceID)
	return err == nil && ok && aws.ToString(inst.AutoScalingGroupName) == group && aws.ToBool(inst.ProtectedFromScaleIn)
}

// status reads the container instance's status ("" when ECS says it is gone; an error when
// the answer does not say).
func (d *Drainer) status(ctx context.Context, in Instance) (string, error) {
	ci, err := d.describeInstance(ctx, in)
	if err != nil || ci == nil {
		return "", err
	}
	return aws.ToString(ci.Status), nil
}

// cliCommand joins a command line, quoting for a POSIX shell what needs it.
func cliCommand(region string, args ...string) string {
	if region != "" {
		args = append(args, "--region", region)
	}
	for i, a := range args {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
		}) {
			args[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(args, " ")
}
