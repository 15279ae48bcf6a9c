package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	shcli "github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/s3diff"
)

// progressEvery is how often `retain -prefix` reports on stderr while it runs.
const progressEvery = 5 * time.Second

// retainPrefix runs `s3diff retain -prefix`: one line per deleted (or, in a dry run, doomed)
// version on stdout, progress every few seconds and a summary on stderr, and the flag to
// resume with when the run stops early. On Ctrl-C the library settles the calls in flight
// (a fresh listing says what they deleted) before it returns, so stdout and the summary
// hold every version that is gone; stdout is flushed before the process exits.
func retainPrefix(ctx context.Context, c *s3diff.Client, bucket, prefix string, keep int, opts s3diff.PrefixRetainOptions, quiet bool, stdout, stderr io.Writer) error {
	out := bufio.NewWriter(stdout)
	info := stderr // progress and the summary; -q keeps only what went wrong and where to resume
	if quiet {
		info = io.Discard
	}
	var mu sync.Mutex // OnDelete and OnProgress may be called from several goroutines
	last := time.Now()
	verb := "deleted"
	if opts.DryRun {
		verb = "would delete"
	}
	opts.OnDelete = func(v s3diff.Version) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "%s\t%s\n", lineKey(v.Key), v.VersionID)
	}
	opts.OnProgress = func(p s3diff.PrefixProgress) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < progressEvery {
			return
		}
		last = time.Now()
		_ = out.Flush()
		done := fmt.Sprintf("%d planned, %d deleted", p.Planned, p.Deleted)
		if opts.DryRun {
			done = fmt.Sprintf("%d would be deleted", p.Planned)
		}
		fmt.Fprintf(info, "s3diff: %d keys, %d versions listed, %s, %.0f keys/s, at %q\n",
			p.Keys, p.Versions, done, p.KeysPerSecond(), p.LastKey)
	}
	res, err := c.RetainPrefix(ctx, bucket, prefix, keep, func(o *s3diff.PrefixRetainOptions) { *o = opts })
	mu.Lock()
	defer mu.Unlock()
	if ferr := out.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	if res == nil {
		return err
	}
	deleted := res.Deleted
	if opts.DryRun {
		deleted = res.Planned
	}
	notDone := fmt.Sprintf("failed %d", res.Failed)
	if res.Stopped > 0 {
		notDone += fmt.Sprintf(", not deleted because the run stopped %d", res.Stopped)
	}
	if res.Unknown > 0 {
		notDone += fmt.Sprintf(", outcome unknown %d (list those keys to see)", res.Unknown)
	}
	fmt.Fprintf(info, "s3diff: s3://%s/%s keep %d: %d keys, %d versions listed, %s %d, %s; %d list and %d delete calls in %s (%.0f keys/s)\n",
		bucket, prefix, keep, res.Keys, res.Versions, verb, deleted, notDone, res.ListPages, res.DeleteCalls,
		res.Elapsed.Round(time.Millisecond), res.KeysPerSecond())
	for _, f := range res.Failures {
		fmt.Fprintf(stderr, "s3diff: not deleted: %s version %s: %s %s\n", f.Version.Key, f.Version.VersionID, f.Code, f.Message)
	}
	if !res.Complete {
		if res.StartAfter == "" {
			fmt.Fprintln(stderr, "s3diff: stopped with no key known to be done: run the same command again (it starts over)")
		} else {
			fmt.Fprintf(stderr, "s3diff: stopped; every key up to %q is done: resume with -start-after %s\n", res.StartAfter, shellQuote(res.StartAfter))
		}
	}
	return err
}

// lineKey is a key as one field of a line: as it is, or Go-quoted ("...") when it holds a
// control character (a tab or a newline would break the line).
func lineKey(k string) string {
	if strings.ContainsFunc(k, unicode.IsControl) || strings.HasPrefix(k, `"`) {
		return strconv.Quote(k)
	}
	return k
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

const lifecycleUsage = `Usage:
  s3diff lifecycle-rule -keep N [-prefix P] [-days D] [-id ID]

Prints the bucket lifecycle configuration (JSON) that has S3 itself keep about the newest N
versions of each key, for:
  aws s3api put-bucket-lifecycle-configuration --bucket B --lifecycle-configuration file://rule.json
S3 applies it about once a day, with no dry run; it counts noncurrent versions (keep N is
NewerNoncurrentVersions N-1, keep at most 101), and putting it replaces the bucket's other
rules. docs/s3diff.md compares it with retain -prefix.
`

// lifecycleRule runs `s3diff lifecycle-rule`; it needs no AWS configuration.
func lifecycleRule(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("s3diff lifecycle-rule", flag.ContinueOnError)
	keep := fs.Int("keep", 0, "versions to keep per key, current included (1 to 101; required)")
	prefix := fs.String("prefix", "", "only keys starting with this (default: the whole bucket)")
	days := fs.Int("days", 1, "days a version must be noncurrent before S3 expires it (at least 1)")
	id := fs.String("id", "", "the rule's ID (default: shipshape-keep-N)")
	if code, done := shcli.Parse(fs, args, stderr, func(w io.Writer) {
		fmt.Fprint(w, lifecycleUsage, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}); done {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, "unexpected argument %q", fs.Arg(0))
	case *keep < 1 || *keep > s3diff.MaxLifecycleKeep:
		return usageError(stderr, "-keep must be 1 to %d (got %d): S3 keeps at most 100 noncurrent versions; for more use retain -prefix", s3diff.MaxLifecycleKeep, *keep)
	case *days < 1:
		return usageError(stderr, "-days must be at least 1 (got %d)", *days)
	case len(*id) > 255:
		return usageError(stderr, "-id is %d characters; a lifecycle rule's ID is at most 255", len(*id))
	case len(*prefix) > 1024 || !utf8.ValidString(*prefix):
		return usageError(stderr, "-prefix must be UTF-8 and at most 1024 bytes (an S3 key's limit); got %d bytes", len(*prefix))
	}
	rule, err := s3diff.LifecycleRule(*keep, func(o *s3diff.LifecycleRuleOptions) { o.Prefix, o.Days, o.ID = *prefix, *days, *id })
	if err != nil {
		return usageError(stderr, "%s", strings.TrimPrefix(err.Error(), "s3diff: "))
	}
	if _, err := stdout.Write(rule.JSON()); err != nil {
		return shcli.Fail(stderr, "s3diff", err)
	}
	return shcli.ExitOK
}

// parseSince reads -since: an RFC 3339 time, a date (midnight UTC), or an age such as 36h,
// 90m or 7d before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("-since %q: want a time (2026-11-24T09:00:00Z), a date (2026-11-24, midnight UTC) or an age (36h, 7d)", s)
}

// changes runs `s3diff changes`: the changed keys (a table, or JSON), or with -diff their
// diffs as one patch that `git apply` or `patch -p1` applies to the tree as it was at since.
// It returns the exit code for keys that could not be diffed (3 too large, 4 binary).
func changes(ctx context.Context, c *s3diff.Client, bucket, prefix string, since time.Time, withDiff, asJSON bool, stdout, stderr io.Writer) (int, error) {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	var list []s3diff.Change
	code, counts := shcli.ExitOK, map[s3diff.ChangeKind]int{}
	err := c.Changes(ctx, bucket, prefix, since, func(ch s3diff.Change) error {
		counts[ch.Kind]++
		switch {
		case asJSON:
			list = append(list, ch)
			return nil
		case !withDiff:
			before := "-"
			if ch.Before != nil {
				before = ch.Before.VersionID
			}
			_, err := fmt.Fprintf(out, "%s\t%s\t%d\t%s\t%s\n", ch.Kind, lineKey(ch.Key), ch.Entries, before, ch.After.VersionID)
			return err
		case ch.Kind == s3diff.ChangeGone:
			fmt.Fprintf(stderr, "s3diff: %s: created and deleted since %s; nothing to diff\n", ch.Key, since.Format(time.RFC3339))
			return nil
		}
		r, err := c.DiffChange(ctx, bucket, ch)
		if err != nil {
			return err
		}
		switch r.Status {
		case s3diff.StatusTooLarge:
			fmt.Fprintf(stderr, "s3diff: %s: not diffed: %s\n", ch.Key, r.Summary)
			code = max(code, exitTooLarge)
		case s3diff.StatusBinary:
			fmt.Fprintf(stderr, "s3diff: %s: not diffed: %s\n", ch.Key, r.Summary)
			if code != exitTooLarge {
				code = exitBinary
			}
		}
		return r.WriteGitDiff(out)
	})
	if err != nil {
		return shcli.ExitError, err
	}
	if asJSON {
		if list == nil {
			list = []s3diff.Change{}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			return shcli.ExitError, err
		}
	}
	fmt.Fprintf(stderr, "s3diff: s3://%s/%s since %s: %d added, %d modified, %d deleted, %d created and deleted again\n", bucket, prefix,
		since.UTC().Format(time.RFC3339), counts[s3diff.ChangeAdded], counts[s3diff.ChangeModified], counts[s3diff.ChangeDeleted], counts[s3diff.ChangeGone])
	return code, out.Flush()
}
