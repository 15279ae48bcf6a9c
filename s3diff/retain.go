package s3diff

import (
	"context"
	"errors"
	"fmt"
)

// RetainOptions are the optional settings of Retain.
type RetainOptions struct {
	// DryRun returns the plan without deleting anything.
	DryRun bool
}

// DeleteFailure is a version that was planned for deletion and is not known to be deleted:
// S3 refused it (S3's code), or the codes of this package say why (CodeNotConfirmed,
// CodeMarkerCreated, CodeStopped, CodeOutcomeUnknown).
type DeleteFailure struct {
	Version Version
	Code    string
	Message string
	// Reported is, for CodeNotConfirmed, the code of an error S3 reported for the version's
	// key without naming a version id (such errors are never retried), or "".
	Reported string
}

// RetainResult says what Retain kept, deleted (or, in a dry run, would delete) and failed
// to delete, and what it cost.
type RetainResult struct {
	Bucket, Key string
	DryRun      bool
	Kept        []Version
	// Deleted are the versions and delete markers deleted (planned, in a dry run).
	Deleted []Version
	Failed  []DeleteFailure
	// ListPages and DeleteCalls count the requests made.
	ListPages, DeleteCalls int
}

// Retain keeps the newest keep object versions of exactly key and deletes the older ones,
// together with every delete marker that is not the latest entry. The latest entry (a
// version, or a delete marker that hides the object) is never deleted, keep below 1 is an
// error (ErrInvalidKeep), and only versions of the exact key are touched.
//
// The plan comes from one listing and deletes by explicit version id, so a version uploaded
// while Retain runs is never deleted by it. A listed entry without a version id stops Retain
// before any deletion (ErrMalformedResponse): a delete without a version id would add a
// delete marker and hide the object. Deletions go in DeleteObjects batches of at most 1000;
// per-version errors that are retryable (SlowDown, InternalError, ...) and name the version
// are tried again up to Options.DeleteAttempts times; an error that names no version is
// never retried. RetainResult.Deleted holds only the versions S3 listed under Deleted, and
// every other planned version is in RetainResult.Failed, with an error wrapping
// ErrDeleteFailed.
//
// An answer that may have created a delete marker (a marker id other than the one deleted,
// DeleteMarker set for an object version) or lists a deletion that was not asked for is
// never counted as a deletion: it stops Retain at once (DeleteMarkerCreated or NotConfirmed,
// an error wrapping both ErrDeleteFailed and ErrMalformedResponse). When the answer to a
// call is lost (its retries ran out, ctx ended while it was in flight), the key is listed
// again, on a context that outlives ctx briefly (never its deadline), and what is gone counts
// as deleted: the result agrees with what a fresh listing shows. When ctx has a deadline,
// the work stops a little before it (a fifth of the time left, at most 30 s) to leave time
// for that listing.
func (c *Client) Retain(ctx context.Context, bucket, key string, keep int, optFns ...func(*RetainOptions)) (*RetainResult, error) {
	var o RetainOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if keep < 1 {
		return nil, fmt.Errorf("%w: got %d", ErrInvalidKeep, keep)
	}
	ctx, cancel, settleCtx := phases(ctx)
	defer cancel()
	versions, markers, pages, err := c.list(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	res := &RetainResult{Bucket: bucket, Key: key, DryRun: o.DryRun, ListPages: pages}
	res.Kept, res.Deleted = plan(versions, markers, keep)
	for _, v := range res.Deleted {
		// Belt and braces: the listing filter is exact, and the plan is checked again.
		if v.Key != key || v.IsLatest {
			return nil, fmt.Errorf("s3diff: internal error: plan for s3://%s/%s includes %q version %s (latest=%v); nothing deleted", bucket, key, v.Key, v.VersionID, v.IsLatest)
		}
	}
	c.log.Debug("s3diff: retention plan", "bucket", bucket, "key", key, "keep", keep,
		"kept", len(res.Kept), "delete", len(res.Deleted), "dry_run", o.DryRun)
	if o.DryRun || len(res.Deleted) == 0 {
		return res, nil
	}

	what := fmt.Sprintf("deleting old versions of s3://%s/%s", bucket, key)
	run := c.deleteVersions(ctx, bucket, res.Deleted, what)
	res.DeleteCalls += run.calls
	if len(run.unknown) > 0 {
		// The answer was lost: list the key again to learn what is gone.
		sctx, scancel := settleCtx()
		s := c.settle(sctx, bucket, key, "", run.unknown)
		scancel()
		res.ListPages += s.pages
		run.done = append(run.done, s.gone...)
		run.failures = append(run.failures, lostFailures(s, run.lostErr)...)
	}
	run.failures = append(run.failures, stoppedFailures(run.stopped, run.err)...)
	return c.finish(res, run)
}

// finish records what was deleted (confirmed by S3's answer, or by the listing that settled
// a lost answer) and what was not, and builds the error: nil when every planned version is
// gone, even if an answer had to be settled by a listing, and never nil after an answer that
// can't be trusted.
func (c *Client) finish(res *RetainResult, run deleteRun) (*RetainResult, error) {
	planned := len(res.Deleted)
	res.Deleted, res.Failed = run.done, run.failures
	switch {
	case errors.Is(run.err, ErrMalformedResponse): // an untrusted answer, even if every version is accounted for
		return res, run.err
	case len(res.Failed) == 0:
		return res, nil
	case run.err != nil:
		return res, run.err
	}
	f := res.Failed[0]
	return res, fmt.Errorf("%w: %d of %d versions of s3://%s/%s (first: %s %s: %s)", ErrDeleteFailed,
		len(res.Failed), planned, res.Bucket, res.Key, f.Version.VersionID, f.Code, f.Message)
}

// plan splits the listing into what to keep and what to delete.
func plan(versions, markers []Version, keep int) (kept, deleted []Version) {
	var keptVersions, keptMarkers []Version
	for i, v := range versions {
		if i < keep || v.IsLatest {
			keptVersions = append(keptVersions, v)
		} else {
			deleted = append(deleted, v)
		}
	}
	for _, m := range markers {
		if m.IsLatest {
			keptMarkers = append(keptMarkers, m)
		} else {
			deleted = append(deleted, m)
		}
	}
	return merge(keptVersions, keptMarkers), deleted
}
