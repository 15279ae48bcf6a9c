// Package s3diff diffs the versions of one S3 object and keeps only its newest N versions,
// without the bugs of the well-known Lambda sample: versions are those of the exact key
// (never a sibling that merely shares the prefix), in the order S3 returns them rather than
// by LastModified (which ties within a second), across any number of pages, and the latest
// version is never deleted.
//
// # Usage
//
//	c, err := s3diff.NewFromConfig(cfg) // an error only for options that can't work
//	r, err := c.Diff(ctx, "bucket", "configs/app.yaml") // newest version vs the one before
//	fmt.Print(r.Unified())                              // applies with GNU patch
//	res, err := c.Retain(ctx, "bucket", "configs/app.yaml", 10)
//
// In a Lambda function on s3:ObjectCreated (or EventBridge "Object Created"), use a Handler:
// it diffs the version named in the event against its predecessor (so uploads that land
// before the event is processed, and redelivered events, change nothing) and then applies
// retention. Keys in events are URL-encoded by S3 ('+' is a space); ParseEvent decodes them.
//
// Diffs come as a unified diff (Unified, WriteUnified), a word diff (WordDiff), a JSON
// structural diff for .json objects (JSONChanges), and counts and hunks for code. Binary
// content (NUL bytes or invalid UTF-8) gives StatusBinary with sizes and ETags, a version
// over Options.MaxObjectBytes (64 MiB) StatusTooLarge without being downloaded, identical
// content StatusNoChanges. DiffOptions.FromFile and ToFile replace a side with a local file
// (diff a version against a file before uploading it); DiffFiles diffs two local files
// without S3.
//
// # Diffs
//
// The line and word diffs are package textdiff's (which knows nothing of S3); this package
// reads the two versions (each once, into one buffer, refusing more than
// Options.MaxObjectBytes), decides text or binary, and names the versions in the headers.
// A diff is a function of the two versions and Options.DiffBudget alone: no clock is read.
// Past the budget the stretches not yet diffed come out as whole replacements: the diff is
// coarser but correct and applies, Result.Approximate is set and Result.Notes says how many
// lines it covers. WordDiff has a budget per hunk (Options.WordDiffBudget per changed word).
// Why this design, and its figures against GNU diff: textdiff's doc and docs/PERFORMANCE.md.
//
// Retention plans from one listing and deletes by explicit version id in DeleteObjects
// batches of at most 1000, so a version uploaded meanwhile is never deleted. It never sends
// a delete without a version id (on a versioned bucket that adds a delete marker and hides
// the object): a listing entry without one stops it before any deletion, and a per-key error
// without one is reported, never retried. A version counts as deleted only when S3 lists it
// under Deleted, by an answer that cannot have created a delete marker (another marker id
// than the one deleted, or DeleteMarker set for an object version, means the object may now
// be hidden: that answer stops the run). A call whose answer was lost (cancelled in flight,
// retries used up) is settled by listing the key again before the run returns, so the result
// is what a fresh listing shows. It keeps the
// newest N object versions plus the latest entry (a delete marker that hides the object is
// kept, since deleting it would bring the object back), and deletes older versions and all
// other delete markers. Keep below 1 is ErrInvalidKeep, never "delete everything".
//
// S3 returns delete markers in a list of their own; Versions merges them in by LastModified
// (second resolution), so a marker's place among versions of the same second is a best
// guess. The order of object versions, which is what diffs and retention use, is S3's own.
//
// # Concurrency
//
// Client and Handler are safe for concurrent use, and so is a Result once Diff has returned
// it (its methods only read it). Retain is safe against concurrent uploads;
// two Retain calls on the same key at once may both try to delete the same versions, which
// S3 treats as success.
//
// # A whole prefix
//
// RetainPrefix applies retention to every key under a prefix in one ListObjectVersions pass:
// each key is planned as soon as the listing has moved past it, with the rules of Retain,
// and the deletions of many keys share DeleteObjects batches, so a pass costs ceil(V/1000)
// listings and ceil(D/1000) deletions, in memory that does not grow with the number of keys.
// An interrupted pass settles the calls it had in flight, reports every version that is gone
// (OnDelete) and says where to resume (PrefixRetainResult.StartAfter). Changes lists the
// keys changed after a time in the same kind of pass, and DiffChange diffs each one
// (WriteGitDiff writes git's headers). For more than one machine can do, Handler.HandleBatch
// answers S3 Batch Operations (one task per key of an inventory report), and LifecycleRule
// writes the lifecycle configuration that has S3 expire old versions itself. The user guide
// is docs/s3diff.md.
//
// # Errors
//
// A version too large to diff, or binary, is a Result (StatusTooLarge, StatusBinary), not an
// error. Sentinels: ErrInvalidKeep, ErrInvalidInput, ErrMalformedResponse, ErrNoVersions,
// ErrNoPredecessor, ErrVersionNotFound, ErrDeleteFailed (RetainResult.Failed lists the
// versions, with S3's code and message, or NotConfirmed, DeleteMarkerCreated, Stopped,
// OutcomeUnknown). Every listing is checked as it comes (listing.go): entries with a key and
// a version id, keys once each and ascending, exactly one latest entry per key, markers that
// never come back; anything else is ErrMalformedResponse before the key is acted on. A delete
// answer that can't be trusted is both ErrDeleteFailed and ErrMalformedResponse. Whole S3
// calls are retried by the AWS SDK's retryer alone (Options.MaxAttempts, 3); per-version
// DeleteObjects errors that name their version and are retryable (SlowDown, InternalError)
// are tried again up to Options.DeleteAttempts times. S3 API errors are wrapped with %w, so
// smithy.APIError stays reachable with errors.As. Errors name the package once, first.
//
// # Testing
//
// Package s3difftest is an in-memory versioned S3 implementing S3API with S3's ordering,
// pagination, delete markers, per-key DeleteObjects errors and fault injection, and a
// WireServer that serves it in S3's REST/XML protocol to a real SDK client. The package's
// behaviour suite runs against the fake, through the wire server, and against Versity S3
// Gateway (scripts/testbed). The diff engine's property and fuzz tests are textdiff's.
package s3diff
