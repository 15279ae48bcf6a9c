package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/internal/awsretry"
)

// Result is how a lifecycle action is completed.
type Result string

// Lifecycle action results.
const (
	Continue Result = "CONTINUE"
	Abandon  Result = "ABANDON"
)

// ParseResult reads "CONTINUE" or "ABANDON" (as written in flags and templates; case
// matters, as it does for Auto Scaling).
func ParseResult(s string) (Result, error) {
	switch r := Result(s); r {
	case Continue, Abandon:
		return r, nil
	}
	return "", fmt.Errorf("%w: lifecycle action result %q is neither CONTINUE nor ABANDON", ErrInvalidInput, s)
}

// Options are the optional settings of a Gate. A zero value means the default.
type Options struct {
	// Clock is the time source of the waits and of the SDK retryer's backoff. Default: the
	// wall clock.
	Clock clock.Clock
	// Interval between probe rounds. Default: 10 s.
	Interval time.Duration
	// HealthyThreshold is how many consecutive successful rounds make the instance ready,
	// as an ALB's healthy threshold. Default: 3.
	HealthyThreshold int
	// Timeout is how long to wait for readiness before completing with ResultOnFailure.
	// Default: 15 minutes. It is cut short so that the decision is always made before the
	// hook's global timeout (min(48 h, 100 x HeartbeatTimeout)) runs out. A Timeout shorter
	// than (HealthyThreshold-1) x Interval can never see the instance ready: New refuses it.
	Timeout time.Duration
	// HeartbeatInterval between RecordLifecycleActionHeartbeat calls. Default: a third of
	// the (shortest) hook's HeartbeatTimeout.
	HeartbeatInterval time.Duration
	// ResultOnFailure completes an instance that never became ready, or whose probe can
	// never succeed. Default: ABANDON, so that the group replaces it at once.
	ResultOnFailure Result
	// MaxAttempts is how many times one Auto Scaling call is sent in all when it is
	// throttled or fails on the server or the network, by the SDK's standard retryer;
	// nothing else retries it. Default: 5.
	MaxAttempts int
	// ClientOptions are applied to every Auto Scaling call after the package's own (the
	// retryer).
	ClientOptions []func(*autoscaling.Options)
	// OnEvent, when set, is called for every probe round, heartbeat and completion (the
	// binary prints them as progress lines).
	OnEvent func(Event)
	// Logger receives Debug and Warn lines. Default: discard.
	Logger *slog.Logger
}

// EventKind says what an Event reports.
type EventKind string

// Event kinds.
const (
	EventProbe     EventKind = "probe"
	EventHeartbeat EventKind = "heartbeat"
	EventComplete  EventKind = "complete"
)

// Event is one step of a gate, for progress output.
type Event struct {
	Kind EventKind
	// Message is one human line, e.g. "round 4: not ready (GET ...: HTTP 503), 0/3 healthy, 9m40s left".
	Message string
	Err     error
}

// Outcome is how a gate ended.
type Outcome struct {
	// Result is CONTINUE or ABANDON as sent; "" when NoActiveAction.
	Result Result
	// NoActiveAction: Auto Scaling had no action in progress any more (completed already, or
	// expired to its default result). Nothing was left to do; not an error.
	NoActiveAction bool
	Reason         string
	Rounds         int
	Heartbeats     int
	Waited         time.Duration
}

// Gate holds an instance's launch lifecycle action until the instance is ready, then
// completes it. It is safe for concurrent use.
type Gate struct {
	asg      AutoScalingAPI
	opts     Options
	log      *slog.Logger
	callOpts []func(*autoscaling.Options)
}

// New returns a Gate over an Auto Scaling client (*autoscaling.Client, or
// lifecycletest.AutoScaling). The error, wrapping ErrInvalidInput, is for options that can't
// work; New makes no call.
func New(asg AutoScalingAPI, optFns ...func(*Options)) (*Gate, error) {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case asg == nil:
		return nil, fmt.Errorf("%w: no Auto Scaling client", ErrInvalidInput)
	case o.Interval < 0 || o.Timeout < 0 || o.HeartbeatInterval < 0 || o.HealthyThreshold < 0 || o.MaxAttempts < 0:
		return nil, fmt.Errorf("%w: Interval, Timeout, HeartbeatInterval, HealthyThreshold and MaxAttempts can't be negative", ErrInvalidInput)
	case o.ResultOnFailure != "" && o.ResultOnFailure != Abandon && o.ResultOnFailure != Continue:
		return nil, fmt.Errorf("%w: ResultOnFailure %q is neither ABANDON nor CONTINUE", ErrInvalidInput, o.ResultOnFailure)
	}
	o.Clock = clock.Or(o.Clock)
	if o.Interval == 0 {
		o.Interval = 10 * time.Second
	}
	if o.HealthyThreshold == 0 {
		o.HealthyThreshold = 3
	}
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Minute
	}
	if o.ResultOnFailure == "" {
		o.ResultOnFailure = Abandon
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 5
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := roundsFit(o.Timeout, o.Interval, o.HealthyThreshold); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	retryer := awsretry.New(awsretry.Options{Clock: o.Clock, MaxAttempts: o.MaxAttempts})
	callOpts := append([]func(*autoscaling.Options){func(ao *autoscaling.Options) { ao.Retryer = retryer }}, o.ClientOptions...)
	return &Gate{asg: asg, opts: o, log: o.Logger, callOpts: callOpts}, nil
}

// roundsFit says why a Timeout can never see threshold passing rounds, Interval apart (the
// first round at the start, the last (threshold-1) x interval later), if it can't: such a
// gate could only ever complete with ResultOnFailure.
func roundsFit(timeout, interval time.Duration, threshold int) error {
	if threshold > 1 && int64(threshold-1) > int64(timeout/interval) {
		return fmt.Errorf("a Timeout of %s can never see HealthyThreshold %d passing rounds %s apart (Interval): want at least %s",
			timeout, threshold, interval, time.Duration(threshold-1)*interval)
	}
	return nil
}

// NewFromConfig returns a Gate over autoscaling.NewFromConfig(cfg).
func NewFromConfig(cfg aws.Config, optFns ...func(*Options)) (*Gate, error) {
	return New(autoscaling.NewFromConfig(cfg), optFns...)
}

func (g *Gate) event(kind EventKind, err error, format string, args ...any) {
	if g.opts.OnEvent != nil {
		g.opts.OnEvent(Event{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err})
	}
}

// Run probes until the instance is ready (HealthyThreshold successes in a row), heartbeating
// the action meanwhile, then completes every hook of the target with CONTINUE; when the
// probe fails for good, or readiness doesn't come before the deadline, it completes with
// ResultOnFailure. If the caller's context ends first, Run returns its error without
// completing (the hook's own timeout and default result then apply).
func (g *Gate) Run(ctx context.Context, t Target, probe Probe) (Outcome, error) {
	if len(t.Hooks) == 0 || t.Group == "" || t.InstanceID == "" {
		return Outcome{}, fmt.Errorf("%w: target needs a group, an instance id and at least one hook (use Discover)", ErrInvalidInput)
	}
	clock := g.opts.Clock
	start := clock.Now()
	hbTimeout, global := t.Hooks[0].HeartbeatTimeout, t.Hooks[0].GlobalTimeout
	for _, h := range t.Hooks[1:] {
		hbTimeout, global = min(hbTimeout, h.HeartbeatTimeout), min(global, h.GlobalTimeout)
	}
	beatEvery := g.opts.HeartbeatInterval
	if beatEvery <= 0 {
		beatEvery = hbTimeout / 3
	}
	// Decide before the global budget runs out: it is counted from launch, which was a little
	// before this gate started, so keep a margin of one heartbeat timeout (at most 5 min).
	deadline := start.Add(g.opts.Timeout)
	if budgetEnd := start.Add(global - min(hbTimeout, 5*time.Minute)); budgetEnd.Before(deadline) {
		g.log.Warn("lifecycle: timeout cut to fit the hook's global timeout", "global_timeout", global)
		deadline = budgetEnd
	}

	out := Outcome{}
	healthy := 0
	nextProbe, nextBeat := start, start.Add(beatEvery)
	for {
		now := clock.Now()
		if !now.Before(nextProbe) {
			out.Rounds++
			err := probe.Check(ctx)
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			if err == nil {
				healthy++
			} else {
				healthy = 0
			}
			left := deadline.Sub(clock.Now()).Round(time.Second)
			if err != nil {
				g.event(EventProbe, err, "round %d: not ready (%v), %d/%d healthy, %s left", out.Rounds, err, healthy, g.opts.HealthyThreshold, left)
			} else {
				g.event(EventProbe, nil, "round %d: healthy, %d/%d", out.Rounds, healthy, g.opts.HealthyThreshold)
			}
			out.Waited = clock.Now().Sub(start)
			switch {
			case healthy >= g.opts.HealthyThreshold:
				reason := fmt.Sprintf("ready: %s passed %d times in a row", probe, healthy)
				if healthy == 1 {
					reason = fmt.Sprintf("ready: %s passed", probe)
				}
				return g.complete(ctx, t, out, Continue, reason)
			case errors.Is(err, ErrPermanent):
				return g.complete(ctx, t, out, g.opts.ResultOnFailure, fmt.Sprintf("the probe can never succeed: %v", err))
			}
			nextProbe = clock.Now().Add(g.opts.Interval)
		}
		if now = clock.Now(); !now.Before(deadline) {
			out.Waited = now.Sub(start)
			return g.complete(ctx, t, out, g.opts.ResultOnFailure, fmt.Sprintf("not ready after %s", out.Waited.Round(time.Second)))
		}
		if !now.Before(nextBeat) {
			if done, err := g.heartbeat(ctx, t, &out); done || err != nil {
				return out, err
			}
			nextBeat = clock.Now().Add(beatEvery)
		}
		wake := min(nextProbe.Sub(now), nextBeat.Sub(now), deadline.Sub(now))
		if err := clock.Sleep(ctx, wake); err != nil {
			return out, err
		}
	}
}

// heartbeat records a heartbeat on every hook. done is true when the action is gone.
func (g *Gate) heartbeat(ctx context.Context, t Target, out *Outcome) (done bool, err error) {
	for _, h := range t.Hooks {
		in := &autoscaling.RecordLifecycleActionHeartbeatInput{AutoScalingGroupName: aws.String(t.Group), LifecycleHookName: aws.String(h.Name)}
		g.identify(t, &in.InstanceId, &in.LifecycleActionToken)
		_, err := g.asg.RecordLifecycleActionHeartbeat(ctx, in, g.callOpts...)
		err = classify(err)
		switch {
		case errors.Is(err, ErrNoActiveAction):
			out.NoActiveAction = true
			out.Reason = fmt.Sprintf("hook %s: the lifecycle action is no longer active (completed elsewhere, or expired); stopping", h.Name)
			g.event(EventHeartbeat, err, "%s", out.Reason)
			return true, nil
		case ctx.Err() != nil:
			return true, ctx.Err()
		case err != nil:
			// The action lives until its heartbeat timeout; the next beat may get through.
			g.log.Warn("lifecycle: heartbeat failed; trying again at the next interval", "hook", h.Name, "error", err.Error())
			g.event(EventHeartbeat, err, "heartbeat for hook %s failed: %v", h.Name, err)
			continue
		}
		out.Heartbeats++
		g.event(EventHeartbeat, nil, "heartbeat sent for hook %s (timeout %s)", h.Name, h.HeartbeatTimeout)
	}
	return false, nil
}

// identify fills the token when it identifies the action unambiguously, else the instance id.
func (g *Gate) identify(t Target, instanceID, token **string) {
	if t.Token != "" && len(t.Hooks) == 1 {
		*token = aws.String(t.Token)
		return
	}
	*instanceID = aws.String(t.InstanceID)
}

// Complete sends result (CONTINUE or ABANDON) for every hook of t, as Run does when it
// decides; for drivers that decide elsewhere (one step per Lambda invocation). "No active
// lifecycle action" gives an Outcome with NoActiveAction, not an error.
func (g *Gate) Complete(ctx context.Context, t Target, result Result, reason string) (Outcome, error) {
	if result != Continue && result != Abandon {
		return Outcome{}, fmt.Errorf("%w: result %q is neither CONTINUE nor ABANDON", ErrInvalidInput, result)
	}
	return g.complete(ctx, t, Outcome{}, result, reason)
}

// Heartbeat records one heartbeat on every hook of t. It returns ErrNoActiveAction (wrapped)
// when the action is gone.
func (g *Gate) Heartbeat(ctx context.Context, t Target) error {
	var out Outcome
	done, err := g.heartbeat(ctx, t, &out)
	if err == nil && done && out.NoActiveAction {
		return fmt.Errorf("%w: %s", ErrNoActiveAction, out.Reason)
	}
	return err
}

// complete sends result for every hook. It runs on a context that survives the caller's
// cancellation (bounded to 1 minute), so a decision once made is delivered.
func (g *Gate) complete(ctx context.Context, t Target, out Outcome, result Result, reason string) (Outcome, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	out.Result, out.Reason = result, reason
	gone := 0
	for _, h := range t.Hooks {
		in := &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String(t.Group), LifecycleHookName: aws.String(h.Name),
			LifecycleActionResult: aws.String(string(result))}
		g.identify(t, &in.InstanceId, &in.LifecycleActionToken)
		_, err := g.asg.CompleteLifecycleAction(ctx, in, g.callOpts...)
		err = classify(err)
		switch {
		case errors.Is(err, ErrNoActiveAction):
			gone++
			g.event(EventComplete, err, "hook %s: no active lifecycle action (already completed, or expired); not retried", h.Name)
		case err != nil:
			return out, fmt.Errorf("lifecycle: completing hook %s of group %s for %s with %s: %w", h.Name, t.Group, t.InstanceID, result, err)
		default:
			g.event(EventComplete, nil, "hook %s completed with %s: %s", h.Name, result, reason)
		}
	}
	if gone == len(t.Hooks) {
		out.NoActiveAction, out.Result = true, ""
		out.Reason = "no active lifecycle action: it was completed already, or expired to the hook's default result"
	}
	return out, nil
}

// GateOnInService runs gate each time IMDS says the instance is headed for InService: on its
// first launch, and again on every resume from a warm pool, where user data does not run
// again. report receives each outcome. It returns when ctx ends.
func GateOnInService(ctx context.Context, md *imds.Client, gate func(context.Context) (Outcome, error), report func(Outcome, error), watchOpts ...func(*imds.WatchOptions)) error {
	return md.WatchTargetLifecycleState(ctx, func(s imds.LifecycleState) {
		if s == imds.LifecycleInService {
			report(gate(ctx))
		}
	}, watchOpts...)
}
