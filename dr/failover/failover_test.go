package failover_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/failover"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

const (
	zone   = "Z0RECOVERY"
	record = "orders-db.internal.example.com"
	oldDB  = "orders-db.abc.eu-west-1.rds.amazonaws.com"
)

// recoveryBed: the recovery region holds DR copies of orders-db (the newest by original time
// is 202611230300; an older one was copied last) and of the Aurora cluster ledger; the
// private zone's CNAME points at the primary in the region that is down.
func recoveryBed(t *testing.T) (*drtest.RDS, *drtest.Route53) {
	f := drtest.New(nil)
	f.Region = "eu-central-1"
	f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", created, map[string]string{dr.TagDR: "true"})
	f.AddManual("orders-db-old", "orders-db", created.Add(-48*time.Hour), nil)
	_, err := f.CopyDBSnapshot(context.Background(), &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: aws.String("orders-db-old"),
		TargetDBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611210300"), Tags: []types.Tag{{Key: aws.String(dr.TagDR), Value: aws.String("true")}}})
	require.NoError(t, err)
	f.AddManualCluster("shipshape-dr-ledger-202611230300", "ledger", created, map[string]string{dr.TagDR: "true"})
	f.Clock().Advance(15 * time.Minute)
	dns := drtest.NewRoute53(f.Clock())
	dns.AddZone(zone, "internal.example.com")
	_, err = dns.ChangeResourceRecordSets(context.Background(), upsert(record, oldDB))
	require.NoError(t, err)
	return f, dns
}

func upsert(name, value string) *route53.ChangeResourceRecordSetsInput {
	return &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone), ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{
		Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String(name), Type: r53types.RRTypeCname, TTL: aws.Int64(60),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}}}}}}}
}

func restorer(t *testing.T, f *drtest.RDS, dns failover.Route53API, target failover.FailoverTarget, optFns ...func(*failover.FailoverOptions)) *failover.Restorer {
	if target.TargetID == "" {
		target.TargetID = "shipshape-orders-db"
	}
	if target.InstanceClass == "" {
		target.InstanceClass = "db.r6g.large"
	}
	r, err := failover.NewRestorer(f, target, append([]func(*failover.FailoverOptions){func(o *failover.FailoverOptions) {
		o.Clock, o.SubnetGroup, o.SecurityGroups = f.Clock(), "private", []string{"sg-app"}
		if dns != nil {
			o.Route53, o.DNS = dns, &failover.DNSRecord{ZoneID: zone, Name: record}
		}
	}}, optFns...)...)
	require.NoError(t, err)
	return r
}

func TestFailoverRestoresTheNewestAndSwitchesDNS(t *testing.T) {
	f, dns := recoveryBed(t)
	var lines []string
	r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}, func(o *failover.FailoverOptions) {
		o.MultiAZ = true
		o.Progress = func(s string) { lines = append(lines, s) }
	})
	start := f.Clock().Now()
	res, err := r.Failover(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", res.Snapshot, "the newest data, not the latest copy")
	assert.Equal(t, created, res.RecoveryPoint)
	assert.Equal(t, start.Sub(created), res.DataLoss)
	assert.Equal(t, 20*time.Minute+30*time.Second, res.RecoveryTime, "the restore (20 min, seen on the 30 s polls) and the DNS change (30 s)")
	assert.Equal(t, "shipshape-orders-db.fake.rds.amazonaws.com", dns.Record(zone, record), "switched")
	assert.Equal(t, oldDB, res.PreviousValue)
	assert.Contains(t, res.Rollback, `"Value":"`+oldDB+`"`, "one command to roll back")
	assert.False(t, res.Attached)
	assert.Contains(t, strings.Join(lines, "\n"), "waiting (round 1")
	in := fakeapi.Inputs[*rds.RestoreDBInstanceFromDBSnapshotInput](f, drtest.OpRestore)[0]
	assert.True(t, aws.ToBool(in.DeletionProtection), "production now: protected")
	assert.True(t, aws.ToBool(in.MultiAZ))
	assert.False(t, aws.ToBool(in.PubliclyAccessible))
	tags := map[string]string{}
	for _, tg := range in.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	assert.Equal(t, "restored", tags[dr.TagDR])
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", tags[dr.TagSource])
	assert.NotEmpty(t, tags[failover.TagRestoredAt])
}

// TestDNSOnlyAfterAvailable: a failover cancelled while RDS restores never touches DNS.
func TestDNSOnlyAfterAvailable(t *testing.T) {
	f, dns := recoveryBed(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}, func(o *failover.FailoverOptions) {
		o.Progress = func(s string) {
			if strings.Contains(s, "waiting") {
				cancel()
			}
		}
	})
	_, err := r.Failover(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, dns.Calls(drtest.OpChangeRecords)-1, "only the bed's own record was ever written")
	assert.Equal(t, oldDB, dns.Record(zone, record))

	// A terminal state: no DNS change either, and the instance is left for inspection.
	f2, dns2 := recoveryBed(t)
	f2.RestoreOutcome = "inaccessible-encryption-credentials"
	_, err = restorer(t, f2, dns2, failover.FailoverTarget{SourceInstance: "orders-db"}).Failover(context.Background())
	require.ErrorIs(t, err, dr.ErrRestoreFailed)
	assert.Equal(t, oldDB, dns2.Record(zone, record))
	assert.Equal(t, []string{"shipshape-orders-db"}, f2.Instances())
}

// TestFailoverRerunAttaches: the restore's answer was lost; running the failover again
// attaches to the restore in progress instead of making a second instance.
func TestFailoverRerunAttaches(t *testing.T) {
	f, dns := recoveryBed(t)
	f.LoseAnswers(drtest.OpRestore, 1)
	r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"})
	_, err := r.Failover(context.Background())
	require.Error(t, err)
	f.Clock().Advance(5 * time.Minute)
	res, err := r.Failover(context.Background())
	require.NoError(t, err)
	assert.True(t, res.Attached)
	assert.Equal(t, "ours: creating", res.Existing)
	assert.Equal(t, 1, f.Calls(drtest.OpRestore), "no second restore")
	assert.Equal(t, []string{"shipshape-orders-db"}, f.Instances())
	again, err := r.Failover(context.Background())
	require.NoError(t, err, "and once more: idempotent")
	assert.True(t, again.Attached)
}

func TestFailoverRefusesAForeignInstance(t *testing.T) {
	f, dns := recoveryBed(t)
	_, err := f.RestoreDBInstanceFromDBSnapshot(context.Background(), &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("shipshape-orders-db"),
		DBSnapshotIdentifier: aws.String("orders-db-old")})
	require.NoError(t, err)
	_, err = restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}).Failover(context.Background())
	require.ErrorIs(t, err, dr.ErrForeignResource)
	assert.Equal(t, 1, f.Calls(drtest.OpRestore), "the bed's own restore only")
	assert.Equal(t, oldDB, dns.Record(zone, record))
}

func TestFailoverAurora(t *testing.T) {
	f, dns := recoveryBed(t)
	res, err := restorer(t, f, dns, failover.FailoverTarget{SourceCluster: "ledger", TargetID: "shipshape-ledger"}, func(o *failover.FailoverOptions) {
		o.ClusterParameterGroup, o.ParameterGroup = "ledger-cluster-params", "ledger-params"
	}).Failover(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "cluster", res.Kind)
	assert.Equal(t, "shipshape-ledger.cluster-fake.rds.amazonaws.com", res.Endpoint, "the cluster endpoint")
	assert.Equal(t, res.Endpoint, dns.Record(zone, record))
	assert.Equal(t, []string{"shipshape-ledger"}, f.Clusters())
	in := fakeapi.Inputs[*rds.RestoreDBClusterFromSnapshotInput](f, drtest.OpRestoreCluster)[0]
	assert.Equal(t, "ledger-cluster-params", aws.ToString(in.DBClusterParameterGroupName))
	assert.Equal(t, "aurora-postgresql", aws.ToString(in.Engine), "the snapshot's engine")
	assert.Equal(t, "ledger-params", aws.ToString(fakeapi.Inputs[*rds.CreateDBInstanceInput](f, drtest.OpCreateInstance)[0].DBParameterGroupName))
}

// TestDryRunChangesNothing: the plan is made with read-only calls.
func TestDryRunChangesNothing(t *testing.T) {
	f, dns := recoveryBed(t)
	writesBefore := dns.Calls(drtest.OpChangeRecords)
	p, err := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}).Plan(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", p.Snapshot)
	assert.Equal(t, f.Clock().Now().Sub(created), p.DataAge)
	require.Len(t, p.Creates, 1)
	assert.Contains(t, p.Creates[0], "DB instance shipshape-orders-db (db.r6g.large) from shipshape-dr-orders-db-202611230300")
	assert.Contains(t, p.DNS, "UPSERT CNAME "+record)
	assert.Equal(t, oldDB, p.PreviousValue)
	for _, op := range []string{drtest.OpRestore, drtest.OpRestoreCluster, drtest.OpCreateInstance, drtest.OpDeleteDB, drtest.OpAddTags} {
		assert.Zero(t, f.Calls(op)-map[string]int{drtest.OpRestore: 0}[op], op)
	}
	assert.Equal(t, writesBefore, dns.Calls(drtest.OpChangeRecords))
	assert.Empty(t, f.Instances())
}

// TestRehearsalAlwaysCleansUp: whatever fails, the temporary instance, cluster and record are
// deleted, and the real record is never touched.
func TestRehearsalAlwaysCleansUp(t *testing.T) {
	cases := map[string]struct {
		target failover.FailoverTarget
		setup  func(f *drtest.RDS, dns *drtest.Route53)
		ctx    func() context.Context
		want   string // in the error ("" for none: the checks failed)
	}{
		"restore refused": {setup: func(f *drtest.RDS, _ *drtest.Route53) {
			f.Fail(drtest.OpRestore, drtest.APIError("InsufficientDBInstanceCapacity", "none"), 0)
		}, want: "InsufficientDBInstanceCapacity"},
		"restore answer lost": {setup: func(f *drtest.RDS, _ *drtest.Route53) { f.LoseAnswers(drtest.OpRestore, 5) }, want: "InternalFailure"},
		"terminal state":      {setup: func(f *drtest.RDS, _ *drtest.Route53) { f.RestoreOutcome = "storage-full" }, want: "storage-full"},
		"timed out":           {setup: func(f *drtest.RDS, _ *drtest.Route53) { f.RestoreTime = 5 * time.Hour }, want: "timed out"},
		"DNS change refused": {setup: func(_ *drtest.RDS, dns *drtest.Route53) {
			dns.Fail(drtest.OpChangeRecords, &r53types.InvalidChangeBatch{Message: aws.String("no")}, 1)
		}, want: "InvalidChangeBatch"},
		"checks fail":         {want: ""},
		"aurora, checks fail": {target: failover.FailoverTarget{SourceCluster: "ledger"}, want: ""},
		"aurora, terminal":    {target: failover.FailoverTarget{SourceCluster: "ledger"}, setup: func(f *drtest.RDS, _ *drtest.Route53) { f.RestoreOutcome = "failed" }, want: "failed"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f, dns := recoveryBed(t)
			if c.setup != nil {
				c.setup(f, dns)
			}
			target := c.target
			if target.SourceCluster == "" {
				target.SourceInstance = "orders-db"
			}
			r := restorer(t, f, dns, target, func(o *failover.FailoverOptions) { o.Timeout = time.Hour })
			rep, err := r.Rehearse(context.Background(), dr.Database{Driver: "pgx", DSN: func(h string, p int32) string {
				return "postgres://x@127.0.0.1:1/db?connect_timeout=1"
			}}, dr.Checks{})
			if c.want != "" {
				require.ErrorContains(t, err, c.want)
			} else {
				require.NoError(t, err)
			}
			assert.False(t, rep.OK)
			assert.Empty(t, f.Instances(), rep.Cleanup)
			assert.Empty(t, f.Clusters(), rep.Cleanup)
			assert.Equal(t, []string{record + "."}, dns.Names(zone), "the temporary record is gone; the real one stays")
			assert.Equal(t, oldDB, dns.Record(zone, record))
		})
	}
	t.Run("cancelled halfway", func(t *testing.T) {
		f, dns := recoveryBed(t)
		ctx, cancel := context.WithCancel(context.Background())
		r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}, func(o *failover.FailoverOptions) {
			o.Progress = func(s string) {
				if strings.Contains(s, "waiting") {
					cancel()
				}
			}
		})
		_, err := r.Rehearse(ctx, dr.Database{Driver: "pgx", DSN: noDB}, dr.Checks{})
		require.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, f.Instances(), "cleanup runs on a context of its own")
	})
}

// TestRoute53Wire: the real Route 53 client against the wire server: the change, the
// listing, PENDING then INSYNC, and the modeled errors as the SDK reads them.
func TestRoute53Wire(t *testing.T) {
	fake := drtest.NewRoute53(nil)
	fake.AddZone(zone, "internal.example.com")
	srv := drtest.NewRoute53WireServer(fake)
	t.Cleanup(srv.Close)
	c := srv.Client()
	ctx := context.Background()
	out, err := c.ChangeResourceRecordSets(ctx, upsert(record, "a.example.com"))
	require.NoError(t, err)
	assert.Equal(t, r53types.ChangeStatusPending, out.ChangeInfo.Status)
	got, err := c.GetChange(ctx, &route53.GetChangeInput{Id: out.ChangeInfo.Id})
	require.NoError(t, err)
	assert.Equal(t, r53types.ChangeStatusPending, got.ChangeInfo.Status)
	fake.ChangeTime = 0
	list, err := c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String("/hostedzone/" + zone),
		StartRecordName: aws.String(record), StartRecordType: r53types.RRTypeCname, MaxItems: aws.Int32(1)})
	require.NoError(t, err)
	require.Len(t, list.ResourceRecordSets, 1)
	assert.Equal(t, record+".", aws.ToString(list.ResourceRecordSets[0].Name))
	assert.Equal(t, "a.example.com", aws.ToString(list.ResourceRecordSets[0].ResourceRecords[0].Value))

	del := upsert(record, "wrong.example.com")
	del.ChangeBatch.Changes[0].Action = r53types.ChangeActionDelete
	_, err = c.ChangeResourceRecordSets(ctx, del)
	var batch *r53types.InvalidChangeBatch
	require.ErrorAs(t, err, &batch, "DELETE needs the exact record")
	assert.Contains(t, batch.Messages[0], "not found")
	_, err = c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String("ZNOPE")})
	var noZone *r53types.NoSuchHostedZone
	require.ErrorAs(t, err, &noZone)
	outside := upsert("db.other.example.org", "x")
	_, err = c.ChangeResourceRecordSets(ctx, outside)
	require.ErrorAs(t, err, &batch, "a record outside the zone")
}

// TestWireFailover: the whole failover through the real RDS and Route 53 clients.
func TestWireFailover(t *testing.T) {
	f, dns := recoveryBed(t)
	rdsClient, rdsSrv := wire(t, f)
	r53srv := drtest.NewRoute53WireServer(dns)
	t.Cleanup(r53srv.Close)
	r, err := failover.NewRestorer(rdsClient, failover.FailoverTarget{SourceInstance: "orders-db", TargetID: "shipshape-orders-db", InstanceClass: "db.r6g.large"},
		func(o *failover.FailoverOptions) {
			o.Clock, o.Route53, o.DNS = f.Clock(), r53srv.Client(), &failover.DNSRecord{ZoneID: zone, Name: record, TTL: 30}
		})
	require.NoError(t, err)
	res, err := r.Failover(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", res.Snapshot, "OriginalSnapshotCreateTime read from the XML")
	assert.Equal(t, res.Endpoint, dns.Record(zone, record))
	assert.Equal(t, 1, rdsSrv.Count("RestoreDBInstanceFromDBSnapshot"))
	var changes int
	for _, req := range r53srv.Requests() {
		if strings.HasPrefix(req, "POST ") {
			changes++
		}
	}
	assert.Equal(t, 1, changes)
}

// TestIntegrationRehearsalAgainstPostgres: the rehearsal's checks run against the real
// PostgreSQL the restored "instance" answers on; it measures the recovery point and time and
// leaves nothing behind.
func TestIntegrationRehearsalAgainstPostgres(t *testing.T) {
	host, port, dsn := seeded(t)
	for _, target := range []failover.FailoverTarget{{SourceInstance: "orders-db"}, {SourceCluster: "ledger"}} {
		f, dns := recoveryBed(t)
		f.Endpoint = func(string) (string, int32) { return host, port }
		start := f.Clock().Now()
		rep, err := restorer(t, f, dns, target).Rehearse(context.Background(), dr.Database{Driver: "pgx", DSN: dsn},
			dr.Checks{ServerVersionPrefix: "15.", MinTables: 2, MinRows: map[string]int64{"orders": 5}})
		require.NoError(t, err)
		assert.True(t, rep.OK, "%+v", rep)
		assert.Equal(t, created, rep.RecoveryPoint)
		assert.Equal(t, start.Sub(created), rep.DataLoss, "recovery point: the snapshot's data, 6 h 15 min before the failover")
		assert.Equal(t, 20*time.Minute+30*time.Second, rep.RecoveryTime)
		assert.True(t, strings.HasPrefix(rep.Record, "shipshape-rehearsal-"), rep.Record)
		assert.Contains(t, rep.Cleanup, "deleted record "+rep.Record)
		assert.Empty(t, f.Instances())
		assert.Empty(t, f.Clusters())
		assert.Equal(t, oldDB, dns.Record(zone, record), "the real record is never touched")
	}
}

// TestFailoverRestoreIsTaggedForReruns: the restore carries what a rerun needs: the source
// database, the recovery point, and the record's value before the failover (so that a rerun
// after the switch still rolls back to it, and a dry run then shows both values).
func TestFailoverRestoreIsTaggedForReruns(t *testing.T) {
	f, dns := recoveryBed(t)
	r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"})
	dns.Fail(drtest.OpGetChange, drtest.APIError("Throttling", "slow down"), 10)
	_, err := r.Failover(context.Background())
	require.Error(t, err, "the wait for the change failed; the record was switched")
	tags := map[string]string{}
	for _, tg := range fakeapi.Inputs[*rds.RestoreDBInstanceFromDBSnapshotInput](f, drtest.OpRestore)[0].Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	assert.Equal(t, "orders-db", tags[dr.TagSourceDatabase])
	assert.Equal(t, "2026-11-23T03:00:00Z", tags[failover.TagRecoveryPoint])
	assert.Equal(t, record, tags[failover.TagDNSRecord])
	assert.Equal(t, oldDB, tags[failover.TagDNSPrevious])

	p, err := r.Plan(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "ours: available", p.Existing)
	assert.Equal(t, oldDB, p.PreviousValue, "the value before the failover, not the one the first run set")
	assert.Contains(t, p.DNS, "now: shipshape-orders-db.fake.rds.amazonaws.com; before this failover: "+oldDB)
	assert.Empty(t, p.Creates)

	// The same target switching another record: the kept value is not that record's.
	other := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}, func(o *failover.FailoverOptions) {
		o.DNS = &failover.DNSRecord{ZoneID: zone, Name: "reports.internal.example.com"}
	})
	p, err = other.Plan(context.Background())
	require.NoError(t, err)
	assert.Empty(t, p.PreviousValue, "reports has no record")
}

// TestFailoverAttachesToARestoreTaggedBeforeTheSourceDatabaseTag: a restore made before the
// restores carried shipshape:source-db is attached to when its snapshot shows it is of this
// database, and reports that snapshot's time; when the snapshot is gone, which database it
// holds can't be told, and it is refused with what to do.
func TestFailoverAttachesToARestoreTaggedBeforeTheSourceDatabaseTag(t *testing.T) {
	f, dns := recoveryBed(t)
	ctx := context.Background()
	_, err := f.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("shipshape-orders-db"),
		DBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611210300"), Tags: []types.Tag{
			{Key: aws.String(dr.TagDR), Value: aws.String("restored")}, {Key: aws.String(dr.TagSource), Value: aws.String("shipshape-dr-orders-db-202611210300")}}})
	require.NoError(t, err)
	r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"})
	p, err := r.Plan(ctx)
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-db-202611210300", p.Snapshot, "what the restore holds")
	assert.Equal(t, created.Add(-48*time.Hour), p.SnapshotTime)

	_, err = f.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611210300")})
	require.NoError(t, err)
	_, err = r.Failover(ctx)
	require.ErrorIs(t, err, dr.ErrForeignResource)
	assert.Contains(t, err.Error(), "tag it "+dr.TagSourceDatabase+"=orders-db to attach")
	assert.Equal(t, oldDB, dns.Record(zone, record))
}

// TestFailoverOfASnapshotAttachesOnlyToItsDatabase: with -snapshot, a restore under the
// target of another database is refused, one of the same database is attached to.
func TestFailoverOfASnapshotAttachesOnlyToItsDatabase(t *testing.T) {
	f, dns := recoveryBed(t)
	ctx := context.Background()
	_, err := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"}).Failover(ctx)
	require.NoError(t, err)
	f.AddManual("shipshape-dr-billing-202611230300", "billing", created, map[string]string{dr.TagDR: "true"})
	_, err = restorer(t, f, dns, failover.FailoverTarget{SnapshotID: "shipshape-dr-billing-202611230300"}).Plan(ctx)
	require.ErrorIs(t, err, dr.ErrForeignResource)
	assert.Contains(t, err.Error(), "holds a restore of orders-db (from shipshape-dr-orders-db-202611230300), not of billing")
	res, err := restorer(t, f, dns, failover.FailoverTarget{SnapshotID: "shipshape-dr-orders-db-202611210300"}).Failover(ctx)
	require.NoError(t, err)
	assert.True(t, res.Attached)
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", res.Snapshot, "what the attached restore holds")
}

// TestAuroraDryRunListsTheMissingInstance: after a failover whose CreateDBInstance failed, the
// dry run says the rerun adds the cluster's instance.
func TestAuroraDryRunListsTheMissingInstance(t *testing.T) {
	f, dns := recoveryBed(t)
	f.Fail(drtest.OpCreateInstance, drtest.APIError("InsufficientDBInstanceCapacity", "no capacity right now"), 1)
	r := restorer(t, f, dns, failover.FailoverTarget{SourceCluster: "ledger", TargetID: "shipshape-ledger"})
	_, err := r.Failover(context.Background())
	require.Error(t, err)
	p, err := r.Plan(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"DB instance shipshape-ledger (db.r6g.large) in cluster shipshape-ledger, which an earlier run restored without it"}, p.Creates)
	assert.Equal(t, 1, f.Calls(drtest.OpCreateInstance), "the dry run added nothing")
	res, err := r.Failover(context.Background())
	require.NoError(t, err)
	tags := map[string]string{}
	for _, tg := range fakeapi.Inputs[*rds.CreateDBInstanceInput](f, drtest.OpCreateInstance)[1].Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	assert.Equal(t, "restored", tags[dr.TagDR], "the instance carries the cluster's tags")
	assert.Equal(t, "ledger", tags[dr.TagSourceDatabase])
	assert.Equal(t, "aurora-postgresql", aws.ToString(fakeapi.Inputs[*rds.CreateDBInstanceInput](f, drtest.OpCreateInstance)[1].Engine), "the cluster's engine")
	assert.Equal(t, created, res.RecoveryPoint)
}

// TestFailoverPicksTheChosenAccountsCopy: the failover restores the newest copy of the
// chosen account's orders-db and records the account on the restore; without a choice,
// the plan, the failover and a rehearsal refuse with reads only (no restore, no DNS change);
// a rerun for the other account finds the restore of the first and refuses to attach to it.
func TestFailoverPicksTheChosenAccountsCopy(t *testing.T) {
	ctx := context.Background()
	f, dns := recoveryBed(t)
	twoAccountsCopies(f) // the bed's own copies are of the fake's account, 111111111111 (prodA)
	r := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db"})
	_, err := r.Plan(ctx)
	var ambiguous *dr.AmbiguousSourceError
	require.ErrorAs(t, err, &ambiguous)
	assert.Equal(t, []string{prodA, prodB}, ambiguous.Accounts)
	_, err = r.Failover(ctx)
	require.ErrorIs(t, err, dr.ErrAmbiguousSource)
	_, err = r.Rehearse(ctx, dr.Database{Driver: "pgx", DSN: noDB}, dr.Checks{})
	require.ErrorIs(t, err, dr.ErrAmbiguousSource)
	assert.Zero(t, f.Calls(drtest.OpRestore))
	assert.Equal(t, 1, dns.Calls(drtest.OpChangeRecords), "only the bed's own record change")

	res, err := restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db", SourceAccount: prodB}).Failover(ctx)
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-db-202611230400-333333333333", res.Snapshot)
	assert.Equal(t, prodB, res.SourceAccount)
	in := fakeapi.Inputs[*rds.RestoreDBInstanceFromDBSnapshotInput](f, drtest.OpRestore)[0]
	assert.Contains(t, in.Tags, types.Tag{Key: aws.String(dr.TagSourceAccount), Value: aws.String(prodB)})

	_, err = restorer(t, f, dns, failover.FailoverTarget{SourceInstance: "orders-db", SourceAccount: prodA}).Failover(ctx)
	require.ErrorIs(t, err, dr.ErrForeignResource, "shipshape-orders-db holds account 333333333333's orders-db")
	assert.Contains(t, err.Error(), "of account "+prodB)
	assert.Equal(t, 1, f.Calls(drtest.OpRestore))
}
