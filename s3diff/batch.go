package s3diff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shipshape-dev/shipshape/internal/awserr"
)

// Result codes of an S3 Batch Operations task.
const (
	BatchSucceeded        = "Succeeded"
	BatchTemporaryFailure = "TemporaryFailure" // Batch Operations tries the task again
	BatchPermanentFailure = "PermanentFailure" // reported as failed in the completion report
)

// The job's user arguments (LambdaInvoke.UserArguments) a batch handler reads.
const (
	// BatchArgKeep overrides HandlerOptions.Keep for the job: a whole number, 1 or more.
	BatchArgKeep = "keep"
	// BatchArgDryRun "true" plans without deleting: the completion report says what a real
	// run would delete.
	BatchArgDryRun = "dryRun"
)

// batchAnswerMargin is how long before the invocation's deadline HandleBatch stops working
// (at most a fifth of the time left), so that its answer still goes out.
const batchAnswerMargin = 3 * time.Second

// IsBatchEvent reports whether payload is an S3 Batch Operations invocation (it carries
// invocationSchemaVersion and tasks), which HandleBatch answers, rather than an event
// notification, which Handle takes.
func IsBatchEvent(payload []byte) bool {
	var probe struct {
		Version *string          `json:"invocationSchemaVersion"`
		Tasks   *json.RawMessage `json:"tasks"`
	}
	return json.Unmarshal(payload, &probe) == nil && probe.Version != nil && probe.Tasks != nil
}

// HandleBatch answers an S3 Batch Operations invocation (schema 2.0, created with
// LambdaInvoke): for each task it keeps the newest versions of the task's key, by the rules
// of Retain, and returns a result per task. Succeeded carries a short result string for the
// completion report ("kept 5, deleted 12"); throttling, 5xx, transport errors and a context
// that ends are TemporaryFailure, which Batch Operations retries; anything else (bad
// arguments, access denied, a malformed answer) is PermanentFailure with the reason.
//
// The task's s3Key is URL-decoded (manifests and inventory reports encode keys, a space as
// '+'); its s3VersionId is ignored, since retention is about the whole key, and two tasks for
// one key in an invocation share one run. A redelivered task runs again and finds nothing
// more to delete. The job's user arguments may set "keep" and "dryRun"; any other argument
// fails every task, so that a misspelt "Keep" never runs with the function's default.
// Results left out of the response count as PermanentFailure (treatMissingKeysAs). When ctx
// has a deadline (Lambda's timeout), the work stops a little before it (3 s, or a fifth of
// the time left) so that the answer goes out: unfinished tasks are TemporaryFailure.
func (h *Handler) HandleBatch(ctx context.Context, ev events.S3BatchJobEventV2) events.S3BatchJobResponse {
	resp := events.S3BatchJobResponse{
		InvocationSchemaVersion: ev.InvocationSchemaVersion,
		TreatMissingKeysAs:      BatchPermanentFailure,
		InvocationID:            ev.InvocationID,
		Results:                 make([]events.S3BatchJobResult, 0, len(ev.Tasks)),
	}
	// The response must reach Batch Operations before Lambda's hard timeout: the work stops a
	// little earlier, and what it did not finish is a TemporaryFailure.
	work, cancel := ctx, context.CancelFunc(func() {})
	if deadline, ok := ctx.Deadline(); ok {
		margin := min(batchAnswerMargin, time.Until(deadline)/5)
		work, cancel = context.WithDeadline(ctx, deadline.Add(-margin))
	}
	defer cancel()
	keep, dryRun, argErr := h.batchArgs(ev)
	done := map[[2]string]events.S3BatchJobResult{}
	var halt error // an answer S3 would never give: no further task runs against this server
	for _, task := range ev.Tasks {
		r := events.S3BatchJobResult{TaskID: task.TaskID}
		switch {
		case argErr != nil:
			r.ResultCode, r.ResultString = BatchPermanentFailure, argErr.Error()
			resp.Results = append(resp.Results, r)
			continue
		case halt != nil:
			r.ResultCode, r.ResultString = BatchPermanentFailure, fmt.Sprintf("task %s not run: an earlier task got an answer that can't be trusted (%v)", task.TaskID, halt)
			resp.Results = append(resp.Results, r)
			continue
		}
		key, err := DecodeKey(task.S3Key)
		if err == nil {
			err = checkBucketKey(task.S3Bucket, key)
		}
		if err != nil {
			r.ResultCode, r.ResultString = BatchPermanentFailure, fmt.Sprintf("task %s: %v", task.TaskID, err)
			resp.Results = append(resp.Results, r)
			continue
		}
		if prev, ok := done[[2]string{task.S3Bucket, key}]; ok {
			r.ResultCode, r.ResultString = prev.ResultCode, prev.ResultString
			resp.Results = append(resp.Results, r)
			continue
		}
		var taskErr error
		r.ResultCode, r.ResultString, taskErr = h.batchTask(work, task.S3Bucket, key, keep, dryRun)
		if errors.Is(taskErr, ErrMalformedResponse) {
			halt = taskErr
		}
		h.log.Info("s3diff: batch task", "job", ev.Job.ID, "task", task.TaskID, "bucket", task.S3Bucket, "key", key,
			"result", r.ResultCode, "detail", r.ResultString)
		done[[2]string{task.S3Bucket, key}] = r
		resp.Results = append(resp.Results, r)
	}
	return resp
}

// batchArgs reads the invocation's schema version and the job's user arguments.
func (h *Handler) batchArgs(ev events.S3BatchJobEventV2) (keep int, dryRun bool, err error) {
	if ev.InvocationSchemaVersion != "2.0" {
		return 0, false, fmt.Errorf("invocation schema %q: create the job with LambdaInvoke InvocationSchemaVersion 2.0", ev.InvocationSchemaVersion)
	}
	keep = h.opts.Keep
	var unknown []string
	for name, v := range ev.Job.UserArguments {
		switch name {
		case BatchArgKeep:
			n, perr := strconv.Atoi(strings.TrimSpace(v))
			if perr != nil || n < 1 {
				return 0, false, fmt.Errorf("user argument keep=%q: want a whole number, 1 or more", v)
			}
			keep = n
		case BatchArgDryRun:
			b, perr := strconv.ParseBool(strings.TrimSpace(v))
			if perr != nil {
				return 0, false, fmt.Errorf("user argument dryRun=%q: want true or false", v)
			}
			dryRun = b
		default:
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return 0, false, fmt.Errorf("unknown user argument(s) %s: the job may set %s and %s only (names are case-sensitive)",
			strings.Join(unknown, ", "), BatchArgKeep, BatchArgDryRun)
	}
	if keep < 1 {
		return 0, false, fmt.Errorf("no retention count: set the job's user argument %s or the function's KEEP_VERSIONS", BatchArgKeep)
	}
	return keep, dryRun, nil
}

// batchTask runs retention for one key and says how it went, in Batch Operations' terms,
// with Retain's error.
func (h *Handler) batchTask(ctx context.Context, bucket, key string, keep int, dryRun bool) (code, detail string, err error) {
	if (h.opts.Prefix != "" && !strings.HasPrefix(key, h.opts.Prefix)) || (h.opts.Suffix != "" && !strings.HasSuffix(key, h.opts.Suffix)) {
		return BatchSucceeded, "skipped: the key does not match the function's KEY_PREFIX/KEY_SUFFIX", nil
	}
	res, err := h.client.Retain(ctx, bucket, key, keep, func(o *RetainOptions) { o.DryRun = dryRun })
	if err != nil {
		code := BatchPermanentFailure
		if batchRetryable(ctx, err, res) {
			code = BatchTemporaryFailure
		}
		detail := err.Error()
		if res != nil && len(res.Deleted) > 0 {
			detail = fmt.Sprintf("deleted %d, then: %s", len(res.Deleted), detail)
		}
		return code, detail, err
	}
	switch {
	case len(res.Kept) == 0 && len(res.Deleted) == 0:
		return BatchSucceeded, "no versions listed: nothing to do (deleted since the manifest was made?)", nil
	case dryRun:
		return BatchSucceeded, fmt.Sprintf("dry run: would keep %d, would delete %d", len(res.Kept), len(res.Deleted)), nil
	}
	return BatchSucceeded, fmt.Sprintf("kept %d, deleted %d", len(res.Kept), len(res.Deleted)), nil
}

// batchRetryable reports whether another try of the task can do better: throttling, server
// errors, transport errors, a deadline, or per-version failures that are all retryable.
func batchRetryable(ctx context.Context, err error, res *RetainResult) bool {
	switch {
	case errors.Is(err, ErrInvalidInput), errors.Is(err, ErrInvalidKeep), errors.Is(err, ErrMalformedResponse):
		return false
	case errors.Is(err, ErrDeleteFailed) && res != nil:
		for _, f := range res.Failed {
			code := f.Code
			switch code {
			case CodeNotConfirmed:
				code = f.Reported
			case CodeStopped, CodeOutcomeUnknown, "RequestFailed":
				continue // another try lists the key afresh and does better
			}
			if code != "" && !awserr.Retryable(code) {
				return false
			}
		}
		return true
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		return true
	case awserr.Throttling(err), awserr.Server(err), awserr.Retryable(awserr.Code(err)):
		return true
	}
	// No API error code at all: the request never got an answer (connection reset, DNS, a
	// timeout in the transport) after the SDK's own retries.
	return awserr.Code(err) == "" && !errors.Is(err, context.Canceled)
}
