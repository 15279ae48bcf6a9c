package s3diff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// PrefixRetainOptions are the optional settings of RetainPrefix.
type PrefixRetainOptions struct {
	// DryRun plans and reports without deleting anything.
	DryRun bool
	// StartAfter resumes a run: keys up to and including it are skipped (the listing starts
	// after it, as ListObjectVersions' KeyMarker does). Use PrefixRetainResult.StartAfter of an
	// interrupted run.
	StartAfter string
	// Concurrency bounds the DeleteObjects calls in flight. Default: 4.
	Concurrency int
	// OnProgress, when set, is called after every listed page and every delete batch,
	// possibly from several goroutines at once.
	OnProgress func(PrefixProgress)
	// OnDelete, when set, is called for every version deleted (confirmed by S3) or, in a dry
	// run, planned; possibly from several goroutines at once.
	OnDelete func(Version)
}

// PrefixProgress counts what a RetainPrefix run has done so far.
type PrefixProgress struct {
	Keys     int `json:"keys"`     // keys fully listed and planned
	Versions int `json:"versions"` // versions and delete markers listed
	Planned  int `json:"planned"`  // to delete (in a dry run: would delete)
	Deleted  int `json:"deleted"`  // confirmed by S3's answer, or by the listing that settled a lost one
	// Failed counts planned versions S3 refused, or whose answer can't be trusted, or that a
	// failed call left in place.
	Failed int `json:"failed"`
	// Stopped counts planned versions not deleted because the run stopped first (never sent,
	// or sent in a call cut off by the stop and still listed afterwards): nothing failed.
	Stopped int `json:"stopped"`
	// Unknown counts versions whose DeleteObjects answer was lost and that no listing could
	// check: they may or may not be gone.
	Unknown int `json:"unknown"`
	// ListPages and DeleteCalls count the requests made.
	ListPages   int `json:"listPages"`
	DeleteCalls int `json:"deleteCalls"`
	// LastKey is the last key fully planned.
	LastKey string        `json:"lastKey"`
	Elapsed time.Duration `json:"elapsed"`
}

// KeysPerSecond is the listing rate so far.
func (p PrefixProgress) KeysPerSecond() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Keys) / p.Elapsed.Seconds()
}

// PrefixRetainResult is how a RetainPrefix run ended.
type PrefixRetainResult struct {
	PrefixProgress
	Bucket, Prefix string
	Keep           int
	DryRun         bool
	// Failures lists the first maxReportedFailures versions that failed or whose outcome is
	// unknown (Failed and Unknown count them all; stopped ones are counted only).
	Failures []DeleteFailure `json:"failures,omitempty"`
	// StartAfter is where to resume when the run did not finish (cancelled, a call failed,
	// versions not deleted): every key up to it is done. Empty when the run finished.
	StartAfter string `json:"startAfter,omitempty"`
	// Complete: the whole prefix was listed and every planned deletion confirmed.
	Complete bool `json:"complete"`
}

// maxReportedFailures bounds the failures a prefix run keeps in memory.
const maxReportedFailures = 1000

// RetainPrefix keeps the newest keep versions of every key under prefix, in one
// ListObjectVersions pass over the prefix: S3 returns the keys in ascending order with each
// key's versions newest first, so each key is planned as soon as the listing has passed it,
// with the rules of Retain (versions of that exact key only, the latest entry never
// deleted, delete markers that are not the latest deleted, explicit non-empty version ids,
// only versions listed in this pass). Deletions of many keys share DeleteObjects batches of
// up to 1000, so a run costs ceil(V/1000) listings and ceil(D/1000) deletions for V listed
// versions and D deletions (plus retries of per-version errors). Memory does not grow with
// the number of keys: one key's versions and the batches in flight.
//
// A listing that can't be trusted (an entry without a version id, keys out of order, a key
// without exactly one latest entry, markers that loop) stops the run (ErrMalformedResponse),
// and so does a DeleteObjects answer that may have created a delete marker or lists what was
// not asked for (ErrDeleteFailed and ErrMalformedResponse). When the run stops early (ctx
// ends, a call fails, versions are not deleted), the result's StartAfter says where to
// resume: every key up to it is done; the error wraps ErrDeleteFailed when only deletions
// failed.
//
// The record is exact, also when the run is interrupted: a DeleteObjects call whose answer
// was lost (cancelled in flight, retries used up) is settled by listing its keys again, on
// a context that outlives ctx briefly (never its deadline), so OnDelete is called for every
// version that is gone, Deleted counts them, and what was not deleted is Failed, Stopped or,
// when even that listing fails, Unknown. When ctx has a deadline, the work stops a little
// before it (a fifth of the time left, at most 30 s) to leave time for that.
func (c *Client) RetainPrefix(ctx context.Context, bucket, prefix string, keep int, optFns ...func(*PrefixRetainOptions)) (*PrefixRetainResult, error) {
	var o PrefixRetainOptions
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case keep < 1:
		return nil, fmt.Errorf("%w: got %d", ErrInvalidKeep, keep)
	case ValidBucketName(bucket) != nil:
		return nil, ValidBucketName(bucket)
	case o.Concurrency < 0:
		return nil, invalid("Concurrency %d is negative", o.Concurrency)
	case o.StartAfter != "" && !strings.HasPrefix(o.StartAfter, prefix):
		return nil, invalid("StartAfter %q is not under the prefix %q", o.StartAfter, prefix)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	ctx, cancel, settleCtx := phases(ctx)
	defer cancel()
	r := &prefixRun{c: c, o: o, ctx: ctx, settleCtx: settleCtx, bucket: bucket, start: c.opts.Clock.Now(),
		res: &PrefixRetainResult{Bucket: bucket, Prefix: prefix, Keep: keep, DryRun: o.DryRun}}
	r.res.LastKey = o.StartAfter // where a resumed run resumes from if it stops at once
	r.group, r.gctx = errgroup.WithContext(ctx)
	r.group.SetLimit(o.Concurrency)
	listErr := r.list(prefix, keep)
	if listErr == nil {
		r.flush()
	}
	groupErr := r.group.Wait()
	r.settleLost()
	return r.finish(listErr, groupErr)
}

// prefixRun is the state of one RetainPrefix pass.
type prefixRun struct {
	c         *Client
	o         PrefixRetainOptions
	ctx       context.Context
	settleCtx func() (context.Context, context.CancelFunc)
	bucket    string
	start     time.Time
	group     *errgroup.Group
	gctx      context.Context

	batch        []Version
	batchPrevKey string // the last key planned before the batch's first key
	listed       bool   // the listing reached its end

	mu      sync.Mutex
	res     *PrefixRetainResult
	batches []*sentBatch
}

type sentBatch struct {
	prevKey string
	done    bool // every version of it known to be deleted
	failed  bool // some version of it refused, untrusted or not sent
	// lost are the versions of a call whose answer was lost, settled by settleLost once
	// no call of this run is in flight any more.
	lost    []Version
	lostErr error
}

// list streams the listing and plans each key once it is complete.
func (r *prefixRun) list(prefix string, keep int) error {
	stopped := false
	_, err := r.c.walkKeys(r.ctx, r.bucket, prefix, r.o.StartAfter, keyWalk{
		stop: func() bool { // a delete batch failed: the error comes from the group
			stopped = r.gctx.Err() != nil
			return stopped
		},
		page: func(listed int) {
			r.mu.Lock()
			r.res.ListPages++
			r.res.Versions += listed
			r.mu.Unlock()
			r.progress()
		},
		key: func(key string, versions, markers []Version) error {
			_, deleted := plan(versions, markers, keep)
			return r.planned(key, deleted)
		},
	})
	r.listed = err == nil && !stopped
	return err
}

// planned takes the deletions planned for one complete key into the batches.
func (r *prefixRun) planned(key string, deleted []Version) error {
	r.mu.Lock()
	prev := r.res.LastKey
	r.res.Keys++
	r.res.Planned += len(deleted)
	r.res.LastKey = key
	r.mu.Unlock()
	if r.o.DryRun {
		for _, v := range deleted {
			if r.o.OnDelete != nil {
				r.o.OnDelete(v)
			}
		}
		return nil
	}
	for _, v := range deleted {
		if v.Key != key || v.IsLatest || v.VersionID == "" {
			// Belt and braces: plan never does this; if it ever did, delete nothing more.
			return fmt.Errorf("s3diff: internal error: the plan for %q includes %q version %q (latest=%v); stopped", key, v.Key, v.VersionID, v.IsLatest)
		}
		if len(r.batch) == 0 {
			r.batchPrevKey = prev
		}
		r.batch = append(r.batch, v)
		if len(r.batch) == maxDeleteBatch {
			r.flush()
		}
	}
	return nil
}

// flush sends the batch being filled, at most Concurrency at a time.
func (r *prefixRun) flush() {
	if len(r.batch) == 0 || r.gctx.Err() != nil {
		return
	}
	batch := r.batch
	sb := &sentBatch{prevKey: r.batchPrevKey}
	r.batch = nil
	r.mu.Lock()
	r.batches = append(r.batches, sb)
	r.mu.Unlock()
	r.group.Go(func() error {
		what := fmt.Sprintf("deleting old versions under s3://%s", r.bucket)
		run := r.c.deleteVersions(r.gctx, r.bucket, batch, what)
		failures := append(run.failures, stoppedFailures(run.stopped, run.err)...)
		r.record(run.done, failures)
		r.mu.Lock()
		r.res.DeleteCalls += run.calls
		sb.lost, sb.lostErr = run.unknown, run.lostErr
		sb.failed = len(failures) > 0 || errors.Is(run.err, ErrMalformedResponse)
		sb.done = !sb.failed && len(run.unknown) == 0
		r.mu.Unlock()
		r.progress()
		if sb.done {
			return nil
		}
		// Refusals by S3 let the pass go on (the result says so); a lost answer, an answer
		// that can't be trusted or the end of ctx stop it.
		return run.err
	})
}

// record counts what a batch deleted and what it did not, and hands the deletions to
// OnDelete.
func (r *prefixRun) record(done []Version, failures []DeleteFailure) {
	if r.o.OnDelete != nil {
		for _, v := range done {
			r.o.OnDelete(v)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Deleted += len(done)
	for _, f := range failures {
		switch f.Code {
		case CodeStopped:
			r.res.Stopped++
			continue
		case CodeOutcomeUnknown:
			r.res.Unknown++
		default:
			r.res.Failed++
		}
		if len(r.res.Failures) < maxReportedFailures {
			r.res.Failures = append(r.res.Failures, f)
		}
	}
}

// settleLost lists again the keys of every batch whose answer was lost, once no call of the
// run is in flight (a listing that runs beside the run's own deletions could be thrown by
// them), on a context that outlives a cancelled run briefly and never its deadline.
func (r *prefixRun) settleLost() {
	var lost []*sentBatch
	for _, b := range r.batches {
		if len(b.lost) > 0 {
			lost = append(lost, b)
		}
	}
	if len(lost) == 0 {
		return
	}
	ctx, cancel := r.settleCtx()
	defer cancel()
	for _, b := range lost {
		s := r.c.settle(ctx, r.bucket, r.res.Prefix, b.prevKey, b.lost)
		failures := lostFailures(s, b.lostErr)
		r.record(s.gone, failures)
		r.mu.Lock()
		r.res.ListPages += s.pages
		b.done = !b.failed && len(failures) == 0
		r.mu.Unlock()
	}
	r.progress()
}

func (r *prefixRun) progress() {
	if r.o.OnProgress == nil {
		return
	}
	r.mu.Lock()
	p := r.res.PrefixProgress
	r.mu.Unlock()
	p.Elapsed = r.c.opts.Clock.Now().Sub(r.start)
	r.o.OnProgress(p)
}

// finish works out where to resume and the error.
func (r *prefixRun) finish(listErr, groupErr error) (*PrefixRetainResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.res
	res.Elapsed = r.c.opts.Clock.Now().Sub(r.start)
	resume, incomplete := res.LastKey, false
	for _, b := range r.batches {
		if !b.done {
			resume, incomplete = b.prevKey, true
			break
		}
	}
	if len(r.batch) > 0 { // planned, never sent
		if !incomplete {
			resume = r.batchPrevKey
		}
		res.Stopped += len(r.batch)
		incomplete = true
	}
	if !r.listed {
		incomplete = true
	}
	err := listErr
	if err == nil && incomplete {
		// A lost answer that the listing settled in full leaves nothing undone: then the
		// error that stopped the group is not the run's.
		err = groupErr
	}
	if err == nil && incomplete && res.Failed+res.Unknown == 0 { // nothing failed: the run was stopped
		err = r.ctx.Err()
		if err == nil {
			err = fmt.Errorf("s3diff: the pass over s3://%s/%s stopped before its end (%d planned versions not sent)", res.Bucket, res.Prefix, res.Stopped)
		}
	}
	if errors.Is(listErr, ErrMalformedResponse) {
		// Keys planned from a listing that turned out malformed may have been planned from
		// part of their versions: nothing of it counts as done.
		resume, incomplete = "", true
	}
	if err == nil && res.Failed+res.Unknown > 0 && len(res.Failures) > 0 {
		f := res.Failures[0]
		err = fmt.Errorf("%w: %d of %d planned versions under s3://%s/%s (first: %s version %s: %s %s)", ErrDeleteFailed,
			res.Failed+res.Unknown, res.Planned, res.Bucket, res.Prefix, f.Version.Key, f.Version.VersionID, f.Code, f.Message)
	}
	res.Complete = err == nil && !incomplete
	if !res.Complete {
		res.StartAfter = resume
	}
	return res, err
}
