package dr_test

// Adversarial tests of the copy pipeline (Source, Recovery, retention) and of the settings
// checks of NewRecovery against package dr's docs and the
// RELIABILITY guard table. A failing test is a bug found.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

const (
	atkProdA = "111111111111"
	atkProdB = "333333333333"
	atkRecov = "222222222222"
)

// atkTwoProducers: two production accounts in us-east-1, each with a database called
// orders-db, both sharing their DR copies with the recovery account, which copies them into
// us-west-2.
func atkTwoProducers(t *testing.T, timeA, timeB time.Time) (w *drtest.World, west *drtest.RDS, rec *dr.Recovery) {
	w = drtest.NewWorld(nil)
	ctx := context.Background()
	for acct, at := range map[string]time.Time{atkProdA: timeA, atkProdB: timeB} {
		prod := w.RDS(acct, "us-east-1")
		id := prod.AddAutomated("orders-db", at, "")
		src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.ShareWith = []string{atkRecov} })
		require.NoError(t, err)
		_, err = src.CopyAutomated(ctx, id)
		require.NoError(t, err)
	}
	w.RDS(atkProdA, "us-east-1").Clock().Advance(15 * time.Minute)
	for _, acct := range []string{atkProdA, atkProdB} {
		src, err := dr.NewSource(w.RDS(acct, "us-east-1"), func(o *dr.SourceOptions) { o.ShareWith = []string{atkRecov} })
		require.NoError(t, err)
		sum, err := src.ShareAvailable(ctx)
		require.NoError(t, err)
		require.Len(t, sum.Shared, 1)
	}
	west = w.RDS(atkRecov, "us-west-2")
	rec, err := dr.NewRecovery(w.RDS(atkRecov, "us-east-1"), west, dr.Origin{Accounts: []string{atkProdA, atkProdB}, Region: "us-east-1"})
	require.NoError(t, err)
	return w, west, rec
}

// TestRecoveryKeepsEachSourceAccountsDatabase: Origin takes several production
// accounts; "retention groups per source instance or cluster" and "always keeps the newest
// available one of each instance or cluster". orders-db of account A and orders-db of
// account B are two databases: retention must never delete A's only DR copy because B's is
// newer.
func TestRecoveryKeepsEachSourceAccountsDatabase(t *testing.T) {
	_, west, rec := atkTwoProducers(t, created, created.Add(time.Hour))
	ctx := context.Background()
	sum, err := rec.CopyShared(ctx)
	require.NoError(t, err)
	require.Len(t, sum.Copied, 2, "one copy per account's database: %+v", sum)
	west.Clock().Advance(15 * time.Minute)
	sum, err = rec.Scheduled(ctx, dr.Retention{Keep: 1})
	require.NoError(t, err)
	assert.Empty(t, sum.Deleted, "the newest copy of A's orders-db was deleted as if it were an older copy of B's")
	assert.Len(t, west.IDs(), 2, "one DR copy of each account's orders-db")
}

// TestRecoveryCopiesBothAccountsSnapshotsOfTheSameMinute: two accounts' orders-db
// snapshots taken in the same minute get the same deterministic id on the source side; the
// recovery side must still hold a DR copy of each (it is not "not ours": both are shared by
// configured accounts).
func TestRecoveryCopiesBothAccountsSnapshotsOfTheSameMinute(t *testing.T) {
	_, west, rec := atkTwoProducers(t, created, created.Add(20*time.Second))
	ctx := context.Background()
	for range 3 {
		_, err := rec.CopyShared(ctx)
		require.NoError(t, err)
		west.Clock().Advance(15 * time.Minute)
	}
	assert.Len(t, west.IDs(), 2, "a DR copy of each account's snapshot")
}

// TestNewRecoveryRefusesAMalformedSourceRegion: bad input is refused before any call;
// NewRecovery's error "is for settings that can't work". A region that is not a region name
// only fails later, at the endpoint.
func TestNewRecoveryRefusesAMalformedSourceRegion(t *testing.T) {
	for _, region := range []string{"eu west 1", "EU-WEST-1", "eu-west-1 ", "arn:aws:rds:eu-west-1", "eu-west-1a", "euwest1"} {
		shared, local := drtest.New(nil), drtest.New(nil)
		_, err := dr.NewRecovery(shared, local, dr.Origin{Accounts: []string{atkProdA}, Region: region})
		assert.ErrorIs(t, err, dr.ErrInvalidInput, "region %q", region)
		assert.Zero(t, shared.Total()+local.Total())
	}
}

// TestProtectedDatabasesAreExact: Databases ["orders"] protects orders, not orders-db
// (a name it is a prefix of), and retention of one never touches the other's copies.
func TestProtectedDatabasesAreExact(t *testing.T) {
	f := drtest.New(nil)
	f.AddAutomated("orders", created, "")
	f.AddAutomated("orders-db", created, "")
	f.AddManual("shipshape-dr-orders-db-202611200300", "orders-db", created.Add(-72*time.Hour), map[string]string{dr.TagDR: "true"})
	f.AddManual("shipshape-dr-orders-202611200300", "orders", created.Add(-72*time.Hour), map[string]string{dr.TagDR: "true"})
	src, err := dr.NewSource(f, func(o *dr.SourceOptions) { o.Databases = []string{"orders"}; o.Clock = f.Clock() })
	require.NoError(t, err)
	sum, err := src.Scheduled(context.Background(), dr.Retention{Keep: 1})
	require.NoError(t, err)
	require.Len(t, sum.Copied, 1)
	assert.Equal(t, "shipshape-dr-orders-202611230300", sum.Copied[0].ID)
	for _, d := range sum.Deleted {
		assert.NotContains(t, d.ID, "orders-db", "retention of the copies of another database")
	}
	assert.Contains(t, f.IDs(), "shipshape-dr-orders-db-202611200300")
}

// TestRetentionAlwaysKeepsTheNewestAvailable: whatever Keep and MaxAge say, and with
// newer copies still in progress, the newest available DR copy of each database stays, and
// only tagged copies are deleted.
func TestRetentionAlwaysKeepsTheNewestAvailable(t *testing.T) {
	f := drtest.New(nil)
	ctx := context.Background()
	for i := range 4 {
		f.AddManual(mustCopyID(t, "orders-db", created.Add(-time.Duration(i+10)*24*time.Hour)), "orders-db", created.Add(-time.Duration(i+10)*24*time.Hour), map[string]string{dr.TagDR: "true"})
	}
	f.AddManual("orders-db-by-hand", "orders-db", created.Add(-400*24*time.Hour), nil)
	// Two newer copies in progress.
	for i := range 2 {
		src := mustCopyID(t, "orders-db", created.Add(-time.Duration(i)*time.Hour)) + "-src"
		f.AddManual(src, "orders-db", created.Add(-time.Duration(i)*time.Hour), nil)
		_, err := f.CopyDBSnapshot(ctx, copyInput(src, mustCopyID(t, "orders-db", created.Add(-time.Duration(i)*time.Hour))))
		require.NoError(t, err)
	}
	src, err := dr.NewSource(f, func(o *dr.SourceOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	_, err = src.Retain(ctx, dr.Retention{Keep: 1, MaxAge: time.Hour})
	require.NoError(t, err)
	assert.Contains(t, f.IDs(), mustCopyID(t, "orders-db", created.Add(-10*24*time.Hour)), "the newest AVAILABLE copy stays")
	assert.Contains(t, f.IDs(), "orders-db-by-hand", "untagged: never touched")
	assert.Len(t, f.IDs(), 2+2+2, "the newest available, the untagged one, the two in progress and their sources")
}

func mustCopyID(t *testing.T, db string, at time.Time) string {
	id, err := dr.CopyID(db, at)
	require.NoError(t, err)
	return id
}

// TestConfiguredKeyThatIsAWSManaged: DR_KMS_KEY_ID set to the account's aws/rds key
// (an easy mistake: it is "the RDS key"). RDS never shares snapshots under it. The guard of
// sharing is "never under the default aws/rds key", and ShareAvailable's doc: "A copy under
// the AWS managed key ... is never offered to RDS: it is skipped and reported as
// ErrNeedsCustomerKey". Copying under that key, or offering the copy to RDS, breaks it.
func TestConfiguredKeyThatIsAWSManaged(t *testing.T) {
	f := drtest.New(nil)
	ctx := context.Background()
	id := f.AddAutomated("orders-db", created, "arn:aws:kms:us-east-1:111111111111:key/prod")
	keys := drtest.NewKMS(f)
	src, err := dr.NewSource(f, func(o *dr.SourceOptions) {
		o.KMSKeyID, o.ShareWith, o.KMS, o.Clock = f.DefaultKey, []string{atkRecov}, keys, f.Clock()
	})
	require.NoError(t, err)
	_, cerr := src.CopyAutomated(ctx, id)
	f.Clock().Advance(15 * time.Minute)
	_, serr := src.ShareAvailable(ctx)
	assert.Zero(t, f.Calls(drtest.OpModifyAttribute), "a copy under aws/rds was offered to RDS for sharing")
	if cerr == nil {
		assert.ErrorIs(t, serr, dr.ErrNeedsCustomerKey, "sharing a copy under aws/rds")
	} else {
		assert.ErrorIs(t, cerr, dr.ErrNeedsCustomerKey)
	}
}
