// Package dr copies, shares and verifies RDS snapshots across accounts and regions for
// disaster recovery, respecting the rules that make cross-account copies fail in practice:
// automated snapshots can't be shared (they are copied to manual ones first), snapshots under
// the AWS managed aws/rds key can't be shared at all (kms:DescribeKey tells; they are
// re-encrypted with a customer managed key), quotas on manual snapshots (checked before they
// bite, with a warning at 80 %), and retention that only ever touches the package's own
// snapshots.
//
// # What it does
//
// The source side (Source.CopyAutomated / CopyAutomatedCluster / CopyEvent, event-driven,
// with ParseEvents for RDS events from SNS or EventBridge; Source.Scheduled, the periodic
// reconcile sweep: RDS events are best effort, so every automated snapshot of a protected
// database that is newer than its newest DR copy and has none is copied, then finished copies
// are shared, since RDS emits no event when a copy completes, and Retention applied) and the
// recovery side (Recovery.CopyShared into the recovery region with bounded copies in
// progress, in one step or, where RDS refuses that, in two hops through a staging copy in the
// source region; Recovery.Scheduled with retention, reporting each database's recovery point
// and, with RecoveryOptions.Metrics, its age as a CloudWatch metric) handle DB snapshots and Aurora DB cluster
// snapshots alike. Summaries name cluster snapshots "cluster:<id>", and retention groups per
// source database: an instance or cluster of one source account (the account is read from the
// copy's shipshape:source ARN, so two production accounts' orders-db are two databases).
//
// "Newest" means the newest data everywhere: OriginalSnapshotCreateTime, which a copy keeps
// (RDS resets SnapshotCreateTime on every copy). Neither side copies a snapshot older than
// the newest copy of its database (retention trimmed it), so different retention on the two
// sides can't start a copy-and-trim loop.
//
// The restores live in their own packages, over the snapshots this package makes:
// dr/restore (Verifier, Sanitizer, Reporter, StepRunner: prove a DR copy by restoring and
// checking it, make sanitized copies for development accounts, deliver the reports) and
// dr/failover (Restorer: the failover itself and its rehearsal). This package keeps the
// vocabulary they share: VerifyTarget, VerifyOptions, Database, Checks, VerifyState, Report
// and StepResult, the errors, the tags and the names. The settings of the binaries (DR_
// variables, check flags) are read beside them, in examples/internal/drstep and
// examples/internal/drcli.
//
// Binaries: examples/dr-source and examples/dr-recovery (the Lambdas of the pipeline, with
// SAM templates), examples/dr-verify, examples/dr-sanitize and examples/dr-failover (CLIs;
// dr-sanitize is also the Lambda of its state machine) and examples/dr-steps (the Lambda
// behind the verification state machines). docs/dr.md is the operator's guide and runbook.
//
// # Usage
//
//	src, err := dr.NewSourceFromConfig(cfg, func(o *dr.SourceOptions) {
//		o.KMSKeyID = "arn:aws:kms:eu-west-1:111111111111:key/..." // customer managed
//		o.ShareWith = []string{"222222222222"}                     // the recovery account
//	})
//	sum, err := src.CopyAutomated(ctx, "rds:orders-db-2026-11-23-03-00") // on the RDS event
//	sum, err = src.Scheduled(ctx, dr.Retention{Keep: 7})                  // every 15 minutes
//
//	rec, err := dr.NewRecoveryFromConfig(cfg, dr.Origin{Accounts: []string{"111111111111"}, Region: "eu-west-1"},
//		func(o *dr.RecoveryOptions) { o.KMSKeyID = "arn:aws:kms:eu-central-1:222222222222:key/..." })
//	sum, err = rec.Scheduled(ctx, dr.Retention{Keep: 7})
//
// Copies get a deterministic id (CopyID: "shipshape-dr-", instance, snapshot time; on the
// recovery side with several source accounts, "-<account>" after it) and the tags
// shipshape:dr=true, shipshape:source=<source ARN> and shipshape:source-account, so every
// operation can be repeated after a crash half way:
// an existing copy counts as done, sharing reads the restore attribute first, retention
// deletes only tagged snapshots and always keeps the newest available one of each source
// database (Retention.Keep counts copies still in progress).
// A snapshot that carries a copy's id but not the tag is never touched and is reported.
//
// Everything the package creates, tags, shares or deletes in RDS is named with NamePrefix,
// one prefix per kind, each kind one function's (Kinds: PrefixCopy, PrefixVerify for the
// Verifier's temporary instances, PrefixSanitize for the Sanitizer's, PrefixSanitized,
// PrefixRehearsal; a failover's target must start with NamePrefix and with none of them):
// RDS has no IAM condition key that names the call that created a resource, so the templates
// limit those actions by name, and no two functions may reach the same names. Copies named
// before the prefix are still restored, but never tagged, shared or deleted (Owned). An
// identifier given as input must be in lower case, as RDS stores it (ValidInputIdentifier).
//
// A source database is a name of an account: two source accounts may each have an
// orders-db. dr/restore's Verifier and Sanitizer and dr/failover's Restorer restore the newest copy of
// VerifyTarget.SourceAccount's (FailoverTarget.SourceAccount's) database, and refuse a name
// with copies from several accounts when none is given (*AmbiguousSourceError), before any
// change.
//
// Each
// call returns a Summary of what it copied, shared, deleted and skipped, with reasons, and
// warnings.
//
// Every RDS and KMS call goes through the SDK's standard retryer, MaxAttempts times at most
// (default 5); nothing else retries a call. Waits for RDS state poll on Options.Clock.
//
// # Errors
//
// Every error reads "dr: ..." (the package named once). Sentinels: ErrNotReady (RDS still
// busy: try again), ErrTimedOut, ErrRestoreFailed (*RestoreFailedError names the terminal
// state), ErrNeedsCustomerKey (names the key and why), ErrQuota (names the quota and the
// retention setting that frees room), ErrNoSnapshot, ErrForeignResource, ErrAmbiguousSource
// (*AmbiguousSourceError names the accounts), ErrInvalidInput;
// ErrorType turns them into names a state machine routes on. dr/restore and dr/failover wrap
// the same sentinels (restore.ErrReportExists is dr/restore's own). The SDK's modeled errors
// stay reachable with errors.As.
//
// # Concurrency
//
// Source and Recovery are safe for concurrent use (and so are dr/restore's and dr/failover's
// types).
//
// # Testing
//
// Package drtest is a stateful fake of the RDS calls (DB and DB cluster snapshots, restores
// of instances and Aurora clusters that become available or stop in a terminal state,
// quotas, answers lost after the call worked, refused single-step copies), for one account
// and region or a World of several, fakes of KMS DescribeKey, SNS Publish and Route 53 records,
// and wire servers in RDS's query/XML, SNS's query and Route 53's REST-XML protocols for the
// real SDK clients. They run on a clock/clocktest clock, the same one the code under test uses.
package dr
