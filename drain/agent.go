package drain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/internal/errtext"
	"github.com/shipshape-dev/shipshape/lifecycle"
)

// ErrSpotDeadline: the Spot interruption notice's time came with tasks still on the
// instance; EC2 reclaims it then whatever runs. It wraps ErrTimeout.
var ErrSpotDeadline = fmt.Errorf("drain: the Spot interruption time came with tasks still running: %w", ErrTimeout)

// MaxSpotNotice is the furthest ahead a Spot instance-action time is believed. EC2 gives a
// two-minute warning; a time further ahead than this is not what EC2 sends (a skewed clock,
// a mock, a lying metadata server) and is logged as suspicious. The drain is then bounded by
// the smaller of MaxDrain and MaxSpotNotice, never by the time it names: the instance may be
// reclaimed two minutes after the notice, and a termination hook must not be held on its word.
const MaxSpotNotice = 15 * time.Minute

// WatchOptions configure Drainer.Watch.
type WatchOptions struct {
	// OnRebalance drains on an EC2 rebalance recommendation too. Recommendations are
	// advisory and come earlier than a Spot interruption notice; draining on them moves the
	// tasks off an instance at elevated risk before the two-minute warning. Default: off.
	OnRebalance bool
	// AutoScaling, when set, lets Watch find the instance's termination lifecycle hooks
	// (when IMDS's target lifecycle state says Terminated, or after a Spot drain when it
	// does by then), heartbeat them while draining and complete them with CONTINUE at the
	// end. Without it, the hooks are left to whoever else completes them (the drain Lambda)
	// or to their timeout.
	AutoScaling lifecycle.AutoScalingAPI
	// MaxDrain bounds every drain, counted from the trigger. Default: 30 minutes. A drain
	// started by a Spot interruption notice ends at the earlier of the notice's
	// instance-action time (two minutes after the notice) and MaxDrain; a time more than
	// MaxSpotNotice ahead is suspicious and bounded by min(MaxDrain, MaxSpotNotice). Only
	// the Spot instance-action time is a deadline: a rebalance recommendation's noticeTime
	// is when it was sent, and a scheduled maintenance event's NotBefore (days ahead; not
	// watched) is not one either.
	MaxDrain time.Duration
	// OnTrigger, when set, is told what started the drain, before it starts.
	OnTrigger func(Trigger)
	// OnProgress and OnEvent are passed to the drain (see DrainOptions).
	OnProgress func(Progress)
	OnEvent    func(lifecycle.Event)
	// IMDS are options of the metadata watchers (their poll interval, 5 s by default).
	IMDS []func(*imds.WatchOptions)
}

// Trigger is what started an on-instance drain.
type Trigger struct {
	Kind Kind
	// Reason is one human line, e.g. "Spot interruption notice: terminate at 12:04:05".
	Reason string
	// Deadline is when EC2 reclaims the instance as the Spot notice says (its
	// instance-action time), or zero.
	Deadline time.Time
	// DrainBy is when the drain gives up: MaxDrain after the trigger, or, for Spot, the
	// earlier of that and Deadline (a Deadline more than MaxSpotNotice ahead: the earlier of
	// MaxDrain and MaxSpotNotice after the trigger).
	DrainBy time.Time
	// Suspicious: the Spot Deadline was more than MaxSpotNotice ahead; it was not believed.
	Suspicious bool
}

// Watch runs on the instance. It watches instance metadata (the Spot instance-action, the
// Auto Scaling target lifecycle state, and with OnRebalance the rebalance recommendation)
// until one says the instance is leaving, then drains this instance (its id from IMDS, its
// container instance looked up in clusters) and returns how the drain ended:
//
//   - Spot interruption notice: the drain is bounded by the notice's time (or MaxDrain when
//     that comes first, ErrTimeout then); tasks still on the instance at the notice's time
//     are logged and ErrSpotDeadline returned. A notice time more than MaxSpotNotice ahead is
//     logged as suspicious and not believed (Trigger.Suspicious).
//   - target lifecycle state Terminated (scale-in, or a Spot interruption of a group's
//     instance): with WatchOptions.AutoScaling, the termination hooks are found,
//     heartbeated and completed with CONTINUE when the drain ends (or MaxDrain passes).
//   - rebalance recommendation (OnRebalance): drained within MaxDrain; the instance stays.
//
// Before a trigger, Watch makes no AWS call; cancelling it then changes nothing. Cancelled
// during the drain, it returns ctx's error with the instance DRAINING and any hook
// untouched (its timeout and default result apply; a new run resumes the drain).
func (d *Drainer) Watch(ctx context.Context, md *imds.Client, clusters []string, o WatchOptions) (Result, error) {
	if md == nil {
		return Result{}, fmt.Errorf("%w: Watch needs an IMDS client", ErrInvalidInput)
	}
	if _, err := CleanClusters(clusters); err != nil {
		return Result{}, err
	}
	if o.MaxDrain < 0 {
		return Result{}, fmt.Errorf("%w: MaxDrain %s is negative", ErrInvalidInput, o.MaxDrain)
	}
	if o.MaxDrain == 0 {
		o.MaxDrain = 30 * time.Minute
	}
	trig, err := d.waitForTrigger(ctx, md, o)
	if err != nil {
		return Result{}, err
	}
	d.drainBy(&trig, o.MaxDrain)
	if o.OnTrigger != nil {
		o.OnTrigger(trig)
	}
	d.log.Warn("drain: this instance is leaving; draining it", "reason", trig.Reason)
	id, err := md.InstanceID(ctx)
	if err != nil {
		return Result{}, errtext.Wrap("drain", "reading this instance's id", err)
	}
	in, err := d.Find(ctx, id, clusters...)
	if err != nil {
		return Result{}, err
	}
	// Bounded by DrainBy; at least one step (DRAINING) even when it has passed.
	do := DrainOptions{MaxDrain: max(trig.DrainBy.Sub(d.opts.Clock.Now()), time.Nanosecond), OnProgress: o.OnProgress, OnEvent: o.OnEvent}
	if o.AutoScaling != nil && trig.Kind != KindRebalance {
		hook, err := d.terminationHooks(ctx, md, id, o.AutoScaling)
		switch {
		case err != nil:
			return Result{}, err
		case hook != nil:
			do.AutoScaling, do.Hook = o.AutoScaling, hook
		}
	}
	res, err := d.Drain(ctx, in, do)
	if trig.Kind == KindSpot && errors.Is(err, ErrTimeout) {
		if !trig.DrainBy.Equal(trig.Deadline) {
			return res, fmt.Errorf("%w: %s at %s, before the Spot interruption time %s (%s)", ErrTimeout, res.Last,
				trig.DrainBy.UTC().Format(time.RFC3339), trig.Deadline.UTC().Format(time.RFC3339), trig.Reason)
		}
		d.log.Error("drain: SPOT INTERRUPTION TIME REACHED with tasks still on the instance; EC2 reclaims it now",
			"instance", id, "left", res.Last.String(), "deadline", trig.Deadline)
		return res, errtext.Join("drain", ErrSpotDeadline, errors.New(res.Last.String()))
	}
	return res, err
}

// drainBy sets the trigger's DrainBy: MaxDrain from now, or for Spot the earlier of that and
// the notice's time, which is not believed more than MaxSpotNotice ahead.
func (d *Drainer) drainBy(t *Trigger, maxDrain time.Duration) {
	now := d.opts.Clock.Now()
	t.DrainBy = now.Add(maxDrain)
	if t.Kind != KindSpot {
		return
	}
	switch ahead := t.Deadline.Sub(now); {
	case ahead > MaxSpotNotice:
		bound := min(maxDrain, MaxSpotNotice)
		t.Suspicious, t.DrainBy = true, now.Add(bound)
		t.Reason += fmt.Sprintf(" (SUSPICIOUS: %s ahead where Spot gives 2 minutes; draining at most %s)", ahead.Round(time.Second), bound)
		d.log.Warn("drain: SUSPICIOUS Spot interruption time: further ahead than any Spot notice; not believed",
			"instance_action_time", t.Deadline, "ahead", ahead.Round(time.Second), "max_spot_notice", MaxSpotNotice, "draining_at_most", bound)
	case ahead < 0:
		t.DrainBy = t.Deadline
		d.log.Warn("drain: the Spot interruption time has passed already; one step only", "instance_action_time", t.Deadline)
	case t.Deadline.Before(t.DrainBy):
		t.DrainBy = t.Deadline
	}
}

// waitForTrigger runs the watchers until one reports the instance leaving.
func (d *Drainer) waitForTrigger(ctx context.Context, md *imds.Client, o WatchOptions) (Trigger, error) {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	triggers := make(chan Trigger, 3)
	errs := make(chan error, 3)
	fire := func(t Trigger) {
		select { // the first one wins; never block a watcher
		case triggers <- t:
		default:
		}
	}
	watchers := 2
	go func() {
		errs <- md.WatchSpotAction(wctx, func(a imds.SpotAction) {
			if a.Action != imds.SpotNone {
				fire(Trigger{Kind: KindSpot, Deadline: a.Time,
					Reason: fmt.Sprintf("Spot interruption notice: %s at %s", a.Action, a.Time.UTC().Format("15:04:05"))})
			}
		}, o.IMDS...)
	}()
	go func() {
		errs <- md.WatchTargetLifecycleState(wctx, func(s imds.LifecycleState) {
			if s == imds.LifecycleTerminated || s == imds.LifecycleWarmedTerminated {
				fire(Trigger{Kind: KindTerminate, Reason: "Auto Scaling target lifecycle state " + string(s)})
			}
		}, o.IMDS...)
	}()
	if o.OnRebalance {
		watchers++
		go func() {
			errs <- md.WatchRebalance(wctx, func(r imds.Rebalance) {
				if r.Recommended {
					fire(Trigger{Kind: KindRebalance, Reason: "EC2 rebalance recommendation at " + r.NoticeTime.UTC().Format("15:04:05")})
				}
			}, o.IMDS...)
		}()
	}
	for {
		select {
		case t := <-triggers:
			return t, nil
		case err := <-errs:
			if watchers--; ctx.Err() == nil && watchers > 0 && !errors.Is(err, imds.ErrDisabled) {
				continue
			}
			if ctx.Err() != nil {
				return Trigger{}, ctx.Err()
			}
			return Trigger{}, errtext.Wrap("drain", "watching instance metadata", err)
		case <-ctx.Done():
			return Trigger{}, ctx.Err()
		}
	}
}

// terminationHooks finds the instance's termination hooks when Auto Scaling holds it in one
// (Terminating:Wait); nil when it does not (not in a group, no such hook, or not
// terminating yet: a Spot notice can come before the group starts the termination).
func (d *Drainer) terminationHooks(ctx context.Context, md *imds.Client, instanceID string, asg lifecycle.AutoScalingAPI) (*lifecycle.Target, error) {
	out, err := asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{instanceID}}, d.asgCallOpts()...)
	if err != nil {
		return nil, errtext.Wrap("drain", "describing "+instanceID+" in Auto Scaling", err)
	}
	inst, ok, err := asgInstance(out, instanceID)
	if err != nil {
		return nil, err
	}
	if !ok {
		d.log.Info("drain: the instance is in no Auto Scaling group: no hook to complete", "instance", instanceID)
		return nil, nil
	}
	if state := aws.ToString(inst.LifecycleState); state != "Terminating:Wait" {
		d.log.Info("drain: Auto Scaling is not holding the instance in a termination hook", "instance", instanceID, "state", state)
		return nil, nil
	}
	gate, err := lifecycle.New(asg, func(o *lifecycle.Options) { o.Clock, o.Logger = d.opts.Clock, d.log })
	if err != nil {
		return nil, err
	}
	t, err := gate.Discover(ctx, md, lifecycle.DiscoverOptions{InstanceID: instanceID, Group: aws.ToString(inst.AutoScalingGroupName),
		Transition: lifecycle.TerminateTransition})
	if errors.Is(err, lifecycle.ErrNoHook) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}
