package drain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shipshape-dev/shipshape/lifecycle"
)

// DrainOptions configure a blocking Drain.
type DrainOptions struct {
	// AutoScaling and Hook, when both set, make Drain heartbeat the termination lifecycle
	// action while it waits and complete it with CONTINUE at the end (through package
	// lifecycle). Without them Drain only empties the instance.
	AutoScaling lifecycle.AutoScalingAPI
	Hook        *lifecycle.Target
	// MaxDrain bounds the drain. When it passes with tasks left, the hook is still completed
	// with CONTINUE (the group is never held forever), a warning is logged, and Drain returns
	// ErrTimeout. Default: 30 minutes.
	MaxDrain time.Duration
	// OnProgress, when set, receives every step's Progress (the CLI prints it).
	OnProgress func(Progress)
	// OnEvent, when set, receives the lifecycle events (heartbeats, completion).
	OnEvent func(lifecycle.Event)
}

// Result is how a blocking drain ended.
type Result struct {
	Last Progress
	// Hook is the lifecycle outcome, when a hook was given.
	Hook *lifecycle.Outcome
	// Steps is the number of reconcile steps taken.
	Steps int
}

// drainProbe makes a drain look like a readiness probe: "ready" when drained, so that the
// lifecycle gate supplies the heartbeats, the deadline and the idempotent completion.
type drainProbe struct {
	d        *Drainer
	in       Instance
	st       *State
	last     Progress
	steps    int
	progress func(Progress)
	abort    context.CancelCauseFunc
	// until, when set, is an end of the drain that can move earlier while it runs (Watch: a
	// Spot notice); past it a step that is not done can never succeed.
	until func() time.Time
}

// stopsTheDrain: an error that no later step can cure. The drain ends at once with it, the
// hook untouched: the instance asked for was not drained, so nothing may say it was.
func stopsTheDrain(err error) bool {
	return errors.Is(err, ErrWrongInstance) || errors.Is(err, ErrAmbiguousInstance) || errors.Is(err, ErrIncompleteAnswer) ||
		errors.Is(err, ErrInvalidInput)
}

func (p *drainProbe) String() string { return "the drain of " + p.in.EC2InstanceID }

func (p *drainProbe) Check(ctx context.Context) error {
	prog, err := p.d.Step(ctx, p.in, p.st)
	p.steps++
	if err != nil {
		if p.abort != nil && stopsTheDrain(err) {
			p.abort(err) // the gate returns without completing the hook
		}
		return err
	}
	p.last = prog
	if p.progress != nil {
		p.progress(prog)
	}
	if prog.Done {
		return nil
	}
	if p.until != nil {
		if by := p.until(); !p.d.opts.Clock.Now().Before(by) {
			return fmt.Errorf("%w: the drain's end (%s) has come: %s", lifecycle.ErrPermanent, by.UTC().Format(time.RFC3339), prog)
		}
	}
	return errors.New(prog.String())
}

// Drain empties the container instance: it steps until every task holding the drain has
// stopped, polling every Options.PollInterval, and (with a hook) heartbeats the lifecycle
// action meanwhile and completes it with CONTINUE at the end. It returns ErrTimeout when
// MaxDrain passed first (the hook is completed all the same). A step that finds the
// container instance on another EC2 instance (*WrongInstanceError), or gets an answer that
// does not say what became of it or of a task (*IncompleteAnswerError), ends the drain at
// once with that error, the hook untouched; other failed steps are tried again at the next
// poll.
func (d *Drainer) Drain(ctx context.Context, in Instance, o DrainOptions) (Result, error) {
	return d.drain(ctx, in, o, nil)
}

// drain is Drain with an end that can move earlier while it runs (until, when not nil): the
// drain ends at the earlier of MaxDrain and until(), noticed at the next step, as if MaxDrain
// had passed (the hook completed with CONTINUE, ErrTimeout).
func (d *Drainer) drain(ctx context.Context, in Instance, o DrainOptions, until func() time.Time) (Result, error) {
	if o.MaxDrain <= 0 {
		o.MaxDrain = 30 * time.Minute
	}
	probe := &drainProbe{d: d, in: in, st: &State{}, progress: o.OnProgress, until: until}
	if o.AutoScaling != nil && o.Hook != nil {
		gate, err := lifecycle.New(o.AutoScaling, func(g *lifecycle.Options) {
			g.Clock = d.opts.Clock
			g.Interval = d.opts.PollInterval
			g.HealthyThreshold = 1
			g.Timeout = o.MaxDrain
			g.ResultOnFailure = lifecycle.Continue
			g.OnEvent = o.OnEvent
			g.Logger = d.log
		})
		if err != nil {
			return Result{}, err
		}
		rctx, abort := context.WithCancelCause(ctx)
		defer abort(nil)
		probe.abort = abort
		out, err := gate.Run(rctx, *o.Hook, probe)
		res := Result{Last: probe.last, Hook: &out, Steps: probe.steps}
		if cause := context.Cause(rctx); err != nil && ctx.Err() == nil && cause != nil && stopsTheDrain(cause) {
			res.Hook = nil // nothing was decided
			return res, cause
		}
		if err != nil {
			return res, err
		}
		if !probe.last.Done && !out.NoActiveAction {
			d.log.Warn("drain: MAXIMUM DRAIN TIME REACHED: completed the lifecycle action with CONTINUE although tasks are still running",
				"instance", in.EC2InstanceID, "left", probe.last.String(), "max_drain", o.MaxDrain)
			return res, fmt.Errorf("%w: %s after %s; the hook was completed with CONTINUE", ErrTimeout, probe.last, o.MaxDrain)
		}
		return res, nil
	}

	clock := d.opts.Clock
	maxDeadline := clock.Now().Add(o.MaxDrain)
	for {
		err := probe.Check(ctx)
		deadline := maxDeadline
		if until != nil {
			deadline = earliest(deadline, until())
		}
		if err == nil {
			return Result{Last: probe.last, Steps: probe.steps}, nil
		}
		if ctx.Err() != nil {
			return Result{Last: probe.last, Steps: probe.steps}, ctx.Err()
		}
		if stopsTheDrain(err) {
			return Result{Last: probe.last, Steps: probe.steps}, err
		}
		if !probe.last.Done && probe.last.ByStatus == nil {
			d.log.Warn("drain: step failed; trying again", "error", err.Error())
		}
		wait := d.opts.PollInterval
		if now := clock.Now(); !now.Add(wait).Before(deadline) {
			if !now.Before(deadline) {
				d.log.Warn("drain: MAXIMUM DRAIN TIME REACHED with tasks still running", "instance", in.EC2InstanceID, "left", probe.last.String())
				return Result{Last: probe.last, Steps: probe.steps}, fmt.Errorf("%w: %s after %s", ErrTimeout, probe.last, o.MaxDrain)
			}
			wait = deadline.Sub(now)
		}
		if err := clock.Sleep(ctx, wait); err != nil {
			return Result{Last: probe.last, Steps: probe.steps}, err
		}
	}
}

// earliest is the earlier of two times.
func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
