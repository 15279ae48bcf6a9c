package imds

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// WatchOptions are the optional settings of the Watch methods.
type WatchOptions struct {
	// Interval between polls, on the client's Clock. Default: 5 s (Spot gives a 2-minute
	// warning).
	Interval time.Duration

	// Logger receives a Warn line per failed poll (the watcher keeps going). Default: the
	// client's logger.
	Logger *slog.Logger

	// EveryPoll calls back after every poll that succeeds, changed or not, for callers whose
	// decision depends on the time as well as the value (a maintenance event coming within
	// a lead). Default: only on a change.
	EveryPoll bool
}

// WatchSpotAction polls the Spot instance-action and calls fn once per new notice (and with
// SpotNone if a notice is withdrawn). It returns when ctx ends, with ctx's error, or at once
// with ErrDisabled. Poll errors are logged and the watch goes on.
func (c *Client) WatchSpotAction(ctx context.Context, fn func(SpotAction), optFns ...func(*WatchOptions)) error {
	return watch(ctx, c, c.SpotAction, fn, SpotAction{Action: SpotNone}, optFns)
}

// WatchRebalance polls the rebalance recommendation and calls fn once per new
// recommendation. Otherwise it behaves like WatchSpotAction.
func (c *Client) WatchRebalance(ctx context.Context, fn func(Rebalance), optFns ...func(*WatchOptions)) error {
	return watch(ctx, c, c.RebalanceRecommendation, fn, Rebalance{}, optFns)
}

// WatchTargetLifecycleState polls the Auto Scaling target lifecycle state and calls fn with
// the first state seen and then once per change. Otherwise it behaves like WatchSpotAction.
func (c *Client) WatchTargetLifecycleState(ctx context.Context, fn func(LifecycleState), optFns ...func(*WatchOptions)) error {
	return watch(ctx, c, c.TargetLifecycleState, fn, LifecycleNone, optFns)
}

// watch polls read and calls fn when the value differs from the last one seen, starting
// from initial (which is not reported).
func watch[T comparable](ctx context.Context, c *Client, read func(context.Context) (T, error), fn func(T), initial T, optFns []func(*WatchOptions)) error {
	return watchFunc(ctx, c, read, fn, initial, func(a, b T) bool { return a == b }, optFns)
}

// watchFunc is watch for values that == cannot compare: equal says whether two are the same.
func watchFunc[T any](ctx context.Context, c *Client, read func(context.Context) (T, error), fn func(T), initial T, equal func(a, b T) bool, optFns []func(*WatchOptions)) error {
	var o WatchOptions
	for _, f := range optFns {
		f(&o)
	}
	setDefault(&o.Interval, 5*time.Second)
	if o.Logger == nil {
		o.Logger = c.log
	}
	last := initial
	for {
		v, err := read(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ErrDisabled):
			return err
		case err != nil:
			o.Logger.Warn("imds: watch poll failed; trying again next interval", "error", err.Error())
		case o.EveryPoll || !equal(v, last):
			last = v
			fn(v)
		}
		if err := c.opts.Clock.Sleep(ctx, o.Interval); err != nil {
			return err
		}
	}
}
