package s3diff

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shipshape-dev/shipshape/internal/awserr"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// How Retain and RetainPrefix delete, shared by both:
//
//   - every version goes by its explicit, non-empty version id, in DeleteObjects batches of
//     at most 1000, never quiet: a version counts as deleted only when S3 lists it under
//     Deleted with the key and version id that were sent, and with an answer that cannot
//     have created a delete marker (judgeDeleted);
//   - an answer that can't be trusted (a Deleted entry that was not asked for, one that may
//     have created a delete marker) stops everything at once: no further batch, no retry;
//   - per-version errors that name their version and are retryable are tried again;
//   - a call whose answer was lost (the SDK's retries ran out, the connection broke, the run
//     was interrupted while it was in flight) is neither done nor failed: its versions are
//     "outcome unknown" until a fresh listing says which of them are gone (settle).

// maxDeleteBatch is DeleteObjects' limit of keys per call.
const maxDeleteBatch = 1000

// defaultSettleTimeout bounds the listing that settles what a lost answer did, when the
// caller's context has no deadline of its own to keep to.
const defaultSettleTimeout = 30 * time.Second

// deleteRun is what deleteVersions did with the versions it was given. Every version is in
// exactly one of done, failures, unknown and stopped.
type deleteRun struct {
	done     []Version       // listed under Deleted, with an answer that is trusted
	failures []DeleteFailure // refused by S3, retries used up, or an untrusted answer
	unknown  []Version       // sent in a call whose answer was lost: settle them
	lostErr  error           // the error of the first call whose answer was lost
	stopped  []Version       // never sent: the run stopped first
	calls    int
	// err is what stopped the run early (nil when it ran to the end): the context, a lost
	// answer, or an answer that can't be trusted (wrapping ErrDeleteFailed and
	// ErrMalformedResponse).
	err error
}

// deleteVersions deletes versions by their explicit version ids, in DeleteObjects batches of
// at most 1000, trying per-version errors that name their version and are retryable again
// (up to Options.DeleteAttempts in all, waiting Options.RetryWait on the clock). It stops at
// the first call whose answer was lost or can't be trusted, and when ctx ends. what names the
// work in errors.
func (c *Client) deleteVersions(ctx context.Context, bucket string, versions []Version, what string) deleteRun {
	var run deleteRun
	pending := versions
	for attempt := 1; len(pending) > 0; attempt++ {
		var retry []Version
		for start := 0; start < len(pending); start += maxDeleteBatch {
			batch := pending[start:min(start+maxDeleteBatch, len(pending))]
			stop := func(err error) deleteRun {
				run.stopped = append(append(run.stopped, retry...), pending[start+len(batch):]...)
				run.err = errtext.Wrap("s3diff", what, err)
				return run
			}
			if err := ctx.Err(); err != nil { // no call on a context that has ended
				run.stopped = append(run.stopped, batch...)
				return stop(err)
			}
			out, err := c.deleteBatch(ctx, bucket, batch)
			run.calls++
			if err != nil {
				// The SDK's retryer has retried the call already. Whether S3 deleted anything
				// is not known: a fresh listing has to tell (settle).
				run.unknown, run.lostErr = append(run.unknown, batch...), err
				return stop(err)
			}
			run.done = append(run.done, out.deleted...)
			run.failures = append(run.failures, out.failed...)
			if out.untrusted != nil {
				// Nothing more goes to a server that answers so: the retryable ones of this
				// batch are reported as they are, the rest is not sent.
				run.failures = append(run.failures, out.retryable...)
				return stop(out.untrusted)
			}
			for _, f := range out.retryable {
				if attempt < c.opts.DeleteAttempts {
					retry = append(retry, f.Version)
				} else {
					run.failures = append(run.failures, f)
				}
			}
		}
		if len(retry) == 0 {
			break
		}
		wait := c.opts.RetryWait(attempt)
		c.log.Warn("s3diff: retrying deletions", "bucket", bucket, "versions", len(retry), "attempt", attempt+1, "wait", wait)
		if err := c.opts.Clock.Sleep(ctx, wait); err != nil {
			run.stopped = append(run.stopped, retry...)
			run.err = errtext.Wrap("s3diff", what, err)
			return run
		}
		pending = retry
	}
	return run
}

// batchResult sorts the answer to one DeleteObjects call.
type batchResult struct {
	deleted   []Version       // listed under Deleted as sent, by an answer that is trusted
	retryable []DeleteFailure // per-version errors worth another try (SlowDown, InternalError, ...)
	failed    []DeleteFailure // per-version errors that are final, and answers that can't be trusted
	// untrusted, when set, says why the answer can't be trusted: nothing more may be sent.
	untrusted error
}

// deleteBatch deletes up to 1000 versions, each by its explicit version id, in one call, and
// sorts S3's per-version answer. Only an entry that names a version we sent counts: an error
// without a version id can't be matched to a version, so it is never retried (a retry of it
// could be a delete without a version id, which hides the object behind a new delete
// marker); the versions it may concern are reported NotConfirmed. A Deleted entry that was
// not asked for, or that says a delete marker may have been created (judgeDeleted), makes
// the whole answer untrusted.
func (c *Client) deleteBatch(ctx context.Context, bucket string, batch []Version) (batchResult, error) {
	ids := make([]types.ObjectIdentifier, len(batch))
	sent := make(map[[2]string]Version, len(batch))
	for i, v := range batch {
		if v.VersionID == "" {
			// plan only holds listed versions, and the listing refuses entries without an id.
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
	if out == nil {
		return batchResult{}, fmt.Errorf("%w: DeleteObjects gave no answer and no error", ErrMalformedResponse)
	}
	c.log.Debug("s3diff: deleted a batch", "bucket", bucket, "versions", len(batch), "deleted", len(out.Deleted), "errors", len(out.Errors))
	var r batchResult
	seen := make(map[[2]string]bool, len(batch))
	distrust := func(format string, args ...any) {
		if r.untrusted == nil {
			r.untrusted = &untrustedAnswer{msg: fmt.Sprintf(format, args...)}
		}
	}
	strays := map[string]string{} // key -> the code for versions of it the answer leaves unaccounted
	for _, d := range out.Deleted {
		k := [2]string{aws.ToString(d.Key), aws.ToString(d.VersionId)}
		v, ok := sent[k]
		if !ok || seen[k] {
			// Not asked for (another key, another version, no version at all: a delete without
			// a version id adds a delete marker), or listed twice.
			code := CodeNotConfirmed
			if aws.ToBool(d.DeleteMarker) || aws.ToString(d.DeleteMarkerVersionId) != "" || k[1] == "" {
				code = CodeMarkerCreated
			}
			strays[k[0]] = code
			distrust("DeleteObjects on s3://%s listed %q version %q (delete marker %v, marker version %q) under Deleted, which was not asked for",
				bucket, k[0], k[1], aws.ToBool(d.DeleteMarker), aws.ToString(d.DeleteMarkerVersionId))
			continue
		}
		seen[k] = true
		if f, bad := judgeDeleted(v, d); bad {
			r.failed = append(r.failed, f)
			distrust("DeleteObjects on s3://%s answered the delete of %s version %s with: %s", bucket, v.Key, v.VersionID, f.Message)
			continue
		}
		r.deleted = append(r.deleted, v)
	}
	unmatched := map[string]DeleteFailure{} // key -> an error that names no version we sent
	for _, e := range out.Errors {
		f := DeleteFailure{Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)}
		k := [2]string{aws.ToString(e.Key), aws.ToString(e.VersionId)}
		v, ok := sent[k]
		if !ok || seen[k] {
			c.log.Warn("s3diff: DeleteObjects reported an error for no version we sent (or twice for one); not retried",
				"bucket", bucket, "key", k[0], "version", k[1], "code", f.Code, "message", f.Message)
			unmatched[k[0]] = f
			continue
		}
		seen[k] = true
		f.Version = v
		if awserr.Retryable(f.Code) {
			r.retryable = append(r.retryable, f)
		} else {
			r.failed = append(r.failed, f)
		}
	}
	// Every version sent and not accounted for above is not known to be deleted.
	for _, v := range batch {
		if seen[[2]string{v.Key, v.VersionID}] {
			continue
		}
		f := DeleteFailure{Version: v, Code: CodeNotConfirmed, Message: "S3 neither listed the version as deleted nor reported an error for it"}
		if code, ok := strays[v.Key]; ok {
			f.Code = code
			f.Message = "the answer listed under Deleted an entry of this key that was not asked for; the object may be hidden behind a new delete marker: list its versions"
		} else if u, ok := unmatched[v.Key]; ok {
			f.Reported = u.Code
			f.Message = fmt.Sprintf("S3 reported %s (%s) for the key without this version id; not retried, since a retry could delete without a version id", u.Code, u.Message)
		}
		r.failed = append(r.failed, f)
	}
	return r, nil
}

// untrustedAnswer is the error of a DeleteObjects answer that can't be trusted: it is both
// ErrDeleteFailed (versions were not deleted as asked) and ErrMalformedResponse (the server's
// answer is not one S3 gives), so callers never retry into it.
type untrustedAnswer struct{ msg string }

func (e *untrustedAnswer) Error() string {
	return "s3diff: untrusted DeleteObjects answer: " + e.msg + "; nothing more is deleted in this run"
}

func (e *untrustedAnswer) Is(target error) bool {
	return target == ErrDeleteFailed || target == ErrMalformedResponse
}

// judgeDeleted decides whether a Deleted entry for version v (key and version id already
// matched) proves that v, and only v, was deleted. S3's documented answer to a delete by
// version id names the version deleted in DeleteMarkerVersionId (or leaves it out), and sets
// DeleteMarker when, and only when, the version deleted was itself a delete marker. So:
//
//   - a marker version id other than v's means a new delete marker was created: the object
//     is hidden now (whether v was a version or an old marker);
//   - DeleteMarker set for an object version, without a marker id, may mean the same;
//   - DeleteMarker set for an object version with v's own id says v was a marker, which the
//     listing contradicts: not confirmed.
//
// A delete marker deleted by id may be answered with its own id, or with neither field (as
// moto does); both are accepted.
func judgeDeleted(v Version, d types.DeletedObject) (DeleteFailure, bool) {
	marker := aws.ToString(d.DeleteMarkerVersionId)
	isMarker := aws.ToBool(d.DeleteMarker)
	switch {
	case marker != "" && marker != v.VersionID:
		return DeleteFailure{Version: v, Code: CodeMarkerCreated, Message: fmt.Sprintf(
			"the server created delete marker %s instead of deleting %s %s; the object may be hidden: delete that marker by its version id to restore it",
			marker, kind(v), v.VersionID)}, true
	case isMarker && !v.DeleteMarker && marker == "":
		return DeleteFailure{Version: v, Code: CodeMarkerCreated, Message: fmt.Sprintf(
			"the server answered the delete of version %s with DeleteMarker=true and no marker version id: a delete marker may have been created and the object hidden; list the key's versions",
			v.VersionID)}, true
	case isMarker && !v.DeleteMarker:
		return DeleteFailure{Version: v, Code: CodeNotConfirmed, Message: fmt.Sprintf(
			"the server says version %s was a delete marker, which the listing contradicts", v.VersionID)}, true
	}
	return DeleteFailure{}, false
}

func kind(v Version) string {
	if v.DeleteMarker {
		return "delete marker"
	}
	return "version"
}

// settled is what a fresh listing says of versions whose DeleteObjects answer was lost.
type settled struct {
	gone    []Version // not listed any more: deleted
	present []Version // still listed: not deleted
	unknown []Version // the listing could not be made (or did not reach them)
	err     error     // why they are unknown
	pages   int       // ListObjectVersions calls made
}

// settle lists the keys of versions whose delete answer was lost and sorts them into gone and
// still present. The versions must be in listing order (keys ascending), all under prefix,
// and after startAfter: the walk starts there and stops once it has passed their last key.
func (c *Client) settle(ctx context.Context, bucket, prefix, startAfter string, versions []Version) settled {
	if len(versions) == 0 {
		return settled{}
	}
	want := make(map[string]map[string]bool) // key -> version ids asked about
	last := ""
	for _, v := range versions {
		if want[v.Key] == nil {
			want[v.Key] = map[string]bool{}
		}
		want[v.Key][v.VersionID] = true
		last = max(last, v.Key)
	}
	listed := map[string]map[string]bool{} // key -> ids still listed, for the keys asked about
	pages, err := c.walkKeys(ctx, bucket, prefix, startAfter, keyWalk{
		what: fmt.Sprintf("versions under s3://%s/%s to learn what a lost DeleteObjects answer did", bucket, prefix),
		key: func(key string, vs, ms []Version) error {
			if want[key] != nil {
				ids := map[string]bool{}
				for _, e := range append(vs, ms...) {
					ids[e.VersionID] = true
				}
				listed[key] = ids
			}
			if key >= last {
				return errWalkDone
			}
			return nil
		},
	})
	if errors.Is(err, errWalkDone) {
		err = nil
	}
	s := settled{pages: pages}
	if errors.Is(err, ErrMalformedResponse) {
		// A listing that turned out malformed proves nothing, not even about the keys it
		// listed before it went wrong.
		listed = nil
	}
	for _, v := range versions {
		ids, ok := listed[v.Key]
		switch {
		case !ok:
			// The run never deletes a key's latest entry, so a listing that does not show the
			// key at all contradicts what the run knows (or stopped before it): nothing is
			// known of it.
			s.unknown = append(s.unknown, v)
		case ids[v.VersionID]:
			s.present = append(s.present, v)
		default: // the key was listed whole, without it
			s.gone = append(s.gone, v)
		}
	}
	if len(s.unknown) > 0 {
		s.err = err
		if s.err == nil {
			s.err = fmt.Errorf("the listing did not show %d of the keys concerned, whose latest entries the run never deletes", len(s.unknown))
		}
	}
	c.log.Debug("s3diff: settled a lost DeleteObjects answer", "bucket", bucket, "gone", len(s.gone),
		"present", len(s.present), "unknown", len(s.unknown))
	return s
}

// phases splits ctx for a run that deletes: work ends a little before ctx's deadline, so
// that the time left still lets the run settle a lost answer and report; settleCtx gives the
// context for that, which outlives a cancelled ctx (Ctrl-C) by at most defaultSettleTimeout
// and never outlives ctx's deadline.
func phases(ctx context.Context) (work context.Context, cancel context.CancelFunc, settleCtx func() (context.Context, context.CancelFunc)) {
	work, cancel = ctx, func() {}
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		reserve := min(defaultSettleTimeout, time.Until(deadline)/5)
		work, cancel = context.WithDeadline(ctx, deadline.Add(-reserve))
	}
	settleCtx = func() (context.Context, context.CancelFunc) {
		until := time.Now().Add(defaultSettleTimeout)
		if hasDeadline && deadline.Before(until) {
			until = deadline
		}
		return context.WithDeadline(context.WithoutCancel(ctx), until)
	}
	return work, cancel, settleCtx
}

// lostFailures are the failures for versions whose answer was lost and that a listing found
// still there (not deleted) or could not check (OutcomeUnknown). A call cut off by the run's
// own end is CodeStopped: nothing failed, the run stopped.
func lostFailures(s settled, lostErr error) []DeleteFailure {
	var out []DeleteFailure
	code, msg := awserr.Code(lostErr), "the DeleteObjects call failed and a fresh listing shows the version is still there"
	if code == "" {
		code = "RequestFailed"
	}
	if errors.Is(lostErr, context.Canceled) || errors.Is(lostErr, context.DeadlineExceeded) {
		code, msg = CodeStopped, "the run stopped while its DeleteObjects call was in flight; a fresh listing shows the version is still there"
	}
	for _, v := range s.present {
		out = append(out, DeleteFailure{Version: v, Code: code, Message: msg})
	}
	for _, v := range s.unknown {
		out = append(out, DeleteFailure{Version: v, Code: CodeOutcomeUnknown, Message: fmt.Sprintf(
			"the DeleteObjects answer was lost (%v) and the listing to check it failed (%v): list the key to see whether the version is gone", lostErr, s.err)})
	}
	return out
}

func stoppedFailures(vs []Version, cause error) []DeleteFailure {
	out := make([]DeleteFailure, len(vs))
	for i, v := range vs {
		out[i] = DeleteFailure{Version: v, Code: CodeStopped, Message: "not sent: the run stopped first (" + errtext.Strip("s3diff", fmt.Sprint(cause)) + ")"}
	}
	return out
}
