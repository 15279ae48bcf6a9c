package dr_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

const stagingKey = "arn:aws:kms:us-east-1:222222222222:key/staging"

// sharedSnapshot: prod shares a DR snapshot with the recovery account.
func sharedSnapshot(t *testing.T) (w *drtest.World, prod, shared, west *drtest.RDS) {
	w, prod, shared, west = world()
	prod.AddManual("shipshape-dr-db-202611230300", "db", created, map[string]string{dr.TagDR: "true"})
	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} })
	require.NoError(t, err)
	_, err = src.ShareAvailable(context.Background())
	require.NoError(t, err)
	return w, prod, shared, west
}

func TestSingleStepCopyByDefault(t *testing.T) {
	_, _, shared, west := sharedSnapshot(t)
	rec, err := dr.NewRecovery(shared, west, origin)
	require.NoError(t, err)
	sum, err := rec.CopyShared(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"shipshape-dr-db-202611230300"}, west.IDs(), "one step across account and region")
	assert.Empty(t, shared.IDs(), "no staging copy")
	assert.Empty(t, sum.Warnings)
}

// TestTwoHopFallback: where RDS refuses the single-step copy, the run switches to two hops:
// a staging copy in the source region, then the cross-region copy, then the staging copy is
// deleted; each hop is idempotent.
func TestTwoHopFallback(t *testing.T) {
	for _, path := range []dr.CopyPath{dr.CopyAuto, dr.CopyTwoHop} {
		t.Run(string(path), func(t *testing.T) {
			w, _, shared, west := sharedSnapshot(t)
			west.RefuseSingleStep = true
			rec, err := dr.NewRecovery(shared, west, origin, func(o *dr.RecoveryOptions) { o.CopyPath = path })
			require.NoError(t, err)
			ctx := context.Background()
			sum, err := rec.CopyShared(ctx)
			require.NoError(t, err, "%+v", sum)
			assert.Equal(t, []string{"shipshape-dr-db-202611230300-staging"}, shared.IDs(), "hop 1: a staging copy in the source region")
			assert.Empty(t, west.IDs())
			if path == dr.CopyAuto {
				require.Len(t, sum.Warnings, 1)
				assert.Contains(t, sum.Warnings[0], "copying in two hops")
				assert.Equal(t, 1, west.Calls(drtest.OpCopy), "the single step was tried once, then the run switched")
			} else {
				assert.Zero(t, west.Calls(drtest.OpCopy))
			}

			sum, err = rec.CopyShared(ctx) // redelivered schedule: the staging copy is still copying
			require.NoError(t, err)
			assert.Contains(t, sum.Skipped[0].Reason, "staging copy in us-east-1 still creating")
			assert.Equal(t, []string{"shipshape-dr-db-202611230300-staging"}, shared.IDs(), "hop 1 not repeated")

			w.RDS(recovery, "us-east-1").Clock().Advance(15 * time.Minute)
			sum, err = rec.CopyShared(ctx)
			require.NoError(t, err)
			require.Len(t, sum.Copied, 1)
			assert.Contains(t, sum.Copied[0].Reason, "hop 2")
			assert.Equal(t, []string{"shipshape-dr-db-202611230300"}, west.IDs())
			assert.Equal(t, []string{"shipshape-dr-db-202611230300-staging"}, shared.IDs(), "kept until the final copy is available")

			west.Clock().Advance(15 * time.Minute)
			sum, err = rec.CopyShared(ctx)
			require.NoError(t, err)
			assert.Empty(t, sum.Copied)
			assert.Equal(t, "shipshape-dr-db-202611230300-staging", sum.Deleted[0].ID)
			assert.Empty(t, shared.IDs(), "the staging copy is cleaned up")
			sum, err = rec.CopyShared(ctx)
			require.NoError(t, err)
			assert.Empty(t, sum.Copied, "the final copy is recognised by its source tag: nothing again")
			assert.Empty(t, sum.Deleted)
		})
	}
}

func TestTwoHopEncryptedNeedsStagingKey(t *testing.T) {
	_, prod, shared, west := world()
	prod.AddAutomated("db", created, cmk)
	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.KMSKeyID, o.ShareWith = cmk, []string{recovery} })
	require.NoError(t, err)
	_, err = src.CopyAutomated(context.Background(), "rds:db-2026-11-23-03-00")
	require.NoError(t, err)
	prod.Clock().Advance(15 * time.Minute)
	_, err = src.ShareAvailable(context.Background())
	require.NoError(t, err)
	west.RefuseSingleStep = true

	rec, err := dr.NewRecovery(shared, west, origin, func(o *dr.RecoveryOptions) { o.KMSKeyID = westKey })
	require.NoError(t, err)
	_, err = rec.CopyShared(context.Background())
	require.ErrorIs(t, err, dr.ErrInvalidInput)
	assert.Contains(t, err.Error(), "StagingKMSKeyID")

	rec, err = dr.NewRecovery(shared, west, origin, func(o *dr.RecoveryOptions) { o.KMSKeyID, o.StagingKMSKeyID = westKey, stagingKey })
	require.NoError(t, err)
	_, err = rec.CopyShared(context.Background())
	require.NoError(t, err)
	assert.Equal(t, stagingKey, shared.KMSKey("shipshape-dr-db-202611230300-staging"))
	shared.Clock().Advance(15 * time.Minute)
	_, err = rec.CopyShared(context.Background())
	require.NoError(t, err)
	assert.Equal(t, westKey, west.KMSKey("shipshape-dr-db-202611230300"), "the final copy under the recovery region's key")
}

// TestTwoAccountsDatabasesOfTheSameName: two production accounts each share a snapshot of
// their own orders-db, taken in the same minute (the same source-side id). On both paths the
// recovery side holds a copy of each (with several source accounts the account is in the
// copy's id, and in the staging copy's), retention keeps the newest of each account's
// database, and the staging copies are deleted once their own final copy is available.
func TestTwoAccountsDatabasesOfTheSameName(t *testing.T) {
	const prodB = "333333333333"
	for _, path := range []dr.CopyPath{dr.CopyAuto, dr.CopyTwoHop} {
		t.Run(string(path)+"path", func(t *testing.T) {
			w := drtest.NewWorld(nil)
			ctx := context.Background()
			for _, acct := range []string{prodAccount, prodB} {
				prod := w.RDS(acct, "us-east-1")
				// An older copy (trimmed later) and the newest one, the same minute in both accounts.
				prod.AddManual("shipshape-dr-orders-db-202611220300", "orders-db", created.Add(-24*time.Hour), map[string]string{dr.TagDR: "true"})
				prod.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", created, map[string]string{dr.TagDR: "true"})
				src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} })
				require.NoError(t, err)
				_, err = src.ShareAvailable(ctx)
				require.NoError(t, err)
			}
			shared, west := w.RDS(recovery, "us-east-1"), w.RDS(recovery, "us-west-2")
			rec, err := dr.NewRecovery(shared, west, dr.Origin{Accounts: []string{prodAccount, prodB}, Region: "us-east-1"},
				func(o *dr.RecoveryOptions) { o.CopyPath = path })
			require.NoError(t, err)
			for range 4 {
				_, err := rec.Scheduled(ctx, dr.Retention{Keep: 1})
				require.NoError(t, err)
				west.Clock().Advance(15 * time.Minute)
			}
			assert.Equal(t, []string{"shipshape-dr-orders-db-202611230300-111111111111", "shipshape-dr-orders-db-202611230300-333333333333"}, west.IDs(),
				"the newest copy of each account's orders-db")
			for _, acct := range []string{prodAccount, prodB} {
				assert.Equal(t, acct, west.Tags("shipshape-dr-orders-db-202611230300-" + acct)[dr.TagSourceAccount], "each copy records its source account")
			}
			assert.Empty(t, shared.IDs(), "no staging copy left")
		})
	}
}
