package dr_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

// Aurora: the same journey for DB cluster snapshots, next to an instance of the same name to
// prove the two namespaces never mix.
func TestAuroraClusterEndToEnd(t *testing.T) {
	w, prod, shared, west := world()
	ctx := context.Background()
	auto := prod.AddAutomatedCluster("ledger", created, prod.DefaultKey)
	prod.AddAutomated("ledger", created, "") // an instance named like the cluster

	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) {
		o.KMSKeyID, o.ShareWith, o.Clock = cmk, []string{recovery, second}, w.RDS(prodAccount, "us-east-1").Clock()
	})
	require.NoError(t, err)
	sum, err := src.CopyEvent(ctx, dr.SnapshotEvent{SnapshotID: auto, Cluster: true})
	require.NoError(t, err)
	assert.Equal(t, []dr.Item{{ID: "cluster:ledger-202611230300-dr", Reason: "copy of cluster:" + auto + ", re-encrypted with " + cmk}}, sum.Copied)
	assert.Equal(t, []string{"ledger-202611230300-dr", auto}, prod.ClusterIDs())
	assert.Equal(t, []string{"rds:ledger-2026-11-23-03-00"}, prod.IDs(), "no DB snapshot was made for the cluster")
	assert.Equal(t, cmk, prod.KMSKey("cluster/ledger-202611230300-dr"), "re-encrypted with the shareable key")
	assert.Equal(t, 1, prod.Calls(drtest.OpCopyCluster))
	assert.Zero(t, prod.Calls(drtest.OpCopy))

	again, err := src.CopyAutomatedCluster(ctx, auto)
	require.NoError(t, err)
	assert.Equal(t, "already copied", again.Skipped[0].Reason, "redelivered event")

	// Copy in progress: not shared yet; then shared with both recovery accounts.
	sum, err = src.ShareAvailable(ctx)
	require.NoError(t, err)
	assert.Empty(t, sum.Shared)
	assert.Equal(t, "still creating", sum.Skipped[0].Reason)
	prod.Clock().Advance(15 * time.Minute)
	sum, err = src.ShareAvailable(ctx)
	require.NoError(t, err)
	assert.Equal(t, []dr.Item{{ID: "cluster:ledger-202611230300-dr", Reason: "with " + recovery + ", " + second}}, sum.Shared)
	assert.Equal(t, []string{recovery, second}, prod.SharedWith("cluster/ledger-202611230300-dr"))
	sum, err = src.ShareAvailable(ctx)
	require.NoError(t, err)
	assert.Empty(t, sum.Shared)
	assert.Equal(t, 1, prod.Calls(drtest.OpModifyClusterAttribute), "the tag saves the second run's calls")

	rec, err := dr.NewRecovery(shared, west, origin, func(o *dr.RecoveryOptions) {
		o.KMSKeyID = westKey
	})
	require.NoError(t, err)
	sum, err = rec.CopyShared(ctx)
	require.NoError(t, err)
	require.Len(t, sum.Copied, 1)
	assert.Equal(t, "cluster:ledger-202611230300-dr", sum.Copied[0].ID)
	assert.Equal(t, []string{"ledger-202611230300-dr"}, west.ClusterIDs())
	assert.Equal(t, westKey, west.KMSKey("cluster/ledger-202611230300-dr"))
	west.Clock().Advance(15 * time.Minute)
	sum, err = rec.CopyShared(ctx)
	require.NoError(t, err)
	assert.Empty(t, sum.Copied, "copied once only")
	assert.Equal(t, "already copied", sum.Skipped[0].Reason)
}

func TestAuroraDefaultKeyWithSharingFails(t *testing.T) {
	f := drtest.New(nil)
	auto := f.AddAutomatedCluster("ledger", created, f.DefaultKey)
	_, err := source(t, f, func(o *dr.SourceOptions) { o.ShareWith, o.KMS = []string{recovery}, drtest.NewKMS(f) }).CopyAutomatedCluster(context.Background(), auto)
	require.ErrorIs(t, err, dr.ErrNeedsCustomerKey)
	assert.Equal(t, []string{auto}, f.ClusterIDs(), "nothing copied")
}

func TestAuroraQuotaAndMissing(t *testing.T) {
	f := drtest.New(nil)
	f.ManualQuota = 1
	f.AddManualCluster("someone-elses", "ledger", created, nil)
	auto := f.AddAutomatedCluster("ledger", created, "")
	_, err := source(t, f).CopyAutomatedCluster(context.Background(), auto)
	require.ErrorIs(t, err, dr.ErrQuota)

	sum, err := source(t, f).CopyAutomatedCluster(context.Background(), "rds:gone-2026-01-01-00-00")
	require.NoError(t, err)
	assert.Contains(t, sum.Skipped[0].Reason, "no such automated snapshot")
}

func TestAuroraRetentionOnlyOurs(t *testing.T) {
	f := drtest.New(nil)
	now := f.Clock().Now()
	for i, age := range []time.Duration{0, 24 * time.Hour, 48 * time.Hour} {
		f.AddManualCluster("ledger-"+string(rune('a'+i))+"-dr", "ledger", now.Add(-age), map[string]string{dr.TagDR: "true"})
	}
	f.AddManualCluster("ledger-by-hand", "ledger", now.Add(-72*time.Hour), nil)
	f.AddManual("ledger-instance-dr", "ledger", now.Add(-72*time.Hour), map[string]string{dr.TagDR: "true"})
	sum, err := source(t, f).Retain(context.Background(), dr.Retention{Keep: 1})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"cluster:ledger-b-dr", "cluster:ledger-c-dr"}, []string{sum.Deleted[0].ID, sum.Deleted[1].ID})
	assert.Len(t, sum.Deleted, 2)
	assert.Equal(t, []string{"ledger-a-dr", "ledger-by-hand"}, f.ClusterIDs(), "untagged cluster snapshot untouched")
	assert.Equal(t, []string{"ledger-instance-dr"}, f.IDs(), "the instance of the same name is its own group")
}

// RDS allows 5 cross-region DB cluster snapshot copies in progress (20 for DB snapshots):
// with MaxCopies 20 the recovery side holds clusters to 5 instead of failing on the quota.
func TestAuroraCrossRegionCopyLimit(t *testing.T) {
	_, prod, shared, west := world()
	ctx := context.Background()
	for i := range 7 {
		prod.AddManualCluster(fmt.Sprintf("ledger%d-dr", i), fmt.Sprintf("ledger%d", i), created, map[string]string{dr.TagDR: "true"})
	}
	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} })
	require.NoError(t, err)
	sum, err := src.ShareAvailable(ctx)
	require.NoError(t, err)
	require.Len(t, sum.Shared, 7)

	rec, err := dr.NewRecovery(shared, west, origin, func(o *dr.RecoveryOptions) {
		o.MaxCopies = 20
	})
	require.NoError(t, err)
	sum, err = rec.CopyShared(ctx)
	require.NoError(t, err, "no quota error: the limit is respected, not hit")
	assert.Len(t, sum.Copied, 5)
	require.Len(t, sum.Skipped, 2)
	assert.Contains(t, sum.Skipped[0].Reason, "cluster snapshot copies in progress")
	assert.Equal(t, "ledger0-dr", west.ClusterIDs()[0], "copies keep the bare id, not the ARN the shared listing gives")

	west.Clock().Advance(15 * time.Minute)
	sum, err = rec.CopyShared(ctx)
	require.NoError(t, err)
	assert.Len(t, sum.Copied, 2, "the rest on the next run")
	assert.Len(t, west.ClusterIDs(), 7)
}

// A listing of shared snapshots names them by ARN (the fake does so too); everything the
// package reports and creates uses the bare id, "rds:" prefixes included.
func TestSharedSnapshotIDsFromARNs(t *testing.T) {
	_, prod, shared, west := world()
	prod.AddManual("orders-db-1-dr", "orders-db", created, map[string]string{dr.TagDR: "true"})
	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} })
	require.NoError(t, err)
	_, err = src.ShareAvailable(context.Background())
	require.NoError(t, err)
	rec, err := dr.NewRecovery(shared, west, origin)
	require.NoError(t, err)
	sum, err := rec.CopyShared(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []dr.Item{{ID: "orders-db-1-dr", Reason: "from arn:aws:rds:us-east-1:" + prodAccount + ":snapshot:orders-db-1-dr"}}, sum.Copied)
	assert.Equal(t, []string{"orders-db-1-dr"}, west.IDs())
}
