package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
)

// TestUsageErrorsMakeNoRequest: bad invocations exit 2 with one line naming the flag, and no
// request reaches S3 (the real client, pointed at a recording endpoint).
func TestUsageErrorsMakeNoRequest(t *testing.T) {
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{"versions", "-bucket", "bkt"}, Flag: "-key"},
		{Args: []string{"versions", "-key", "k"}, Flag: "-bucket"},
		{Args: []string{"diff", "-bucket", "bkt"}, Flag: "-key"},
		{Args: []string{"retain", "-bucket", "bkt", "-key", "k"}, Flag: "-keep"},
		{Args: []string{"retain", "-bucket", "bkt", "-key", "k", "-keep", "0"}, Flag: "-keep"},
		{Args: []string{"retain", "-bucket", "bkt", "-key", "k", "-keep", "-3"}, Flag: "-keep"},
		{Args: []string{"retain", "-bucket", "bkt", "-key", "k", "-keep", "two"}, Flag: "-keep"},
		{Args: []string{"diff", "-bucket", "bkt", "-key", "k", "-format", "html"}, Flag: "-format"},
		{Args: []string{"diff", "-bucket", "bkt", "-key", "k", "-context", "-1"}, Flag: "-context"},
		{Args: []string{"versions", "-bucket", "bkt", "-key", "k", "extra"}, Flag: "extra"},
		{Args: []string{"versions", "-nope"}, Flag: "-nope"},
		{Args: []string{"frobnicate"}, Flag: "frobnicate"},
		{Args: []string{"retain", "-bucket", "bkt", "-keep", "1"}, Flag: "-prefix"},
		{Args: []string{"retain", "-bucket", "bkt", "-key", "k", "-prefix", "p/", "-keep", "1"}, Flag: "-prefix"},
		{Args: []string{"retain", "-bucket", "bkt", "-prefix", "p/", "-keep", "0"}, Flag: "-keep"},
		{Args: []string{"retain", "-bucket", "bkt", "-prefix", "p/", "-keep", "1", "-start-after", "q/1"}, Flag: "-start-after"},
		{Args: []string{"retain", "-bucket", "bkt", "-prefix", "p/", "-keep", "1", "-concurrency", "0"}, Flag: "-concurrency"},
		{Args: []string{"retain", "-bucket", "bkt", "-prefix", "p/", "-keep", "1", "-concurrency", "65"}, Flag: "-concurrency"},
		{Args: []string{"retain", "-bucket", "bkt", "-key", "k", "-keep", "1", "-start-after", "k"}, Flag: "-start-after"},
		{Args: []string{"retain", "-prefix", "p/", "-keep", "1"}, Flag: "-bucket"},
		{Args: []string{"retain", "-bucket", "bkt", "-prefix", "", "-keep", "1"}, Flag: "-whole-bucket"},
		{Args: []string{"retain", "-bucket", "bkt", "-prefix", "p/", "-keep", "1", "-whole-bucket"}, Flag: "-whole-bucket"},
		{Args: []string{"retain", "-bucket", "bkt", "-key", "k", "-keep", "1", "-whole-bucket"}, Flag: "-whole-bucket"},
		{Args: []string{"changes", "-bucket", "bkt", "-since", "7d"}, Flag: "-prefix"},
		{Args: []string{"changes", "-bucket", "bkt", "-prefix", "p/"}, Flag: "-since"},
		{Args: []string{"changes", "-bucket", "bkt", "-prefix", "p/", "-since", "last tuesday"}, Flag: "-since"},
		{Args: []string{"changes", "-bucket", "bkt", "-prefix", "p/", "-since", "7d", "-diff", "-json"}, Flag: "-json"},
		{Args: []string{"changes", "-bucket", "bkt", "-prefix", "p/", "-since", "7d", "-max-bytes", "0"}, Flag: "-max-bytes"},
		{Args: []string{"changes", "-prefix", "p/", "-since", "7d"}, Flag: "-bucket"},
		{Args: []string{"versions", "-bucket", "s3://bkt", "-key", "k"}, Flag: "-bucket"},
		{Args: []string{"retain", "-bucket", "s3://bkt/p/", "-prefix", "p/", "-keep", "1"}, Flag: "-bucket"},
		{Args: []string{"versions", "-bucket", "my bucket", "-key", "k"}, Flag: "-bucket"},
		{Args: []string{"diff", "-bucket", "ab", "-key", "k"}, Flag: "-bucket"},
		{Args: []string{"changes", "-bucket", "bkt/p", "-prefix", "p/", "-since", "7d"}, Flag: "-bucket"},
		{Args: []string{"retain", "-bucket", "-bkt", "-key", "k", "-keep", "1"}, Flag: "-bucket"},
		{Args: []string{"versions", "-bucket", "bkt", "-key", strings.Repeat("k", 1025)}, Flag: "-key"},
		{Args: []string{"lifecycle-rule"}, Flag: "-keep"},
		{Args: []string{"lifecycle-rule", "-keep", "0"}, Flag: "-keep"},
		{Args: []string{"lifecycle-rule", "-keep", "102"}, Flag: "-keep"},
		{Args: []string{"lifecycle-rule", "-keep", "2", "-days", "0"}, Flag: "-days"},
		{Args: []string{"lifecycle-rule", "-keep", "2", "extra"}, Flag: "extra"},
	}, func(args []string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr, fromEnvironment)
		return code, stderr.String()
	})
}
