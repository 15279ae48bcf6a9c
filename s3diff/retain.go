package s3diff

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
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
// while Retain runs is never deleted by it. Deletions go in DeleteObjects batches of at most
// 1000; per-version errors that are retryable (SlowDown, InternalError, ...) are tried again
// up to Options.DeleteAttempts times, and what still fails is in RetainResult.Failed with an
// error wrapping ErrDeleteFailed.
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

	pending := res.Deleted
	var failed []DeleteFailure // final: not retryable, or out of attempts
	for attempt := 1; len(pending) > 0; attempt++ {
		var retry []Version
		for start := 0; start < len(pending); start += maxDeleteBatch {
			batch := pending[start:min(start+maxDeleteBatch, len(pending))]
			errs, err := c.deleteBatch(ctx, bucket, batch)
			res.DeleteCalls++
			if err != nil {
				if isRetryableCode(errorCode(err)) && attempt < c.opts.DeleteAttempts {
					retry = append(retry, batch...)
					continue
				}
				// This batch and the ones after it were not deleted; say so and stop.
				notDone := append(append([]Version(nil), retry...), pending[start:]...)
				failed = append(failed, failuresOf(notDone, errorCode(err), err.Error())...)
				return c.finish(res, failed, fmt.Errorf("s3diff: deleting old versions of s3://%s/%s: %w", bucket, key, err))
			}
			for _, f := range errs {
				if isRetryableCode(f.Code) && attempt < c.opts.DeleteAttempts {
					retry = append(retry, f.Version)
				} else {
					failed = append(failed, f)
				}
			}
		}
		if len(retry) == 0 {
			break
		}
		wait := c.opts.RetryWait(attempt)
		c.log.Warn("s3diff: retrying deletions", "bucket", bucket, "key", key, "versions", len(retry), "attempt", attempt+1, "wait", wait)
		select {
		case <-ctx.Done():
			failed = append(failed, failuresOf(retry, "Canceled", ctx.Err().Error())...)
			return c.finish(res, failed, ctx.Err())
		case <-time.After(wait):
		}
		pending = retry
	}
	return c.finish(res, failed, nil)
}

// finish records the failures, takes them out of Deleted, and builds the error.
func (c *Client) finish(res *RetainResult, failed []DeleteFailure, err error) (*RetainResult, error) {
	res.Failed = failed
	if len(failed) == 0 {
		return res, err
	}
	gone := make([]Version, len(failed))
	for i, f := range failed {
		gone[i] = f.Version
	}
	res.Deleted = subtract(res.Deleted, gone)
	if err == nil {
		err = fmt.Errorf("%w: %d of %d versions of s3://%s/%s (first: %s %s: %s)", ErrDeleteFailed,
			len(failed), len(failed)+len(res.Deleted), res.Bucket, res.Key, failed[0].Version.VersionID, failed[0].Code, failed[0].Message)
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

// deleteBatch deletes up to 1000 versions in one call and returns the per-version errors.
func (c *Client) deleteBatch(ctx context.Context, bucket string, batch []Version) ([]DeleteFailure, error) {
	ids := make([]types.ObjectIdentifier, len(batch))
	byID := make(map[string]Version, len(batch))
	for i, v := range batch {
		ids[i] = types.ObjectIdentifier{Key: aws.String(v.Key), VersionId: aws.String(v.VersionID)}
		byID[v.VersionID] = v
	}
	out, err := c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return nil, err
	}
	c.log.Debug("s3diff: deleted a batch", "bucket", bucket, "versions", len(batch), "errors", len(out.Errors))
	var fails []DeleteFailure
	for _, e := range out.Errors {
		v, ok := byID[aws.ToString(e.VersionId)]
		if !ok {
			v = Version{Key: aws.ToString(e.Key), VersionID: aws.ToString(e.VersionId)}
		}
		fails = append(fails, DeleteFailure{Version: v, Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)})
	}
	return fails, nil
}

func subtract(all, remove []Version) []Version {
	drop := make(map[string]bool, len(remove))
	for _, v := range remove {
		drop[v.VersionID] = true
	}
	var out []Version
	for _, v := range all {
		if !drop[v.VersionID] {
			out = append(out, v)
		}
	}
	return out
}

func failuresOf(vs []Version, code, msg string) []DeleteFailure {
	out := make([]DeleteFailure, len(vs))
	for i, v := range vs {
		out[i] = DeleteFailure{Version: v, Code: code, Message: msg}
	}
	return out
}
