// Package dr copies, shares and verifies RDS snapshots across accounts and regions for
// disaster recovery, respecting the rules that make cross-account copies fail in practice:
// automated snapshots can't be shared (they are copied to manual ones first), snapshots under
// the default aws/rds key can't be shared at all (they are re-encrypted with a
// customer-managed key), quotas on manual snapshots, and retention that only ever touches
// the package's own snapshots.
//
// # What it does
//
// The source side (Source.CopyAutomated / CopyAutomatedCluster / CopyEvent, event-driven,
// with ParseEvents for RDS events from SNS or EventBridge; Source.ShareAvailable, scheduled,
// since RDS emits no event when a copy completes; Source.Retain) and the recovery side
// (Recovery.CopyShared into the recovery region with bounded copies in progress;
// Recovery.Retain) handle DB snapshots and Aurora DB cluster snapshots alike: each run
// lists both kinds and uses the matching calls (CopyDBClusterSnapshot,
// ModifyDBClusterSnapshotAttribute, ...). Summaries name cluster snapshots "cluster:<id>",
// and retention groups per source instance or cluster. Source.Scheduled and
// Recovery.Scheduled are the periodic runs (share or copy, then retention) over one listing.
// The recovery side never copies again a shared snapshot older than the newest copy of its
// database (retention trimmed it), so different retention on the two sides can't start a
// copy-and-trim loop.
//
// Verify (Verifier: restore the newest DR DB snapshot into a private temporary instance,
// wait with progress, run SQL checks through database/sql with the caller's driver, a JSON
// report, and ALWAYS delete the instance; also as steps Start, Ready (ErrNotReady while RDS
// is busy), Check and Cleanup for Step Functions), and Sanitize (restore, run the caller's
// statements in one transaction, snapshot, re-encrypt with a shareable key, share, and
// ALWAYS delete the instance and the intermediate snapshot) work on DB instance snapshots;
// restoring an Aurora cluster snapshot (a cluster plus an instance) is not covered.
//
// Binaries: examples/dr-source and examples/dr-recovery (the Lambdas of the pipeline, with
// SAM templates), examples/dr-verify (CLI) and examples/dr-steps (the Lambda behind a Step
// Functions state machine whose every failure path reaches cleanup).
//
// # Usage
//
//	src, err := dr.NewSource(rds.NewFromConfig(cfg), func(o *dr.SourceOptions) {
//		o.KMSKeyID = "arn:aws:kms:eu-west-1:111111111111:key/..." // customer-managed
//		o.ShareWith = []string{"222222222222"}                     // the recovery account
//	})
//	sum, err := src.CopyAutomated(ctx, "rds:orders-db-2026-11-23-03-00") // on the RDS event
//	sum, err = src.ShareAvailable(ctx)                                   // every few minutes
//	sum, err = src.Retain(ctx, dr.Retention{Keep: 7})                    // daily
//
// Copies get a deterministic id (CopyID: instance, snapshot time, "-dr") and the tags
// shipshape:dr=true and shipshape:source=<source ARN>, so every operation can be repeated
// after a crash half way: an existing copy counts as done, sharing reads the restore
// attribute first, retention deletes only tagged snapshots and always keeps the newest
// available one of each instance or cluster. Each call returns a Summary of what it copied, shared,
// deleted and skipped, with reasons.
//
// # Errors
//
// ErrNotReady (RDS still busy: try again), ErrNeedsCustomerKey, ErrQuota, ErrInvalidInput;
// the SDK's modeled errors stay reachable with errors.As.
//
// # Concurrency
//
// A Source is safe for concurrent use.
//
// # Testing
//
// Package drtest is a stateful fake of the RDS snapshot calls (DB and DB cluster
// snapshots), for one account and region or a World of several, with copies that take fake time, the default-key sharing rule, quotas,
// the cross-region copy limit and faults.
package dr
