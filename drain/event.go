package drain

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
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

type asgNotification struct {
	Event                string
	LifecycleTransition  string
	EC2InstanceID        string `json:"EC2InstanceId"`
	AutoScalingGroupName string
	LifecycleHookName    string
	LifecycleActionToken string
	Time                 string
}

// ParseMessage reads one message, in any of the shapes a drain request arrives in: the Auto
// Scaling lifecycle notification (as SNS or SQS deliver it), the same wrapped in an SNS
// envelope (an SQS queue subscribed to a topic), or an EventBridge event ("EC2
// Instance-terminate Lifecycle Action", "EC2 Spot Instance Interruption Warning", "EC2
// Instance Rebalance Recommendation"). Test notifications and launch transitions give
// KindIgnore; an unknown shape is an error.
func ParseMessage(body []byte) (Request, error) {
	var probe struct {
		Type       string `json:"Type"`
		Message    string `json:"Message"`
		DetailType string `json:"detail-type"`
		Source     string `json:"source"`
		Service    string `json:"Service"`
		Event      string `json:"Event"`
		Transition string `json:"LifecycleTransition"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return Request{}, fmt.Errorf("%w: the message is not JSON: %v", ErrInvalidInput, err)
	}
	switch {
	case probe.Type == "Notification" && probe.Message != "":
		return ParseMessage([]byte(probe.Message)) // SNS envelope
	case probe.DetailType != "":
		return parseEventBridge(body)
	case probe.Event == "autoscaling:TEST_NOTIFICATION":
		return Request{Kind: KindIgnore, Why: "Auto Scaling test notification"}, nil
	case probe.Transition != "" || probe.Service == "AWS Auto Scaling":
		var n asgNotification
		if err := json.Unmarshal(body, &n); err != nil {
			return Request{}, fmt.Errorf("%w: Auto Scaling notification: %v", ErrInvalidInput, err)
		}
		return fromLifecycle(n.LifecycleTransition, n.EC2InstanceID, n.AutoScalingGroupName, n.LifecycleHookName, n.LifecycleActionToken, n.Time)
	}
	return Request{}, fmt.Errorf("%w: neither an Auto Scaling lifecycle notification, an SNS envelope, nor an EventBridge event", ErrInvalidInput)
}

func fromLifecycle(transition, instance, group, hook, token, when string) (Request, error) {
	if transition != "autoscaling:EC2_INSTANCE_TERMINATING" {
		return Request{Kind: KindIgnore, Why: "lifecycle transition " + transition + " is not a termination"}, nil
	}
	if !strings.HasPrefix(instance, "i-") || group == "" || hook == "" {
		return Request{}, fmt.Errorf("%w: termination notification without instance, group or hook", ErrInvalidInput)
	}
	r := Request{Kind: KindTerminate, InstanceID: instance, Group: group, Hook: hook, Token: token}
	if t, err := time.Parse(time.RFC3339, when); err == nil {
		r.Time = t
	}
	return r, nil
}

func parseEventBridge(body []byte) (Request, error) {
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return Request{}, fmt.Errorf("%w: EventBridge event: %v", ErrInvalidInput, err)
	}
	switch ev.DetailType {
	case "EC2 Instance-terminate Lifecycle Action":
		var d struct {
			LifecycleTransition  string
			EC2InstanceID        string `json:"EC2InstanceId"`
			AutoScalingGroupName string
			LifecycleHookName    string
			LifecycleActionToken string
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return Request{}, fmt.Errorf("%w: lifecycle action detail: %v", ErrInvalidInput, err)
		}
		return fromLifecycle(d.LifecycleTransition, d.EC2InstanceID, d.AutoScalingGroupName, d.LifecycleHookName, d.LifecycleActionToken, ev.Time.Format(time.RFC3339))
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

// Message is one message of a Lambda invocation.
type Message struct {
	ID   string
	Body []byte
}

// Messages splits a Lambda invocation payload into messages: an SQS batch (fromSQS), an SNS
// delivery, or a single EventBridge event.
func Messages(payload []byte) (msgs []Message, fromSQS bool, err error) {
	var probe struct {
		Records []struct {
			EventSource  string `json:"eventSource"`
			EventSource2 string `json:"EventSource"`
		} `json:"Records"`
		DetailType string `json:"detail-type"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, false, fmt.Errorf("%w: the invocation payload is not JSON: %v", ErrInvalidInput, err)
	}
	switch {
	case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs":
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, false, fmt.Errorf("%w: SQS event: %v", ErrInvalidInput, err)
		}
		for _, r := range ev.Records {
			msgs = append(msgs, Message{ID: r.MessageId, Body: []byte(r.Body)})
		}
		return msgs, true, nil
	case len(probe.Records) > 0 && probe.Records[0].EventSource2 == "aws:sns":
		var ev events.SNSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, false, fmt.Errorf("%w: SNS event: %v", ErrInvalidInput, err)
		}
		for _, r := range ev.Records {
			msgs = append(msgs, Message{ID: r.SNS.MessageID, Body: []byte(r.SNS.Message)})
		}
		return msgs, false, nil
	case probe.DetailType != "":
		return []Message{{ID: "eventbridge", Body: payload}}, false, nil
	}
	return nil, false, fmt.Errorf("%w: neither an SQS batch, an SNS delivery nor an EventBridge event", ErrInvalidInput)
}
