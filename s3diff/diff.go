package s3diff

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shipshape-dev/shipshape/internal/awserr"
	"github.com/shipshape-dev/shipshape/textdiff"
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
	// From is the older version's id. Default: the object version just before To, or the
	// newest object version when ToFile is set.
	From string
	// FromFile and ToFile name local files that replace a side, e.g. to diff the newest
	// version against a file before uploading it (ToFile). FromFile excludes From, ToFile
	// excludes To. With both set nothing is read from S3 and bucket and key may be empty,
	// as with DiffFiles. A file over Options.MaxObjectBytes gives StatusTooLarge without
	// being read.
	FromFile, ToFile string
}

// Result is a diff of two versions of one key.
type Result struct {
	Bucket, Key string
	// From and To are the versions compared. A side that came from a local file has only
	// Key (the path) and Size, and FromFile or ToFile names the file.
	From, To         Version
	FromFile, ToFile string
	Status           Status
	// Summary is one line for logs: what was compared and what came out.
	Summary string
	// Notes explain choices made on the way (delete markers skipped, a coarser diff, ...).
	Notes []string
	// LinesAdded and LinesRemoved count changed lines (StatusChanged only).
	LinesAdded, LinesRemoved int
	// Hunks are the groups of changes with Options.ContextLines of context.
	Hunks []textdiff.Hunk
	// Approximate is set when the line diff reached its budget (Options.DiffBudget): the
	// stretches it had not finished are shown as whole replacements (all their old lines
	// removed, all their new lines added), and Notes says how many lines that covers. The
	// diff is still correct and applies; it is only coarser. It never depends on time or
	// load: the same inputs and budget give the same diff on any machine.
	Approximate bool

	oldText, newText string
	diff             *textdiff.Diff
	wordBudget       int64
}

// Diff compares two versions of bucket/key; by default the newest version against the one
// before it. Pass DiffOptions.To with the version id from an event notification to diff
// exactly that upload, whatever arrived since. DiffOptions.FromFile and ToFile replace a side
// with a local file.
func (c *Client) Diff(ctx context.Context, bucket, key string, optFns ...func(*DiffOptions)) (*Result, error) {
	var o DiffOptions
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case o.From != "" && o.FromFile != "":
		return nil, invalid("DiffOptions: From (%s) and FromFile (%s) name the same side; set one", o.From, o.FromFile)
	case o.To != "" && o.ToFile != "":
		return nil, invalid("DiffOptions: To (%s) and ToFile (%s) name the same side; set one", o.To, o.ToFile)
	}
	r := &Result{Bucket: bucket, Key: key, FromFile: o.FromFile, ToFile: o.ToFile}
	if o.FromFile != "" && o.ToFile != "" {
		return c.compare(ctx, r)
	}
	versions, markers, _, err := c.list(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		if len(markers) > 0 {
			return nil, fmt.Errorf("%w: s3://%s/%s has only delete markers", ErrNoVersions, bucket, key)
		}
		return nil, fmt.Errorf("%w: s3://%s/%s (check the bucket and the exact key)", ErrNoVersions, bucket, key)
	}
	noteLatestMarker := func() {
		if len(markers) > 0 && markers[0].IsLatest {
			r.Notes = append(r.Notes, fmt.Sprintf("the latest entry is delete marker %s; diffing the newest object version instead", markers[0].VersionID))
		}
	}

	toIdx := -1 // a local file
	if o.ToFile == "" {
		toIdx = 0
		if o.To != "" {
			if toIdx = indexOf(versions, o.To); toIdx < 0 {
				return nil, c.missing(bucket, key, o.To, markers)
			}
		} else {
			noteLatestMarker()
		}
		r.To = versions[toIdx]
	}

	if o.FromFile == "" {
		fromIdx := toIdx + 1 // the newest version when To is a file
		switch {
		case o.From != "":
			if fromIdx = indexOf(versions, o.From); fromIdx < 0 {
				return nil, c.missing(bucket, key, o.From, markers)
			}
		case fromIdx >= len(versions):
			return nil, fmt.Errorf("%w: %s is the oldest version of s3://%s/%s", ErrNoPredecessor, r.To.describe(), bucket, key)
		case toIdx < 0:
			noteLatestMarker()
		}
		r.From = versions[fromIdx]
		// S3 lists delete markers apart from versions, so where exactly a marker stood can
		// only be told from its LastModified (whole seconds): note every one not older than
		// From.
		oldest := r.From.LastModified.Truncate(time.Second)
		for _, m := range markers {
			if !m.IsLatest && !m.LastModified.Before(oldest) {
				r.Notes = append(r.Notes, fmt.Sprintf("skipped delete marker %s: delete markers have no content", m.describe()))
			}
		}
	}
	return c.compare(ctx, r)
}

// DiffFiles diffs two local files with the diff settings of Options (MaxObjectBytes,
// ContextLines, DiffBudget, WordDiffBudget); nothing is read from S3. The Result is used as
// Client.Diff's: Unified, WordDiff and JSONChanges work the same.
func DiffFiles(ctx context.Context, oldPath, newPath string, optFns ...func(*Options)) (*Result, error) {
	if oldPath == "" || newPath == "" {
		return nil, invalid("DiffFiles needs two file paths")
	}
	c, err := newClient(nil, optFns...)
	if err != nil {
		return nil, err
	}
	return c.compare(ctx, &Result{FromFile: oldPath, ToFile: newPath})
}

// compare reads the two sides of r (S3 versions, or the files r.FromFile and r.ToFile) and
// diffs them.
func (c *Client) compare(ctx context.Context, r *Result) (*Result, error) {
	for _, side := range []struct {
		path string
		v    *Version
	}{{r.FromFile, &r.From}, {r.ToFile, &r.To}} {
		if side.path == "" {
			continue
		}
		st, err := os.Stat(side.path)
		if err != nil {
			return nil, fmt.Errorf("s3diff: local file: %w", err)
		}
		if st.IsDir() {
			return nil, invalid("%s is a directory, not a file", side.path)
		}
		*side.v = Version{Key: side.path, Size: st.Size()}
	}
	limit := c.opts.MaxObjectBytes
	if max(r.From.Size, r.To.Size) > limit {
		return r.tooLarge(limit), nil
	}
	oldBody, err := c.body(ctx, r.Bucket, r.From, r.FromFile)
	if err != nil {
		return nil, err
	}
	newBody, err := c.body(ctx, r.Bucket, r.To, r.ToFile)
	if err != nil {
		return nil, err
	}
	if int64(max(len(oldBody), len(newBody))) > limit { // a file that grew since Stat
		r.From.Size, r.To.Size = int64(len(oldBody)), int64(len(newBody))
		return r.tooLarge(limit), nil
	}
	switch {
	case oldBody == newBody:
		r.Status = StatusNoChanges
		r.Summary = fmt.Sprintf("no changes: %s and %s have the same %d bytes", r.name(false), r.name(true), len(newBody))
		return r, nil
	case !isText(oldBody) || !isText(newBody):
		r.Status = StatusBinary
		r.Summary = fmt.Sprintf("binary versions differ: %d bytes (ETag %s) -> %d bytes (ETag %s)",
			len(oldBody), r.From.ETag, len(newBody), r.To.ETag)
		return r, nil
	}
	r.oldText, r.newText = oldBody, newBody
	budget := c.budget(oldBody, newBody)
	d, err := textdiff.Lines(ctx, oldBody, newBody, budget)
	if err != nil {
		return nil, fmt.Errorf("s3diff: diffing %s and %s: %w", r.name(false), r.name(true), err)
	}
	r.diff, r.wordBudget = d, c.opts.WordDiffBudget
	r.Hunks = d.Hunks(c.opts.ContextLines)
	for _, h := range r.Hunks {
		r.LinesAdded += h.Added
		r.LinesRemoved += h.Removed
	}
	r.Status = StatusChanged
	r.Summary = fmt.Sprintf("changed: +%d -%d lines in %d hunk(s), %s -> %s", r.LinesAdded, r.LinesRemoved, len(r.Hunks), r.name(false), r.name(true))
	if st := d.Coarse(); st.Regions > 0 {
		r.Approximate = true
		r.Summary += " (approximate: see notes)"
		r.Notes = append(r.Notes, fmt.Sprintf("the line diff reached its budget of %d steps (Options.DiffBudget): %d stretch(es) with %d old and %d new lines are shown as whole replacements; the diff is correct but coarser",
			budget, st.Regions, st.OldLines, st.NewLines))
	}
	return r, nil
}

// budget is the line diff's budget for two texts: Options.DiffBudget, or by default
// textdiff.DefaultBudget.
func (c *Client) budget(old, new string) int64 {
	if c.opts.DiffBudget > 0 {
		return c.opts.DiffBudget
	}
	return textdiff.DefaultBudget(old, new)
}

func (r *Result) tooLarge(limit int64) *Result {
	r.Status = StatusTooLarge
	r.Summary = fmt.Sprintf("too large to diff: %d -> %d bytes, limit %d (Options.MaxObjectBytes); %s -> %s",
		r.From.Size, r.To.Size, limit, r.name(false), r.name(true))
	return r
}

// name says what a side is, for summaries: the version id (and ETag), or the file.
func (r *Result) name(to bool) string {
	v, file := r.From, r.FromFile
	if to {
		v, file = r.To, r.ToFile
	}
	if file != "" {
		return "file " + file
	}
	if v.VersionID == "" {
		return "nothing"
	}
	if v.ETag != "" {
		return v.VersionID + " (ETag " + v.ETag + ")"
	}
	return v.VersionID
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

// body reads one side: the local file, or the S3 version.
func (c *Client) body(ctx context.Context, bucket string, v Version, file string) (string, error) {
	switch {
	case file == "" && v.VersionID == "": // the missing side of an added or deleted key (DiffChange)
		return "", nil
	case file == "":
		return c.get(ctx, bucket, v)
	}
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("s3diff: local file: %w", err)
	}
	defer f.Close()
	return readAll(f, v.Size, c.opts.MaxObjectBytes, "local file "+file)
}

// get downloads one version, refusing more than MaxObjectBytes.
func (c *Client) get(ctx context.Context, bucket string, v Version) (string, error) {
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(v.Key), VersionId: aws.String(v.VersionID)}, c.callOpts...)
	if err != nil {
		if code := awserr.Code(err); code == "NoSuchVersion" || code == "NoSuchKey" {
			return "", fmt.Errorf("%w: %s of s3://%s/%s disappeared while diffing: %w", ErrVersionNotFound, v.VersionID, bucket, v.Key, err)
		}
		return "", fmt.Errorf("s3diff: getting s3://%s/%s version %s: %w", bucket, v.Key, v.VersionID, err)
	}
	defer out.Body.Close()
	body, err := readAll(out.Body, v.Size, c.opts.MaxObjectBytes, fmt.Sprintf("s3://%s/%s version %s", bucket, v.Key, v.VersionID))
	if err != nil {
		return "", err
	}
	if int64(len(body)) > c.opts.MaxObjectBytes {
		return "", fmt.Errorf("s3diff: s3://%s/%s version %s is larger than %d bytes although its listing said %d", bucket, v.Key, v.VersionID, c.opts.MaxObjectBytes, v.Size)
	}
	return body, nil
}

// readAll reads r into one string without a copy (a strings.Builder sized from the expected
// size), stopping one byte past limit.
func readAll(r io.Reader, size, limit int64, what string) (string, error) {
	var sb strings.Builder
	sb.Grow(int(min(max(size, 0), limit, textdiff.MaxBytes-1)) + 1)
	if _, err := io.Copy(&sb, io.LimitReader(r, limit+1)); err != nil {
		return "", fmt.Errorf("s3diff: reading %s: %w", what, err)
	}
	return sb.String(), nil
}

// isText reports whether s can be diffed as text: valid UTF-8 without NUL bytes.
func isText(s string) bool { return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) }

// Unified returns the diff in `diff -u` format, with the key and version ids (or the local
// file names) in the headers. GNU patch applies it to the old version to give the new one.
// It is empty unless Status is StatusChanged. WriteUnified streams the same text.
func (r *Result) Unified() string {
	if r.Status != StatusChanged || r.diff == nil {
		return ""
	}
	var b strings.Builder
	b.Grow(len(r.unifiedHeader()) + r.diff.UnifiedSize(r.Hunks))
	r.writeUnified(&b)
	return b.String()
}

// WriteUnified writes Unified's text to w without building it in memory first.
func (r *Result) WriteUnified(w io.Writer) error {
	if r.Status != StatusChanged || r.diff == nil {
		return nil
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	r.writeUnified(bw)
	return bw.Flush()
}

func (r *Result) writeUnified(w textdiff.Writer) {
	w.WriteString(r.unifiedHeader())
	r.diff.WriteUnified(w, r.Hunks)
}

func (r *Result) unifiedHeader() string {
	side := func(mark, prefix, file string, v Version) string {
		switch {
		case file != "":
			return mark + " " + file + "\n"
		case v.VersionID == "": // the missing side of an added or deleted key
			return mark + " /dev/null\n"
		}
		return mark + " " + gitPath(prefix+r.Key) + "\t" + v.VersionID + "\n"
	}
	return side("---", "a/", r.FromFile, r.From) + side("+++", "b/", r.ToFile, r.To)
}

// WordDiff returns each hunk with changed words marked inline, [-removed-]{+added+}, as
// `git diff --word-diff` shows them. Only the changed lines of a hunk are diffed word by
// word, within a budget (Options.WordDiffBudget); a hunk over it comes as its line diff,
// after a note line that starts with "\ ". It is empty unless Status is StatusChanged.
// WriteWordDiff streams the same text.
func (r *Result) WordDiff() string {
	var b strings.Builder
	r.writeWordDiff(&b)
	return b.String()
}

// WriteWordDiff writes WordDiff's text to w.
func (r *Result) WriteWordDiff(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	r.writeWordDiff(bw)
	return bw.Flush()
}

func (r *Result) writeWordDiff(w textdiff.Writer) {
	if r.Status != StatusChanged || r.diff == nil {
		return
	}
	r.diff.WriteWordDiff(w, r.Hunks, r.wordBudget)
}

// errIsNotFound reports whether err means the version is gone.
func errIsNotFound(err error) bool { return errors.Is(err, ErrVersionNotFound) }
