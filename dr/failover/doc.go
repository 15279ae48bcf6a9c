// Package failover restores a database in the recovery region when the production one is
// lost, and rehearses doing so. It was part of package dr; it uses dr's vocabulary
// (dr.Database, dr.Checks, dr.StepResult, the errors and the tags) and the restore engine it
// shares with dr/restore.
//
// Restorer is the failover: the newest DR copy (package dr's) of FailoverTarget's database
// restored under the identifier the applications use (Plan shows it first, with reads only),
// waited for, tagged, and only then a Route 53 CNAME switched. A rerun attaches only to a
// restore of the same database, adds an Aurora cluster's missing instance, reports what the
// restore holds, and rolls back to the record's value before the first run. Rehearse does it
// all under temporary names (dr.PrefixRehearsal), runs the checks, measures the recovery
// point and the recovery time, and always cleans up. examples/dr-failover is its command
// line; docs/dr.md has the runbook.
//
// # Usage
//
//	r, err := failover.NewRestorerFromConfig(cfg, failover.FailoverTarget{SourceInstance: "orders-db",
//		TargetID: "shipshape-orders-db", InstanceClass: "db.r6g.large"},
//		func(o *failover.FailoverOptions) {
//			o.Route53 = route53.NewFromConfig(cfg)
//			o.DNS = &failover.DNSRecord{ZoneID: "Z123", Name: "orders-db.internal.example.com"}
//		})
//	plan, err := r.Plan(ctx)     // reads only
//	res, err := r.Failover(ctx)  // res.Rollback is the way back
//	rep, err := r.Rehearse(ctx, dr.Database{Driver: "pgx", DSN: dsn}, checks)
//
// A Restorer takes the narrow interfaces of the calls it makes (RestorerAPI, Route53API);
// the SDK clients satisfy them. Every call goes through the SDK's standard retryer,
// FailoverOptions.MaxAttempts times at most (default 5); waits poll on
// FailoverOptions.Clock.
//
// # Concurrency
//
// A Restorer is safe for concurrent use; two failovers to one target are one restore (the
// second attaches to the first's).
//
// # Errors
//
// Errors read "dr: ..." and wrap package dr's sentinels (dr.ErrNoSnapshot,
// dr.ErrForeignResource for a target someone else made, dr.ErrRestoreFailed with
// *dr.RestoreFailedError, dr.ErrTimedOut, dr.ErrAmbiguousSource, dr.ErrInvalidInput before
// any call). The SDK's modeled errors stay reachable with errors.As.
//
// # Testing
//
// Package dr/drtest has the stateful fakes (drtest.RDS satisfies RestorerAPI; drtest.Route53
// holds records and changes that become INSYNC on its clock) and wire servers in RDS's and
// Route 53's protocols for the real SDK clients.
package failover
