// Package restoring is the restore engine that dr/restore and dr/failover both drive: a
// Verifier that picks the newest DR copy of a database of an account, restores it into an
// instance (or an Aurora cluster and its instance) of one kind of names, waits for it with
// progress, runs the SQL checks, and deletes only what its own run made. restore.Verifier and
// restore.Sanitizer wrap it; failover.Restorer uses it to find, wait for and check its
// restores, and to clean up a rehearsal's. Its exported names are for those two packages only.
//
// # Usage
//
//	v, err := restoring.New(client, target, db, optFns...) // restore.NewVerifier wraps it
//	v.Kind = restoring.Sanitizing                          // the Sanitizer's names and tags
//	report, err := v.Verify(ctx)
//
// # Concurrency
//
// A Verifier is safe for concurrent use once made; its fields are set only before first use.
//
// # Errors
//
// Errors read "dr: ..." and wrap package dr's sentinels (see dr/restore's doc).
//
// # Testing
//
// Through dr/restore's and dr/failover's tests, against dr/drtest.
package restoring
