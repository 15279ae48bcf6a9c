package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver for the verify run

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/failover"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

func init() {
	chapters = append(chapters, chapter{order: 6, name: "dr: automated RDS snapshots copied (a lost event recovered by the sweep), shared, copied into the recovery region, verified (DB instance and Aurora), sanitized", run: tourDR})
}

func tourDR(ctx context.Context, say func(string, ...any)) error {
	world := drtest.NewWorld(nil)
	prod := world.RDS("111111111111", "eu-west-1")
	recoveryShared := world.RDS("222222222222", "eu-west-1")
	recoveryLocal := world.RDS("222222222222", "eu-central-1")
	clock := prod.Clock()
	say("a fake world: production account 111111111111 in eu-west-1, recovery account 222222222222 (eu-west-1 and eu-central-1)")

	for day := 3; day >= 0; day-- {
		prod.AddAutomated("orders-db", clock.Now().Add(-time.Duration(day)*24*time.Hour), prod.DefaultKey)
	}
	say("4 daily automated snapshots of orders-db, encrypted with the default aws/rds key")

	keys := drtest.NewKMS(prod) // kms:DescribeKey knows aws/rds as AWS managed
	plain, err := dr.NewSource(prod, func(o *dr.SourceOptions) { o.ShareWith, o.KMS = []string{"222222222222"}, keys })
	if err != nil {
		return err
	}
	newest := "rds:orders-db-" + clock.Now().UTC().Format("2006-01-02-15-04")
	if _, err := plain.CopyAutomated(ctx, newest); err != nil {
		say("without a customer-managed key: %v", err)
	} else {
		return fmt.Errorf("a default-key snapshot was copied for sharing")
	}

	src, err := dr.NewSource(prod, func(o *dr.SourceOptions) {
		o.KMSKeyID = "arn:aws:kms:eu-west-1:111111111111:key/dr-shared"
		o.ShareWith = []string{"222222222222"}
		o.Clock = clock
	})
	if err != nil {
		return err
	}
	for day := 3; day >= 1; day-- { // the newest snapshot's event is lost (RDS events are best effort)
		id := "rds:orders-db-" + clock.Now().Add(-time.Duration(day)*24*time.Hour).UTC().Format("2006-01-02-15-04")
		sum, err := src.CopyAutomated(ctx, id)
		if err != nil {
			return err
		}
		say("RDS event for %s -> copied to %s (re-encrypted with the customer-managed key)", id, sum.Copied[0].ID)
	}
	say("the event for %s never arrives", newest)
	swept, err := src.Scheduled(ctx, dr.Retention{Keep: 7})
	if err != nil {
		return err
	}
	for _, c := range swept.Copied {
		say("scheduled reconcile sweep: %s, %s", c.ID, c.Reason)
	}
	again, err := src.CopyAutomated(ctx, newest)
	if err != nil {
		return err
	}
	say("the lost event delivered late after all: %s", again.Skipped[0].Reason)

	ledger := prod.AddAutomatedCluster("ledger", clock.Now(), prod.DefaultKey)
	aurora, err := src.CopyEvent(ctx, dr.SnapshotEvent{SnapshotID: ledger, Cluster: true})
	if err != nil {
		return err
	}
	say("Aurora: RDS-EVENT-0169 for cluster snapshot %s -> copied to %s with CopyDBClusterSnapshot", ledger, aurora.Copied[0].ID)

	clock.Advance(15 * time.Minute)
	shared, err := src.ShareAvailable(ctx)
	if err != nil {
		return err
	}
	say("scheduled share run (RDS has no 'copy finished' event): shared %d with the recovery account (DB and cluster snapshots)", len(shared.Shared))

	rec, err := dr.NewRecovery(recoveryShared, recoveryLocal, dr.Origin{Accounts: []string{"111111111111"}, Region: "eu-west-1"}, func(o *dr.RecoveryOptions) {
		o.KMSKeyID = "arn:aws:kms:eu-central-1:222222222222:key/recovery"
		o.MaxCopies = 3
		o.Clock = clock
	})
	if err != nil {
		return err
	}
	sum, err := rec.CopyShared(ctx)
	if err != nil {
		return err
	}
	say("recovery run 1: copied %d into eu-central-1, %d waiting (at most 3 copies in progress)", len(sum.Copied), len(sum.Skipped))
	clock.Advance(15 * time.Minute)
	sum, err = rec.CopyShared(ctx)
	if err != nil {
		return err
	}
	say("recovery run 2: copied %d more; %d skipped as already copied", len(sum.Copied), len(sum.Skipped))
	say("in eu-central-1 now: DB snapshots %d, Aurora cluster snapshots %d", len(recoveryLocal.IDs()), len(recoveryLocal.ClusterIDs()))

	trimmed, err := src.Retain(ctx, dr.Retention{Keep: 2})
	if err != nil {
		return err
	}
	say("retention (keep 2) in production deleted %d of our copies; automated snapshots and anything untagged untouched", len(trimmed.Deleted))

	// A restore that can never succeed: the wait ends at once, and the instance is deleted.
	prod.RestoreOutcome = "incompatible-restore"
	v, err := restore.NewVerifier(prod, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"},
		dr.Database{Driver: "pgx", DSN: func(string, int32) string { return "" }}, func(o *dr.VerifyOptions) { o.Clock = clock })
	if err != nil {
		return err
	}
	start := clock.Now()
	rep, err := v.Verify(ctx)
	if !errors.Is(err, dr.ErrRestoreFailed) {
		return fmt.Errorf("want a failed restore, got %v", err)
	}
	say("verify when RDS ends in a terminal state: %s after %s (not the 1 h timeout); cleanup: %s; instances left: %d",
		dr.ErrorType(err), clock.Now().Sub(start), rep.Cleanup, len(prod.Instances()))
	prod.RestoreOutcome = "available"

	// Aurora: the cluster snapshot restores into a temporary cluster plus one instance, and
	// cleanup deletes the instance, then the cluster (here as the state machine runs it).
	auroraV, err := restore.NewVerifier(prod, dr.VerifyTarget{SourceCluster: "ledger", InstanceClass: "db.r6g.large"},
		dr.Database{Driver: "pgx", DSN: func(string, int32) string { return "" }}, func(o *dr.VerifyOptions) { o.Clock = clock })
	if err != nil {
		return err
	}
	st, err := auroraV.Step(ctx, "start", "tour-aurora", dr.VerifyState{})
	if err != nil {
		return err
	}
	say("Aurora verify, step start: %s", st.Report.Steps[0].Detail)
	clock.Advance(25 * time.Minute)
	if st, err = auroraV.Step(ctx, "ready", "tour-aurora", st); err != nil {
		return err
	}
	say("Aurora verify, step ready: cluster and instance available at %s:%d", st.Host, st.Port)
	if st, err = auroraV.Step(ctx, "cleanup", "tour-aurora", st); err != nil {
		return err
	}
	say("Aurora verify, step cleanup: %s; clusters left: %d", st.Report.Cleanup, len(prod.Clusters()))
	if err := tourRehearsal(ctx, say, recoveryLocal); err != nil {
		return err
	}
	return tourVerify(ctx, say, prod)
}

// tourRehearsal rehearses the failover in the recovery region: the newest DR copy restored
// under a temporary name, a temporary CNAME, the checks, the recovery point and time, and
// everything deleted. The checks pass only with a database (SHIPSHAPE_PG_DSN).
func tourRehearsal(ctx context.Context, say func(string, ...any), recovery *drtest.RDS) error {
	dns := drtest.NewRoute53(recovery.Clock())
	dns.AddZone("Z0RECOVERY", "internal.example.com")
	dsn := os.Getenv("SHIPSHAPE_PG_DSN")
	db := dr.Database{Driver: "pgx", DSN: func(string, int32) string { return dsn }}
	if dsn == "" {
		db.DSN = func(string, int32) string { return "postgres://nobody@127.0.0.1:1/none?connect_timeout=1" }
	} else if u, err := url.Parse(dsn); err == nil {
		host, portText, _ := net.SplitHostPort(u.Host)
		port, _ := strconv.Atoi(portText)
		recovery.Endpoint = func(string) (string, int32) { return host, int32(port) }
		defer func() { recovery.Endpoint = nil }()
	}
	r, err := failover.NewRestorer(recovery, failover.FailoverTarget{SourceInstance: "orders-db", TargetID: "shipshape-orders-db", InstanceClass: "db.r6g.large"}, func(o *failover.FailoverOptions) {
		o.Clock, o.Route53 = recovery.Clock(), dns
		o.DNS = &failover.DNSRecord{ZoneID: "Z0RECOVERY", Name: "orders-db.internal.example.com"}
	})
	if err != nil {
		return err
	}
	rep, err := r.Rehearse(ctx, db, dr.Checks{})
	if err != nil {
		return err
	}
	say("failover rehearsal in eu-central-1: restored %s as %s, record %s", rep.Snapshot, rep.Target, rep.Record)
	checks := fmt.Sprintf("checks ok=%v", rep.OK)
	if dsn == "" {
		checks = "checks not run: no database is running (SHIPSHAPE_PG_DSN is unset); start one with the tour: scripts/testbed run --only pg -- make demo"
	}
	say("  recovery point %s (the data is %s old), recovery time %s (restore and DNS); %s",
		rep.RecoveryPoint.UTC().Format(time.RFC3339), rep.DataLoss, rep.RecoveryTime, checks)
	say("  cleanup: %s; instances left: %d, records left: %v", rep.Cleanup, len(recovery.Instances()), dns.Names("Z0RECOVERY"))
	return nil
}

// tourVerify runs a verification when a PostgreSQL DSN is in SHIPSHAPE_PG_DSN (as under
// `scripts/testbed run -- make demo`): the fake restore answers on that database.
func tourVerify(ctx context.Context, say func(string, ...any), prod *drtest.RDS) error {
	dsn := os.Getenv("SHIPSHAPE_PG_DSN")
	if dsn == "" {
		say("verify (restore, SQL checks, always delete) needs a database, and none is running: start one with the tour: scripts/testbed run --only pg -- make demo")
		return nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	host, portText, err := net.SplitHostPort(u.Host)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return err
	}
	prod.Endpoint = func(string) (string, int32) { return host, int32(port) }
	v, err := restore.NewVerifier(prod, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"},
		dr.Database{Driver: "pgx", DSN: func(string, int32) string { return dsn }}, func(o *dr.VerifyOptions) {
			o.Checks = dr.Checks{ServerVersionPrefix: "15.", Queries: []dr.QueryCheck{{Name: "arithmetic", SQL: "SELECT 6*7", Want: "42"}}}
			o.Clock, o.Poll = prod.Clock(), 5*time.Minute
			o.Progress = func(line string) { say("  verify: %s", line) }
		})
	if err != nil {
		return err
	}
	rep, err := v.Verify(ctx)
	if err != nil {
		return err
	}
	say("verify report: ok=%v, %d steps, cleanup: %s", rep.OK, len(rep.Steps), rep.Cleanup)
	return tourSanitize(ctx, say, prod, u)
}

// tourSanitize makes a sanitized copy from a scratch database of its own (the fake restore
// answers on it), then drops it.
func tourSanitize(ctx context.Context, say func(string, ...any), prod *drtest.RDS, u *url.URL) error {
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		return err
	}
	defer admin.Close()
	name := fmt.Sprintf("tour_sanitize_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return err
	}
	defer func() {
		_, _ = admin.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}()
	scratch := *u
	scratch.Path = "/" + name
	db, err := sql.Open("pgx", scratch.String())
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE customers (id serial PRIMARY KEY, email text); INSERT INTO customers (email) VALUES ('ada@real.example'), ('alan@real.example')`); err != nil {
		return err
	}
	s, err := restore.NewSanitizer(prod, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"},
		dr.Database{Driver: "pgx", DSN: func(string, int32) string { return scratch.String() }},
		restore.SanitizeOptions{Statements: []string{`UPDATE customers SET email = 'user' || id || '@example.com'`},
			KMSKeyID: "arn:aws:kms:eu-west-1:111111111111:key/dev-shared", ShareWith: []string{"444444444444"}},
		func(o *dr.VerifyOptions) { o.Clock = prod.Clock() })
	if err != nil {
		return err
	}
	id, rep, err := s.Sanitize(ctx)
	if err != nil {
		return err
	}
	var emails string
	if err := db.QueryRowContext(ctx, `SELECT string_agg(email, ', ' ORDER BY id) FROM customers`).Scan(&emails); err != nil {
		return err
	}
	say("sanitized copy %s (emails now: %s), re-encrypted with %s, shared with %v; cleanup: %s",
		id, emails, prod.KMSKey(id), prod.SharedWith(id), rep.Cleanup)
	return nil
}
