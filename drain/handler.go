package drain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shipshape-dev/shipshape/envelope"
	"github.com/shipshape-dev/shipshape/lifecycle"
)

// HandlerOptions are the optional settings of a Lambda Handler.
type HandlerOptions struct {
	// MaxDrain bounds a drain, counted from the lifecycle event's time. Past it the hook is
	// completed with CONTINUE and an error is logged. Default: 30 minutes.
	MaxDrain time.Duration
	// Gate are options of the lifecycle.Gate that heartbeats and completes the hooks (its
	// Clock and Logger default to the Drainer's).
	Gate []func(*lifecycle.Options)
	// Logger receives one line per message. Default: the Drainer's.
	Logger *slog.Logger
}

// Handler drains instances one bounded step per invocation. Fed by an SQS queue, a message
// that is not done yet is returned as a batch item failure, so SQS delivers it again once
// the queue's visibility timeout has passed: the drain is re-driven by the queue, never by
// re-publishing (which Lambda's recursive-loop detection stops after 16 hops), and a
// duplicate delivery only repeats an idempotent step.
type Handler struct {
	d        *Drainer
	gate     *lifecycle.Gate
	clusters []string
	opts     HandlerOptions
	log      *slog.Logger
}

// NewHandler returns a Handler that looks instances up in clusters (a short list, tried in
// order) and completes and heartbeats lifecycle actions through asg. The error, wrapping
// ErrInvalidInput, is for settings that can't work; NewHandler makes no call.
func NewHandler(d *Drainer, asg lifecycle.AutoScalingAPI, clusters []string, optFns ...func(*HandlerOptions)) (*Handler, error) {
	var opts HandlerOptions
	for _, fn := range optFns {
		fn(&opts)
	}
	clusters, err := CleanClusters(clusters)
	if err != nil {
		return nil, err
	}
	if opts.MaxDrain < 0 {
		return nil, fmt.Errorf("%w: MaxDrain %s is negative", ErrInvalidInput, opts.MaxDrain)
	}
	if opts.MaxDrain == 0 {
		opts.MaxDrain = 30 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = d.log
	}
	gate, err := lifecycle.New(asg, append([]func(*lifecycle.Options){func(o *lifecycle.Options) { o.Clock = d.opts.Clock; o.Logger = opts.Logger }}, opts.Gate...)...)
	if err != nil {
		return nil, err
	}
	return &Handler{d: d, gate: gate, clusters: clusters, opts: opts, log: opts.Logger}, nil
}

// HandleMessage does one step for one message (out of its envelopes: see Handle) and says
// whether nothing is left to do for it.
func (h *Handler) HandleMessage(ctx context.Context, m envelope.Message) (done bool, err error) {
	req, err := ParseRequest(m)
	if err != nil {
		h.log.Error("drain: unreadable message dropped", "error", err.Error())
		return true, nil // retrying can't fix it
	}
	if req.Kind == KindIgnore {
		h.log.Info("drain: ignored", "why", req.Why)
		return true, nil
	}
	target := lifecycle.Target{Group: req.Group, InstanceID: req.InstanceID, Hooks: []lifecycle.Hook{{Name: req.Hook}}, Token: req.Token}
	in, err := h.d.Find(ctx, req.InstanceID, h.clusters...)
	if errors.Is(err, ErrNotInCluster) {
		h.log.Warn("drain: instance is in none of the clusters; nothing to drain", "instance", req.InstanceID, "clusters", h.clusters)
		return h.finish(ctx, req, target, "not a container instance: nothing to drain")
	}
	if err != nil {
		return false, err
	}
	st := &State{Started: req.Time}
	prog, err := h.d.Step(ctx, in, st)
	if err != nil {
		return false, err
	}
	h.log.Info("drain: step", "instance", req.InstanceID, "kind", string(req.Kind), "progress", prog.String())
	now := h.d.opts.Clock.Now()
	switch {
	case req.Kind == KindTerminate:
	case prog.Done:
		return true, nil // Spot and rebalance: no hook to complete
	case req.Kind == KindSpot && !req.Time.IsZero() && !now.Before(req.Time.Add(SpotWarning)):
		h.log.Error("drain: SPOT INTERRUPTION TIME REACHED with tasks still on the instance; EC2 reclaims it now",
			"instance", req.InstanceID, "left", prog.String(), "notice", req.Time)
		return true, nil
	case req.Kind == KindRebalance && !req.Time.IsZero() && now.Sub(req.Time) >= h.opts.MaxDrain:
		h.log.Warn("drain: maximum drain time reached after a rebalance recommendation; tasks still running",
			"instance", req.InstanceID, "left", prog.String(), "max_drain", h.opts.MaxDrain)
		return true, nil
	default:
		return false, nil // the queue brings it back after its visibility timeout
	}
	if prog.Done {
		return h.finish(ctx, req, target, prog.String())
	}
	if !req.Time.IsZero() && h.d.opts.Clock.Now().Sub(req.Time) >= h.opts.MaxDrain {
		h.log.Error("drain: MAXIMUM DRAIN TIME REACHED: completing with CONTINUE although tasks are still running",
			"instance", req.InstanceID, "left", prog.String(), "max_drain", h.opts.MaxDrain)
		return h.finish(ctx, req, target, "maximum drain time reached: "+prog.String())
	}
	if err := h.gate.Heartbeat(ctx, target); err != nil {
		if errors.Is(err, lifecycle.ErrNoActiveAction) {
			h.log.Info("drain: the lifecycle action is no longer active; someone else finished", "instance", req.InstanceID)
			return true, nil
		}
		h.log.Warn("drain: heartbeat failed", "instance", req.InstanceID, "error", err.Error())
	}
	return false, nil
}

func (h *Handler) finish(ctx context.Context, req Request, target lifecycle.Target, reason string) (bool, error) {
	if req.Kind != KindTerminate {
		return true, nil
	}
	out, err := h.gate.Complete(ctx, target, lifecycle.Continue, reason)
	if err != nil {
		return false, err
	}
	if out.NoActiveAction {
		h.log.Info("drain: lifecycle action already completed or expired; not retried", "instance", req.InstanceID)
	} else {
		h.log.Info("drain: completed with CONTINUE", "instance", req.InstanceID, "reason", reason)
	}
	return true, nil
}

// Handle is the Lambda entry point for any trigger. From SQS it returns the batch item
// failures (the supported design). From SNS or EventBridge directly it does one step per
// message and returns an error while a drain is unfinished, so that Lambda's asynchronous
// retries call it again (twice at most: use SQS for drains longer than a few minutes).
func (h *Handler) Handle(ctx context.Context, payload []byte) (events.SQSEventResponse, error) {
	msgs, err := envelope.Decode(payload)
	if err != nil {
		return events.SQSEventResponse{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	fromSQS := len(msgs) > 0 && msgs[0].Via == envelope.SQS
	var resp events.SQSEventResponse
	pending := 0
	for _, m := range msgs {
		done, err := h.HandleMessage(ctx, m)
		if err != nil {
			h.log.Error("drain: message failed", "message_id", m.ID, "error", err.Error())
		}
		if err != nil || !done {
			pending++
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.ID})
		}
	}
	if !fromSQS && pending > 0 {
		return resp, fmt.Errorf("drain: %d drain(s) not finished; the invocation will be retried", pending)
	}
	return resp, nil
}
