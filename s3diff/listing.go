package s3diff

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// The listing loop: every read of S3's versions (Versions, Diff, Retain, RetainPrefix,
// Changes, and the listing that settles a lost delete answer) goes through walkKeys, so the
// checks that keep a lying or broken server from steering a deletion live here once:
//
//   - every entry has a key and a version id;
//   - keys come once each, ascending, under the prefix (never back to a key already planned);
//   - each fully listed key has exactly one entry marked IsLatest;
//   - the pages end: no (key marker, version id marker) pair is asked for twice in a pass,
//     and a truncated page must list something new (at most maxStalls in a row may not), so
//     the pages of a pass are bounded by the entries it has listed.

// maxStalls is how many truncated pages in a row may list nothing new before the listing is
// refused. S3 fills its pages, but S3-compatible servers differ at the edges (one repeats
// the marker entry at the top of the next page), so a page without anything new is not yet
// an error; a run of them is.
const maxStalls = 2

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
// order, each key's entries together. Memory holds one key's entries (and one marker pair
// per page). An entry listed twice across a page boundary (some servers repeat the marker
// entry) counts once. Anything that breaks the rules above stops the walk with
// ErrMalformedResponse, before the key concerned is handed on.
func (c *Client) walkKeys(ctx context.Context, bucket, prefix, startAfter string, w keyWalk) (pages int, err error) {
	if w.what == "" {
		w.what = fmt.Sprintf("versions under s3://%s/%s", bucket, prefix)
	}
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(c.opts.PageSize)}
	if startAfter != "" {
		in.KeyMarker = aws.String(startAfter)
	}
	malformed := func(format string, args ...any) error {
		return fmt.Errorf("%w: ListObjectVersions page %d of s3://%s/%s: %s", ErrMalformedResponse, pages, bucket, prefix, fmt.Sprintf(format, args...))
	}
	var key string // the key being gathered
	var versions, markers []Version
	seen := map[string]bool{} // version ids of key
	done := startAfter        // keys up to this one are complete: a listing must not go back
	complete := func() error {
		if key == "" {
			return nil
		}
		if err := oneLatest(key, versions, markers); err != nil {
			return malformed("%v", err)
		}
		err := w.key(key, versions, markers)
		done, key, versions, markers = key, "", nil, nil
		clear(seen)
		return err
	}
	asked := map[[2]string]bool{{startAfter, ""}: true} // marker pairs of this pass
	stalls := 0
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
			return pages, malformed("no answer and no error")
		}
		entries, err := pageEntries(out, bucket, pages)
		if err != nil {
			return pages, err
		}
		listed := 0
		for _, e := range entries {
			if e.Key != key {
				// Acting on a key outside the prefix, or on part of a key already planned, could
				// delete what the plan never saw whole: refuse the answer instead, before the key
				// gathered so far is handed on (a key that comes back out of order says that key
				// may not be whole either).
				if last := max(done, key); !strings.HasPrefix(e.Key, prefix) || (last != "" && e.Key <= last) {
					return pages, malformed("it lists %q, which is outside the prefix or not after %q; keys must come once each, in ascending order", e.Key, last)
				}
				if err := complete(); err != nil {
					return pages, err
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
		next := [2]string{aws.ToString(out.NextKeyMarker), aws.ToString(out.NextVersionIdMarker)}
		switch {
		case next[0] == "":
			return pages, malformed("it is truncated but gives no next key marker; refusing to loop")
		case asked[next]:
			return pages, malformed("it is truncated and points back to markers (%q, %q) this listing has already read; refusing to loop", next[0], next[1])
		case next[0] < done || (key != "" && next[0] < key):
			return pages, malformed("its next key marker %q goes back before %q; refusing to loop", next[0], max(done, key))
		}
		if listed == 0 {
			stalls++
		} else {
			stalls = 0
		}
		if stalls > maxStalls {
			return pages, malformed("%d truncated pages in a row listed nothing new; refusing to loop", stalls)
		}
		asked[next] = true
		in.KeyMarker, in.VersionIdMarker = aws.String(next[0]), aws.String(next[1])
	}
}

// oneLatest checks that a fully listed key has exactly one entry marked latest: none would
// let retention delete the newest version, two would let it keep the wrong one.
func oneLatest(key string, versions, markers []Version) error {
	var latest []string
	for _, e := range append(append([]Version(nil), versions...), markers...) {
		if e.IsLatest {
			latest = append(latest, e.VersionID)
		}
	}
	if len(latest) != 1 {
		return fmt.Errorf("key %q has %d entries marked latest (%s); a listing marks exactly one, so nothing of this key is acted on",
			key, len(latest), strings.Join(latest, ", "))
	}
	return nil
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
	entries := make([]Version, 0, len(vs)+len(ms))
	i, j := 0, 0
	for i < len(vs) || j < len(ms) {
		if j == len(ms) || (i < len(vs) && vs[i].Key <= ms[j].Key) {
			entries = append(entries, vs[i])
			i++
		} else {
			entries = append(entries, ms[j])
			j++
		}
	}
	return entries, nil
}
