package drain

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/envelope"
	"github.com/shipshape-dev/shipshape/lifecycle"
)

// SpotWarning is how long EC2 waits between a Spot interruption notice and reclaiming the
// instance.
const SpotWarning = 2 * time.Minute

// Kind is what an event asks for.
type Kind string

// Event kinds.
const (
	// KindTerminate: an Auto Scaling termination lifecycle action waits for the drain.
	KindTerminate Kind = "terminate"
	// KindSpot: a Spot interruption warning: drain until the instance is reclaimed
	// (SpotWarning after the notice), no hook.
	KindSpot Kind = "spot"
	// KindRebalance: a rebalance recommendation: drain (within the maximum drain time), no
	// hook; the instance stays.
	KindRebalance Kind = "rebalance"
	// KindMaintenance: a scheduled maintenance event (reboot, stop, retirement) is near:
	// drain (within the maximum drain time), no hook; the instance stays. Only Watch
	// (WatchOptions.OnMaintenance) reports it.
	KindMaintenance Kind = "maintenance"
	// KindIgnore: nothing to do (test notification, launch transition, other events).
	KindIgnore Kind = "ignore"
)

// Request is one drain request taken from an event.
type Request struct {
	Kind       Kind
	InstanceID string
	Group      string
	Hook       string
	Token      string
	// Time is when the event happened (the drain's start, for the maximum drain time).
	Time time.Time
	// Why says, for KindIgnore, why.
	Why string
}

// ParseRequest reads the drain request in one message (out of its envelopes: see package
// envelope): an Auto Scaling lifecycle notification (lifecycle.ParseHookMessage, as SNS or
// SQS deliver it, also inside an SNS envelope in an SQS body), or an EventBridge event ("EC2
// Instance-terminate Lifecycle Action", "EC2 Spot Instance Interruption Warning", "EC2
// Instance Rebalance Recommendation"). Test notifications, launch transitions and other
// EventBridge events give KindIgnore; an unknown shape is an error wrapping ErrInvalidInput.
func ParseRequest(m envelope.Message) (Request, error) {
	if m.Event != nil {
		return fromEvent(m.Event)
	}
	if !lifecycle.IsHookMessage(m.Body) {
		return Request{}, fmt.Errorf("%w: neither an Auto Scaling lifecycle notification nor an EventBridge event", ErrInvalidInput)
	}
	hm, err := lifecycle.ParseHookMessage(m.Body)
	if err != nil {
		return Request{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	return fromHook(hm)
}

// fromHook is the request of a lifecycle action message.
func fromHook(hm lifecycle.HookMessage) (Request, error) {
	switch {
	case hm.IsTest():
		return Request{Kind: KindIgnore, Why: "Auto Scaling test notification"}, nil
	case hm.Transition != lifecycle.TerminateTransition:
		return Request{Kind: KindIgnore, Why: "lifecycle transition " + hm.Transition + " is not a termination"}, nil
	}
	if err := hm.Check(); err != nil {
		return Request{}, fmt.Errorf("%w: termination notification: %w", ErrInvalidInput, err)
	}
	return Request{Kind: KindTerminate, InstanceID: hm.InstanceID, Group: hm.Group, Hook: hm.Hook, Token: hm.Token, Time: hm.Time}, nil
}

// fromEvent is the request of an EventBridge event.
func fromEvent(ev *envelope.Event) (Request, error) {
	switch ev.DetailType {
	case lifecycle.TerminateActionEvent:
		hm, err := lifecycle.ParseHookEvent(ev.Detail, ev.Time)
		if err != nil {
			return Request{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
		return fromHook(hm)
	case "EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation":
		var d struct {
			InstanceID string `json:"instance-id"`
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil || !strings.HasPrefix(d.InstanceID, "i-") {
			return Request{}, fmt.Errorf("%w: %s without an instance-id", ErrInvalidInput, ev.DetailType)
		}
		kind := KindSpot
		if strings.Contains(ev.DetailType, "Rebalance") {
			kind = KindRebalance
		}
		return Request{Kind: kind, InstanceID: d.InstanceID, Time: ev.Time}, nil
	}
	return Request{Kind: KindIgnore, Why: "EventBridge event " + ev.DetailType}, nil
}
