package s3diff_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/internal/errtext"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// TestErrorsNameThePackageOnce: each failure reads "s3diff: ...", naming the package once
// and first, so the s3diff binary can print it as it is.
func TestErrorsNameThePackageOnce(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	event := []byte(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"bucket"},"object":{"key":"k","versionId":"nope"}}}]}`)
	cases := map[string]func(b *s3difftest.Bucket) error{
		"no versions": func(b *s3difftest.Bucket) error { _, err := newClient(t, b).Diff(ctx, "bucket", "none"); return err },
		"bad input":   func(b *s3difftest.Bucket) error { _, err := newClient(t, b).Versions(ctx, "", "k"); return err },
		"keep 0":      func(b *s3difftest.Bucket) error { _, err := newClient(t, b).Retain(ctx, "bucket", "k", 0); return err },
		"list fails": func(b *s3difftest.Bucket) error {
			b.Fail(s3difftest.OpListObjectVersions, fakeapi.Error("AccessDenied", "Access Denied"), 0)
			_, err := newClient(t, b).Retain(ctx, "bucket", "k", 1)
			return err
		},
		"cancelled": func(b *s3difftest.Bucket) error {
			_, err := newClient(t, b).Retain(cancelled, "bucket", "k", 1)
			return err
		},
		"delete fails": func(b *s3difftest.Bucket) error {
			b.Fail(s3difftest.OpDeleteObjects, fakeapi.Error("AccessDenied", "Access Denied"), 0)
			_, err := newClient(t, b).Retain(ctx, "bucket", "k", 1)
			return err
		},
		"version not found": func(b *s3difftest.Bucket) error {
			_, err := newClient(t, b).Diff(ctx, "bucket", "k", func(o *s3diff.DiffOptions) { o.To = "nope" })
			return err
		},
		"handler": func(b *s3difftest.Bucket) error {
			b.Fail(s3difftest.OpDeleteObjects, fakeapi.Error("AccessDenied", "Access Denied"), 0)
			b.Fail(s3difftest.OpGetObject, fakeapi.Error("AccessDenied", "Access Denied"), 0)
			h, err := s3diff.NewHandler(newClient(t, b), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
			require.NoError(t, err)
			_, err = h.Handle(ctx, []byte(strings.Replace(string(event), "nope", b.VersionIDs("bucket", "k")[0], 1)))
			return err
		},
		"bad event": func(b *s3difftest.Bucket) error {
			h, err := s3diff.NewHandler(newClient(t, b))
			require.NoError(t, err)
			_, err = h.Handle(ctx, []byte(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"bucket"},"object":{"key":"%zz"}}}]}`))
			return err
		},
	}
	for name, produce := range cases {
		t.Run(name, func(t *testing.T) {
			b := s3difftest.New()
			b.CreateBucket("bucket")
			for _, body := range []string{"1\n", "2\n", "3\n"} {
				b.Put("bucket", "k", []byte(body))
			}
			err := produce(b)
			require.Error(t, err)
			var lines []string
			if joined, ok := err.(interface{ Unwrap() []error }); ok && !errors.Is(err, context.Canceled) {
				for _, e := range joined.Unwrap() {
					lines = append(lines, e.Error())
				}
			} else {
				lines = []string{err.Error()}
			}
			for _, msg := range lines {
				assert.Equal(t, 1, errtext.Count("s3diff", msg), "%s", msg)
				assert.True(t, strings.HasPrefix(msg, "s3diff: "), "%s", msg)
			}
		})
	}
}
