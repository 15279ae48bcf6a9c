package dr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
)

// TestScheduledReportsEachDatabasesRecoveryPointAsAMetric: the recovery side's scheduled run
// tells, per database, how old the data of its newest available copy in the recovery region
// is (a copy still in progress is no recovery point), in its summary and as CloudWatch
// embedded metric format lines: RecoveryPointAgeSeconds by Database and without a dimension
// (what the template's RPO alarm reads). A run with no available copy writes no line, so the
// alarm sees the metric missing.
func TestScheduledReportsEachDatabasesRecoveryPointAsAMetric(t *testing.T) {
	w, prod, shared, west := world()
	ctx := context.Background()
	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.KMSKeyID = cmk; o.ShareWith = []string{recovery} })
	require.NoError(t, err)
	for _, db := range []string{"orders", "billing"} {
		prod.AddAutomated(db, created, prod.DefaultKey)
		_, err := src.CopyAutomated(ctx, "rds:"+db+"-2026-11-23-03-00")
		require.NoError(t, err)
	}
	w.RDS(prodAccount, "us-east-1").Clock().Advance(15 * time.Minute)
	_, err = src.ShareAvailable(ctx)
	require.NoError(t, err)

	var metrics bytes.Buffer
	rec, err := dr.NewRecovery(shared, west, origin, func(o *dr.RecoveryOptions) {
		o.KMSKeyID, o.Clock, o.Metrics = westKey, west.Clock(), &metrics
	})
	require.NoError(t, err)
	sum, err := rec.Scheduled(ctx, dr.Retention{Keep: 7})
	require.NoError(t, err)
	require.Len(t, sum.Copied, 2)
	assert.Empty(t, sum.RecoveryPoints, "copies in progress are no recovery point yet")
	assert.Empty(t, metrics.String(), "no line: the metric is missing, and the alarm treats missing as breaching")

	west.Clock().Advance(15 * time.Minute)
	sum, err = rec.Scheduled(ctx, dr.Retention{Keep: 7})
	require.NoError(t, err)
	now := west.Clock().Now()
	require.Len(t, sum.RecoveryPoints, 2)
	for _, p := range sum.RecoveryPoints {
		assert.Equal(t, created, p.Taken.UTC(), "the data's time, not the copy's")
		assert.Equal(t, now.Sub(created), p.Age)
	}
	assert.Equal(t, "instance/billing@"+prodAccount, sum.RecoveryPoints[0].Database)
	assert.Equal(t, "instance/orders@"+prodAccount, sum.RecoveryPoints[1].Database)
	assert.Equal(t, "shipshape-dr-orders-202611230300", sum.RecoveryPoints[1].Snapshot)

	lines := strings.Split(strings.TrimSpace(metrics.String()), "\n")
	require.Len(t, lines, 2, "one line a database")
	for i, line := range lines {
		var emf struct {
			AWS struct {
				Timestamp         int64
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name, Unit string }
				}
			} `json:"_aws"`
			Database string
			Age      *float64 `json:"RecoveryPointAgeSeconds"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &emf), line)
		assert.Equal(t, now.UnixMilli(), emf.AWS.Timestamp)
		require.Len(t, emf.AWS.CloudWatchMetrics, 1)
		d := emf.AWS.CloudWatchMetrics[0]
		assert.Equal(t, "shipshape/dr", d.Namespace)
		assert.Equal(t, [][]string{{"Database"}, {}}, d.Dimensions, "per database, and one series of them all for the alarm")
		require.Len(t, d.Metrics, 1)
		assert.Equal(t, "RecoveryPointAgeSeconds", d.Metrics[0].Name)
		assert.Equal(t, "Seconds", d.Metrics[0].Unit)
		assert.Equal(t, sum.RecoveryPoints[i].Database, emf.Database)
		require.NotNil(t, emf.Age, "the metric's value is a top-level member")
		assert.Equal(t, now.Sub(created).Seconds(), *emf.Age)
	}

	// The summary's JSON (what the Lambda logs) has the age in seconds.
	raw, err := json.Marshal(sum.RecoveryPoints[0])
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"age_seconds":`+jsonInt(int64(now.Sub(created)/time.Second)))
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
