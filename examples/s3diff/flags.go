package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	shcli "github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/s3diff"
)

// flags is one command line, parsed and checked.
type flags struct {
	cmd                             string
	bucket, key                     string
	pathStyle, verbose, quiet       bool
	asJSON                          bool
	from, to, fromFile, toFile      string
	format                          string
	contextLines, keep, concurrency int
	maxBytes                        int64
	hasDiffFlags                    bool // -context and -max-bytes belong to the command
	dryRun, withDiff, wholeBucket   bool
	prefix, startAfter, since       string

	local     bool // diff of two local files: no S3
	byPrefix  bool // retain or changes over a prefix
	sinceTime time.Time
}

// parse reads cmd's flags and checks them; done means run returns code (usage errors exit
// 2, before any request; -h exits 0).
func parse(cmd string, args []string, stderr io.Writer) (f flags, code int, done bool) {
	f.cmd = cmd
	fs := flag.NewFlagSet("s3diff "+cmd, flag.ContinueOnError)
	fs.StringVar(&f.bucket, "bucket", "", "bucket name (required)")
	fs.StringVar(&f.key, "key", "", "object key, exact (required)")
	fs.BoolVar(&f.pathStyle, "path-style", false, "path-style addressing, for S3-compatible endpoints")
	fs.BoolVar(&f.verbose, "v", false, "debug logs on stderr")
	switch cmd {
	case "versions":
		fs.BoolVar(&f.asJSON, "json", false, "print a JSON array (versionId, lastModified, size, etag, isLatest, deleteMarker)")
	case "diff":
		fs.StringVar(&f.from, "from", "", "older version id (default: the version before -to)")
		fs.StringVar(&f.to, "to", "", "newer version id (default: the newest version)")
		fs.StringVar(&f.fromFile, "from-file", "", "local file to use as the older side instead of a version")
		fs.StringVar(&f.toFile, "to-file", "", "local file to use as the newer side instead of a version")
		fs.StringVar(&f.format, "format", "unified", "unified, word or json")
		fs.IntVar(&f.contextLines, "context", 3, "lines of context around each change")
		fs.Int64Var(&f.maxBytes, "max-bytes", 64<<20, "largest version or file to diff, in bytes; larger ones exit 3 (at most 2147483647)")
		f.hasDiffFlags = true
	case "retain":
		fs.IntVar(&f.keep, "keep", 0, "how many of the newest versions to keep (at least 1; required)")
		fs.BoolVar(&f.dryRun, "dry-run", false, "print the version ids that would be deleted, delete nothing")
		fs.StringVar(&f.prefix, "prefix", "", "every key under this prefix instead of one -key (an empty prefix needs -whole-bucket)")
		fs.BoolVar(&f.wholeBucket, "whole-bucket", false, "with -prefix '': yes, every key of the bucket")
		fs.StringVar(&f.startAfter, "start-after", "", "with -prefix: resume after this key (printed by an interrupted run)")
		fs.IntVar(&f.concurrency, "concurrency", 4, "with -prefix: DeleteObjects calls in flight (1 to 64)")
		fs.BoolVar(&f.quiet, "q", false, "no progress and no summary on stderr, only warnings (the deleted versions still go to stdout)")
	case "changes":
		fs.StringVar(&f.prefix, "prefix", "", "the keys under this prefix (required; -prefix '' is the whole bucket)")
		fs.StringVar(&f.since, "since", "", "list changes after this time: 2026-11-24T09:00:00Z, 2026-11-24 (UTC) or an age such as 36h or 7d (required)")
		fs.BoolVar(&f.withDiff, "diff", false, "print the diffs as one patch (git diff headers) instead of the list")
		fs.BoolVar(&f.asJSON, "json", false, "print the list as a JSON array")
		fs.IntVar(&f.contextLines, "context", 3, "with -diff: lines of context around each change")
		fs.Int64Var(&f.maxBytes, "max-bytes", 64<<20, "with -diff: largest version to diff, in bytes; larger ones are left out and the exit code is 3")
		f.hasDiffFlags = true
	default:
		return f, usageError(stderr, "unknown command %q: versions, diff, retain, changes or lifecycle-rule", cmd), true
	}
	if code, done := shcli.Parse(fs, args, stderr, func(w io.Writer) {
		fmt.Fprint(w, usage, "\nFlags of ", cmd, ":\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}); done {
		return f, code, true
	}
	f.local = cmd == "diff" && f.fromFile != "" && f.toFile != ""
	f.byPrefix = (cmd == "retain" || cmd == "changes") && shcli.IsSet(fs, "prefix")
	if cmd == "changes" && f.since != "" {
		var err error
		if f.sinceTime, err = parseSince(f.since, time.Now()); err != nil {
			return f, usageError(stderr, "%v", err), true
		}
	}
	if msg := f.check(fs); msg != "" {
		return f, usageError(stderr, "%s", msg), true
	}
	return f, 0, false
}

// check returns what is wrong with a parsed command line, or "".
func (f *flags) check(fs *flag.FlagSet) string {
	cmd := f.cmd
	switch {
	case fs.NArg() > 0:
		return fmt.Sprintf("unexpected argument %q (flags go after the command)", fs.Arg(0))
	case f.local && (f.bucket != "" || f.key != ""):
		return "-from-file and -to-file diff two local files: -bucket and -key have no use with both"
	case !f.local && f.bucket == "" && cmd == "diff":
		return "-bucket is required (unless both -from-file and -to-file are given)"
	case !f.local && f.bucket == "":
		return "-bucket is required"
	case !f.local && s3diff.ValidBucketName(f.bucket) != nil:
		return "-bucket: " + strings.TrimPrefix(s3diff.ValidBucketName(f.bucket).Error(), "s3diff: invalid input: ")
	case !f.local && len(f.key) > 1024:
		return fmt.Sprintf("-key is %d bytes; S3 keys are at most 1024", len(f.key))
	case !f.local && !utf8.ValidString(f.key):
		return fmt.Sprintf("-key %q is not UTF-8; S3 keys are", f.key)
	case len(f.prefix) > 1024 || !utf8.ValidString(f.prefix):
		return fmt.Sprintf("-prefix must be UTF-8 and at most 1024 bytes (an S3 key's limit); got %d bytes", len(f.prefix))
	case len(f.startAfter) > 1024 || !utf8.ValidString(f.startAfter):
		return fmt.Sprintf("-start-after must be UTF-8 and at most 1024 bytes (an S3 key's limit); got %d bytes", len(f.startAfter))
	case f.byPrefix && f.key != "":
		return "-key and -prefix both say which keys; give one"
	case cmd == "retain" && !f.byPrefix && (shcli.IsSet(fs, "start-after") || shcli.IsSet(fs, "concurrency")):
		return "-start-after and -concurrency go with -prefix"
	case cmd == "retain" && f.byPrefix && f.prefix == "" && !f.wholeBucket:
		return "-prefix is empty: that is every key of the bucket; add -whole-bucket if you mean it (an unset shell variable gives an empty -prefix too)"
	case cmd == "retain" && shcli.IsSet(fs, "whole-bucket") && (!f.byPrefix || f.prefix != ""):
		return "-whole-bucket goes with -prefix '' only"
	case cmd == "retain" && f.byPrefix && f.startAfter != "" && !strings.HasPrefix(f.startAfter, f.prefix):
		return fmt.Sprintf("-start-after %q is not under -prefix %q", f.startAfter, f.prefix)
	case cmd == "retain" && f.byPrefix && (f.concurrency < 1 || f.concurrency > 64):
		return fmt.Sprintf("-concurrency must be 1 to 64 (got %d)", f.concurrency)
	case cmd == "changes" && !f.byPrefix:
		return "-prefix is required (-prefix '' for the whole bucket)"
	case cmd == "changes" && f.since == "":
		return "-since is required (a time, a date or an age such as 7d)"
	case cmd == "changes" && f.withDiff && f.asJSON:
		return "-diff and -json are two outputs; give one"
	case f.hasDiffFlags && (f.maxBytes <= 0 || f.maxBytes > 1<<31-1):
		return fmt.Sprintf("-max-bytes must be 1 to 2147483647, not %d", f.maxBytes)
	case f.hasDiffFlags && f.contextLines < 0:
		return "-context must be 0 or more"
	case !f.local && !f.byPrefix && f.key == "" && cmd == "retain":
		return "-key or -prefix is required (the exact object key, or every key under a prefix)"
	case !f.local && !f.byPrefix && f.key == "":
		return "-key is required (the exact object key)"
	case cmd == "diff" && f.from != "" && f.fromFile != "":
		return "-from and -from-file both name the older side; give one"
	case cmd == "diff" && f.to != "" && f.toFile != "":
		return "-to and -to-file both name the newer side; give one"
	case cmd == "diff" && f.format != "unified" && f.format != "word" && f.format != "json":
		return fmt.Sprintf("-format must be unified, word or json, not %q", f.format)
	case cmd == "retain" && f.keep < 1:
		return fmt.Sprintf("-keep must be at least 1 (got %d); the newest version is always kept", f.keep)
	}
	return ""
}
