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
// Diffs run go-diff in line mode (never character mode on whole files) with a deadline
// (Options.DiffTimeout), and come as a unified diff, a word diff, a JSON structural diff for
// .json objects, and counts and hunks for code. Binary content (NUL bytes or invalid UTF-8)
// gives StatusBinary with sizes and ETags, a version over Options.MaxObjectBytes (10 MiB)
// StatusTooLarge without being downloaded, identical content StatusNoChanges.
//
// Retention plans from one listing and deletes by explicit version id in DeleteObjects
// batches of at most 1000, so a version uploaded meanwhile is never deleted. It never sends
// a delete without a version id (on a versioned bucket that adds a delete marker and hides
// the object): a listing entry without one stops it before any deletion, and a per-key error
// without one is reported, never retried. A version counts as deleted only when S3 lists it
// under Deleted. It keeps the
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
// Client and Handler are safe for concurrent use. Retain is safe against concurrent uploads;
// two Retain calls on the same key at once may both try to delete the same versions, which
// S3 treats as success.
//
// # Errors
//
// Sentinels: ErrInvalidKeep, ErrInvalidInput, ErrMalformedResponse, ErrNoVersions,
// ErrNoPredecessor, ErrVersionNotFound, ErrDeleteFailed (RetainResult.Failed lists the
// versions, with S3's code and message, or NotConfirmed / DeleteMarkerCreated). Whole S3
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
// Gateway (scripts/testbed).
package s3diff
