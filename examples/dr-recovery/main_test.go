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

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

func TestScheduledCopy(t *testing.T) {
	w := drtest.NewWorld(nil)
	prod := w.RDS("111111111111", "us-east-1")
	prod.AddAutomated("orders-db", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), "")
	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.ShareWith = []string{"222222222222"} })
	require.NoError(t, err)
	_, err = src.CopyAutomated(context.Background(), "rds:orders-db-2026-11-23-03-00")
	require.NoError(t, err)
	prod.Clock().Advance(15 * time.Minute)
	_, err = src.ShareAvailable(context.Background())
	require.NoError(t, err)

	env := map[string]string{"DR_SOURCE_ACCOUNTS": "111111111111", "DR_SOURCE_REGION": "us-east-1", "DR_MAX_COPIES": "3"}
	h, err := newHandler(w.RDS("222222222222", "us-east-1"), w.RDS("222222222222", "us-west-2"), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	sum, err := h(context.Background(), json.RawMessage(`{"detail-type":"Scheduled Event","source":"aws.events"}`))
	require.NoError(t, err)
	assert.Len(t, sum.Copied, 1)
	assert.Equal(t, []string{"shipshape-dr-orders-db-202611230300"}, w.RDS("222222222222", "us-west-2").IDs())

	_, err = newHandler(nil, nil, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	require.Error(t, err, "no source accounts")
}

func TestTemplateGrantsKeysOnBothSides(t *testing.T) {
	raw, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &doc), "valid YAML")
	s := string(raw)
	assert.Contains(t, s, "Resource: !Ref SourceKeyArn", "decrypting the shared snapshots")
	assert.Contains(t, s, "Resource: !Ref RecoveryKeyArn", "encrypting the copies in this region")
	assert.Contains(t, s, "aws:ResourceTag/shipshape:dr")
	for _, action := range []string{"DescribeDBSnapshots", "DescribeDBClusterSnapshots", "CopyDBSnapshot", "CopyDBClusterSnapshot",
		"AddTagsToResource", "DeleteDBSnapshot", "DeleteDBClusterSnapshot"} {
		assert.Contains(t, s, "rds:"+action, "the recovery side calls %s", action)
	}
}
