package s3diff

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shipshape-dev/shipshape/internal/awserr"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// maxDeleteBatch is DeleteObjects' limit of keys per call.
const maxDeleteBatch = 1000

// RetainOptions are the optional settings of Retain.
type RetainOptions struct {
	// DryRun returns the plan without deleting anything.
	DryRun bool
}

// DeleteFailure is a version S3 refused to delete.
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
func (c *Client) Retain(ctx context.Context, bucket, key string, keep int, optFns ...func(*RetainOptions)) (*RetainResult, error) {
	var o RetainOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if keep < 1 {
		return nil, fmt.Errorf("%w: got %d", ErrInvalidKeep, keep)
	}
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
	done, failures, calls, err := c.deleteVersions(ctx, bucket, res.Deleted, what)
	res.DeleteCalls += calls
	return c.finish(res, done, failures, err)
}

// deleteVersions deletes versions by their explicit version ids, in DeleteObjects batches of
// at most 1000, trying per-version errors that name their version and are retryable again
// (up to Options.DeleteAttempts in all, waiting Options.RetryWait on the clock). It returns
// the versions S3 confirmed under Deleted, the final failures (including every version not
// tried when a whole call failed or ctx ended), the calls made, and the error that stopped
// it, if any (wrapped with what).
func (c *Client) deleteVersions(ctx context.Context, bucket string, versions []Version, what string) (done []Version, failures []DeleteFailure, calls int, err error) {
	pending := versions
	for attempt := 1; len(pending) > 0; attempt++ {
		var retry []Version
		for start := 0; start < len(pending); start += maxDeleteBatch {
			batch := pending[start:min(start+maxDeleteBatch, len(pending))]
			if err := ctx.Err(); err != nil { // no call on a context that has ended
				notDone := append(append([]Version(nil), retry...), pending[start:]...)
				failures = append(failures, failuresOf(notDone, "", "not sent: "+err.Error())...)
				return done, failures, calls, errtext.Wrap("s3diff", what, err)
			}
			out, err := c.deleteBatch(ctx, bucket, batch)
			calls++
			if err != nil {
				// The SDK's retryer has retried the call already. This batch and the ones
				// after it were not deleted; say so and stop.
				notDone := append(append([]Version(nil), retry...), pending[start:]...)
				failures = append(failures, failuresOf(notDone, awserr.Code(err), err.Error())...)
				return done, failures, calls, errtext.Wrap("s3diff", what, err)
			}
			done = append(done, out.deleted...)
			failures = append(failures, out.failed...)
			for _, f := range out.retryable {
				if attempt < c.opts.DeleteAttempts {
					retry = append(retry, f.Version)
				} else {
					failures = append(failures, f)
				}
			}
		}
		if len(retry) == 0 {
			break
		}
		wait := c.opts.RetryWait(attempt)
		c.log.Warn("s3diff: retrying deletions", "bucket", bucket, "versions", len(retry), "attempt", attempt+1, "wait", wait)
		if err := c.opts.Clock.Sleep(ctx, wait); err != nil {
			failures = append(failures, failuresOf(retry, "Canceled", err.Error())...)
			return done, failures, calls, errtext.Wrap("s3diff", what, err)
		}
		pending = retry
	}
	return done, failures, calls, nil
}

// finish records what was confirmed deleted and what failed, and builds the error. Deleted
// holds only the versions S3 listed under Deleted; every other planned version is a failure
// (a version neither confirmed nor refused is reported as NotConfirmed).
func (c *Client) finish(res *RetainResult, done []Version, failures []DeleteFailure, err error) (*RetainResult, error) {
	confirmed := make(map[string]bool, len(done))
	for _, v := range done {
		confirmed[v.VersionID] = true
	}
	reported := make(map[string]bool, len(failures))
	for _, f := range failures {
		reported[f.Version.VersionID] = true
	}
	planned := res.Deleted
	res.Deleted = nil
	for _, v := range planned {
		switch {
		case confirmed[v.VersionID]:
			res.Deleted = append(res.Deleted, v)
		case !reported[v.VersionID] && err == nil:
			failures = append(failures, DeleteFailure{Version: v, Code: CodeNotConfirmed,
				Message: "S3 neither listed the version as deleted nor reported an error for it"})
		case !reported[v.VersionID]:
			failures = append(failures, DeleteFailure{Version: v, Code: CodeNotConfirmed, Message: err.Error()})
		}
	}
	res.Failed = failures
	if len(failures) == 0 {
		return res, err
	}
	if err == nil {
		f := failures[0]
		err = fmt.Errorf("%w: %d of %d versions of s3://%s/%s (first: %s %s: %s)", ErrDeleteFailed,
			len(failures), len(planned), res.Bucket, res.Key, f.Version.VersionID, f.Code, f.Message)
	}
	return res, err
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

// batchResult sorts the answer to one DeleteObjects call.
type batchResult struct {
	deleted   []Version       // listed under Deleted, with the exact key and version id sent
	retryable []DeleteFailure // per-version errors worth another try (SlowDown, InternalError, ...)
	failed    []DeleteFailure // per-version errors that are final, and answers that can't be trusted
}

// deleteBatch deletes up to 1000 versions, each by its explicit version id, in one call, and
// sorts S3's per-version answer. Only an entry that names a version we sent counts: an error
// without a version id can't be matched to a version, so it is never retried (a retry of it
// could be a delete without a version id, which hides the object behind a new delete
// marker); the versions it may concern are reported NotConfirmed by finish. A Deleted entry
// saying a delete marker was created for a version we deleted by id means the server did
// not honour the version id: that is reported as a failure naming the new marker.
func (c *Client) deleteBatch(ctx context.Context, bucket string, batch []Version) (batchResult, error) {
	ids := make([]types.ObjectIdentifier, len(batch))
	sent := make(map[[2]string]Version, len(batch))
	for i, v := range batch {
		if v.VersionID == "" {
			// plan only holds listed versions, and list refuses entries without an id.
			return batchResult{}, fmt.Errorf("%w: refusing to delete %q without a version id", ErrInvalidInput, v.Key)
		}
		ids[i] = types.ObjectIdentifier{Key: aws.String(v.Key), VersionId: aws.String(v.VersionID)}
		sent[[2]string{v.Key, v.VersionID}] = v
	}
	out, err := c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(bucket),
		// Not quiet: a version counts as deleted only when S3 lists it under Deleted.
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(false)},
	}, c.callOpts...)
	if err != nil {
		return batchResult{}, err
	}
	c.log.Debug("s3diff: deleted a batch", "bucket", bucket, "versions", len(batch), "deleted", len(out.Deleted), "errors", len(out.Errors))
	var r batchResult
	for _, d := range out.Deleted {
		v, ok := sent[[2]string{aws.ToString(d.Key), aws.ToString(d.VersionId)}]
		if !ok {
			c.log.Warn("s3diff: DeleteObjects listed a deletion that was not asked for; ignored",
				"bucket", bucket, "key", aws.ToString(d.Key), "version", aws.ToString(d.VersionId))
			continue
		}
		if marker := aws.ToString(d.DeleteMarkerVersionId); aws.ToBool(d.DeleteMarker) && !v.DeleteMarker && marker != "" && marker != v.VersionID {
			r.failed = append(r.failed, DeleteFailure{Version: v, Code: CodeMarkerCreated, Message: fmt.Sprintf(
				"the server created delete marker %s instead of deleting version %s; the object may be hidden: delete that marker by its version id to restore it", marker, v.VersionID)})
			continue
		}
		r.deleted = append(r.deleted, v)
	}
	unmatched := map[string]DeleteFailure{} // key -> an error that names no version we sent
	for _, e := range out.Errors {
		f := DeleteFailure{Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)}
		v, ok := sent[[2]string{aws.ToString(e.Key), aws.ToString(e.VersionId)}]
		if !ok {
			c.log.Warn("s3diff: DeleteObjects reported an error for no version we sent; not retried",
				"bucket", bucket, "key", aws.ToString(e.Key), "version", aws.ToString(e.VersionId), "code", f.Code, "message", f.Message)
			unmatched[aws.ToString(e.Key)] = f
			continue
		}
		f.Version = v
		if awserr.Retryable(f.Code) {
			r.retryable = append(r.retryable, f)
		} else {
			r.failed = append(r.failed, f)
		}
	}
	// Every version sent and not accounted for above is not known to be deleted.
	seen := make(map[string]bool, len(batch))
	for _, v := range r.deleted {
		seen[v.VersionID] = true
	}
	for _, fs := range [][]DeleteFailure{r.retryable, r.failed} {
		for _, f := range fs {
			seen[f.Version.VersionID] = true
		}
	}
	for _, v := range batch {
		if seen[v.VersionID] {
			continue
		}
		f := DeleteFailure{Version: v, Code: CodeNotConfirmed, Message: "S3 neither listed the version as deleted nor reported an error for it"}
		if u, ok := unmatched[v.Key]; ok {
			f.Reported = u.Code
			f.Message = fmt.Sprintf("S3 reported %s (%s) for the key without this version id; not retried, since a retry could delete without a version id", u.Code, u.Message)
		}
		r.failed = append(r.failed, f)
	}
	return r, nil
}

func failuresOf(vs []Version, code, msg string) []DeleteFailure {
	out := make([]DeleteFailure, len(vs))
	for i, v := range vs {
		out[i] = DeleteFailure{Version: v, Code: code, Message: msg}
	}
	return out
}
