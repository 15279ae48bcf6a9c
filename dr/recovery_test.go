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

const (
	prodAccount = "111111111111"
	westKey     = "arn:aws:kms:us-west-2:222222222222:key/recovery"
)

var origin = dr.Origin{Accounts: []string{prodAccount}, Region: "us-east-1"}

// world: production in us-east-1, the recovery account seen from us-east-1 (shared snapshots)
// and us-west-2 (its copies).
func world() (*drtest.World, *drtest.RDS, *drtest.RDS, *drtest.RDS) {
	w := drtest.NewWorld(nil)
	return w, w.RDS(prodAccount, "us-east-1"), w.RDS(recovery, "us-east-1"), w.RDS(recovery, "us-west-2")
}

func TestEndToEndIntoTheRecoveryRegion(t *testing.T) {
	w, prod, shared, west := world()
	ctx := context.Background()
	for i := range 3 {
		prod.AddAutomated(fmt.Sprintf("db%d", i), created, prod.DefaultKey)
	}
	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.KMSKeyID = cmk; o.ShareWith = []string{recovery} })
	require.NoError(t, err)
	for i := range 3 {
		_, err := src.CopyAutomated(ctx, fmt.Sprintf("rds:db%d-2026-11-23-03-00", i))
		require.NoError(t, err)
	}
	w.RDS(prodAccount, "us-east-1").Clock().Advance(15 * time.Minute)
	sum, err := src.ShareAvailable(ctx)
	require.NoError(t, err)
	assert.Len(t, sum.Shared, 3)

	rec, err := dr.NewRecovery(shared, west, origin, func(o *dr.RecoveryOptions) {
		o.KMSKeyID = westKey
		o.MaxCopies = 2
	})
	require.NoError(t, err)
	sum, err = rec.CopyShared(ctx)
	require.NoError(t, err)
	assert.Len(t, sum.Copied, 2, "at most MaxCopies in progress")
	assert.Contains(t, sum.Skipped[0].Reason, "copies in progress")

	sum, err = rec.CopyShared(ctx)
	require.NoError(t, err)
	assert.Empty(t, sum.Copied, "still 2 in progress")

	west.Clock().Advance(15 * time.Minute)
	sum, err = rec.CopyShared(ctx)
	require.NoError(t, err)
	assert.Len(t, sum.Copied, 1, "the third one now")
	assert.Len(t, sum.Skipped, 2)
	assert.Equal(t, "already copied", sum.Skipped[0].Reason)
	assert.Equal(t, westKey, west.KMSKey("shipshape-dr-db0-202611230300"), "re-encrypted with the recovery region's key")
	assert.Len(t, west.IDs(), 3)

	// Crash-safe: a run repeated from scratch copies nothing twice.
	west.Clock().Advance(15 * time.Minute)
	sum, err = rec.CopyShared(ctx)
	require.NoError(t, err)
	assert.Empty(t, sum.Copied)
}

func TestRecoveryRules(t *testing.T) {
	_, prod, shared, west := world()
	ctx := context.Background()
	prod.AddAutomated("db", created, "")
	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} })
	require.NoError(t, err)
	_, err = src.CopyAutomated(ctx, "rds:db-2026-11-23-03-00")
	require.NoError(t, err)
	prod.Clock().Advance(15 * time.Minute)

	rec, err := dr.NewRecovery(shared, west, origin)
	require.NoError(t, err)
	sum, err := rec.CopyShared(ctx)
	require.NoError(t, err)
	assert.Empty(t, sum.Copied, "not shared yet: nothing visible")

	_, err = src.ShareAvailable(ctx)
	require.NoError(t, err)
	other, err := dr.NewRecovery(shared, west, dr.Origin{Accounts: []string{"999999999999"}, Region: "us-east-1"})
	require.NoError(t, err)
	sum, err = other.CopyShared(ctx)
	require.NoError(t, err)
	assert.Empty(t, sum.Copied, "only the configured source accounts")

	sum, err = rec.CopyShared(ctx)
	require.NoError(t, err)
	assert.Len(t, sum.Copied, 1)

	_, err = dr.NewRecovery(shared, west, dr.Origin{})
	require.ErrorIs(t, err, dr.ErrInvalidInput)
	_, err = dr.NewRecovery(shared, west, origin, func(o *dr.RecoveryOptions) {
		o.MaxCopies = 21
	})
	require.ErrorContains(t, err, "20 cross-region copies")
}

func TestRecoveryNeedsAKeyForEncryptedSnapshots(t *testing.T) {
	_, prod, shared, west := world()
	ctx := context.Background()
	prod.AddAutomated("db", created, prod.DefaultKey)
	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.KMSKeyID = cmk; o.ShareWith = []string{recovery} })
	require.NoError(t, err)
	_, err = src.CopyAutomated(ctx, "rds:db-2026-11-23-03-00")
	require.NoError(t, err)
	prod.Clock().Advance(15 * time.Minute)
	_, err = src.ShareAvailable(ctx)
	require.NoError(t, err)

	rec, err := dr.NewRecovery(shared, west, origin)
	require.NoError(t, err)
	_, err = rec.CopyShared(ctx)
	require.ErrorIs(t, err, dr.ErrInvalidInput)
	assert.Contains(t, err.Error(), "needs RecoveryOptions.KMSKeyID")
	assert.Empty(t, west.IDs())
}

func TestDefaultKeySnapshotsCanNeverBeShared(t *testing.T) {
	// A copy left under the default key (no customer key configured, no sharing at copy
	// time) can't be shared later: the share step says so itself, naming the key, without
	// offering it to RDS (which would refuse with its own error), and shares the others.
	_, prod, _, _ := world()
	ctx := context.Background()
	prod.AddAutomated("db", created, prod.DefaultKey)
	prod.AddAutomated("other", created, cmk)
	plain, err := dr.NewSource(prod)
	require.NoError(t, err)
	_, err = plain.CopyAutomated(ctx, "rds:db-2026-11-23-03-00")
	require.NoError(t, err, "no sharing configured: the copy is fine")
	_, err = plain.CopyAutomated(ctx, "rds:other-2026-11-23-03-00")
	require.NoError(t, err)
	prod.Clock().Advance(15 * time.Minute)
	keys := drtest.NewKMS(prod)
	keys.AddKey(cmk, "CUSTOMER")
	sharing, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.ShareWith, o.KMS = []string{recovery}, keys })
	require.NoError(t, err)
	sum, err := sharing.ShareAvailable(ctx)
	require.ErrorIs(t, err, dr.ErrNeedsCustomerKey)
	assert.Contains(t, err.Error(), prod.DefaultKey+", an AWS managed key")
	assert.Equal(t, 0, prod.Calls(drtest.OpModifyAttribute)-len(sum.Shared), "never offered to RDS")
	assert.Equal(t, []dr.Item{{ID: "shipshape-dr-other-202611230300", Reason: "with " + recovery}}, sum.Shared, "the one under a customer managed key is shared")
	_, err = sharing.ShareAvailable(ctx)
	require.ErrorIs(t, err, dr.ErrNeedsCustomerKey)
	assert.Equal(t, 2, keys.Calls(drtest.OpDescribeKey), "kms:DescribeKey once per key, cached")
}

// TestDeferredCopiesAreNotMistakenForTrimmed: snapshots left for the next run by MaxCopies
// are copied then; only what retention trimmed stays uncopied.
func TestDeferredCopiesAreNotMistakenForTrimmed(t *testing.T) {
	_, prod, shared, west := world()
	for i := range 4 {
		prod.AddManual(fmt.Sprintf("shipshape-dr-db-2026112%d0300", i), "db", created.Add(time.Duration(i-4)*24*time.Hour), map[string]string{dr.TagDR: "true"})
	}
	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} })
	require.NoError(t, err)
	_, err = src.ShareAvailable(context.Background())
	require.NoError(t, err)
	rec, err := dr.NewRecovery(shared, west, origin, func(o *dr.RecoveryOptions) { o.MaxCopies = 2; o.Clock = west.Clock() })
	require.NoError(t, err)
	for range 3 {
		_, err = rec.Scheduled(context.Background(), dr.Retention{Keep: 7})
		require.NoError(t, err)
		west.Clock().Advance(15 * time.Minute)
	}
	assert.Len(t, west.IDs(), 4, "all four, two a run")
}
