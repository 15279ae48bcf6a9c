package dr_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

func TestParseEvents(t *testing.T) {
	eventBridge := []byte(`{"version":"0","id":"844e2571-85d4-695f-b930-0153b71dcb42","detail-type":"RDS DB Snapshot Event",
	"source":"aws.rds","account":"123456789012","time":"2026-11-23T03:05:37Z","region":"us-east-1",
	"resources":["arn:aws:rds:us-east-1:123456789012:snapshot:rds:orders-db-2026-11-23-03-00"],
	"detail":{"EventCategories":["creation"],"SourceType":"SNAPSHOT","SourceArn":"arn:aws:rds:us-east-1:123456789012:snapshot:rds:orders-db-2026-11-23-03-00",
	"Date":"2026-11-23T03:05:37.115Z","Message":"Automated snapshot created","SourceIdentifier":"rds:orders-db-2026-11-23-03-00",
	"EventID":"RDS-EVENT-0091"}}`)
	got, err := dr.ParseEvents(eventBridge)
	require.NoError(t, err)
	assert.Equal(t, []dr.SnapshotEvent{{SnapshotID: "rds:orders-db-2026-11-23-03-00", SnapshotARN: "arn:aws:rds:us-east-1:123456789012:snapshot:rds:orders-db-2026-11-23-03-00"}}, got)

	msg, err := json.Marshal(map[string]string{"Event Source": "db-snapshot", "Event Time": "2026-11-23 03:05:37.115",
		"Identifier Link": "https://console.aws.amazon.com/rds/home", "Source ID": "rds:orders-db-2026-11-23-03-00",
		"Source ARN": "arn:aws:rds:us-east-1:123456789012:snapshot:rds:orders-db-2026-11-23-03-00",
		"Event ID":   "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#RDS-EVENT-0091", "Event Message": "Automated snapshot created"})
	require.NoError(t, err)
	sns, err := json.Marshal(map[string]any{"Records": []map[string]any{{"EventSource": "aws:sns", "Sns": map[string]string{"Message": string(msg)}}}})
	require.NoError(t, err)
	got, err = dr.ParseEvents(sns)
	require.NoError(t, err)
	assert.Len(t, got, 1)
	assert.Equal(t, "rds:orders-db-2026-11-23-03-00", got[0].SnapshotID)

	other := []byte(`{"detail-type":"RDS DB Snapshot Event","source":"aws.rds","detail":{"EventID":"RDS-EVENT-0040","Message":"Creating manual snapshot","SourceIdentifier":"manual-1"}}`)
	got, err = dr.ParseEvents(other)
	require.NoError(t, err)
	assert.Empty(t, got, "only automated snapshots created")
	_, err = dr.ParseEvents([]byte(`{"hello":1}`))
	require.ErrorIs(t, err, dr.ErrInvalidInput)
}

func TestParseClusterEvents(t *testing.T) {
	eventBridge := []byte(`{"version":"0","id":"1","detail-type":"RDS DB Cluster Snapshot Event","source":"aws.rds","account":"123456789012",
	"time":"2026-11-23T03:05:37Z","region":"us-east-1","resources":["arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:ledger-2026-11-23-03-00"],
	"detail":{"EventCategories":["backup"],"SourceType":"CLUSTER_SNAPSHOT","SourceArn":"arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:ledger-2026-11-23-03-00",
	"Message":"Automated cluster snapshot created","SourceIdentifier":"rds:ledger-2026-11-23-03-00","EventID":"RDS-EVENT-0169"}}`)
	got, err := dr.ParseEvents(eventBridge)
	require.NoError(t, err)
	assert.Equal(t, []dr.SnapshotEvent{{SnapshotID: "rds:ledger-2026-11-23-03-00",
		SnapshotARN: "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:ledger-2026-11-23-03-00", Cluster: true}}, got)

	msg, err := json.Marshal(map[string]string{"Event Source": "db-cluster-snapshot", "Source ID": "rds:ledger-2026-11-23-03-00",
		"Source ARN": "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:ledger-2026-11-23-03-00",
		"Event ID":   "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#RDS-EVENT-0169", "Event Message": "Automated cluster snapshot created"})
	require.NoError(t, err)
	sns, err := json.Marshal(map[string]any{"Records": []map[string]any{{"EventSource": "aws:sns", "Sns": map[string]string{"Message": string(msg)}}}})
	require.NoError(t, err)
	got, err = dr.ParseEvents(sns)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.True(t, got[0].Cluster, "an SNS cluster event is a cluster snapshot too")
}

// TestEmptyAndMalformedEventFields: an event whose snapshot id is empty or not an RDS
// identifier is refused before any call.
func TestEmptyAndMalformedEventFields(t *testing.T) {
	f := drtest.New(nil)
	s, err := dr.NewSource(f)
	require.NoError(t, err)
	for _, id := range []string{"", "rds:", "rds:a b", "rds:-x", strings.Repeat("a", 300)} {
		_, err := s.CopyEvent(context.Background(), dr.SnapshotEvent{SnapshotID: id})
		require.ErrorIs(t, err, dr.ErrInvalidInput, "%q", id)
	}
	assert.Zero(t, f.Total())
	sum, err := s.CopyEvent(context.Background(), dr.SnapshotEvent{SnapshotID: "arn:aws:rds:us-east-1:111111111111:snapshot:rds:gone-2026-11-23-03-00"})
	require.NoError(t, err, "an ARN is read as its id")
	assert.Contains(t, sum.Skipped[0].Reason, "no such automated snapshot")
}
