// Command s3diff-lambda is a Lambda function (provided.al2023, arm64; `make lambda` builds
// its bootstrap) that logs the diff of every uploaded version of a versioned bucket against
// its predecessor, as structured JSON lines, and keeps only the newest KEEP_VERSIONS.
//
// Environment:
//
//	KEEP_VERSIONS      versions to keep per key; 0 or unset: no retention
//	KEY_SUFFIX         only keys ending so, e.g. .json (optional)
//	KEY_PREFIX         only keys starting so (optional)
//	DIFF_FORMAT        unified (default), word, or json (structural, for .json keys)
//	MAX_OBJECT_BYTES   largest version to diff, in bytes (default 67108864 = 64 MiB); a larger
//	                   one is logged with status "too-large" and not downloaded. A diff needs
//	                   about 3 times the two versions in memory, plus the diff it logs: size
//	                   the function's memory with it (template.yaml sets 16 MiB for 256 MB)
//	S3_USE_PATH_STYLE  true for S3-compatible endpoints that need path-style addressing
//
// It accepts S3 event notifications and EventBridge "Object Created" events, and S3 Batch
// Operations invocations (schema 2.0), for which it keeps the newest versions of each task's
// key and answers a result per task (the job's user arguments "keep" and "dryRun" override
// KEEP_VERSIONS). template.yaml beside this file deploys it with exactly the permissions it
// needs, and the role a Batch Operations job runs with; docs/s3diff.md has the command that
// creates the job from an S3 Inventory report.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shipshape-dev/shipshape/examples/internal/lambdamain"
	"github.com/shipshape-dev/shipshape/s3diff"
)

// settings is the function's configuration, read from the environment.
type settings struct {
	handler   s3diff.HandlerOptions
	maxBytes  int64
	pathStyle bool
}

func settingsFromEnv(getenv func(string) string) (settings, error) {
	var s settings
	if v := strings.TrimSpace(getenv("KEEP_VERSIONS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s, fmt.Errorf("KEEP_VERSIONS=%q: want a whole number, 1 or more (0 or unset: no retention)", v)
		}
		s.handler.Keep = n
	}
	s.handler.Suffix = getenv("KEY_SUFFIX")
	s.handler.Prefix = getenv("KEY_PREFIX")
	s.handler.Format = getenv("DIFF_FORMAT")
	if v := strings.TrimSpace(getenv("MAX_OBJECT_BYTES")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return s, fmt.Errorf("MAX_OBJECT_BYTES=%q: want a positive number of bytes", v)
		}
		s.maxBytes = n
	}
	if v := getenv("S3_USE_PATH_STYLE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("S3_USE_PATH_STYLE=%q: want true or false", v)
		}
		s.pathStyle = b
	}
	return s, nil
}

// newHandler returns the function's handler: nil for an event notification, the per-task
// results for a Batch Operations invocation.
func newHandler(s3api s3diff.S3API, s settings, logger *slog.Logger) (func(context.Context, json.RawMessage) (any, error), error) {
	client, err := s3diff.New(s3api, func(o *s3diff.Options) {
		o.Logger = logger
		o.MaxObjectBytes = s.maxBytes
	})
	if err != nil {
		return nil, err
	}
	h, err := s3diff.NewHandler(client, func(o *s3diff.HandlerOptions) {
		*o = s.handler
		o.Logger = logger
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		if s3diff.IsBatchEvent(payload) {
			var ev events.S3BatchJobEventV2
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, fmt.Errorf("s3diff: the Batch Operations invocation does not parse: %w", err)
			}
			return h.HandleBatch(ctx, ev), nil
		}
		_, err := h.Handle(ctx, payload)
		return nil, err
	}, nil
}

// usage is what -h prints.
const usage = `s3diff-lambda: a Lambda function (provided.al2023) that logs the diff of every uploaded version
of a versioned bucket against its predecessor, as JSON lines, and keeps only the newest
KEEP_VERSIONS of each key. It takes S3 event notifications, EventBridge "Object Created" events,
and S3 Batch Operations invocations (schema 2.0: it keeps the newest versions of each task's key
and answers a result per task; the job's user arguments "keep" and "dryRun" override
KEEP_VERSIONS). template.yaml deploys it; docs/s3diff.md has the Batch Operations job.

Environment:
  KEEP_VERSIONS      versions to keep per key; 0 or unset: no retention
  KEY_SUFFIX         only keys ending so, e.g. .json (default: every key)
  KEY_PREFIX         only keys starting so (default: every key)
  DIFF_FORMAT        unified (default), word, or json (structural, for .json keys)
  MAX_OBJECT_BYTES   largest version to diff, in bytes (default 67108864 = 64 MiB)
  S3_USE_PATH_STYLE  true for S3-compatible endpoints that need path-style addressing (default false)
  AWS_REGION and the standard AWS SDK environment (Lambda sets them)
`

func main() {
	lambdamain.Main(lambdamain.Lambda{Name: "s3diff-lambda", Usage: usage,
		Handler: func(_ context.Context, cfg aws.Config, getenv func(string) string, logger *slog.Logger) (any, error) {
			s, err := settingsFromEnv(getenv)
			if err != nil {
				return nil, err
			}
			return newHandler(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = s.pathStyle }), s, logger)
		}})
}
