package failover_test

// Adversarial tests of Restorer (Plan, Failover, Rehearse) against the contract in
// docs/dr.md ("Runbook: failing over to the recovery region"), the RELIABILITY guard table
// and the exported docs of failover.go. Each test asserts the documented behaviour: a
// failing one is a bug found.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/failover"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

func atkTags(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// TestFailoverRerunAfterDNSWaitKeepsTheRollback: the runbook says "DNS failed after the
// restore: rerun" and "Keep the last lines: they print the endpoint and the command that
// switches DNS back". When the first run's UPSERT went through but waiting for INSYNC failed,
// the rerun must still print a rollback to the value the record had BEFORE the failover, not
// a "rollback" to the new endpoint.
func TestFailoverRerunAfterDNSWaitKeepsTheRollback(t *testing.T) {
	f, dns := recoveryBed(t)
	dns.Fail(drtest.OpGetChange, &r53types.NoSuchChange{Message: aws.String("throttled away")}, 1)
	r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"})
	_, err := r.Failover(context.Background())
	require.Error(t, err, "the wait for the DNS change failed")
	require.Equal(t, "shipshape-orders-db.fake.rds.amazonaws.com", dns.Record(zone, record), "the UPSERT itself went through")

	res, err := r.Failover(context.Background())
	require.NoError(t, err)
	assert.True(t, res.Attached)
	assert.Contains(t, res.Rollback, `"Value":"`+oldDB+`"`,
		"the rollback printed by the rerun must put back the value before the failover (%s), got: %s", oldDB, res.Rollback)
	assert.NotContains(t, res.Rollback, `"Value":"shipshape-orders-db.fake.rds.amazonaws.com"`, "a rollback to the new endpoint switches nothing back")
}

// TestAuroraFailoverRerunAfterTheInstanceCallFailed: the cluster was restored but
// CreateDBInstance failed (capacity, throttling, a lost Lambda). The runbook: "Rerun the same
// command. It attaches to the restore RDS already started". A cluster serves nothing without
// its instance, so the rerun must add it and finish, not fail on every rerun.
func TestAuroraFailoverRerunAfterTheInstanceCallFailed(t *testing.T) {
	f, dns := recoveryBed(t)
	f.Fail(drtest.OpCreateInstance, drtest.APIError("InsufficientDBInstanceCapacity", "no capacity right now"), 1)
	r := restorer(t, f, dns, failover.FailoverTarget{SourceCluster: "ledger", TargetID: "shipshape-ledger"})
	_, err := r.Failover(context.Background())
	require.ErrorContains(t, err, "InsufficientDBInstanceCapacity")
	require.Equal(t, []string{"shipshape-ledger"}, f.Clusters(), "the cluster exists, without its instance")
	assert.Equal(t, oldDB, dns.Record(zone, record), "DNS untouched")

	res, err := r.Failover(context.Background())
	require.NoError(t, err, "the rerun must add the missing instance and finish the failover")
	assert.True(t, res.Attached)
	assert.Equal(t, []string{"shipshape-ledger"}, f.Instances(), "the instance was added on the rerun")
	assert.Equal(t, "shipshape-ledger.cluster-fake.rds.amazonaws.com", dns.Record(zone, record))
	assert.Equal(t, 1, f.Calls(drtest.OpRestoreCluster), "no second cluster")
}

// TestFailoverAttachedReportsWhatItRestored: a first run started restoring the newest
// copy of that moment; a newer DR copy arrived before the rerun (the sweep runs every 15
// minutes). The rerun attaches (it must: no second instance), but then the recovery point it
// reports (the RPO the runbook tells you to record) must be the data of the instance it
// attached to, not the data of a snapshot that was never restored.
func TestFailoverAttachedReportsWhatItRestored(t *testing.T) {
	f, dns := recoveryBed(t)
	r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"})
	f.LoseAnswers(drtest.OpRestore, 1)
	_, err := r.Failover(context.Background())
	require.Error(t, err)
	// A newer copy lands meanwhile.
	newer := created.Add(24 * time.Hour)
	f.AddManual("shipshape-dr-orders-db-202611240300", "orders-db", newer, map[string]string{dr.TagDR: "true"})

	res, err := r.Failover(context.Background())
	require.NoError(t, err)
	require.True(t, res.Attached)
	assert.Equal(t, 1, f.Calls(drtest.OpRestore), "no second restore")
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", res.Snapshot, "the snapshot the attached instance was restored from")
	assert.Equal(t, created, res.RecoveryPoint, "the recovery point is the restored data's time, not the newer copy's")
}

// TestFailoverRefusesARestoreOfAnotherDatabase: the target identifier holds a
// failover restore of ANOTHER database (an earlier failover of ledger-db under this id, or a
// copy-paste of -target-id). Attaching to it would point the orders-db CNAME at the wrong
// database. The guard is "a target that exists and is not ours is refused"; a restore of
// another database is not this failover's.
func TestFailoverRefusesARestoreOfAnotherDatabase(t *testing.T) {
	f, dns := recoveryBed(t)
	f.AddManual("shipshape-dr-billing-202611230300", "billing", created, map[string]string{dr.TagDR: "true"})
	_, err := f.RestoreDBInstanceFromDBSnapshot(context.Background(), &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String("shipshape-orders-db"), DBSnapshotIdentifier: aws.String("shipshape-dr-billing-202611230300"),
		Tags: atkTags(dr.TagDR, "restored", dr.TagSource, "shipshape-dr-billing-202611230300", failover.TagRestoredAt, "2026-11-20T00:00:00Z")})
	require.NoError(t, err)
	f.Clock().Advance(time.Hour)

	_, err = restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}).Failover(context.Background())
	require.ErrorIs(t, err, dr.ErrForeignResource, "a restore of billing is not orders-db's failover")
	assert.Equal(t, oldDB, dns.Record(zone, record), "the orders-db CNAME must not be switched to billing's database")
}

// TestRestorerRefusesMalformedSources: "bad input is refused before any call" and
// NewRestorer's doc: "The error, wrapping ErrInvalidInput, is for settings that can't work".
// NewVerifier checks the source identifiers; NewRestorer must too.
func TestRestorerRefusesMalformedSources(t *testing.T) {
	for name, target := range map[string]failover.FailoverTarget{
		"instance with a space":       {SourceInstance: "orders db"},
		"instance with an underscore": {SourceInstance: "orders_db"},
		"instance starting with 1":    {SourceInstance: "1orders"},
		"instance ending with -":      {SourceInstance: "orders-"},
		"instance too long":           {SourceInstance: "o" + strings.Repeat("x", 63)},
		"cluster with a slash":        {SourceCluster: "ledger/prod"},
		"cluster with two hyphens":    {SourceCluster: "ledger--prod"},
	} {
		t.Run(name, func(t *testing.T) {
			f := drtest.New(nil)
			target.TargetID, target.InstanceClass = "shipshape-orders-db", "db.r6g.large"
			_, err := failover.NewRestorer(f, target)
			require.ErrorIs(t, err, dr.ErrInvalidInput)
			assert.Zero(t, f.Total(), "no call")
		})
	}
}

// TestRehearsalNeverTouchesTheRealIdentifierOrRecord: a rehearsal while the real
// failover's instance exists (it is production now) neither attaches to it, deletes it, nor
// changes the real record.
func TestRehearsalNeverTouchesTheRealIdentifierOrRecord(t *testing.T) {
	f, dns := recoveryBed(t)
	res, err := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}).Failover(context.Background())
	require.NoError(t, err)
	live := dns.Record(zone, record)
	require.Equal(t, res.Endpoint, live)

	r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"})
	rep, err := r.Rehearse(context.Background(), dr.Database{Driver: "pgx", DSN: func(string, int32) string {
		return "postgres://x@127.0.0.1:1/db?connect_timeout=1"
	}}, dr.Checks{})
	require.NoError(t, err)
	assert.NotEqual(t, "shipshape-orders-db", rep.Target)
	assert.True(t, strings.HasPrefix(rep.Target, "shipshape-rehearsal-"), rep.Target)
	assert.Equal(t, []string{"shipshape-orders-db"}, f.Instances(), "the production instance stays; the rehearsal's is gone")
	assert.Equal(t, live, dns.Record(zone, record), "the real record is untouched")
	assert.Equal(t, []string{record + "."}, dns.Names(zone))
	for _, in := range fakeapi.Inputs[*rds.DeleteDBInstanceInput](f, drtest.OpDeleteDB) {
		assert.NotEqual(t, "shipshape-orders-db", aws.ToString(in.DBInstanceIdentifier))
	}
}

// TestRehearsalCancelledDuringDNSWaitCleansUp: Ctrl-C while Route 53 applies the
// temporary record: the record, the instance are still deleted.
func TestRehearsalCancelledDuringDNSWaitCleansUp(t *testing.T) {
	f, dns := recoveryBed(t)
	dns.ChangeTime = 10 * time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := restorer(t, f, dns, failover.FailoverTarget{SourceCluster: "ledger"}, func(o *failover.FailoverOptions) {
		o.Progress = func(s string) {
			if strings.Contains(s, "Route 53 change") {
				cancel()
			}
		}
	})
	rep, err := r.Rehearse(ctx, dr.Database{Driver: "pgx", DSN: func(string, int32) string { return "postgres://x@127.0.0.1:1/db" }}, dr.Checks{})
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, rep.OK)
	assert.Empty(t, f.Instances(), rep.Cleanup)
	assert.Empty(t, f.Clusters(), rep.Cleanup)
	assert.Equal(t, []string{record + "."}, dns.Names(zone), "the temporary record is deleted: %s", rep.Cleanup)
	assert.Equal(t, oldDB, dns.Record(zone, record))
}

// TestDryRunOnAForeignTargetChangesNothing: a dry run that finds a foreign target
// reports it and changes nothing, whatever else fails.
func TestDryRunOnAForeignTargetChangesNothing(t *testing.T) {
	f, dns := recoveryBed(t)
	_, err := f.RestoreDBInstanceFromDBSnapshot(context.Background(), &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String("shipshape-orders-db"), DBSnapshotIdentifier: aws.String("orders-db-old")})
	require.NoError(t, err)
	restoresBefore, writesBefore := f.Calls(drtest.OpRestore), dns.Calls(drtest.OpChangeRecords)
	_, err = restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}).Plan(context.Background())
	require.ErrorIs(t, err, dr.ErrForeignResource)
	assert.Equal(t, restoresBefore, f.Calls(drtest.OpRestore))
	assert.Zero(t, f.Calls(drtest.OpDeleteDB)+f.Calls(drtest.OpAddTags)+f.Calls(drtest.OpCreateInstance))
	assert.Equal(t, writesBefore, dns.Calls(drtest.OpChangeRecords))
}

// TestFailoverNeverPicksACopyInProgressOrAnotherDatabase: the newest DR copy by
// original creation time, available, of exactly this database: not a newer copy still in
// progress, not a newer copy of a database whose name has this one as a prefix, not a newer
// snapshot without the DR tag.
func TestFailoverNeverPicksACopyInProgressOrAnotherDatabase(t *testing.T) {
	f, dns := recoveryBed(t)
	ctx := context.Background()
	later := created.Add(6 * time.Hour)
	// A newer copy still copying.
	f.AddManual("orders-db-src", "orders-db", later, nil)
	_, err := f.CopyDBSnapshot(ctx, &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: aws.String("orders-db-src"),
		TargetDBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611230900"), Tags: atkTags(dr.TagDR, "true")})
	require.NoError(t, err)
	// A newer copy of orders-db-archive (this name is a prefix of it) and of "orders".
	f.AddManual("shipshape-dr-orders-db-archive-202611231000", "orders-db-archive", later.Add(time.Hour), map[string]string{dr.TagDR: "true"})
	f.AddManual("shipshape-dr-orders-202611231000", "orders", later.Add(time.Hour), map[string]string{dr.TagDR: "true"})
	// A newer manual snapshot of orders-db that is not a DR copy, and a sanitized one.
	f.AddManual("orders-db-manual", "orders-db", later.Add(2*time.Hour), nil)
	f.AddManual("shipshape-sanitized-orders-db-x", "orders-db", later.Add(2*time.Hour), map[string]string{dr.TagDR: "sanitized"})

	p, err := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}).Plan(ctx)
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", p.Snapshot)
	p, err = restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders"}).Plan(ctx)
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-202611231000", p.Snapshot)
}

// TestFailoverTimeoutIsADeadline: a restore that never finishes ends at -timeout (the
// last poll at the deadline), not at the next poll after it, and DNS is untouched.
func TestFailoverTimeoutIsADeadline(t *testing.T) {
	f, dns := recoveryBed(t)
	f.RestoreTime = 10 * time.Hour
	r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}, func(o *failover.FailoverOptions) {
		o.Timeout, o.Poll = 50*time.Minute, 30*time.Minute
	})
	start := f.Clock().Now()
	_, err := r.Failover(context.Background())
	require.ErrorIs(t, err, dr.ErrTimedOut)
	assert.Equal(t, 50*time.Minute, f.Clock().Now().Sub(start), "the wait ends at the deadline")
	assert.Equal(t, oldDB, dns.Record(zone, record))
	var rf *dr.RestoreFailedError
	assert.False(t, errors.As(err, &rf))
}

// TestConcurrentRehearsalsAndVerifications: Restorer and Verifier "are safe for
// concurrent use": two rehearsals and two verifications at once on the same values each
// clean up what they made, and nothing else (run with -race).
func TestConcurrentRehearsalsAndVerifications(t *testing.T) {
	f, dns := recoveryBed(t)
	r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"})
	v, err := restore.NewVerifier(f, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"},
		dr.Database{Driver: "pgx", DSN: func(string, int32) string { return "postgres://x@127.0.0.1:1/db?connect_timeout=1" }},
		func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	db := dr.Database{Driver: "pgx", DSN: func(string, int32) string { return "postgres://x@127.0.0.1:1/db?connect_timeout=1" }}
	errs := make(chan error, 4)
	for range 2 {
		go func() { _, err := r.Rehearse(context.Background(), db, dr.Checks{}); errs <- err }()
		go func() { _, err := v.Verify(context.Background()); errs <- err }()
	}
	for range 4 {
		assert.NoError(t, <-errs)
	}
	assert.Empty(t, f.Instances())
	assert.Equal(t, []string{record + "."}, dns.Names(zone))
	assert.Equal(t, oldDB, dns.Record(zone, record))
}
