package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

func init() {
	chapters = append(chapters, chapter{order: 2, name: "s3diff: diff an upload against its predecessor, keep the newest 3", run: tourS3Diff})
}

func tourS3Diff(ctx context.Context, say func(string, ...any)) error {
	bucket := s3difftest.New()
	bucket.CreateBucket("configs")
	key := "prod/app settings.json"
	say("an in-memory versioned bucket (s3difftest); key %q and its sibling %q", key, key+".bak")
	var last string
	for i := 1; i <= 5; i++ {
		last = bucket.Put("configs", key, []byte(fmt.Sprintf("{\n  \"replicas\": %d,\n  \"image\": \"api:1.%d\"\n}\n", i, i/3)))
	}
	bucket.Put("configs", key+".bak", []byte("{}\n"))
	say("5 uploads in the same second: LastModified ties, S3's order does not")

	client, err := s3diff.New(bucket)
	if err != nil {
		return err
	}
	h, err := s3diff.NewHandler(client, func(o *s3diff.HandlerOptions) { o.Keep, o.Suffix = 3, ".json" })
	if err != nil {
		return err
	}
	event := fmt.Sprintf(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"configs"},"object":{"key":%q,"versionId":%q}}}]}`,
		url.QueryEscape(key), last)
	say("the S3 event names key %q (URL-encoded) and version %s", url.QueryEscape(key), last)
	for delivery := 1; delivery <= 2; delivery++ {
		out, err := h.Handle(ctx, []byte(event))
		if err != nil {
			return err
		}
		r := out[0].Diff
		say("delivery %d: %s", delivery, r.Summary)
		if delivery == 1 {
			for _, line := range strings.Split(strings.TrimSpace(r.Unified()), "\n") {
				say("  | %s", line)
			}
			changes, err := r.JSONChanges()
			if err != nil {
				return err
			}
			for _, c := range changes {
				say("  json %s %s: %s -> %s", c.Path, c.Op, c.Old, c.New)
			}
			say("retention: kept %d, deleted %d", len(out[0].Retained.Kept), len(out[0].Retained.Deleted))
		} else {
			say("same diff again (the event's version, not \"the newest two\"); retention has nothing left to do: deleted %d", len(out[0].Retained.Deleted))
		}
	}
	say("versions left: %d of %q, %d of the sibling %q", len(bucket.VersionIDs("configs", key)), key,
		len(bucket.VersionIDs("configs", key+".bak")), key+".bak")
	_, err = client.Retain(ctx, "configs", key, 0)
	if err == nil {
		return fmt.Errorf("keep 0 was accepted")
	}
	say("keep 0 is refused, not read as \"delete everything\": %v", err)
	return nil
}
