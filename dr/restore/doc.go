// Package restore restores DR snapshots (the copies package dr makes) to prove them, and to
// make sanitized copies for development accounts. It was part of package dr; dr keeps the
// snapshot side and the vocabulary both sides use (dr.VerifyTarget, dr.VerifyOptions,
// dr.Database, dr.Checks, dr.VerifyState, dr.Report, the errors and the tags).
//
// Verifier restores the newest DR snapshot of a DB instance (or of an Aurora cluster, into a
// temporary cluster plus one instance), waits with progress, bounded by Timeout and ended at
// once by a terminal state such as incompatible-restore, runs SQL checks through
// database/sql with the caller's driver and credentials (SecretCredentials reads them from
// Secrets Manager), writes a JSON report, and ALWAYS deletes what it made. It also runs as
// steps (Start, Ready, Check, Cleanup, or Step by name) for Step Functions: the temporary
// names derive from the execution name (TemporaryInstanceID), so that Cleanup finds them
// even when a step's answer was lost, and nothing another run made is used or deleted.
//
// Sanitizer makes a sanitized copy (restore, the statements, snapshot, re-encrypt, share,
// tag, always delete what is temporary; as steps, each statement exactly once, also when a
// step is delivered twice at once, and nothing snapshotted or shared before every statement
// ran). Reporter writes reports to S3, never overwriting one, and notifies SNS once per run
// when one failed. StepRunner runs the state machines' steps (examples/dr-steps,
// examples/dr-sanitize) for several regions, from a StepSettings the binaries read from their
// environment (examples/internal/drstep).
//
// Package failover (dr/failover) is the failover and its rehearsal, over the same restore
// engine.
//
// # Usage
//
//	v, err := restore.NewVerifierFromConfig(cfg, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"},
//		dr.Database{Driver: "pgx", DSN: dsn}, func(o *dr.VerifyOptions) { o.Checks = checks })
//	report, err := v.Verify(ctx) // restore, wait, check, clean up
//
//	rep, err := restore.NewReporterFromConfig(cfg, func(o *restore.ReporterOptions) { o.Bucket = "dr-reports" })
//	where, err := rep.Deliver(ctx, report)
//
// Each type takes the narrow interface of the calls it makes (VerifierAPI, SanitizerAPI,
// S3API, SNSAPI, SecretsManagerAPI); the SDK clients satisfy them. Every RDS call goes
// through the SDK's standard retryer, VerifyOptions.MaxAttempts times at most (default 5);
// waits poll on VerifyOptions.Clock.
//
// # Concurrency
//
// Verifier, Sanitizer, Reporter and StepRunner are safe for concurrent use.
//
// # Errors
//
// Errors read "dr: ..." and wrap package dr's sentinels (dr.ErrNotReady, dr.ErrTimedOut,
// dr.ErrRestoreFailed with *dr.RestoreFailedError, dr.ErrNoSnapshot, dr.ErrForeignResource,
// dr.ErrAmbiguousSource with *dr.AmbiguousSourceError, dr.ErrNeedsCustomerKey,
// dr.ErrInvalidInput); dr.ErrorType names them for a state machine. This package adds
// ErrReportExists (*ReportExistsError names the key). The SDK's modeled errors stay reachable
// with errors.As.
//
// # Testing
//
// Package dr/drtest has the stateful fakes (drtest.RDS satisfies VerifierAPI and
// SanitizerAPI; drtest.S3, drtest.SNS, drtest.KMS) and wire servers for the real SDK clients;
// example_test.go runs a verification against them.
package restore
