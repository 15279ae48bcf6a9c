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
// The line diff is this package's own, and its output is a function of the two versions
// (and Options.DiffBudget) alone: no clock is read, so the same versions give the same diff
// on a laptop and on a loaded Lambda. Each version is read once into one buffer; lines are
// slices of it, interned as integer ids by hashing (ids in order of first appearance, so the
// hash seed never shows), so the number of distinct lines is unbounded. Then:
//
//   - Equal lines at both ends are set aside, and lines whose text does not occur in the
//     other version at all are marked changed at once (GNU diff does the same); at high
//     change ratios that leaves little to do.
//   - Patience anchoring, as git's patience diff: lines that occur exactly once in each
//     version anchor the diff; the longest run of anchors in the same order on both sides
//     (longest increasing subsequence, O(n log n)) is matched, and each gap between anchors
//     is diffed on its own, anchored again on what is unique inside it. A gap without
//     anchors drops the lines that have no counterpart inside the gap.
//   - What is left (small gaps, or stretches of repeated lines such as blank lines and
//     braces) goes to Myers' O(ND) algorithm in its linear-space form, with GNU diff's
//     heuristic for expensive stretches: a middle-snake search that runs past 4096 rounds
//     splits at the point that got furthest.
//
// Why this and not plain Myers (GNU diff) or go-diff: Myers costs O(N·D), so a moved or
// reordered block makes it slow (GNU diff -u needs 2.4 s for a 10 MB file with one block
// moved, 5.7 s when its paragraphs are reordered, 60 s at 100 MB) or, with its heuristic,
// coarse (the moved block comes out as nearly 8 times the lines it needs). Anchoring on
// unique lines finds moved and reordered blocks in O(n log n) and leaves Myers only small
// gaps, so the cost stays near linear at every change ratio. On the benchmark's text the
// diffs have the same number of changed lines as GNU's to within 1.5%, and far fewer for
// a moved block; docs/PERFORMANCE.md has the figures.
//
// Work is counted in steps (about one line comparison each). Past Options.DiffBudget
// (default 50,000,000 plus 200 a line), the stretches not yet diffed come out as whole
// replacements: the diff is coarser but correct and applies, Result.Approximate is set and
// Result.Notes says how many lines it covers. The benchmark's inputs, reordered paragraphs
// included, take 5 to 25 steps a line; it takes input built to defeat the diff (long runs
// of a few repeated lines, shuffled) to reach the budget.
//
// The word diff works inside the changed lines of each hunk only, with a budget per hunk
// (Options.WordDiffBudget steps per changed word, at most 1,048,576 words); a hunk over it
// is shown as its line diff after a note line, so WordDiff is bounded in time and memory.
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
// Gateway (scripts/testbed). The diff engine has property and fuzz tests: random and
// pathological pairs (all lines equal, all distinct, few distinct lines, one huge line, CRLF,
// no final newline) under budgets from unlimited down to 1 give diffs that GNU patch and an
// in-process applier apply exactly, the same every time; small inputs are checked for a
// minimal diff.
package s3diff
