package dr

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shipshape-dev/shipshape/envelope"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// SnapshotEvent is an automated snapshot that RDS reports as created.
type SnapshotEvent struct {
	SnapshotID  string // e.g. "rds:orders-db-2026-11-23-03-00"
	SnapshotARN string
	// Cluster is true for an Aurora DB cluster snapshot (copy it with
	// Source.CopyAutomatedCluster, or let Source.CopyEvent choose).
	Cluster bool
}

// isCluster reports whether an event is about a DB cluster snapshot: RDS-EVENT-0169, a
// cluster-snapshot ARN, or the db-cluster-snapshot source type.
func isCluster(eventID, arn, sourceType string) bool {
	return strings.HasSuffix(eventID, "RDS-EVENT-0169") || strings.Contains(arn, ":cluster-snapshot:") ||
		strings.EqualFold(sourceType, "db-cluster-snapshot") || strings.EqualFold(sourceType, "CLUSTER_SNAPSHOT")
}

// rdsEventMessage is the JSON message RDS publishes to SNS.
type rdsEventMessage struct {
	EventSource  string `json:"Event Source"`
	EventMessage string `json:"Event Message"`
	SourceID     string `json:"Source ID"`
	SourceARN    string `json:"Source ARN"`
	EventID      string `json:"Event ID"`
}

// automatedCreated reports whether an RDS event is "automated snapshot created" (RDS-EVENT-0091
// for instances, RDS-EVENT-0169 for clusters), which is the only one the source side acts on.
func automatedCreated(eventID, message, sourceID string) bool {
	id := eventID[strings.LastIndex(eventID, "#")+1:]
	return (id == "RDS-EVENT-0091" || id == "RDS-EVENT-0169" || strings.HasPrefix(strings.ToLower(message), "automated snapshot created")) &&
		strings.HasPrefix(sourceID, "rds:")
}

// ParseEvents reads the automated-snapshot-created events out of a Lambda payload: an SNS
// delivery of RDS event notifications, or an EventBridge "RDS DB Snapshot Event" or "RDS DB
// Cluster Snapshot Event". Other RDS events give none; a payload of another kind (an SQS
// batch included) is an error. The envelopes are package envelope's to take off.
func ParseEvents(payload []byte) ([]SnapshotEvent, error) {
	if err := json.Unmarshal(payload, new(map[string]json.RawMessage)); err != nil {
		return nil, fmt.Errorf("%w: the event is not JSON: %v", ErrInvalidInput, err)
	}
	msgs, err := envelope.Decode(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidInput, errtext.Strip("envelope", err.Error()))
	}
	var out []SnapshotEvent
	for _, m := range msgs {
		switch {
		case m.Via == envelope.SNS:
			var e rdsEventMessage
			if err := json.Unmarshal(m.Body, &e); err != nil {
				return nil, fmt.Errorf("%w: SNS message is not an RDS event: %v", ErrInvalidInput, err)
			}
			if automatedCreated(e.EventID, e.EventMessage, e.SourceID) {
				out = append(out, SnapshotEvent{SnapshotID: e.SourceID, SnapshotARN: e.SourceARN, Cluster: isCluster(e.EventID, e.SourceARN, e.EventSource)})
			}
		case m.Via == envelope.EventBridge:
			ev := m.Event
			if ev.Source != "aws.rds" {
				return nil, fmt.Errorf("%w: EventBridge event from %q, not aws.rds", ErrInvalidInput, ev.Source)
			}
			var d struct {
				EventID          string
				Message          string
				SourceIdentifier string
				SourceArn        string
				SourceType       string
			}
			if err := json.Unmarshal(ev.Detail, &d); err != nil {
				return nil, fmt.Errorf("%w: RDS event detail: %v", ErrInvalidInput, err)
			}
			if automatedCreated(d.EventID, d.Message, d.SourceIdentifier) {
				out = append(out, SnapshotEvent{SnapshotID: d.SourceIdentifier, SnapshotARN: d.SourceArn, Cluster: isCluster(d.EventID, d.SourceArn, d.SourceType)})
			}
		default:
			return nil, fmt.Errorf("%w: neither an SNS delivery nor an EventBridge event", ErrInvalidInput)
		}
	}
	return out, nil
}

// IsSchedule reports whether a Lambda payload is an EventBridge scheduled event (the
// periodic runs: share and retain on the source side, copy and retain on the recovery side).
func IsSchedule(payload []byte) bool {
	msgs, err := envelope.Decode(payload)
	return err == nil && len(msgs) == 1 && msgs[0].Via == envelope.EventBridge && msgs[0].Event.IsSchedule()
}
