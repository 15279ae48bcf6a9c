// Package snaps is what the dr packages share below their public API: a snapshot of either
// kind as they all see it (Snap, ordered by Newer), the RDS calls on snapshots with the
// package's retryer (Calls), the classification of RDS's modeled faults, and the defaults of
// every type's options. Package dr (the snapshot side), dr/restore and dr/failover use it; it
// imports none of them.
package snaps
