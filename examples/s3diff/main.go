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
	"errors"
	"fmt"
	"io"
	"os"

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
	if args[0] == "lifecycle-rule" {
		return lifecycleRule(args[1:], stdout, stderr)
	}
	f, code, done := parse(args[0], args[1:], stderr)
	if done {
		return code
	}

	logger := shcli.Logger("s3diff", stderr, f.verbose, f.quiet)
	options := func(o *s3diff.Options) {
		o.Logger = logger
		if f.hasDiffFlags {
			o.ContextLines = f.contextLines
			if f.contextLines == 0 {
				o.ContextLines = -1
			}
			o.MaxObjectBytes = f.maxBytes
		}
	}
	var client *s3diff.Client
	if !f.local { // two local files need no AWS configuration at all
		api, err := mk(ctx, f.pathStyle)
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
	switch f.cmd {
	case "versions":
		err = versions(ctx, client, f.bucket, f.key, f.asJSON, stdout)
	case "diff":
		var r *s3diff.Result
		if f.local {
			r, err = s3diff.DiffFiles(ctx, f.fromFile, f.toFile, options)
		} else {
			r, err = client.Diff(ctx, f.bucket, f.key, func(o *s3diff.DiffOptions) {
				*o = s3diff.DiffOptions{From: f.from, To: f.to, FromFile: f.fromFile, ToFile: f.toFile}
			})
		}
		if err == nil {
			var status s3diff.Status
			if status, err = printDiff(r, f.key, f.format, stdout, logger); err == nil {
				if code := notDiffed(status, f.maxBytes, stderr); code != 0 {
					return code
				}
			}
		}
	case "changes":
		var code int
		if code, err = changes(ctx, client, f.bucket, f.prefix, f.sinceTime, f.withDiff, f.asJSON, stdout, stderr); err == nil && code != 0 {
			return code
		}
	case "retain":
		if f.byPrefix {
			err = retainPrefix(ctx, client, f.bucket, f.prefix, f.keep, s3diff.PrefixRetainOptions{
				DryRun: f.dryRun, StartAfter: f.startAfter, Concurrency: f.concurrency}, f.quiet, stdout, stderr)
			break
		}
		err = retain(ctx, client, f.bucket, f.key, f.keep, f.dryRun, stdout, logger)
	}
	if err != nil {
		return shcli.Fail(stderr, "s3diff", err)
	}
	return 0
}

// notDiffed says on stderr why a diff printed nothing, and returns its exit code (0 when
// it was diffed).
func notDiffed(status s3diff.Status, maxBytes int64, stderr io.Writer) int {
	switch status {
	case s3diff.StatusTooLarge:
		fmt.Fprintf(stderr, "s3diff: not diffed: a version is larger than -max-bytes %d; raise -max-bytes to diff it (exit %d)\n", maxBytes, exitTooLarge)
		return exitTooLarge
	case s3diff.StatusBinary:
		fmt.Fprintf(stderr, "s3diff: not diffed: the versions differ but at least one is binary (NUL bytes or invalid UTF-8) (exit %d)\n", exitBinary)
		return exitBinary
	}
	return 0
}

func usageError(w io.Writer, format string, args ...any) int {
	return shcli.Usage(w, "s3diff", format, args...)
}
