package dr

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
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
// Cluster Snapshot Event". Other RDS
// events give none; a payload of another kind is an error.
func ParseEvents(payload []byte) ([]SnapshotEvent, error) {
	var probe struct {
		Records []struct {
			EventSource string `json:"EventSource"`
		} `json:"Records"`
		DetailType string `json:"detail-type"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, fmt.Errorf("%w: the event is not JSON: %v", ErrInvalidInput, err)
	}
	var out []SnapshotEvent
	switch {
	case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sns":
		var ev events.SNSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("%w: SNS event: %v", ErrInvalidInput, err)
		}
		for _, r := range ev.Records {
			var m rdsEventMessage
			if err := json.Unmarshal([]byte(r.SNS.Message), &m); err != nil {
				return nil, fmt.Errorf("%w: SNS message is not an RDS event: %v", ErrInvalidInput, err)
			}
			if automatedCreated(m.EventID, m.EventMessage, m.SourceID) {
				out = append(out, SnapshotEvent{SnapshotID: m.SourceID, SnapshotARN: m.SourceARN, Cluster: isCluster(m.EventID, m.SourceARN, m.EventSource)})
			}
		}
		return out, nil
	case probe.DetailType != "":
		var ev events.CloudWatchEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("%w: EventBridge event: %v", ErrInvalidInput, err)
		}
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
		return out, nil
	}
	return nil, fmt.Errorf("%w: neither an SNS delivery nor an EventBridge event", ErrInvalidInput)
}

// IsSchedule reports whether a Lambda payload is an EventBridge scheduled event (the
// periodic runs: share and retain on the source side, copy and retain on the recovery side).
func IsSchedule(payload []byte) bool {
	var probe struct {
		DetailType string `json:"detail-type"`
		Source     string `json:"source"`
	}
	return json.Unmarshal(payload, &probe) == nil && probe.DetailType == "Scheduled Event" && probe.Source == "aws.events"
}
