package s3diff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/shipshape-dev/shipshape/internal/errtext"
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
	Deleted  int `json:"deleted"`  // confirmed by S3
	Failed   int `json:"failed"`
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
	// Failures lists the first maxReportedFailures versions that were not deleted (Failed
	// counts them all).
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
// A listing entry without a version id stops the run (ErrMalformedResponse). When the run
// stops early (ctx ends, a call fails, versions are not deleted), the result's StartAfter
// says where to resume; the error wraps ErrDeleteFailed when only deletions failed.
func (c *Client) RetainPrefix(ctx context.Context, bucket, prefix string, keep int, optFns ...func(*PrefixRetainOptions)) (*PrefixRetainResult, error) {
	var o PrefixRetainOptions
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case keep < 1:
		return nil, fmt.Errorf("%w: got %d", ErrInvalidKeep, keep)
	case strings.TrimSpace(bucket) == "" || len(bucket) < 3:
		return nil, invalid("bucket name %q must be 3 to 255 characters", bucket)
	case o.Concurrency < 0:
		return nil, invalid("Concurrency %d is negative", o.Concurrency)
	case o.StartAfter != "" && !strings.HasPrefix(o.StartAfter, prefix):
		return nil, invalid("StartAfter %q is not under the prefix %q", o.StartAfter, prefix)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	r := &prefixRun{c: c, o: o, ctx: ctx, bucket: bucket, start: c.opts.Clock.Now(),
		res: &PrefixRetainResult{Bucket: bucket, Prefix: prefix, Keep: keep, DryRun: o.DryRun}}
	r.res.LastKey = o.StartAfter // where a resumed run resumes from if it stops at once
	r.group, r.gctx = errgroup.WithContext(ctx)
	r.group.SetLimit(o.Concurrency)
	listErr := r.list(prefix, keep)
	if listErr == nil {
		r.flush()
	}
	groupErr := r.group.Wait()
	return r.finish(listErr, groupErr)
}

// prefixRun is the state of one RetainPrefix pass.
type prefixRun struct {
	c      *Client
	o      PrefixRetainOptions
	ctx    context.Context
	bucket string
	start  time.Time
	group  *errgroup.Group
	gctx   context.Context

	batch        []Version
	batchPrevKey string // the last key planned before the batch's first key

	mu      sync.Mutex
	res     *PrefixRetainResult
	batches []*sentBatch
}

type sentBatch struct {
	prevKey string
	done    bool // every version of it confirmed deleted
}

// list streams the listing and plans each key once it is complete.
func (r *prefixRun) list(prefix string, keep int) error {
	_, err := r.c.walkKeys(r.ctx, r.bucket, prefix, r.o.StartAfter, keyWalk{
		stop: func() bool { return r.gctx.Err() != nil }, // a delete batch failed: the error comes from the group
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
	return err
}

// keyWalk is what walkKeys does along the way.
type keyWalk struct {
	// what names the listing in errors. Default: "versions under s3://bucket/prefix".
	what string
	// stop, when set, is asked before each page; true ends the walk without an error.
	stop func() bool
	// page, when set, is told after each page how many new entries it listed.
	page func(listed int)
	// key gets each key's complete listing (versions in S3's order, then delete markers),
	// keys ascending.
	key func(key string, versions, markers []Version) error
}

// walkKeys streams ListObjectVersions over prefix, after startAfter when set, and hands
// each key to w.key as soon as the listing has moved past it: S3 lists keys in ascending
// order, each key's entries together. Memory holds one key's entries. An entry listed twice
// across a page boundary (some servers repeat the marker entry) counts once; an entry
// without a version id, or a truncated page without new markers, stops the walk with
// ErrMalformedResponse.
func (c *Client) walkKeys(ctx context.Context, bucket, prefix, startAfter string, w keyWalk) (pages int, err error) {
	if w.what == "" {
		w.what = fmt.Sprintf("versions under s3://%s/%s", bucket, prefix)
	}
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(c.opts.PageSize)}
	if startAfter != "" {
		in.KeyMarker = aws.String(startAfter)
	}
	var key string // the key being gathered
	var versions, markers []Version
	seen := map[string]bool{} // version ids of key
	done := startAfter        // keys up to this one are complete: a listing must not go back
	complete := func() error {
		if key == "" {
			return nil
		}
		err := w.key(key, versions, markers)
		done, key, versions, markers = key, "", nil, nil
		clear(seen)
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return pages, errtext.Wrap("s3diff", "listing "+w.what, err)
		}
		if w.stop != nil && w.stop() {
			return pages, nil
		}
		out, err := c.s3.ListObjectVersions(ctx, in, c.callOpts...)
		pages++
		if err != nil {
			return pages, errtext.Wrap("s3diff", fmt.Sprintf("listing %s (page %d)", w.what, pages), err)
		}
		if out == nil {
			return pages, fmt.Errorf("%w: ListObjectVersions page %d of s3://%s/%s is empty (no answer and no error)", ErrMalformedResponse, pages, bucket, prefix)
		}
		entries, err := pageEntries(out, bucket, pages)
		if err != nil {
			return pages, err
		}
		listed := 0
		for _, e := range entries {
			if e.Key != key {
				if err := complete(); err != nil {
					return pages, err
				}
				// Acting on a key outside the prefix, or on part of a key already planned, could
				// delete what the plan never saw whole: refuse the answer instead.
				if !strings.HasPrefix(e.Key, prefix) || (done != "" && e.Key <= done) {
					return pages, fmt.Errorf("%w: ListObjectVersions page %d of s3://%s/%s lists %q, which is outside the prefix or not after %q; keys must come once each, in ascending order",
						ErrMalformedResponse, pages, bucket, prefix, e.Key, done)
				}
				key = e.Key
			}
			if seen[e.VersionID] {
				c.log.Debug("s3diff: the server listed a version twice; counted once", "bucket", bucket, "key", e.Key, "version_id", e.VersionID)
				continue
			}
			seen[e.VersionID] = true
			listed++
			if e.DeleteMarker {
				markers = append(markers, e)
			} else {
				versions = append(versions, e)
			}
		}
		if w.page != nil {
			w.page(listed)
		}
		if !aws.ToBool(out.IsTruncated) {
			return pages, complete()
		}
		nextKey, nextVersion := aws.ToString(out.NextKeyMarker), aws.ToString(out.NextVersionIdMarker)
		if nextKey == "" || (nextKey == aws.ToString(in.KeyMarker) && nextVersion == aws.ToString(in.VersionIdMarker)) {
			return pages, fmt.Errorf("%w: ListObjectVersions page %d of s3://%s/%s is truncated but gives no new markers (%q, %q); refusing to loop",
				ErrMalformedResponse, pages, bucket, prefix, nextKey, nextVersion)
		}
		in.KeyMarker, in.VersionIdMarker = aws.String(nextKey), aws.String(nextVersion)
	}
}

// pageEntries turns a page into versions of S3's two lists, keys ascending, each key's
// versions in S3's order followed by its delete markers. Entries without a key or a version
// id make the page malformed: nothing of it is acted on.
func pageEntries(out *s3.ListObjectVersionsOutput, bucket string, page int) ([]Version, error) {
	var vs, ms []Version
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == "" || aws.ToString(v.VersionId) == "" {
			return nil, malformedListing(bucket, aws.ToString(v.Key), page, "a version")
		}
		vs = append(vs, Version{Key: aws.ToString(v.Key), VersionID: aws.ToString(v.VersionId), LastModified: aws.ToTime(v.LastModified),
			Size: aws.ToInt64(v.Size), ETag: aws.ToString(v.ETag), IsLatest: aws.ToBool(v.IsLatest)})
	}
	for _, m := range out.DeleteMarkers {
		if aws.ToString(m.Key) == "" || aws.ToString(m.VersionId) == "" {
			return nil, malformedListing(bucket, aws.ToString(m.Key), page, "a delete marker")
		}
		ms = append(ms, Version{Key: aws.ToString(m.Key), VersionID: aws.ToString(m.VersionId), LastModified: aws.ToTime(m.LastModified),
			IsLatest: aws.ToBool(m.IsLatest), DeleteMarker: true})
	}
	// Both lists are in key order: merge them by key, a key's versions first.
	out2 := make([]Version, 0, len(vs)+len(ms))
	i, j := 0, 0
	for i < len(vs) || j < len(ms) {
		if j == len(ms) || (i < len(vs) && vs[i].Key <= ms[j].Key) {
			out2 = append(out2, vs[i])
			i++
		} else {
			out2 = append(out2, ms[j])
			j++
		}
	}
	return out2, nil
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
		done, failures, calls, err := r.c.deleteVersions(r.gctx, r.bucket, batch, what)
		confirmed := map[[2]string]bool{}
		for _, v := range done {
			confirmed[[2]string{v.Key, v.VersionID}] = true
			if r.o.OnDelete != nil {
				r.o.OnDelete(v)
			}
		}
		reported := map[[2]string]bool{}
		for _, f := range failures {
			reported[[2]string{f.Version.Key, f.Version.VersionID}] = true
		}
		for _, v := range batch { // neither confirmed nor refused: not known to be deleted
			k := [2]string{v.Key, v.VersionID}
			if !confirmed[k] && !reported[k] {
				failures = append(failures, DeleteFailure{Version: v, Code: CodeNotConfirmed, Message: "not confirmed by S3"})
			}
		}
		r.mu.Lock()
		r.res.DeleteCalls += calls
		r.res.Deleted += len(done)
		r.res.Failed += len(failures)
		for _, f := range failures {
			if len(r.res.Failures) < maxReportedFailures {
				r.res.Failures = append(r.res.Failures, f)
			}
		}
		sb.done = len(failures) == 0 && err == nil
		r.mu.Unlock()
		r.progress()
		for _, f := range failures {
			if err == nil && f.Code == CodeMarkerCreated {
				// The server does not honour version ids: every further delete would hide an
				// object. Stop the pass.
				err = fmt.Errorf("%w: %s version %s: %s; the pass stopped so that nothing more is hidden", ErrDeleteFailed, f.Version.Key, f.Version.VersionID, f.Message)
			}
		}
		return err
	})
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
		res.Failed += len(r.batch)
		incomplete = true
	}
	err := listErr
	if err == nil {
		err = groupErr
	}
	if err == nil && len(r.batch) > 0 { // the batch was not sent because ctx ended
		err = r.ctx.Err()
		if err == nil {
			err = fmt.Errorf("s3diff: %d planned versions under s3://%s/%s were not sent", len(r.batch), res.Bucket, res.Prefix)
		}
	}
	if errors.Is(listErr, ErrMalformedResponse) {
		// Keys planned from a listing that turned out malformed may have been planned from
		// part of their versions: nothing of it counts as done.
		resume, incomplete = "", true
	}
	if err == nil && res.Failed > 0 && len(res.Failures) > 0 {
		f := res.Failures[0]
		err = fmt.Errorf("%w: %d of %d planned versions under s3://%s/%s (first: %s version %s: %s %s)", ErrDeleteFailed,
			res.Failed, res.Planned, res.Bucket, res.Prefix, f.Version.Key, f.Version.VersionID, f.Code, f.Message)
	}
	res.Complete = err == nil && !incomplete
	if !res.Complete {
		res.StartAfter = resume
	}
	return res, err
}
