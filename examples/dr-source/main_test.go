package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/shipshape-dev/shipshape/dr/drtest"
)

func TestEventThenSchedule(t *testing.T) {
	f := drtest.New(nil)
	f.AddAutomated("orders-db", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), f.DefaultKey)
	env := map[string]string{"DR_KMS_KEY_ID": "arn:aws:kms:us-east-1:111111111111:key/dr", "DR_SHARE_WITH": "222222222222", "DR_KEEP": "3"}
	h, err := newHandler(f, drtest.NewKMS(f), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	event := json.RawMessage(`{"detail-type":"RDS DB Snapshot Event","source":"aws.rds","detail":{"EventID":"RDS-EVENT-0091",
		"Message":"Automated snapshot created","SourceIdentifier":"rds:orders-db-2026-11-23-03-00","SourceArn":"arn:aws:rds:us-east-1:111111111111:snapshot:rds:orders-db-2026-11-23-03-00"}}`)
	sum, err := h(context.Background(), event)
	require.NoError(t, err)
	assert.Len(t, sum.Copied, 1)
	f.Clock().Advance(15 * time.Minute)
	sum, err = h(context.Background(), json.RawMessage(`{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`))
	require.NoError(t, err)
	assert.Len(t, sum.Shared, 1)
	assert.Equal(t, []string{"222222222222"}, f.SharedWith("shipshape-dr-orders-db-202611230300"))

	// An Aurora cluster's automated snapshot takes the cluster calls.
	f.AddAutomatedCluster("ledger", time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC), "")
	sum, err = h(context.Background(), json.RawMessage(`{"detail-type":"RDS DB Cluster Snapshot Event","source":"aws.rds","detail":{"EventID":"RDS-EVENT-0169",
		"SourceType":"CLUSTER_SNAPSHOT","SourceIdentifier":"rds:ledger-2026-11-23-04-00","SourceArn":"arn:aws:rds:us-east-1:111111111111:cluster-snapshot:rds:ledger-2026-11-23-04-00"}}`))
	require.NoError(t, err)
	assert.Equal(t, "cluster:shipshape-dr-ledger-202611230400", sum.Copied[0].ID)
	assert.Contains(t, f.ClusterIDs(), "shipshape-dr-ledger-202611230400")

	for k, v := range map[string]string{"DR_KEEP": "0", "DR_MAX_AGE": "soon", "DR_SHARE_WITH": "12"} {
		bad := map[string]string{k: v}
		_, err := newHandler(f, drtest.NewKMS(f), func(key string) string { return bad[key] }, slog.New(slog.DiscardHandler))
		require.Error(t, err, k)
	}
}

func TestTemplateDeletesOnlyTaggedSnapshots(t *testing.T) {
	raw, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &doc), "valid YAML")
	s := string(raw)
	assert.Contains(t, s, "Action: [rds:DeleteDBSnapshot, rds:DeleteDBClusterSnapshot]\n              Resource:\n"+
		"                - !Sub arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:snapshot:shipshape-dr-*\n"+
		"                - !Sub arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster-snapshot:shipshape-dr-*\n"+
		"              Condition:\n                StringEquals:\n                  aws:ResourceTag/shipshape:dr: \"true\"")
	for _, action := range []string{"DescribeDBSnapshots", "DescribeDBClusterSnapshots", "DescribeDBSnapshotAttributes", "DescribeDBClusterSnapshotAttributes",
		"CopyDBSnapshot", "CopyDBClusterSnapshot", "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute", "AddTagsToResource"} {
		assert.Contains(t, s, "rds:"+action, "the source side calls %s", action)
	}
	assert.Contains(t, s, "kms:CreateGrant", "copying with a KMS key needs a grant")
	assert.Contains(t, s, "EventID: [RDS-EVENT-0091, RDS-EVENT-0169]", "instance and Aurora cluster automated snapshots")
}
