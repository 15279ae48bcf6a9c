package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

func init() {
	chapters = append(chapters, chapter{order: 2, name: "s3diff at bucket scale: a deterministic diff, a whole prefix in one pass (interrupted and resumed), what changed since, Batch Operations, a lifecycle rule", run: tourS3DiffScale})
}

func tourS3DiffScale(ctx context.Context, say func(string, ...any)) error {
	clock := clocktest.New()
	bucket := s3difftest.New(func(o *s3difftest.Options) { o.Clock = clock })
	bucket.CreateBucket("logs")
	client, err := s3diff.New(bucket, func(o *s3diff.Options) { o.Clock = clock })
	if err != nil {
		return err
	}

	// The diff depends on the two versions and a budget of steps, never on time.
	var old, moved strings.Builder
	for i := range 400 {
		fmt.Fprintf(&old, "line %d\n", i)
	}
	lines := strings.SplitAfter(old.String(), "\n")
	moved.WriteString(strings.Join(lines[300:400], ""))
	moved.WriteString(strings.Join(lines[0:300], ""))
	bucket.Put("logs", "moved.txt", []byte(old.String()))
	bucket.Put("logs", "moved.txt", []byte(moved.String()))
	r, err := client.Diff(ctx, "logs", "moved.txt")
	if err != nil {
		return err
	}
	say("a block of 100 lines moved to the top of 400: %s", r.Summary)
	tight, err := s3diff.New(bucket, func(o *s3diff.Options) { o.DiffBudget = 10 })
	if err != nil {
		return err
	}
	if r, err = tight.Diff(ctx, "logs", "moved.txt"); err != nil {
		return err
	}
	say("with a budget of 10 steps: %s (approximate=%v, still applies with patch)", r.Summary, r.Approximate)

	// 2,600 keys of 3 versions under one prefix.
	for i := range 2600 {
		for v := range 3 {
			bucket.Put("logs", fmt.Sprintf("app/%05d.log", i), []byte(fmt.Sprintf("run %d\n", v)))
		}
	}
	say("2,600 keys under app/, 3 versions each: keep 1 means 5,200 deletions")
	refused := bucket.VersionIDs("logs", "app/02300.log")[2]
	bucket.FailDelete(refused, "AccessDenied", "Access Denied", 1)
	res, err := client.RetainPrefix(ctx, "logs", "app/", 1, func(o *s3diff.PrefixRetainOptions) { o.Concurrency = 1 })
	if !errors.Is(err, s3diff.ErrDeleteFailed) {
		return fmt.Errorf("expected one refused deletion, got %v", err)
	}
	say("one pass: %d list and %d delete calls (the minimum is %d and %d); S3 refused 1 version of app/02300.log",
		res.ListPages, res.DeleteCalls, (7800+999)/1000, (5200+999)/1000)
	say("the run says where to resume: every key up to %q is done (s3diff retain ... -start-after %s)", res.StartAfter, res.StartAfter)
	res, err = client.RetainPrefix(ctx, "logs", "app/", 1, func(o *s3diff.PrefixRetainOptions) { o.StartAfter = res.StartAfter })
	if err != nil {
		return err
	}
	say("resumed: %d keys listed, %d deleted, complete=%v", res.Keys, res.Deleted, res.Complete)

	// What changed since a point in time, as a patch.
	bucket.Put("logs", "cfg/app.yaml", []byte("replicas: 2\n"))
	bucket.Put("logs", "cfg/old.yaml", []byte("legacy: true\n"))
	clock.Advance(time.Hour)
	since := clock.Now()
	clock.Advance(time.Hour)
	bucket.Put("logs", "cfg/app.yaml", []byte("replicas: 3\n"))
	bucket.Delete("logs", "cfg/old.yaml")
	var patch bytes.Buffer
	err = client.Changes(ctx, "logs", "cfg/", since, func(ch s3diff.Change) error {
		say("changed since %s: %s %s", since.Format(time.Kitchen), ch.Kind, ch.Key)
		r, err := client.DiffChange(ctx, "logs", ch)
		if err != nil {
			return err
		}
		return r.WriteGitDiff(&patch)
	})
	if err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSpace(patch.String()), "\n") {
		say("  | %s", line)
	}

	// S3 Batch Operations: one task per key of an inventory report.
	h, err := s3diff.NewHandler(client, func(o *s3diff.HandlerOptions) { o.Keep = 5 })
	if err != nil {
		return err
	}
	for i := range 4 {
		bucket.Put("logs", "batch/a b.txt", []byte{byte('a' + i)})
	}
	job := events.S3BatchJobEventV2{InvocationSchemaVersion: "2.0", InvocationID: "inv-1",
		Job:   events.S3BatchJobV2{ID: "job-1", UserArguments: map[string]string{"Keep": "1"}},
		Tasks: []events.S3BatchJobTaskV2{{TaskID: "t1", S3Key: url.QueryEscape("batch/a b.txt"), S3Bucket: "logs"}}}
	out := h.HandleBatch(ctx, job)
	say("a Batch Operations job with the user argument \"Keep\" (capital K): %s, %s", out.Results[0].ResultCode, out.Results[0].ResultString)
	job.Job.UserArguments = map[string]string{"keep": "1"}
	out = h.HandleBatch(ctx, job)
	say("with \"keep\": %s, %q", out.Results[0].ResultCode, out.Results[0].ResultString)

	// Or let S3 do it, asynchronously.
	rule, err := s3diff.LifecycleRule(10, func(o *s3diff.LifecycleRuleOptions) { o.Prefix = "app/" })
	if err != nil {
		return err
	}
	say("a lifecycle rule for keep 10 (S3 counts noncurrent versions: 9): %s", strings.Join(strings.Fields(string(rule.JSON())), " "))
	return nil
}
