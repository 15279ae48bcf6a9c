package lifecycle

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Detail types of the EventBridge events that carry a lifecycle action.
const (
	LaunchActionEvent    = "EC2 Instance-launch Lifecycle Action"
	TerminateActionEvent = "EC2 Instance-terminate Lifecycle Action"
)

// TestNotification is the Event of the message Auto Scaling sends when a hook's
// notification target is set up; it names no instance and asks for nothing.
const TestNotification = "autoscaling:TEST_NOTIFICATION"

// HookMessage is a lifecycle action as Auto Scaling announces it: the notification it sends
// to SNS or SQS, or the detail of an EventBridge lifecycle action event.
type HookMessage struct {
	// Event is set on the test notification (TestNotification) only.
	Event string
	// Transition is LaunchTransition or TerminateTransition.
	Transition string
	InstanceID string
	Group      string
	Hook       string
	Token      string
	// Metadata is the hook's NotificationMetadata.
	Metadata string
	// Time is when the action started (the notification's Time, the event's time); zero
	// when the message does not say or says it in a form that does not parse (the action
	// is still there to complete: a bad time is no reason to drop it).
	Time time.Time
}

// IsTest: the message is Auto Scaling's test notification.
func (m HookMessage) IsTest() bool { return m.Event == TestNotification }

// Target is the action the message names, for Heartbeat and Complete.
func (m HookMessage) Target() Target {
	return Target{Group: m.Group, InstanceID: m.InstanceID, Hooks: []Hook{{Name: m.Hook}}, Token: m.Token}
}

// Check says whether the message names an action that can be completed: an instance id
// (i-...), a group and a hook. The test notification names none and needs none.
func (m HookMessage) Check() error {
	if m.IsTest() {
		return nil
	}
	if !strings.HasPrefix(m.InstanceID, "i-") || strings.TrimSpace(m.Group) == "" || strings.TrimSpace(m.Hook) == "" {
		return fmt.Errorf("%w: lifecycle action message without an instance id, a group or a hook (instance %q, group %q, hook %q)",
			ErrInvalidInput, m.InstanceID, m.Group, m.Hook)
	}
	return nil
}

// hookFields are the fields of the notification and of the event detail (the same names).
type hookFields struct {
	Service              string
	Event                string
	LifecycleTransition  string
	EC2InstanceID        string `json:"EC2InstanceId"`
	AutoScalingGroupName string
	LifecycleHookName    string
	LifecycleActionToken string
	NotificationMetadata string
	Time                 string
}

// IsHookMessage: body looks like an Auto Scaling lifecycle notification (it names a
// lifecycle transition, or comes from the Auto Scaling service), so ParseHookMessage is the
// parser to ask.
func IsHookMessage(body []byte) bool {
	var f hookFields
	return json.Unmarshal(body, &f) == nil && (f.LifecycleTransition != "" || f.Service == "AWS Auto Scaling")
}

// ParseHookMessage reads the notification Auto Scaling sends to an SNS topic or an SQS queue
// (the message body, out of its envelopes: see package envelope). It does not Check it.
func ParseHookMessage(body []byte) (HookMessage, error) {
	var f hookFields
	if err := json.Unmarshal(body, &f); err != nil {
		return HookMessage{}, fmt.Errorf("%w: the Auto Scaling notification is not JSON: %v", ErrInvalidInput, err)
	}
	if f.LifecycleTransition == "" && f.Service != "AWS Auto Scaling" {
		return HookMessage{}, fmt.Errorf("%w: not an Auto Scaling notification (no LifecycleTransition, Service %q)", ErrInvalidInput, f.Service)
	}
	m := f.message()
	if t, err := time.Parse(time.RFC3339, f.Time); err == nil {
		m.Time = t
	}
	return m, nil
}

// ParseHookEvent reads the detail of an EventBridge lifecycle action event
// (LaunchActionEvent, TerminateActionEvent); at is the event's time.
func ParseHookEvent(detail json.RawMessage, at time.Time) (HookMessage, error) {
	var f hookFields
	if err := json.Unmarshal(detail, &f); err != nil {
		return HookMessage{}, fmt.Errorf("%w: the lifecycle action event's detail does not parse: %v", ErrInvalidInput, err)
	}
	m := f.message()
	m.Time = at
	return m, nil
}

func (f hookFields) message() HookMessage {
	return HookMessage{Event: f.Event, Transition: f.LifecycleTransition, InstanceID: f.EC2InstanceID, Group: f.AutoScalingGroupName,
		Hook: f.LifecycleHookName, Token: f.LifecycleActionToken, Metadata: f.NotificationMetadata}
}
