package s3diff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shipshape-dev/shipshape/internal/awserr"
)

// Status is the outcome of a diff.
type Status string

// Diff outcomes.
const (
	StatusChanged   Status = "changed"    // text versions that differ: Hunks, Unified, WordDiff
	StatusNoChanges Status = "no-changes" // identical content
	StatusBinary    Status = "binary"     // at least one version is not text (NUL bytes or invalid UTF-8)
	StatusTooLarge  Status = "too-large"  // a version exceeds Options.MaxObjectBytes; nothing downloaded
)

// DiffOptions choose the two versions to compare.
type DiffOptions struct {
	// To is the newer version's id. Default: the newest object version (delete markers are
	// skipped, and Result.Notes says so).
	To string
	// From is the older version's id. Default: the object version just before To.
	From string
}

// Result is a diff of two versions of one key.
type Result struct {
	Bucket, Key string
	From, To    Version
	Status      Status
	// Summary is one line for logs: what was compared and what came out.
	Summary string
	// Notes explain choices made on the way (delete markers skipped, ...).
	Notes []string
	// LinesAdded and LinesRemoved count changed lines (StatusChanged only).
	LinesAdded, LinesRemoved int
	// Hunks are the groups of changes with Options.ContextLines of context.
	Hunks []Hunk
	// Approximate is set when Options.DiffTimeout cut the line diff short: the diff is
	// still correct, but may show more lines as changed than necessary.
	Approximate bool

	oldText, newText string
}

// Diff compares two versions of bucket/key; by default the newest version against the one
// before it. Pass DiffOptions.To with the version id from an event notification to diff
// exactly that upload, whatever arrived since.
func (c *Client) Diff(ctx context.Context, bucket, key string, optFns ...func(*DiffOptions)) (*Result, error) {
	var o DiffOptions
	for _, fn := range optFns {
		fn(&o)
	}
	versions, markers, _, err := c.list(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	r := &Result{Bucket: bucket, Key: key}
	if len(versions) == 0 {
		if len(markers) > 0 {
			return nil, fmt.Errorf("%w: s3://%s/%s has only delete markers", ErrNoVersions, bucket, key)
		}
		return nil, fmt.Errorf("%w: s3://%s/%s (check the bucket and the exact key)", ErrNoVersions, bucket, key)
	}

	toIdx := 0
	if o.To != "" {
		if toIdx = indexOf(versions, o.To); toIdx < 0 {
			return nil, c.missing(bucket, key, o.To, markers)
		}
	} else if len(markers) > 0 && markers[0].IsLatest {
		r.Notes = append(r.Notes, fmt.Sprintf("the latest entry is delete marker %s; diffing the newest object version instead", markers[0].VersionID))
	}
	r.To = versions[toIdx]

	fromIdx := toIdx + 1
	if o.From != "" {
		if fromIdx = indexOf(versions, o.From); fromIdx < 0 {
			return nil, c.missing(bucket, key, o.From, markers)
		}
	} else if fromIdx >= len(versions) {
		return nil, fmt.Errorf("%w: %s is the oldest version of s3://%s/%s", ErrNoPredecessor, r.To.describe(), bucket, key)
	}
	r.From = versions[fromIdx]
	// S3 lists delete markers apart from versions, so where exactly a marker stood can only
	// be told from its LastModified (whole seconds): note every one not older than From.
	oldest := r.From.LastModified.Truncate(time.Second)
	for _, m := range markers {
		if !m.IsLatest && !m.LastModified.Before(oldest) {
			r.Notes = append(r.Notes, fmt.Sprintf("skipped delete marker %s: delete markers have no content", m.describe()))
		}
	}

	if big := max(r.From.Size, r.To.Size); big > c.opts.MaxObjectBytes {
		r.Status = StatusTooLarge
		r.Summary = fmt.Sprintf("too large to diff: %d -> %d bytes, limit %d (Options.MaxObjectBytes); ETag %s -> %s",
			r.From.Size, r.To.Size, c.opts.MaxObjectBytes, r.From.ETag, r.To.ETag)
		return r, nil
	}
	oldBody, err := c.get(ctx, bucket, r.From)
	if err != nil {
		return nil, err
	}
	newBody, err := c.get(ctx, bucket, r.To)
	if err != nil {
		return nil, err
	}
	switch {
	case oldBody == newBody:
		r.Status = StatusNoChanges
		r.Summary = fmt.Sprintf("no changes: %s and %s have the same %d bytes", r.From.VersionID, r.To.VersionID, len(newBody))
		return r, nil
	case !isText(oldBody) || !isText(newBody):
		r.Status = StatusBinary
		r.Summary = fmt.Sprintf("binary versions differ: %d bytes (ETag %s) -> %d bytes (ETag %s)",
			len(oldBody), r.From.ETag, len(newBody), r.To.ETag)
		return r, nil
	}
	r.oldText, r.newText = oldBody, newBody
	sc, approximate, err := diffLines(r.oldText, r.newText, c.opts.DiffTimeout)
	if err != nil {
		return nil, err
	}
	r.Approximate = approximate
	r.Hunks = hunks(sc, c.opts.ContextLines)
	for _, h := range r.Hunks {
		r.LinesAdded += h.Added
		r.LinesRemoved += h.Removed
	}
	r.Status = StatusChanged
	r.Summary = fmt.Sprintf("changed: +%d -%d lines in %d hunk(s), %s -> %s", r.LinesAdded, r.LinesRemoved, len(r.Hunks), r.From.VersionID, r.To.VersionID)
	return r, nil
}

func indexOf(versions []Version, id string) int {
	for i, v := range versions {
		if v.VersionID == id {
			return i
		}
	}
	return -1
}

func (c *Client) missing(bucket, key, id string, markers []Version) error {
	if indexOf(markers, id) >= 0 {
		return fmt.Errorf("%w: %s of s3://%s/%s is a delete marker, which has no content to diff", ErrVersionNotFound, id, bucket, key)
	}
	return fmt.Errorf("%w: %s is not a version of s3://%s/%s (deleted already, or of another key?)", ErrVersionNotFound, id, bucket, key)
}

// get downloads one version, refusing more than MaxObjectBytes. It reads straight into a
// string (no copy), sized from the listing.
func (c *Client) get(ctx context.Context, bucket string, v Version) (string, error) {
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(v.Key), VersionId: aws.String(v.VersionID)}, c.callOpts...)
	if err != nil {
		if code := awserr.Code(err); code == "NoSuchVersion" || code == "NoSuchKey" {
			return "", fmt.Errorf("%w: %s of s3://%s/%s disappeared while diffing: %w", ErrVersionNotFound, v.VersionID, bucket, v.Key, err)
		}
		return "", fmt.Errorf("s3diff: getting s3://%s/%s version %s: %w", bucket, v.Key, v.VersionID, err)
	}
	defer out.Body.Close()
	var sb strings.Builder
	sb.Grow(int(min(v.Size, c.opts.MaxObjectBytes)) + 1)
	n, err := io.Copy(&sb, io.LimitReader(out.Body, c.opts.MaxObjectBytes+1))
	if err != nil {
		return "", fmt.Errorf("s3diff: reading s3://%s/%s version %s: %w", bucket, v.Key, v.VersionID, err)
	}
	if n > c.opts.MaxObjectBytes {
		return "", fmt.Errorf("s3diff: s3://%s/%s version %s is larger than %d bytes although its listing said %d", bucket, v.Key, v.VersionID, c.opts.MaxObjectBytes, v.Size)
	}
	return sb.String(), nil
}

// isText reports whether s can be diffed as text: valid UTF-8 without NUL bytes.
func isText(s string) bool { return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) }

// Unified returns the diff in `diff -u` format, with the key and version ids in the
// headers. GNU patch applies it to the old version to give the new one. It is empty unless
// Status is StatusChanged.
func (r *Result) Unified() string {
	if r.Status != StatusChanged {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- a/%s\t%s\n+++ b/%s\t%s\n", r.Key, r.From.VersionID, r.Key, r.To.VersionID)
	for _, h := range r.Hunks {
		b.WriteString(h.header())
		b.WriteByte('\n')
		for _, op := range h.ops {
			b.WriteByte(byte(op.kind))
			b.WriteString(op.line)
			if !strings.HasSuffix(op.line, "\n") {
				b.WriteString("\n\\ No newline at end of file\n")
			}
		}
	}
	return b.String()
}

// WordDiff returns each hunk with changed words marked inline, [-removed-]{+added+}, as
// `git diff --word-diff` shows them. It is empty unless Status is StatusChanged.
func (r *Result) WordDiff() string {
	if r.Status != StatusChanged {
		return ""
	}
	var b strings.Builder
	for _, h := range r.Hunks {
		var oldPart, newPart strings.Builder
		for _, op := range h.ops {
			if op.kind != opInsert {
				oldPart.WriteString(op.line)
			}
			if op.kind != opDelete {
				newPart.WriteString(op.line)
			}
		}
		b.WriteString(h.header())
		b.WriteByte('\n')
		kinds, toks, _, err := diffTokens(words(oldPart.String()), words(newPart.String()), 0)
		if err != nil {
			b.WriteString("(word diff unavailable: " + err.Error() + ")\n")
			continue
		}
		var last opKind = opEqual
		for i, k := range kinds {
			if k != last {
				b.WriteString(closeMark(last) + openMark(k))
				last = k
			}
			b.WriteString(toks[i])
		}
		b.WriteString(closeMark(last))
		if !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func openMark(k opKind) string {
	switch k {
	case opDelete:
		return "[-"
	case opInsert:
		return "{+"
	}
	return ""
}

func closeMark(k opKind) string {
	switch k {
	case opDelete:
		return "-]"
	case opInsert:
		return "+}"
	}
	return ""
}

// words splits s into runs of letters and digits, runs of spaces, and single other runes,
// so that concatenating the result gives back s.
func words(s string) []string {
	var out []string
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		n := size
		class := runeClass(r)
		if class != 2 {
			for n < len(s) {
				r2, size2 := utf8.DecodeRuneInString(s[n:])
				if runeClass(r2) != class {
					break
				}
				n += size2
			}
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// runeClass: 0 word, 1 space, 2 anything else (one rune per token).
func runeClass(r rune) int {
	switch {
	case r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f && r != utf8.RuneError && !isSpace(r):
		return 0
	case isSpace(r):
		return 1
	}
	return 2
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\u00a0' }

// errIsNotFound reports whether err means the version is gone.
func errIsNotFound(err error) bool { return errors.Is(err, ErrVersionNotFound) }
