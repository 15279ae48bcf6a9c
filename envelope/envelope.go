// Package envelope takes a Lambda invocation payload out of its envelopes, once, and hands
// back the messages inside: an SQS batch (each body, with an SNS envelope in it unwrapped),
// an SNS delivery, an EventBridge event, or a payload that came directly (an S3 event
// notification, a test call). Each layer is decoded once; the package that owns a message
// type parses Message.Body or Message.Event.Detail (lifecycle the Auto Scaling hook
// notifications, drain the Spot and rebalance notices, s3diff the S3 notifications, dr the
// RDS events) and dispatches on it.
//
//	msgs, err := envelope.Decode(payload)
//	for _, m := range msgs {
//		switch {
//		case m.Event != nil && m.Event.DetailType == "EC2 Spot Instance Interruption Warning": ...
//		case m.Event == nil: hook, err := lifecycle.ParseHookMessage(m.Body) ...
//		}
//	}
package envelope

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrMalformed: the payload, or a message in it, is not what its envelope says it is (not
// JSON, an SQS record without a body, an EventBridge event whose time does not parse).
var ErrMalformed = errors.New("envelope: malformed payload")

// Transport is how a message reached the function.
type Transport string

// Transports.
const (
	SQS         Transport = "sqs"         // an SQS batch: answer with batch item failures
	SNS         Transport = "sns"         // an SNS delivery (asynchronous invocation)
	EventBridge Transport = "eventbridge" // an EventBridge rule's target (asynchronous invocation)
	Direct      Transport = "direct"      // anything else, e.g. an S3 event notification
)

// Message is one message of an invocation, out of its envelopes.
type Message struct {
	// ID names the message to its transport: the SQS message id (what a batch item failure
	// names), the SNS message id, or the EventBridge event id. Empty for Direct.
	ID string
	// Via is the outer transport: SQS also for an SNS envelope inside an SQS body.
	Via Transport
	// Body is the innermost message: an SQS body, the Message of an SNS envelope or
	// delivery, the whole event for an EventBridge event, the payload for Direct.
	Body []byte
	// Event is the EventBridge event when the message is one (delivered by EventBridge, or
	// inside an SQS body or an SNS message).
	Event *Event
}

// Event is an EventBridge event: its envelope, and its detail for the owner of DetailType
// to parse.
type Event struct {
	ID, Source, DetailType, Account, Region string
	Time                                    time.Time
	Resources                               []string
	Detail                                  json.RawMessage
}

// IsSchedule: the event is an EventBridge schedule's ("Scheduled Event" from aws.events).
func (e *Event) IsSchedule() bool {
	return e != nil && e.Source == "aws.events" && e.DetailType == "Scheduled Event"
}

// layer is every envelope field Decode reads, so that each layer is decoded once.
type layer struct {
	Records []struct {
		EventSource    string  `json:"eventSource"` // SQS, S3
		EventSourceSNS string  `json:"EventSource"` // SNS
		MessageID      string  `json:"messageId"`
		Body           *string `json:"body"`
		SNS            *struct {
			MessageID string `json:"MessageId"`
			Message   string `json:"Message"`
		} `json:"Sns"`
	} `json:"Records"`

	// An EventBridge event.
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`

	// An SNS envelope (the body of an SQS message from a queue subscribed to a topic
	// without raw delivery).
	Type      string  `json:"Type"`
	MessageID string  `json:"MessageId"`
	Message   *string `json:"Message"`
}

// Decode returns the messages of an invocation payload. An SQS batch or an SNS delivery
// gives one message per record (an empty batch none); anything else is one message. The
// error wraps ErrMalformed and says which record.
func Decode(payload []byte) ([]Message, error) {
	var l layer
	if err := json.Unmarshal(payload, &l); err != nil {
		return nil, fmt.Errorf("%w: the invocation payload is not a JSON object: %v", ErrMalformed, err)
	}
	switch {
	case len(l.Records) > 0 && l.Records[0].EventSource == "aws:sqs":
		out := make([]Message, 0, len(l.Records))
		for i, r := range l.Records {
			if r.EventSource != "aws:sqs" || r.Body == nil || r.MessageID == "" {
				return nil, fmt.Errorf("%w: SQS record %d has no body or no message id, or comes from %q", ErrMalformed, i, r.EventSource)
			}
			m, err := inner(Message{ID: r.MessageID, Via: SQS}, []byte(*r.Body), true)
			if err != nil {
				return nil, fmt.Errorf("SQS message %s: %w", r.MessageID, err)
			}
			out = append(out, m)
		}
		return out, nil
	case len(l.Records) > 0 && l.Records[0].EventSourceSNS == "aws:sns":
		out := make([]Message, 0, len(l.Records))
		for i, r := range l.Records {
			if r.EventSourceSNS != "aws:sns" || r.SNS == nil {
				return nil, fmt.Errorf("%w: SNS record %d has no Sns message", ErrMalformed, i)
			}
			m, err := inner(Message{ID: r.SNS.MessageID, Via: SNS}, []byte(r.SNS.Message), false)
			if err != nil {
				return nil, fmt.Errorf("SNS message %s: %w", r.SNS.MessageID, err)
			}
			out = append(out, m)
		}
		return out, nil
	case l.DetailType != "":
		ev, err := l.event()
		if err != nil {
			return nil, err
		}
		return []Message{{ID: ev.ID, Via: EventBridge, Body: payload, Event: ev}}, nil
	}
	return []Message{{Via: Direct, Body: payload}}, nil
}

// inner fills m from a message body: an SNS envelope in it unwrapped (snsEnvelope: only an
// SQS body can hold one), an EventBridge event in it read.
func inner(m Message, body []byte, snsEnvelope bool) (Message, error) {
	m.Body = body
	var l layer
	if json.Unmarshal(body, &l) != nil {
		return m, nil // not JSON: the owner of the message says what it is
	}
	if snsEnvelope && l.Type == "Notification" && l.Message != nil {
		return inner(m, []byte(*l.Message), false)
	}
	if l.DetailType != "" && l.Source != "" {
		ev, err := l.event()
		if err != nil {
			return m, err
		}
		m.Event = ev
	}
	return m, nil
}

func (l *layer) event() (*Event, error) {
	ev := &Event{ID: l.ID, Source: l.Source, DetailType: l.DetailType, Account: l.Account, Region: l.Region,
		Resources: l.Resources, Detail: l.Detail}
	if l.Time != "" {
		t, err := time.Parse(time.RFC3339, l.Time)
		if err != nil {
			return nil, fmt.Errorf("%w: EventBridge event %q has a time that does not parse: %v", ErrMalformed, l.DetailType, err)
		}
		ev.Time = t
	}
	return ev, nil
}
