package s3diff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/internal/awsretry"
	"github.com/shipshape-dev/shipshape/textdiff"
)

// Options are the optional settings of a Client. A zero value means the default.
type Options struct {
	// MaxObjectBytes is the largest version (or local file) the Client reads to diff;
	// larger ones give StatusTooLarge without being read. Default: 64 MiB; at most 2 GiB - 1.
	// A diff holds both versions in memory and, for its tables, at most about as much again
	// (less with longer lines; docs/PERFORMANCE.md), so two 64 MiB versions fit in 512 MB.
	MaxObjectBytes int64

	// ContextLines is the number of unchanged lines around each hunk. Default: 3; use a
	// negative value for none.
	ContextLines int

	// DiffBudget bounds the work of the line diff, in steps (one step is about one
	// comparison of two lines). It is a count, never a time, so a diff does not depend on
	// the machine or its load. Diffs of real text take a few steps per line; when one needs
	// more than the budget, what is left is shown as whole replacements, still correct and
	// still applying, and Result.Approximate and Result.Notes say so. Default: 50,000,000
	// plus 200 per line of the two versions.
	DiffBudget int64

	// WordDiffBudget bounds the word diff of each hunk, in steps per word of the hunk's
	// changed lines (at least 4,096 steps a hunk); a hunk over it, or with more than
	// 1,048,576 changed words, is shown as its line diff with a note. Default: 16.
	WordDiffBudget int64

	// PageSize is MaxKeys for ListObjectVersions. Default and maximum: 1000.
	PageSize int32

	// DeleteAttempts is how many times a retryable per-version DeleteObjects error
	// (InternalError, SlowDown, ...) that names its version is tried in all. These errors come
	// inside a successful response, where the SDK's retryer can't see them. Default: 3.
	DeleteAttempts int

	// RetryWait is the wait before retry n (1-based) of failed deletions, on Clock.
	// Default: 200 ms * 2^(n-1).
	RetryWait func(n int) time.Duration

	// MaxAttempts is how many times one S3 call is sent in all when it is throttled or fails
	// on the server or the network, by the SDK's standard retryer; nothing else retries a
	// whole call. Default: 3.
	MaxAttempts int

	// ClientOptions are applied to every S3 call after the package's own (the retryer), e.g.
	// func(o *s3.Options) { o.UsePathStyle = true } for an S3-compatible server.
	ClientOptions []func(*s3.Options)

	// Clock is the time source of the waits between deletion retries and of the SDK
	// retryer's backoff. Default: the wall clock.
	Clock clock.Clock

	// Logger receives Debug lines (pages listed, batches deleted) and Warn lines (retries).
	// Default: discard.
	Logger *slog.Logger
}

// Client diffs and prunes the versions of S3 objects. It is safe for concurrent use.
type Client struct {
	s3       S3API
	opts     Options
	log      *slog.Logger
	callOpts []func(*s3.Options)
}

// New returns a Client over an S3 client (*s3.Client or s3difftest.Bucket). The error,
// wrapping ErrInvalidInput, is for options that can't work; New makes no call.
func New(client S3API, optFns ...func(*Options)) (*Client, error) {
	if client == nil {
		return nil, invalid("no S3 client")
	}
	return newClient(client, optFns...)
}

// newClient is New without the S3 client check, for DiffFiles, which reads no S3.
func newClient(client S3API, optFns ...func(*Options)) (*Client, error) {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case o.MaxObjectBytes < 0 || o.DeleteAttempts < 0 || o.MaxAttempts < 0:
		return nil, invalid("MaxObjectBytes, DeleteAttempts and MaxAttempts can't be negative")
	case o.PageSize < 0 || o.PageSize > 1000:
		return nil, invalid("PageSize %d: ListObjectVersions takes 1 to 1000", o.PageSize)
	}
	if o.MaxObjectBytes == 0 {
		o.MaxObjectBytes = 64 << 20
	}
	o.MaxObjectBytes = min(o.MaxObjectBytes, textdiff.MaxBytes)
	if o.ContextLines == 0 {
		o.ContextLines = 3
	} else if o.ContextLines < 0 {
		o.ContextLines = 0
	}
	if o.WordDiffBudget <= 0 {
		o.WordDiffBudget = textdiff.DefaultWordBudget
	}
	if o.PageSize == 0 {
		o.PageSize = 1000
	}
	if o.DeleteAttempts == 0 {
		o.DeleteAttempts = 3
	}
	if o.RetryWait == nil {
		o.RetryWait = func(n int) time.Duration { return 200 * time.Millisecond << (n - 1) }
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 3
	}
	o.Clock = clock.Or(o.Clock)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	retryer := awsretry.New(awsretry.Options{Clock: o.Clock, MaxAttempts: o.MaxAttempts})
	callOpts := append([]func(*s3.Options){func(so *s3.Options) { so.Retryer = retryer }}, o.ClientOptions...)
	return &Client{s3: client, opts: o, log: o.Logger, callOpts: callOpts}, nil
}

// NewFromConfig returns a Client over s3.NewFromConfig(cfg). For an S3-compatible server
// that needs path-style addressing, add
// func(o *s3diff.Options) { o.ClientOptions = append(o.ClientOptions, func(o *s3.Options) { o.UsePathStyle = true }) }.
func NewFromConfig(cfg aws.Config, optFns ...func(*Options)) (*Client, error) {
	return New(s3.NewFromConfig(cfg), optFns...)
}

// Version is one version of an object, or a delete marker.
type Version struct {
	Key          string    `json:"key"`
	VersionID    string    `json:"versionId"`
	LastModified time.Time `json:"lastModified"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag,omitempty"`
	IsLatest     bool      `json:"isLatest"`
	DeleteMarker bool      `json:"deleteMarker"`
}

// Versions lists every version and delete marker of exactly key (not of other keys that
// merely start with it), newest first, paginating as long as needed and stopping as soon as
// the listing has passed the key.
//
// Object versions keep the order S3 returns them in (newest first, reliable even when
// several share one LastModified second). S3's API returns delete markers in a separate
// list, so they are merged in by LastModified; where a delete marker and a version share a
// second, the latest entry comes first and otherwise the version does.
func (c *Client) Versions(ctx context.Context, bucket, key string) ([]Version, error) {
	versions, markers, _, err := c.list(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	return merge(versions, markers), nil
}

// list returns the object versions (S3 order) and delete markers of exactly key, and the
// number of pages read. It is the prefix walk over key, stopped at the first key it
// completes: the exact key sorts before every other key that starts with it ("a" before
// "a.bak" and "a/b"), so that key is it, or key has no entries at all.
func (c *Client) list(ctx context.Context, bucket, key string) (versions, markers []Version, pages int, err error) {
	if err := checkBucketKey(bucket, key); err != nil {
		return nil, nil, 0, err
	}
	pages, err = c.walkKeys(ctx, bucket, key, "", keyWalk{
		what: fmt.Sprintf("versions of s3://%s/%s", bucket, key),
		key: func(k string, vs, ms []Version) error {
			if k == key {
				versions, markers = vs, ms
			}
			return errWalkDone
		},
	})
	if errors.Is(err, errWalkDone) {
		err = nil
	}
	if err != nil {
		return nil, nil, pages, err
	}
	c.log.Debug("s3diff: listed the versions of a key", "bucket", bucket, "key", key, "pages", pages,
		"versions", len(versions), "delete_markers", len(markers))
	return versions, markers, pages, nil
}

// errWalkDone ends a walkKeys early on purpose.
var errWalkDone = errors.New("s3diff: walk done")

// malformedListing is the error for a listed entry without a version id. Acting on it could
// mean a delete without a version id (which adds a delete marker and hides the object) or a
// read of whatever version is latest, so nothing is done.
func malformedListing(bucket, key string, page int, what string) error {
	return fmt.Errorf("%w: ListObjectVersions page %d lists %s of s3://%s/%s without a version id (versioning off or a broken S3-compatible server?); nothing was read or deleted",
		ErrMalformedResponse, page, what, bucket, key)
}

// merge interleaves delete markers into the versions (S3 order kept), newest first.
func merge(versions, markers []Version) []Version {
	if len(markers) == 0 {
		return versions
	}
	out := make([]Version, 0, len(versions)+len(markers))
	// The latest entry first (some S3 implementations give noncurrent entries odd
	// LastModified values), then newest first. S3's API lists markers apart from versions,
	// so a marker and a version of the same second can't be ordered for sure: the marker is
	// taken as the newer (a write and then a delete within a second being the usual case).
	sort.SliceStable(markers, func(i, j int) bool {
		if markers[i].IsLatest != markers[j].IsLatest {
			return markers[i].IsLatest
		}
		return markers[i].LastModified.After(markers[j].LastModified)
	})
	i, j := 0, 0
	for i < len(versions) || j < len(markers) {
		switch {
		case j == len(markers):
			out = append(out, versions[i])
			i++
		case i == len(versions):
			out = append(out, markers[j])
			j++
		case versions[i].IsLatest:
			out = append(out, versions[i])
			i++
		case markers[j].IsLatest || !markers[j].LastModified.Before(versions[i].LastModified):
			out = append(out, markers[j])
			j++
		default:
			out = append(out, versions[i])
			i++
		}
	}
	return out
}

// describe names a version for messages: "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY (2026-11-23T09:00:00Z)".
func (v Version) describe() string {
	id := v.VersionID
	if v.DeleteMarker {
		id = "delete marker " + id
	}
	return strings.TrimSpace(fmt.Sprintf("%s (%s)", id, v.LastModified.UTC().Format(time.RFC3339)))
}
