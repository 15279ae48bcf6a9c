// Package snaps is what the dr packages share below their public API: a snapshot of either
// kind as they all see it (Snap, ordered by Newer), the RDS calls on snapshots with the
// package's retryer (Calls, and functions that each ask only for the group of calls they
// make: Lister, Copier, Sharer, ...), the classification of RDS's modeled faults, the rules
// of identifiers, and the defaults of every type's options. Package dr (the snapshot side),
// dr/restore and dr/failover use it; it imports none of them.
//
// # Usage
//
//	c := snaps.NewCalls[dr.SourceAPI](client, clock, maxAttempts, clientOptions)
//	m, err := snaps.ListManual(ctx, c) // every manual snapshot, DR copies in m.Ours
//
// # Concurrency
//
// Calls is a value with no state of its own: safe for concurrent use when its client is.
//
// # Errors
//
// Errors name the call ("dr: listing manual DB snapshots: ...") and wrap the SDK's; the fault
// classifiers (SnapshotNotFound, InstanceBusy, ...) read them with errors.As.
//
// # Testing
//
// snap_test.go; everything else is exercised through package dr's, dr/restore's and
// dr/failover's tests against dr/drtest.
package snaps
