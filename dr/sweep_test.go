package dr_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

// TestLostEventRecoveredBySweep: RDS events are best effort. The scheduled run copies every
// automated snapshot that has no DR copy and is newer than its database's newest copy; a
// late event for the same snapshot then finds the copy made; nothing is copied twice, and
// what retention trimmed is never copied again.
func TestLostEventRecoveredBySweep(t *testing.T) {
	f := drtest.New(nil)
	ctx := context.Background()
	day := 24 * time.Hour
	for i := range 3 {
		f.AddAutomated("orders-db", created.Add(-time.Duration(i)*day), "")
		f.AddAutomated("billing-db", created.Add(-time.Duration(i)*day), "")
	}
	s := source(t, f)
	// Only the events of orders-db's two older snapshots arrived.
	for _, id := range []string{"rds:orders-db-2026-11-21-03-00", "rds:orders-db-2026-11-22-03-00"} {
		_, err := s.CopyAutomated(ctx, id)
		require.NoError(t, err)
	}
	sum, err := s.Scheduled(ctx, dr.Retention{Keep: 7})
	require.NoError(t, err)
	var copied []string
	for _, c := range sum.Copied {
		copied = append(copied, c.ID)
		assert.Contains(t, c.Reason, "sweep")
	}
	assert.Equal(t, []string{"shipshape-dr-orders-db-202611230300", "shipshape-dr-billing-db-202611230300", "shipshape-dr-billing-db-202611220300", "shipshape-dr-billing-db-202611210300"}, copied,
		"the newest of orders-db (its event was lost) and all of billing-db (no copy yet), newest first")

	late, err := s.CopyAutomated(ctx, "rds:orders-db-2026-11-23-03-00") // the lost event arrives after all
	require.NoError(t, err)
	assert.Equal(t, "already copied", late.Skipped[0].Reason)
	f.Clock().Advance(15 * time.Minute)
	sum, err = s.Scheduled(ctx, dr.Retention{Keep: 1})
	require.NoError(t, err)
	assert.Empty(t, sum.Copied, "nothing twice")
	assert.Len(t, sum.Deleted, 4, "keep 1 of 3 per database")
	sum, err = s.Scheduled(ctx, dr.Retention{Keep: 1})
	require.NoError(t, err)
	assert.Empty(t, sum.Copied, "what retention trimmed is older than the newest copy: never copied again (no copy-trim loop)")
	assert.Equal(t, 1+1+6, len(f.IDs()), "one copy each, and the 6 automated snapshots")
}

func TestSweepLeavesForeignSnapshotsAndProtectedOnly(t *testing.T) {
	f := drtest.New(nil)
	f.AddAutomated("orders-db", created, "")
	f.AddAutomated("scratch-db", created, "")
	f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", created, nil) // somebody's snapshot with our id
	s := source(t, f, func(o *dr.SourceOptions) { o.Databases = []string{"orders-db", "cluster:ledger"} })
	sum, err := s.Scheduled(context.Background(), dr.Retention{Keep: 7})
	require.NoError(t, err)
	assert.Empty(t, sum.Copied, "scratch-db is not protected; orders-db's id is taken")
	assert.Equal(t, []dr.Item{{ID: "shipshape-dr-orders-db-202611230300", Reason: "a snapshot with this id exists and is not ours: check it"}}, sum.Skipped)

	ev, err := s.CopyAutomated(context.Background(), "rds:scratch-db-2026-11-23-03-00")
	require.NoError(t, err)
	assert.Contains(t, ev.Skipped[0].Reason, "not among the protected databases")

	_, err = dr.NewSource(f, func(o *dr.SourceOptions) { o.Databases = []string{"cluster:"} })
	require.ErrorIs(t, err, dr.ErrInvalidInput)
}

func TestQuotaWarningAndRefusal(t *testing.T) {
	f := drtest.New(nil)
	f.ManualQuota = 10
	for i := range 8 {
		f.AddManual("by-hand-"+string(rune('a'+i)), "other", created, nil)
	}
	for i := range 3 {
		f.AddAutomated("orders-db", created.Add(-time.Duration(i)*time.Hour), "")
	}
	var logs bytes.Buffer
	s := source(t, f, func(o *dr.SourceOptions) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	sum, err := s.Scheduled(context.Background(), dr.Retention{Keep: 7})
	require.ErrorIs(t, err, dr.ErrQuota, "8 + 3 copies would be 11 of 10: the third is refused before RDS is asked")
	assert.Contains(t, err.Error(), "ManualSnapshots (manual DB snapshots per region) is at 10 of 10")
	assert.Len(t, sum.Copied, 2, "%+v", sum)
	assert.Equal(t, 2, f.Calls(drtest.OpCopy))
	assert.Equal(t, []string{"ManualSnapshots quota at 8 of 10 (80 % or more): lower the retention (DR_KEEP, DR_MAX_AGE) or raise the quota before copies are refused"}, sum.Warnings)
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "ManualSnapshots quota at 8 of 10")
	assert.Equal(t, 1, f.Calls(drtest.OpAccount), "the quota is read once a run")
}

func TestDefaultKeyDetection(t *testing.T) {
	const other = "arn:aws:kms:us-east-1:111111111111:key/app-owned"
	f := drtest.New(nil)
	keys := drtest.NewKMS(f)
	keys.AddKey(other, "CUSTOMER")
	underCMK := f.AddAutomated("app-db", created, other)
	underAWS := f.AddAutomated("orders-db", created, f.DefaultKey)
	s := source(t, f, func(o *dr.SourceOptions) { o.ShareWith, o.KMS = []string{recovery}, keys })

	sum, err := s.CopyAutomated(context.Background(), underCMK)
	require.NoError(t, err, "a snapshot under a customer managed key is copied and shareable without KMSKeyID")
	assert.Contains(t, sum.Copied[0].Reason, "kept under its customer managed key "+other)
	assert.Nil(t, fakeapi.Inputs[*rds.CopyDBSnapshotInput](f, drtest.OpCopy)[0].KmsKeyId, "no re-encryption needed")

	_, err = s.CopyAutomated(context.Background(), underAWS)
	require.ErrorIs(t, err, dr.ErrNeedsCustomerKey)
	assert.Contains(t, err.Error(), f.DefaultKey)

	f.Clock().Advance(15 * time.Minute)
	shared, err := s.ShareAvailable(context.Background())
	require.NoError(t, err)
	assert.Len(t, shared.Shared, 1)
	assert.Equal(t, 2, keys.Calls(drtest.OpDescribeKey), "once per key, cached across calls")

	_, err = source(t, f, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} }).CopyAutomated(context.Background(), underAWS)
	require.ErrorIs(t, err, dr.ErrInvalidInput, "without a KMS client the key can't be told: an error that says so, not a guess")
	assert.Contains(t, err.Error(), "needs a KMS client")
}
