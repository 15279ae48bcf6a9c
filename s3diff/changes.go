package s3diff

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ChangeKind says how a key changed after a point in time.
type ChangeKind string

// Kinds of Change.
const (
	ChangeAdded    ChangeKind = "added"    // no object at Since (no entry, or a delete marker), an object now
	ChangeModified ChangeKind = "modified" // an object at Since and now (the content may be the same)
	ChangeDeleted  ChangeKind = "deleted"  // an object at Since, a delete marker now
	ChangeGone     ChangeKind = "gone"     // no object at Since and none now, but entries in between
)

// Change is a key with versions or delete markers newer than a point in time.
type Change struct {
	Key  string     `json:"key"`
	Kind ChangeKind `json:"kind"`
	// Before is the newest entry (version or delete marker) at or before the time; nil when
	// the key had none. After is the latest entry now.
	Before *Version `json:"before,omitempty"`
	After  Version  `json:"after"`
	// Entries counts the versions and delete markers newer than the time.
	Entries int `json:"entries"`
}

// Changes lists, in one ListObjectVersions pass over prefix, every key with a version or a
// delete marker whose LastModified is after since, and hands each to fn in key order as soon
// as the listing has moved past it (memory holds one key's entries). LastModified has whole
// seconds: an entry at exactly since counts as before it. fn's error stops the pass and is
// returned.
func (c *Client) Changes(ctx context.Context, bucket, prefix string, since time.Time, fn func(Change) error) error {
	switch {
	case ValidBucketName(bucket) != nil:
		return ValidBucketName(bucket)
	case since.IsZero():
		return invalid("no time to list the changes since")
	case fn == nil:
		return invalid("Changes needs a function to hand the changes to")
	}
	_, err := c.walkKeys(ctx, bucket, prefix, "", keyWalk{key: func(key string, versions, markers []Version) error {
		entries := merge(versions, markers) // latest first, then newest first
		if !anyAfter(entries, since) {
			return nil
		}
		ch := Change{Key: key, After: entries[0]}
		for i := range entries {
			if entries[i].LastModified.After(since) {
				ch.Entries++
			} else if ch.Before == nil {
				before := entries[i]
				ch.Before = &before
			}
		}
		existedBefore := ch.Before != nil && !ch.Before.DeleteMarker
		switch {
		case existedBefore && ch.After.DeleteMarker:
			ch.Kind = ChangeDeleted
		case existedBefore:
			ch.Kind = ChangeModified
		case ch.After.DeleteMarker:
			ch.Kind = ChangeGone
		default:
			ch.Kind = ChangeAdded
		}
		return fn(ch)
	}})
	return err
}

func anyAfter(entries []Version, since time.Time) bool {
	for _, e := range entries {
		if e.LastModified.After(since) {
			return true
		}
	}
	return false
}

// DiffChange diffs a Change: the version before against the latest one (ChangeModified),
// nothing against the latest (ChangeAdded) or the version before against nothing
// (ChangeDeleted), with the guards of Diff (MaxObjectBytes, binary content). A ChangeGone
// has nothing to diff: ErrInvalidInput. WriteGitDiff writes the result with git's headers.
func (c *Client) DiffChange(ctx context.Context, bucket string, ch Change) (*Result, error) {
	r := &Result{Bucket: bucket, Key: ch.Key}
	switch ch.Kind {
	case ChangeModified, ChangeDeleted:
		if ch.Before == nil || ch.Before.DeleteMarker || ch.Before.VersionID == "" {
			return nil, invalid("change of %q: a %s change needs the object version before it", ch.Key, ch.Kind)
		}
		r.From = *ch.Before
	}
	switch ch.Kind {
	case ChangeModified, ChangeAdded:
		if ch.After.DeleteMarker || ch.After.VersionID == "" {
			return nil, invalid("change of %q: a %s change needs the object version after it", ch.Key, ch.Kind)
		}
		r.To = ch.After
	case ChangeDeleted:
	default:
		return nil, invalid("change of %q is %q: nothing to diff (only added, modified and deleted keys have content on both sides)", ch.Key, ch.Kind)
	}
	if r.From.Key != ch.Key && r.From.VersionID != "" || r.To.Key != ch.Key && r.To.VersionID != "" {
		return nil, invalid("change of %q names a version of another key", ch.Key)
	}
	return c.compare(ctx, r)
}

// WriteGitDiff writes the diff as one file of `git diff` output: a "diff --git a/KEY b/KEY"
// line, "new file mode" or "deleted file mode" for an added or deleted key, then the unified
// diff with /dev/null for the missing side. Several results written one after another make a
// patch that `git apply` and `patch -p1` apply to the old tree. Only StatusChanged results
// (and added or deleted empty objects) write anything: a binary or too large version has no
// text to apply, so the caller says so elsewhere.
func (r *Result) WriteGitDiff(w io.Writer) error {
	added, deleted := r.From.VersionID == "" && r.FromFile == "", r.To.VersionID == "" && r.ToFile == ""
	if r.Status != StatusChanged && !(r.Status == StatusNoChanges && (added || deleted)) {
		return nil
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "diff --git %s %s\n", gitPath("a/"+r.Key), gitPath("b/"+r.Key))
	switch {
	case added:
		bw.WriteString("new file mode 100644\n")
	case deleted:
		bw.WriteString("deleted file mode 100644\n")
	}
	if r.Status == StatusChanged {
		r.writeUnified(bw)
	}
	return bw.Flush()
}

// gitPath quotes a path as git does when it holds a double quote, a backslash or a control
// character: in double quotes, with C escapes.
func gitPath(p string) string {
	if !strings.ContainsAny(p, "\"\\") && !strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return p
	}
	return strconv.Quote(p)
}
