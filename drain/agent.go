package drain

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
	// OnMaintenance drains ahead of a scheduled maintenance event that reboots, stops or
	// retires the instance (instance-reboot, system-reboot, instance-stop,
	// instance-retirement, and codes EC2 may add later), MaintenanceLead before its
	// NotBefore. A canceled or completed event never starts a drain; system-maintenance
	// (network or power work that neither reboots nor stops the instance) is logged, not
	// drained for. The instance stays: like a rebalance drain, no termination hook is looked
	// for, and the container instance stays DRAINING after the event (set it ACTIVE again
	// when the instance is back). Default: off.
	OnMaintenance bool
	// MaintenanceLead is how long before a maintenance event's NotBefore the drain starts.
	// Default: MaxDrain, so that the drain has all its time before the event may start. An
	// event whose NotBefore is unreadable, or within the lead already, drains at once.
	MaintenanceLead time.Duration
	// AutoScaling, when set, lets Watch find the instance's termination lifecycle hooks
	// (when IMDS's target lifecycle state says Terminated, or after a Spot drain when it
	// does by then), heartbeat them while draining and complete them with CONTINUE at the
	// end. Without it, the hooks are left to whoever else completes them (the drain Lambda)
	// or to their timeout.
	AutoScaling lifecycle.AutoScalingAPI
	// MaxDrain bounds every drain, counted from the trigger. Default: 30 minutes. A drain
	// started by a Spot interruption notice ends at the earlier of the notice's
	// instance-action time (two minutes after the notice) and MaxDrain; a time more than
	// MaxSpotNotice ahead is suspicious and bounded by min(MaxDrain, MaxSpotNotice); a time
	// that is missing or unreadable is bounded by min(MaxDrain, SpotWarning). A notice seen
	// during a drain (a time moved earlier, or after another trigger) ends it at its time
	// when that is earlier; the end never moves later. Only the Spot instance-action time is
	// a deadline: a rebalance recommendation's noticeTime is when it was sent, and a
	// scheduled maintenance event's NotBefore is when the drain starts (MaintenanceLead
	// before it), not when it ends.
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
	// instance-action time), or zero (no Spot notice, or its time is unreadable).
	Deadline time.Time
	// DrainBy is when the drain gives up, as known at the trigger: MaxDrain after the
	// trigger, or, for Spot, the earlier of that and Deadline (a Deadline more than
	// MaxSpotNotice ahead: the earlier of MaxDrain and MaxSpotNotice after the trigger; an
	// unreadable time: the earlier of MaxDrain and SpotWarning). A later Spot notice may
	// move the drain's end earlier (logged), never later.
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
//     logged as suspicious and not believed (Trigger.Suspicious). A notice whose time is
//     missing or unreadable is still a notice: the instance is drained, bounded by MaxDrain
//     and SpotWarning (EC2 reclaims a Spot instance two minutes after its notice), and the
//     unreadable time is logged.
//   - target lifecycle state Terminated (scale-in, or a Spot interruption of a group's
//     instance): with WatchOptions.AutoScaling, the termination hooks are found,
//     heartbeated and completed with CONTINUE when the drain ends (or MaxDrain passes).
//   - rebalance recommendation (OnRebalance): drained within MaxDrain; the instance stays.
//   - scheduled maintenance (OnMaintenance): a pending reboot, stop or retirement whose
//     NotBefore is within MaintenanceLead: drained within MaxDrain; the instance stays.
//
// When several notices come at once, the first the watchers report starts the drain (which
// one may vary); whichever it is, a Spot notice's time bounds the drain.
//
// The Spot instance-action is watched during the drain too: a notice whose time is earlier
// than the drain's end (a time moved earlier, or a notice after another trigger) moves the
// end to it, noticed at the next step. The end never moves later.
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
	if o.MaintenanceLead < 0 {
		return Result{}, fmt.Errorf("%w: MaintenanceLead %s is negative", ErrInvalidInput, o.MaintenanceLead)
	}
	if o.MaintenanceLead == 0 {
		o.MaintenanceLead = o.MaxDrain
	}
	// The Spot watcher runs until Watch returns: its notices trigger the drain, then bound it.
	wctx, stopWatching := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	defer func() { stopWatching(); watchers.Wait() }()
	notices := make(chan imds.SpotAction, 1) // the latest notice not yet taken
	spotDone := make(chan error, 1)
	watchers.Add(1)
	go func() {
		defer watchers.Done()
		spotDone <- md.WatchSpotAction(wctx, func(a imds.SpotAction) {
			if a.Action == imds.SpotNone {
				return // withdrawn: the drain's end never moves later
			}
			select { // keep only the latest (this goroutine is the only sender)
			case <-notices:
			default:
			}
			notices <- a
		}, o.IMDS...)
	}()
	trig, err := d.waitForTrigger(ctx, md, o, notices, spotDone)
	if err != nil {
		return Result{}, err
	}
	end := newDrainEnd(d.opts.Clock.Now(), o.MaxDrain)
	if trig.spot != nil {
		trig.Reason += end.notice(d, *trig.spot)
	}
	trig.Trigger = end.trigger(trig.Trigger)
	if o.OnTrigger != nil {
		o.OnTrigger(trig.Trigger)
	}
	d.log.Warn("drain: this instance is leaving; draining it", "reason", trig.Reason)
	watchers.Add(1)
	go func() {
		defer watchers.Done()
		for {
			select {
			case <-wctx.Done():
				return
			case a := <-notices:
				end.notice(d, a)
			}
		}
	}()
	id, err := md.InstanceID(ctx)
	if err != nil {
		return Result{}, errtext.Wrap("drain", "reading this instance's id", err)
	}
	in, err := d.Find(ctx, id, clusters...)
	if err != nil {
		return Result{}, err
	}
	// Bounded by the drain's end; at least one step (DRAINING) even when it has passed.
	do := DrainOptions{MaxDrain: max(end.by().Sub(d.opts.Clock.Now()), time.Nanosecond), OnProgress: o.OnProgress, OnEvent: o.OnEvent}
	if o.AutoScaling != nil && trig.Kind != KindRebalance && trig.Kind != KindMaintenance {
		hook, err := d.terminationHooks(ctx, md, id, o.AutoScaling)
		switch {
		case err != nil:
			return Result{}, err
		case hook != nil:
			do.AutoScaling, do.Hook = o.AutoScaling, hook
		}
	}
	res, err := d.drain(ctx, in, do, end.by)
	if !errors.Is(err, ErrTimeout) {
		return res, err
	}
	final := end.trigger(trig.Trigger)
	switch {
	case end.bySpot():
		d.log.Error("drain: SPOT INTERRUPTION TIME REACHED with tasks still on the instance; EC2 reclaims it now",
			"instance", id, "left", res.Last.String(), "deadline", final.DrainBy)
		return res, errtext.Join("drain", ErrSpotDeadline, errors.New(res.Last.String()))
	case !final.Deadline.IsZero() && final.Suspicious:
		return res, fmt.Errorf("%w: %s at %s; the Spot notice's time %s was not believed (more than %s ahead), so the drain was bounded there (%s)",
			ErrTimeout, res.Last, final.DrainBy.UTC().Format(time.RFC3339), final.Deadline.UTC().Format(time.RFC3339), MaxSpotNotice, trig.Reason)
	case !final.Deadline.IsZero():
		return res, fmt.Errorf("%w: %s at %s, before the Spot interruption time %s (%s)", ErrTimeout, res.Last,
			final.DrainBy.UTC().Format(time.RFC3339), final.Deadline.UTC().Format(time.RFC3339), trig.Reason)
	}
	return res, err
}

// drainEnd is when an on-instance drain ends: MaxDrain after the trigger, or earlier when a
// Spot notice says so. It only ever moves earlier. It is safe for concurrent use (the Spot
// watcher moves it while the drain reads it).
type drainEnd struct {
	mu       sync.Mutex
	maxBy    time.Time // the trigger plus MaxDrain
	drainBy  time.Time // the end: maxBy, or earlier
	deadline time.Time // the earliest instance-action time read (zero: none readable)
	spot     bool      // drainBy is a Spot time (read, or estimated from an unreadable one)
	suspect  bool      // a notice's time was not believed
	maxDrain time.Duration
}

func newDrainEnd(now time.Time, maxDrain time.Duration) *drainEnd {
	return &drainEnd{maxBy: now.Add(maxDrain), drainBy: now.Add(maxDrain), maxDrain: maxDrain}
}

func (e *drainEnd) by() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.drainBy
}

func (e *drainEnd) bySpot() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.spot
}

// trigger fills t's Deadline, DrainBy and Suspicious from the end as it stands.
func (e *drainEnd) trigger(t Trigger) Trigger {
	e.mu.Lock()
	defer e.mu.Unlock()
	t.Deadline, t.DrainBy, t.Suspicious = e.deadline, e.drainBy, e.suspect
	return t
}

// notice takes a Spot notice seen now: its instance-action time, when readable and at most
// MaxSpotNotice ahead (a time further ahead is suspicious: at most MaxSpotNotice from now);
// an unreadable or missing time, SpotWarning from now (EC2 reclaims the instance two
// minutes after its notice). The drain's end moves to it when that is earlier. The note is
// what to add to the trigger's reason ("" when nothing).
func (e *drainEnd) notice(d *Drainer, a imds.SpotAction) (note string) {
	now := d.opts.Clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	candidate, spot := a.Time, true
	switch ahead := a.Time.Sub(now); {
	case a.Time.IsZero():
		candidate = now.Add(SpotWarning)
		d.log.Warn("drain: the Spot interruption notice's time is UNREADABLE; draining as if the instance were reclaimed two minutes from now",
			"action", string(a.Action), "time", a.BadTime, "draining_at_most", min(e.maxDrain, SpotWarning))
	case ahead > MaxSpotNotice:
		candidate, spot, e.suspect = now.Add(MaxSpotNotice), false, true
		bound := min(e.maxDrain, MaxSpotNotice)
		note = fmt.Sprintf(" (SUSPICIOUS: %s ahead where Spot gives 2 minutes; draining at most %s)", ahead.Round(time.Second), bound)
		d.log.Warn("drain: SUSPICIOUS Spot interruption time: further ahead than any Spot notice; not believed",
			"instance_action_time", a.Time, "ahead", ahead.Round(time.Second), "max_spot_notice", MaxSpotNotice, "draining_at_most", bound)
	case ahead < 0:
		d.log.Warn("drain: the Spot interruption time has passed already; one step only", "instance_action_time", a.Time)
	}
	if !a.Time.IsZero() && (e.deadline.IsZero() || a.Time.Before(e.deadline)) {
		e.deadline = a.Time
	}
	if !candidate.Before(e.drainBy) {
		return note
	}
	if !e.drainBy.Equal(e.maxBy) {
		d.log.Warn("drain: the Spot interruption notice moved the drain's end earlier", "instance_action_time", a.Time,
			"was", e.drainBy, "now", candidate)
	}
	e.drainBy, e.spot = candidate, spot
	return note
}

// trigger is what waitForTrigger saw: the Trigger and, for Spot, the notice.
type trigger struct {
	Trigger
	spot *imds.SpotAction
}

// waitForTrigger runs the lifecycle and rebalance watchers until one of them, or a Spot
// notice (from the watcher Watch runs), reports the instance leaving.
func (d *Drainer) waitForTrigger(ctx context.Context, md *imds.Client, o WatchOptions, notices <-chan imds.SpotAction, spotDone <-chan error) (trigger, error) {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	triggers := make(chan Trigger, 4)
	errs := make(chan error, 4)
	fire := func(t Trigger) {
		select { // the first one wins; never block a watcher
		case triggers <- t:
		default:
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop() // runs before the Wait
	// The Spot watcher (Watch's) and the lifecycle state's.
	watchers := 2
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs <- md.WatchTargetLifecycleState(wctx, func(s imds.LifecycleState) {
			if s == imds.LifecycleTerminated || s == imds.LifecycleWarmedTerminated {
				fire(Trigger{Kind: KindTerminate, Reason: "Auto Scaling target lifecycle state " + string(s)})
			}
		}, o.IMDS...)
	}()
	if o.OnRebalance {
		watchers++
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- md.WatchRebalance(wctx, func(r imds.Rebalance) {
				if r.Recommended {
					fire(Trigger{Kind: KindRebalance, Reason: "EC2 rebalance recommendation at " + r.NoticeTime.UTC().Format("15:04:05")})
				}
			}, o.IMDS...)
		}()
	}
	if o.OnMaintenance {
		watchers++
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- d.watchMaintenance(wctx, md, o, fire)
		}()
	}
	for {
		select {
		case a := <-notices:
			reason := fmt.Sprintf("Spot interruption notice: %s at %s", a.Action, a.Time.UTC().Format("15:04:05"))
			if a.Time.IsZero() {
				reason = fmt.Sprintf("Spot interruption notice: %s at an unreadable time %q (draining as if it were two minutes away)", a.Action, a.BadTime)
			}
			return trigger{Trigger: Trigger{Kind: KindSpot, Reason: reason}, spot: &a}, nil
		case t := <-triggers:
			return trigger{Trigger: t}, nil
		case err := <-spotDone:
			spotDone = nil // ended: nothing more comes from it
			if stop, err := watcherEnded(ctx, &watchers, err); stop {
				return trigger{}, err
			}
		case err := <-errs:
			if stop, err := watcherEnded(ctx, &watchers, err); stop {
				return trigger{}, err
			}
		case <-ctx.Done():
			return trigger{}, ctx.Err()
		}
	}
}

// watcherEnded counts a watcher that returned with err, and says whether the wait ends: when
// ctx has ended, when metadata is disabled, or when it was the last watcher.
func watcherEnded(ctx context.Context, watchers *int, err error) (bool, error) {
	if *watchers--; ctx.Err() == nil && *watchers > 0 && !errors.Is(err, imds.ErrDisabled) {
		return false, nil
	}
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	return true, errtext.Wrap("drain", "watching instance metadata", err)
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
