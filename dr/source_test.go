package dr_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

const (
	cmk      = "arn:aws:kms:us-east-1:111111111111:key/customer-managed"
	recovery = "222222222222"
	second   = "333333333333"
)

var created = time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)

func source(t *testing.T, f *drtest.RDS, optFns ...func(*dr.SourceOptions)) *dr.Source {
	s, err := dr.NewSource(f, append([]func(*dr.SourceOptions){func(o *dr.SourceOptions) { o.Clock = f.Clock() }}, optFns...)...)
	require.NoError(t, err)
	return s
}

func TestCopyID(t *testing.T) {
	id, err := dr.CopyID("orders-db", created)
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", id)
	id, err = dr.CopyID(strings.Repeat("a", 300), created)
	require.NoError(t, err)
	assert.Len(t, id, 255)
	for _, bad := range []string{"", "1abc", "a--b", "a-", "a_b", strings.Repeat("a", 256)} {
		require.ErrorIs(t, dr.ValidIdentifier(bad), dr.ErrInvalidInput, bad)
	}
}

func TestCopyAutomatedIsIdempotent(t *testing.T) {
	f := drtest.New(nil)
	auto := f.AddAutomated("orders-db", created, "")
	s := source(t, f)
	sum, err := s.CopyAutomated(context.Background(), auto)
	require.NoError(t, err)
	assert.Equal(t, []dr.Item{{ID: "shipshape-dr-orders-db-202611230300", Reason: "copy of rds:orders-db-2026-11-23-03-00"}}, sum.Copied)

	// The event is delivered again, or the run is repeated after a crash: nothing new.
	again, err := s.CopyAutomated(context.Background(), strings.TrimPrefix(auto, "rds:"))
	require.NoError(t, err)
	assert.Empty(t, again.Copied)
	assert.Equal(t, "already copied", again.Skipped[0].Reason)
	assert.Equal(t, []string{auto, "shipshape-dr-orders-db-202611230300"}, f.IDs())
	assert.Equal(t, f.Account, f.Tags("shipshape-dr-orders-db-202611230300")[dr.TagSourceAccount], "the copy records its source account")
}

func TestEncryptionRules(t *testing.T) {
	t.Run("default key with sharing and no customer key: a clear error", func(t *testing.T) {
		f := drtest.New(nil)
		auto := f.AddAutomated("orders-db", created, f.DefaultKey)
		_, err := source(t, f, func(o *dr.SourceOptions) { o.ShareWith, o.KMS = []string{recovery}, drtest.NewKMS(f) }).CopyAutomated(context.Background(), auto)
		require.ErrorIs(t, err, dr.ErrNeedsCustomerKey)
		assert.Contains(t, err.Error(), "encrypted with "+f.DefaultKey+", an AWS managed key")
		assert.Contains(t, err.Error(), "set SourceOptions.KMSKeyID (DR_KMS_KEY_ID)")
		assert.Equal(t, 0, f.Calls(drtest.OpCopy), "nothing copied")
	})
	t.Run("re-encrypted with the customer key, then shareable", func(t *testing.T) {
		f := drtest.New(nil)
		auto := f.AddAutomated("orders-db", created, f.DefaultKey)
		s := source(t, f, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery}; o.KMSKeyID = cmk })
		_, err := s.CopyAutomated(context.Background(), auto)
		require.NoError(t, err)
		assert.Equal(t, cmk, f.KMSKey("shipshape-dr-orders-db-202611230300"))
		f.Clock().Advance(15 * time.Minute) // the copy completes
		sum, err := s.ShareAvailable(context.Background())
		require.NoError(t, err)
		assert.Len(t, sum.Shared, 1)
		assert.Equal(t, []string{recovery}, f.SharedWith("shipshape-dr-orders-db-202611230300"))
	})
}

// TestConfiguredKeyMustNotBeAWSManaged: with sharing configured, KMSKeyID set to the aws/rds
// key ("the RDS key", an easy mistake) is refused: by name in NewSource, by kms:DescribeKey
// before the first copy under it; a copy made under it earlier is never offered to RDS, and
// the other copies are still shared.
func TestConfiguredKeyMustNotBeAWSManaged(t *testing.T) {
	for _, alias := range []string{"alias/aws/rds", "arn:aws:kms:us-east-1:111111111111:alias/aws/rds"} {
		f := drtest.New(nil)
		_, err := dr.NewSource(f, func(o *dr.SourceOptions) { o.KMSKeyID, o.ShareWith = alias, []string{recovery} })
		require.ErrorIs(t, err, dr.ErrNeedsCustomerKey, alias)
		assert.Contains(t, err.Error(), "configure a customer managed key")
		assert.Zero(t, f.Total())
	}

	f := drtest.New(nil)
	ctx := context.Background()
	keys := drtest.NewKMS(f)
	keys.AddKey(cmk, "CUSTOMER")
	// Copies of earlier runs: one under the aws/rds key, one under a customer managed key.
	f.AddManual("shipshape-dr-billing-202611220300", "billing", created.Add(-24*time.Hour), map[string]string{dr.TagDR: "true"})
	f.SetKMSKey("shipshape-dr-billing-202611220300", f.DefaultKey)
	f.AddManual("shipshape-dr-orders-db-202611220300", "orders-db", created.Add(-24*time.Hour), map[string]string{dr.TagDR: "true"})
	f.SetKMSKey("shipshape-dr-orders-db-202611220300", cmk)
	auto := f.AddAutomated("orders-db", created, cmk)
	s := source(t, f, func(o *dr.SourceOptions) { o.KMSKeyID, o.ShareWith, o.KMS = f.DefaultKey, []string{recovery}, keys })
	_, err := s.CopyAutomated(ctx, auto)
	require.ErrorIs(t, err, dr.ErrNeedsCustomerKey)
	assert.Contains(t, err.Error(), "the configured key "+f.DefaultKey)
	assert.Zero(t, f.Calls(drtest.OpCopy), "nothing copied under a key RDS never shares")

	sum, err := s.ShareAvailable(ctx)
	require.ErrorIs(t, err, dr.ErrNeedsCustomerKey, "the copy under aws/rds is reported")
	assert.Equal(t, []dr.Item{{ID: "shipshape-dr-orders-db-202611220300", Reason: "with " + recovery}}, sum.Shared, "the others are still shared")
	assert.Empty(t, f.SharedWith("shipshape-dr-billing-202611220300"))
	assert.Equal(t, 1, f.Calls(drtest.OpModifyAttribute), "the copy under aws/rds is never offered to RDS")

	// KMS can't answer (no kms:DescribeKey permission on it): the key is taken to be customer
	// managed, as before the check, and the run says so.
	f = drtest.New(nil)
	auto = f.AddAutomated("orders-db", created, cmk)
	s = source(t, f, func(o *dr.SourceOptions) { o.KMSKeyID, o.ShareWith, o.KMS = cmk, []string{recovery}, drtest.NewKMS() })
	sum, err = s.CopyAutomated(ctx, auto)
	require.NoError(t, err)
	require.Len(t, sum.Copied, 1)
	require.Len(t, sum.Warnings, 1)
	assert.Contains(t, sum.Warnings[0], "could not tell whether the configured key is customer managed")
}

func TestCopyNotReadyAndQuota(t *testing.T) {
	f := drtest.New(nil)
	f.ManualQuota = 1
	f.AddManual("someone-elses", "x", created, nil)
	auto := f.AddAutomated("orders-db", created, "")
	_, err := source(t, f).CopyAutomated(context.Background(), auto)
	require.ErrorIs(t, err, dr.ErrQuota)
	assert.Contains(t, err.Error(), "ManualSnapshots (manual DB snapshots per region) is at 1 of 1")
	assert.Contains(t, err.Error(), "DR_KEEP", "names the setting that fixes it")
	assert.Zero(t, f.Calls(drtest.OpCopy), "refused before RDS is asked")

	sum, err := source(t, f).CopyAutomated(context.Background(), "rds:gone-2026-01-01-00-00")
	require.NoError(t, err)
	assert.Contains(t, sum.Skipped[0].Reason, "no such automated snapshot")
}

func TestShareWithTwoAccountsAfterACrash(t *testing.T) {
	f := drtest.New(nil)
	auto := f.AddAutomated("orders-db", created, "")
	s := source(t, f, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery, second} })
	_, err := s.CopyAutomated(context.Background(), auto)
	require.NoError(t, err)

	sum, err := s.ShareAvailable(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "still creating", sum.Skipped[0].Reason, "a copy in progress is not shared yet")

	f.Clock().Advance(15 * time.Minute)
	f.Fail(drtest.OpModifyAttribute, drtest.APIError("Throttling", "Rate exceeded"), 1) // the run dies half way
	_, err = s.ShareAvailable(context.Background())
	require.Error(t, err)
	sum, err = s.ShareAvailable(context.Background()) // the next scheduled run finishes it
	require.NoError(t, err)
	assert.Equal(t, []dr.Item{{ID: "shipshape-dr-orders-db-202611230300", Reason: "with " + recovery + ", " + second}}, sum.Shared)
	sum, err = s.ShareAvailable(context.Background())
	require.NoError(t, err)
	assert.Empty(t, sum.Shared)
	assert.Equal(t, "already shared", sum.Skipped[0].Reason)
	assert.Equal(t, []string{recovery, second}, f.SharedWith("shipshape-dr-orders-db-202611230300"))
}

func TestRetentionTouchesOnlyOurSnapshots(t *testing.T) {
	f := drtest.New(nil)
	ours := map[string]string{dr.TagDR: "true"}
	for i := range 6 {
		f.AddManual(fmt.Sprintf("shipshape-dr-orders-db-2026112%d0300", i), "orders-db", created.AddDate(0, 0, -i), ours)
	}
	f.AddManual("shipshape-dr-billing-db-202601010000", "billing-db", created.AddDate(-1, 0, 0), ours) // old, but billing's only one
	f.AddManual("before-migration", "orders-db", created.AddDate(-1, 0, 0), nil)                       // not ours
	f.AddManual("tagged-false", "orders-db", created.AddDate(-1, 0, 0), map[string]string{dr.TagDR: "false"})
	f.AddAutomated("orders-db", created, "")

	s := source(t, f, func(o *dr.SourceOptions) { o.Clock = atTime(created) })
	sum, err := s.Retain(context.Background(), dr.Retention{Keep: 3, MaxAge: 30 * 24 * time.Hour})
	require.NoError(t, err)
	var deleted []string
	for _, d := range sum.Deleted {
		deleted = append(deleted, d.ID)
	}
	assert.ElementsMatch(t, []string{"shipshape-dr-orders-db-202611230300", "shipshape-dr-orders-db-202611240300", "shipshape-dr-orders-db-202611250300"}, deleted,
		"6 orders-db copies (newest: ...200300), keep 3")
	ids := strings.Join(f.IDs(), " ")
	for _, keep := range []string{"before-migration", "tagged-false", "shipshape-dr-billing-db-202601010000", "rds:orders-db"} {
		assert.Contains(t, ids, keep, "never touched")
	}
	_, err = s.Retain(context.Background(), dr.Retention{})
	require.ErrorIs(t, err, dr.ErrInvalidInput)
}

func TestSourceOptionsValidated(t *testing.T) {
	f := drtest.New(nil)
	_, err := dr.NewSource(f, func(o *dr.SourceOptions) { o.ShareWith = []string{"12345"} })
	require.ErrorIs(t, err, dr.ErrInvalidInput)
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("%012d", i)
	}
	_, err = dr.NewSource(f, func(o *dr.SourceOptions) { o.ShareWith = many })
	require.ErrorContains(t, err, "at most 20 accounts")
	_, err = source(t, f).ShareAvailable(context.Background())
	require.ErrorIs(t, err, dr.ErrInvalidInput)
}

// The scheduled run shares and trims over one listing: the describe pages are paid once.
func TestScheduledListsOnce(t *testing.T) {
	f := drtest.New(nil)
	for i := range 150 {
		f.AddManual(fmt.Sprintf("shipshape-dr-db-%03d", i), "db", created.Add(-time.Duration(i)*time.Hour), map[string]string{dr.TagDR: "true"})
	}
	f.AddManual("by-hand", "db", created.Add(-999*time.Hour), nil)
	s := source(t, f, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} })
	sum, err := s.Scheduled(context.Background(), dr.Retention{Keep: 100})
	require.NoError(t, err)
	assert.Len(t, sum.Shared, 150)
	assert.Len(t, sum.Deleted, 50)
	assert.Equal(t, 2+1, f.Calls(drtest.OpDescribe), "ceil(151/100) pages of manual snapshots, once, and one of automated ones")
	assert.Equal(t, 2, f.Calls(drtest.OpDescribeClusterSnapshots))
	assert.Len(t, f.IDs(), 101, "100 of ours and the untagged one")
	assert.Contains(t, f.IDs(), "by-hand")

	_, err = s.Scheduled(context.Background(), dr.Retention{})
	require.ErrorIs(t, err, dr.ErrInvalidInput, "a bad retention fails before any work")
	assert.Equal(t, 3, f.Calls(drtest.OpDescribe))
}

func TestRecoveryScheduled(t *testing.T) {
	_, prod, shared, west := world()
	for i := range 3 {
		prod.AddManual(fmt.Sprintf("shipshape-dr-db-%d", i), "db", created.Add(time.Duration(i)*time.Hour), map[string]string{dr.TagDR: "true"})
	}
	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} })
	require.NoError(t, err)
	_, err = src.ShareAvailable(context.Background())
	require.NoError(t, err)
	rec, err := dr.NewRecovery(shared, west, origin, func(o *dr.RecoveryOptions) {
		o.Clock = west.Clock()
	})
	require.NoError(t, err)
	sum, err := rec.Scheduled(context.Background(), dr.Retention{Keep: 1})
	require.NoError(t, err)
	assert.Len(t, sum.Copied, 3)
	assert.Empty(t, sum.Deleted, "copies still being created are never trimmed")
	west.Clock().Advance(15 * time.Minute)
	sum, err = rec.Scheduled(context.Background(), dr.Retention{Keep: 1})
	require.NoError(t, err)
	assert.Empty(t, sum.Copied)
	assert.Len(t, sum.Deleted, 2)
	assert.Equal(t, []string{"shipshape-dr-db-2"}, west.IDs(), "the newest copy stays")
	assert.Equal(t, 2, west.Calls(drtest.OpDescribe), "one listing of the copies per run")

	// The trimmed ones are still shared, but never copied again (a copy-trim loop would pay a
	// cross-region transfer every run).
	sum, err = rec.Scheduled(context.Background(), dr.Retention{Keep: 1})
	require.NoError(t, err)
	assert.Empty(t, sum.Copied)
	assert.Equal(t, []string{"shipshape-dr-db-2"}, west.IDs())
}

// TestCopiesNamedBeforeThePrefixAreLeftToTheOperator: once the IAM policies allow deleting,
// sharing and tagging only shipshape- names, a DR copy named before (orders-db-...-dr) can't
// be touched by the functions: retention ranks it with the others (so the newest is still
// kept) but reports it instead of deleting it, and sharing skips it with a reason; neither
// sends a call RDS would refuse, so the run goes on.
func TestCopiesNamedBeforeThePrefixAreLeftToTheOperator(t *testing.T) {
	f := drtest.New(nil)
	ours := map[string]string{dr.TagDR: "true"}
	f.AddManual("orders-db-202611200300-dr", "orders-db", created.AddDate(0, 0, -3), ours)
	f.AddManual("orders-db-202611210300-dr", "orders-db", created.AddDate(0, 0, -2), ours)
	f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", created, ours)
	s := source(t, f, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery}; o.Clock = atTime(created) })
	sum, err := s.Scheduled(context.Background(), dr.Retention{Keep: 1})
	require.NoError(t, err)
	assert.Empty(t, sum.Deleted)
	assert.Zero(t, f.Calls(drtest.OpDelete), "no delete of a name the policy does not allow")
	skipped := map[string]string{}
	for _, it := range sum.Skipped {
		skipped[it.ID] = it.Reason
	}
	for _, old := range []string{"orders-db-202611200300-dr", "orders-db-202611210300-dr"} {
		assert.Contains(t, skipped[old], "named before the shipshape- prefix", old)
		assert.Empty(t, f.SharedWith(old), "not shared")
	}
	assert.Equal(t, []string{recovery}, f.SharedWith("shipshape-dr-orders-db-202611230300"))
	for _, in := range fakeapi.Inputs[*rds.AddTagsToResourceInput](f, drtest.OpAddTags) {
		assert.Contains(t, *in.ResourceName, ":snapshot:shipshape-", "tags only its own names")
	}
	assert.Len(t, f.IDs(), 3)
}

// TestIdentifiersGivenInUpperCaseAreRefused: RDS stores every identifier in lower case, and
// the IAM policies name them so. An identifier given with upper case (a source database
// "Orders-db" matches no DR copy) is refused by every constructor, before any call
// (dr/restore and dr/failover hold the same test for theirs).
func TestIdentifiersGivenInUpperCaseAreRefused(t *testing.T) {
	f := drtest.New(nil)
	_, err := dr.NewSource(f, func(o *dr.SourceOptions) { o.Databases = []string{"orders-db", "cluster:Ledger"} })
	assert.ErrorIs(t, err, dr.ErrInvalidInput, "a protected database")
	assert.NoError(t, dr.ValidIdentifier("shipshape-DR-x"), "RDS itself takes upper case (and stores it lowered)")
	assert.ErrorContains(t, dr.ValidInputIdentifier("shipshape-DR-x"), `"shipshape-dr-x"`, "the error says how to write it")
	assert.Zero(t, f.Total())
}
