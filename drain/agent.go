package drain

import (
	"context"
	"fmt"

	"github.com/shipshape-dev/shipshape/imds"
)

// WatchAndDrain runs on the instance: it watches IMDS (the Spot instance-action and the Auto
// Scaling target lifecycle state, through package imds) and, as soon as either says the
// instance is leaving, drains this instance. onTrigger, when set, is told why.
func (d *Drainer) WatchAndDrain(ctx context.Context, md *imds.Client, clusters []string, o DrainOptions, onTrigger func(reason string), watchOpts ...func(*imds.WatchOptions)) (Result, error) {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	reasons := make(chan string, 2)
	errs := make(chan error, 2)
	go func() {
		errs <- md.WatchSpotAction(wctx, func(a imds.SpotAction) {
			if a.Action != imds.SpotNone {
				trigger(reasons, fmt.Sprintf("Spot interruption notice: %s at %s", a.Action, a.Time.Format("15:04:05")))
			}
		}, watchOpts...)
	}()
	go func() {
		errs <- md.WatchTargetLifecycleState(wctx, func(s imds.LifecycleState) {
			if s == imds.LifecycleTerminated || s == imds.LifecycleWarmedTerminated {
				trigger(reasons, "Auto Scaling target lifecycle state "+string(s))
			}
		}, watchOpts...)
	}()
	var reason string
	select {
	case reason = <-reasons:
	case err := <-errs:
		return Result{}, err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	stop()
	if onTrigger != nil {
		onTrigger(reason)
	}
	d.log.Info("drain: this instance is leaving", "reason", reason)
	id, err := md.InstanceID(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("drain: reading this instance's id: %w", err)
	}
	in, err := d.Find(ctx, id, clusters...)
	if err != nil {
		return Result{}, err
	}
	return d.Drain(ctx, in, o)
}

// trigger reports a reason without ever blocking a watcher (the first one wins).
func trigger(reasons chan<- string, reason string) {
	select {
	case reasons <- reason:
	default:
	}
}
