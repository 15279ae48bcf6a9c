package dr_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
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
	assert.Equal(t, []dr.Item{{ID: "cluster:shipshape-dr-ledger-202611230300", Reason: "copy of cluster:" + auto + ", re-encrypted with " + cmk}}, sum.Copied)
	assert.Equal(t, []string{auto, "shipshape-dr-ledger-202611230300"}, prod.ClusterIDs())
	assert.Equal(t, []string{"rds:ledger-2026-11-23-03-00"}, prod.IDs(), "no DB snapshot was made for the cluster")
	assert.Equal(t, cmk, prod.KMSKey("cluster/shipshape-dr-ledger-202611230300"), "re-encrypted with the shareable key")
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
	assert.Equal(t, []dr.Item{{ID: "cluster:shipshape-dr-ledger-202611230300", Reason: "with " + recovery + ", " + second}}, sum.Shared)
	assert.Equal(t, []string{recovery, second}, prod.SharedWith("cluster/shipshape-dr-ledger-202611230300"))
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
	assert.Equal(t, "cluster:shipshape-dr-ledger-202611230300", sum.Copied[0].ID)
	assert.Equal(t, []string{"shipshape-dr-ledger-202611230300"}, west.ClusterIDs())
	assert.Equal(t, westKey, west.KMSKey("cluster/shipshape-dr-ledger-202611230300"))
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
		f.AddManualCluster("shipshape-dr-ledger-"+string(rune('a'+i)), "ledger", now.Add(-age), map[string]string{dr.TagDR: "true"})
	}
	f.AddManualCluster("ledger-by-hand", "ledger", now.Add(-72*time.Hour), nil)
	f.AddManual("shipshape-dr-ledger-instance", "ledger", now.Add(-72*time.Hour), map[string]string{dr.TagDR: "true"})
	sum, err := source(t, f).Retain(context.Background(), dr.Retention{Keep: 1})
	require.NoError(t, err)
	require.Len(t, sum.Deleted, 2)
	assert.ElementsMatch(t, []string{"cluster:shipshape-dr-ledger-b", "cluster:shipshape-dr-ledger-c"}, []string{sum.Deleted[0].ID, sum.Deleted[1].ID})
	assert.Equal(t, []string{"ledger-by-hand", "shipshape-dr-ledger-a"}, f.ClusterIDs(), "untagged cluster snapshot untouched")
	assert.Equal(t, []string{"shipshape-dr-ledger-instance"}, f.IDs(), "the instance of the same name is its own group")
}

// RDS allows 5 cross-region DB cluster snapshot copies in progress (20 for DB snapshots):
// with MaxCopies 20 the recovery side holds clusters to 5 instead of failing on the quota.
func TestAuroraCrossRegionCopyLimit(t *testing.T) {
	_, prod, shared, west := world()
	ctx := context.Background()
	for i := range 7 {
		prod.AddManualCluster(fmt.Sprintf("shipshape-dr-ledger%d", i), fmt.Sprintf("ledger%d", i), created, map[string]string{dr.TagDR: "true"})
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
	assert.Equal(t, "shipshape-dr-ledger0", west.ClusterIDs()[0], "copies keep the bare id, not the ARN the shared listing gives")

	west.Clock().Advance(15 * time.Minute)
	sum, err = rec.CopyShared(ctx)
	require.NoError(t, err)
	assert.Len(t, sum.Copied, 2, "the rest on the next run")
	assert.Len(t, west.ClusterIDs(), 7)
}

// A listing of shared snapshots names them by ARN (the fake does so too); everything the
// package reports and creates uses the bare id, "rds:" prefixes included. A shared copy
// named before the shipshape- prefix ("orders-db-1-dr") is copied under the prefixed name,
// which the recovery side's IAM policy lets it tag and delete.
func TestSharedSnapshotIDsFromARNs(t *testing.T) {
	_, prod, shared, west := world()
	prod.AddManual("orders-db-1-dr", "orders-db", created, map[string]string{dr.TagDR: "true"})
	_, err := prod.ModifyDBSnapshotAttribute(context.Background(), &rds.ModifyDBSnapshotAttributeInput{DBSnapshotIdentifier: aws.String("orders-db-1-dr"),
		AttributeName: aws.String("restore"), ValuesToAdd: []string{recovery}}) // shared before the prefix
	require.NoError(t, err)
	rec, err := dr.NewRecovery(shared, west, origin)
	require.NoError(t, err)
	sum, err := rec.CopyShared(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []dr.Item{{ID: "shipshape-dr-orders-db-1", Reason: "from arn:aws:rds:us-east-1:" + prodAccount + ":snapshot:orders-db-1-dr"}}, sum.Copied)
	assert.Equal(t, []string{"shipshape-dr-orders-db-1"}, west.IDs())
}
