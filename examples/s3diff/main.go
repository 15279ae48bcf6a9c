// Command s3diff lists, diffs and prunes the versions of one S3 object.
//
//	s3diff versions -bucket B -key K [-json]
//	s3diff diff     -bucket B -key K [-from V | -from-file F] [-to V | -to-file F] [-format unified|word|json] [-context N] [-max-bytes N]
//	s3diff diff     -from-file OLD -to-file NEW [...]   (two local files: no S3 access)
//	s3diff retain   -bucket B -key K -keep N [-dry-run]
//	s3diff retain   -bucket B -prefix P -keep N [-dry-run] [-start-after KEY] [-concurrency N]
//	s3diff changes  -bucket B -prefix P -since TIME [-diff | -json]
//	s3diff lifecycle-rule -keep N [-prefix P] [-days D]
//
// stdout carries only the result (a unified diff pipes straight into patch); logs go to
// stderr. Exit codes: 0 ok, 1 operational error, 2 usage error, 3 not diffed because a
// version is larger than -max-bytes, 4 not diffed because a version is binary. The standard
// AWS SDK environment applies (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_S3, ...).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shipshape-dev/shipshape/examples/internal/awsconfig"
	shcli "github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/s3diff"
)

const usage = `Usage:
  s3diff versions -bucket B -key K [-json]
  s3diff diff     -bucket B -key K [-from VERSION | -from-file FILE] [-to VERSION | -to-file FILE]
                  [-format unified|word|json] [-context N] [-max-bytes N]
  s3diff diff     -from-file OLD -to-file NEW [-format ...] [-context N] [-max-bytes N]
  s3diff retain   -bucket B -key K -keep N [-dry-run]
  s3diff retain   -bucket B -prefix P -keep N [-dry-run] [-start-after KEY] [-concurrency N]
  s3diff changes  -bucket B -prefix P -since TIME [-diff [-context N] [-max-bytes N] | -json]
  s3diff lifecycle-rule -keep N [-prefix P] [-days D] [-id ID]

versions  lists the versions and delete markers of exactly K, newest first
diff      diffs -to (default: the newest version) against -from (default: the one before it);
          the unified format applies with patch:  s3diff diff -bucket B -key K | patch old.txt
          -from-file or -to-file replaces that side with a local file, e.g. what you are about
          to upload against the newest version:  s3diff diff -bucket B -key K -to-file new.txt
          (-from then defaults to the newest version). With both, no -bucket/-key and no S3.
retain    keeps the newest N versions of K and deletes older versions and delete markers;
          the latest entry is never deleted; -dry-run prints the version ids it would delete.
          With -prefix: every key under P in one listing pass, deletions batched across
          keys; prints "key<TAB>version id" per deletion (a key with a control character
          Go-quoted), progress on stderr, and the -start-after to resume with when
          interrupted. An empty -prefix (the whole bucket) needs -whole-bucket as well
changes   lists the keys under P with versions or delete markers newer than TIME (2026-11-24T09:00:00Z,
          2026-11-24, 36h, 7d): kind (added, modified, deleted, gone), key, new entries, the
          version before and the latest; with -diff, one patch from the tree as it was at TIME
          to now, each file headed as git diff does:  s3diff changes ... -diff | git apply
lifecycle-rule  prints the lifecycle configuration that has S3 expire all but about N
          versions itself (asynchronous, no dry run; see docs/s3diff.md)

Common flags: -path-style (S3-compatible endpoints), -v (debug logs on stderr).
AWS settings come from the standard environment: AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, ...
Exit codes: 0 ok (for diff: a diff, or "no changes"), 1 operational error, 2 usage error,
  3 not diffed: a version is larger than -max-bytes (nothing printed on stdout but -format json),
  4 not diffed: the versions differ but one is binary (likewise).
`

// Exit codes of the diff command when there is nothing to print because the versions can't
// be diffed as text: results, not errors, but a pipeline into patch must notice.
const (
	exitTooLarge = 3
	exitBinary   = 4
)

// newS3 builds the S3 client; tests replace it.
type newS3 func(ctx context.Context, pathStyle bool) (s3diff.S3API, error)

func fromEnvironment(ctx context.Context, pathStyle bool) (s3diff.S3API, error) {
	cfg, err := awsconfig.Load(ctx, nil)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }), nil
}

func main() {
	ctx, sig := shcli.WithSignals(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, fromEnvironment)
	if name := sig.Name(); name != "" {
		// The command's own lines say what was done (retain -prefix: every version deleted,
		// and where to resume); this one says that it stopped early.
		fmt.Fprintf(os.Stderr, "s3diff: stopped by %s before the end: what is printed above was done, nothing else\n", name)
	}
	sig.Stop()
	os.Exit(sig.Code(code))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, mk newS3) int {
	if shcli.AskedVersion("s3diff", args, stdout) {
		return 0
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd := args[0]
	if cmd == "lifecycle-rule" {
		return lifecycleRule(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("s3diff "+cmd, flag.ContinueOnError)
	bucket := fs.String("bucket", "", "bucket name (required)")
	key := fs.String("key", "", "object key, exact (required)")
	pathStyle := fs.Bool("path-style", false, "path-style addressing, for S3-compatible endpoints")
	verbose := fs.Bool("v", false, "debug logs on stderr")
	var (
		asJSON                             *bool
		from, to, fromFile, toFile, format *string
		contextLines, keep                 *int
		maxBytes                           *int64
		dryRun                             *bool
		prefix, startAfter, since          *string
		concurrency                        *int
		withDiff, wholeBucket, quiet       *bool
	)
	switch cmd {
	case "versions":
		asJSON = fs.Bool("json", false, "print a JSON array (versionId, lastModified, size, etag, isLatest, deleteMarker)")
	case "diff":
		from = fs.String("from", "", "older version id (default: the version before -to)")
		to = fs.String("to", "", "newer version id (default: the newest version)")
		fromFile = fs.String("from-file", "", "local file to use as the older side instead of a version")
		toFile = fs.String("to-file", "", "local file to use as the newer side instead of a version")
		format = fs.String("format", "unified", "unified, word or json")
		contextLines = fs.Int("context", 3, "lines of context around each change")
		maxBytes = fs.Int64("max-bytes", 64<<20, "largest version or file to diff, in bytes; larger ones exit 3 (at most 2147483647)")
	case "retain":
		keep = fs.Int("keep", 0, "how many of the newest versions to keep (at least 1; required)")
		dryRun = fs.Bool("dry-run", false, "print the version ids that would be deleted, delete nothing")
		prefix = fs.String("prefix", "", "every key under this prefix instead of one -key (an empty prefix needs -whole-bucket)")
		wholeBucket = fs.Bool("whole-bucket", false, "with -prefix '': yes, every key of the bucket")
		startAfter = fs.String("start-after", "", "with -prefix: resume after this key (printed by an interrupted run)")
		concurrency = fs.Int("concurrency", 4, "with -prefix: DeleteObjects calls in flight (1 to 64)")
		quiet = fs.Bool("q", false, "no progress and no summary on stderr, only warnings (the deleted versions still go to stdout)")
	case "changes":
		prefix = fs.String("prefix", "", "the keys under this prefix (required; -prefix '' is the whole bucket)")
		since = fs.String("since", "", "list changes after this time: 2026-11-24T09:00:00Z, 2026-11-24 (UTC) or an age such as 36h or 7d (required)")
		withDiff = fs.Bool("diff", false, "print the diffs as one patch (git diff headers) instead of the list")
		asJSON = fs.Bool("json", false, "print the list as a JSON array")
		contextLines = fs.Int("context", 3, "with -diff: lines of context around each change")
		maxBytes = fs.Int64("max-bytes", 64<<20, "with -diff: largest version to diff, in bytes; larger ones are left out and the exit code is 3")
	default:
		return usageError(stderr, "unknown command %q: versions, diff, retain, changes or lifecycle-rule", cmd)
	}
	if code, done := shcli.Parse(fs, args[1:], stderr, func(w io.Writer) {
		fmt.Fprint(w, usage, "\nFlags of ", cmd, ":\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}); done {
		return code
	}
	local := cmd == "diff" && *fromFile != "" && *toFile != ""
	byPrefix := (cmd == "retain" || cmd == "changes") && shcli.IsSet(fs, "prefix")
	var sinceTime time.Time
	if cmd == "changes" && *since != "" {
		var err error
		if sinceTime, err = parseSince(*since, time.Now()); err != nil {
			return usageError(stderr, "%v", err)
		}
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, "unexpected argument %q (flags go after the command)", fs.Arg(0))
	case local && (*bucket != "" || *key != ""):
		return usageError(stderr, "-from-file and -to-file diff two local files: -bucket and -key have no use with both")
	case !local && *bucket == "":
		if cmd == "diff" {
			return usageError(stderr, "-bucket is required (unless both -from-file and -to-file are given)")
		}
		return usageError(stderr, "-bucket is required")
	case !local && s3diff.ValidBucketName(*bucket) != nil:
		return usageError(stderr, "-bucket: %s", strings.TrimPrefix(s3diff.ValidBucketName(*bucket).Error(), "s3diff: invalid input: "))
	case !local && len(*key) > 1024:
		return usageError(stderr, "-key is %d bytes; S3 keys are at most 1024", len(*key))
	case !local && !utf8.ValidString(*key):
		return usageError(stderr, "-key %q is not UTF-8; S3 keys are", *key)
	case prefix != nil && (len(*prefix) > 1024 || !utf8.ValidString(*prefix)):
		return usageError(stderr, "-prefix must be UTF-8 and at most 1024 bytes (an S3 key's limit); got %d bytes", len(*prefix))
	case startAfter != nil && (len(*startAfter) > 1024 || !utf8.ValidString(*startAfter)):
		return usageError(stderr, "-start-after must be UTF-8 and at most 1024 bytes (an S3 key's limit); got %d bytes", len(*startAfter))
	case byPrefix && *key != "":
		return usageError(stderr, "-key and -prefix both say which keys; give one")
	case cmd == "retain" && !byPrefix && (shcli.IsSet(fs, "start-after") || shcli.IsSet(fs, "concurrency")):
		return usageError(stderr, "-start-after and -concurrency go with -prefix")
	case cmd == "retain" && byPrefix && *prefix == "" && !*wholeBucket:
		return usageError(stderr, "-prefix is empty: that is every key of the bucket; add -whole-bucket if you mean it (an unset shell variable gives an empty -prefix too)")
	case cmd == "retain" && shcli.IsSet(fs, "whole-bucket") && (!byPrefix || *prefix != ""):
		return usageError(stderr, "-whole-bucket goes with -prefix '' only")
	case cmd == "retain" && byPrefix && *startAfter != "" && !strings.HasPrefix(*startAfter, *prefix):
		return usageError(stderr, "-start-after %q is not under -prefix %q", *startAfter, *prefix)
	case cmd == "retain" && byPrefix && (*concurrency < 1 || *concurrency > 64):
		return usageError(stderr, "-concurrency must be 1 to 64 (got %d)", *concurrency)
	case cmd == "changes" && !byPrefix:
		return usageError(stderr, "-prefix is required (-prefix '' for the whole bucket)")
	case cmd == "changes" && *since == "":
		return usageError(stderr, "-since is required (a time, a date or an age such as 7d)")
	case cmd == "changes" && *withDiff && *asJSON:
		return usageError(stderr, "-diff and -json are two outputs; give one")
	case cmd == "changes" && (*maxBytes <= 0 || *maxBytes > 1<<31-1):
		return usageError(stderr, "-max-bytes must be 1 to 2147483647, not %d", *maxBytes)
	case cmd == "changes" && *contextLines < 0:
		return usageError(stderr, "-context must be 0 or more")
	case !local && !byPrefix && *key == "" && cmd == "retain":
		return usageError(stderr, "-key or -prefix is required (the exact object key, or every key under a prefix)")
	case !local && !byPrefix && *key == "":
		return usageError(stderr, "-key is required (the exact object key)")
	case cmd == "diff" && *from != "" && *fromFile != "":
		return usageError(stderr, "-from and -from-file both name the older side; give one")
	case cmd == "diff" && *to != "" && *toFile != "":
		return usageError(stderr, "-to and -to-file both name the newer side; give one")
	case cmd == "diff" && (*maxBytes <= 0 || *maxBytes > 1<<31-1):
		return usageError(stderr, "-max-bytes must be 1 to 2147483647, not %d", *maxBytes)
	case cmd == "diff" && *format != "unified" && *format != "word" && *format != "json":
		return usageError(stderr, "-format must be unified, word or json, not %q", *format)
	case cmd == "diff" && *contextLines < 0:
		return usageError(stderr, "-context must be 0 or more")
	case cmd == "retain" && *keep < 1:
		return usageError(stderr, "-keep must be at least 1 (got %d); the newest version is always kept", *keep)
	}

	logger := shcli.Logger("s3diff", stderr, *verbose, quiet != nil && *quiet)
	options := func(o *s3diff.Options) {
		o.Logger = logger
		if contextLines != nil {
			o.ContextLines = *contextLines
			if *contextLines == 0 {
				o.ContextLines = -1
			}
		}
		if maxBytes != nil {
			o.MaxObjectBytes = *maxBytes
		}
	}
	var client *s3diff.Client
	if !local { // two local files need no AWS configuration at all
		api, err := mk(ctx, *pathStyle)
		if errors.Is(err, shcli.ErrNoRegion) {
			fmt.Fprintln(stderr, "s3diff:", shcli.NoRegion)
			return shcli.ExitUsage
		}
		if err != nil {
			fmt.Fprintln(stderr, "s3diff: AWS configuration:", err)
			return 1
		}
		if client, err = s3diff.New(api, options); err != nil {
			return usageError(stderr, "%v", err)
		}
	}

	var err error
	switch cmd {
	case "versions":
		err = versions(ctx, client, *bucket, *key, *asJSON, stdout)
	case "diff":
		var r *s3diff.Result
		if local {
			r, err = s3diff.DiffFiles(ctx, *fromFile, *toFile, options)
		} else {
			r, err = client.Diff(ctx, *bucket, *key, func(o *s3diff.DiffOptions) {
				*o = s3diff.DiffOptions{From: *from, To: *to, FromFile: *fromFile, ToFile: *toFile}
			})
		}
		var status s3diff.Status
		if err == nil {
			status, err = printDiff(r, *key, *format, stdout, logger)
		}
		if err == nil {
			switch status {
			case s3diff.StatusTooLarge:
				fmt.Fprintf(stderr, "s3diff: not diffed: a version is larger than -max-bytes %d; raise -max-bytes to diff it (exit %d)\n", *maxBytes, exitTooLarge)
				return exitTooLarge
			case s3diff.StatusBinary:
				fmt.Fprintf(stderr, "s3diff: not diffed: the versions differ but at least one is binary (NUL bytes or invalid UTF-8) (exit %d)\n", exitBinary)
				return exitBinary
			}
		}
	case "changes":
		var code int
		if code, err = changes(ctx, client, *bucket, *prefix, sinceTime, *withDiff, *asJSON, stdout, stderr); err == nil && code != 0 {
			return code
		}
	case "retain":
		if byPrefix {
			err = retainPrefix(ctx, client, *bucket, *prefix, *keep, s3diff.PrefixRetainOptions{
				DryRun: *dryRun, StartAfter: *startAfter, Concurrency: *concurrency}, *quiet, stdout, stderr)
			break
		}
		err = retain(ctx, client, *bucket, *key, *keep, *dryRun, stdout, logger)
	}
	if err != nil {
		return shcli.Fail(stderr, "s3diff", err)
	}
	return 0
}

func usageError(w io.Writer, format string, args ...any) int {
	return shcli.Usage(w, "s3diff", format, args...)
}

func versions(ctx context.Context, c *s3diff.Client, bucket, key string, asJSON bool, w io.Writer) error {
	vs, err := c.Versions(ctx, bucket, key)
	if err != nil {
		return err
	}
	if asJSON {
		if vs == nil {
			vs = []s3diff.Version{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(vs)
	}
	for _, v := range vs {
		kind := fmt.Sprintf("%d bytes %s", v.Size, v.ETag)
		if v.DeleteMarker {
			kind = "delete marker"
		}
		latest := ""
		if v.IsLatest {
			latest = " (latest)"
		}
		if _, err := fmt.Fprintf(w, "%s\t%s\t%s%s\n", v.VersionID, v.LastModified.UTC().Format(time.RFC3339), kind, latest); err != nil {
			return err
		}
	}
	return nil
}

// printDiff writes r in format and returns its status.
func printDiff(r *s3diff.Result, key, format string, w io.Writer, log *slog.Logger) (s3diff.Status, error) {
	var err error
	log.Info(r.Summary)
	for _, n := range r.Notes {
		log.Info("note: " + n)
	}
	switch format {
	case "unified":
		err = r.WriteUnified(w)
	case "word":
		err = r.WriteWordDiff(w)
	case "json":
		out := struct {
			Bucket       string              `json:"bucket,omitempty"`
			Key          string              `json:"key,omitempty"`
			From         s3diff.Version      `json:"from"`
			To           s3diff.Version      `json:"to"`
			FromFile     string              `json:"fromFile,omitempty"`
			ToFile       string              `json:"toFile,omitempty"`
			Status       s3diff.Status       `json:"status"`
			Summary      string              `json:"summary"`
			Notes        []string            `json:"notes,omitempty"`
			LinesAdded   int                 `json:"linesAdded"`
			LinesRemoved int                 `json:"linesRemoved"`
			Approximate  bool                `json:"approximate,omitempty"`
			Unified      string              `json:"unified,omitempty"`
			JSONChanges  []s3diff.JSONChange `json:"jsonChanges,omitempty"`
		}{r.Bucket, r.Key, r.From, r.To, r.FromFile, r.ToFile, r.Status, r.Summary, r.Notes, r.LinesAdded, r.LinesRemoved, r.Approximate, r.Unified(), nil}
		jsonName := key
		if jsonName == "" {
			jsonName = r.ToFile
		}
		if s3diff.IsJSONKey(jsonName) && r.Status == s3diff.StatusChanged {
			if out.JSONChanges, err = r.JSONChanges(); err != nil {
				log.Warn("no structural diff", "error", err.Error())
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(out)
	}
	return r.Status, err
}

func retain(ctx context.Context, c *s3diff.Client, bucket, key string, keep int, dryRun bool, w io.Writer, log *slog.Logger) error {
	res, err := c.Retain(ctx, bucket, key, keep, func(o *s3diff.RetainOptions) { o.DryRun = dryRun })
	if res != nil {
		for _, v := range res.Deleted {
			fmt.Fprintln(w, v.VersionID)
		}
		verb := "deleted"
		if dryRun {
			verb = "would delete"
		}
		log.Info(fmt.Sprintf("s3://%s/%s: %s %d version(s), kept %d, failed %d; %d list and %d delete calls",
			bucket, key, verb, len(res.Deleted), len(res.Kept), len(res.Failed), res.ListPages, res.DeleteCalls))
		for _, f := range res.Failed {
			log.Warn(fmt.Sprintf("not deleted: version %s: %s %s", f.Version.VersionID, f.Code, f.Message))
		}
	}
	return err
}
