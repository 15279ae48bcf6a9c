package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
)

// TestValuesThatCanNeverWorkMakeNoRequest: more values that can never name a bucket, a key
// or a setting (docs/RELIABILITY.md, "Bad input": exit 2, one line naming the flag, no
// request).
func TestValuesThatCanNeverWorkMakeNoRequest(t *testing.T) {
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{"versions", "-bucket", "bkt-", "-key", "k"}, Flag: "-bucket"},
		{Args: []string{"versions", "-bucket", "bkt.", "-key", "k"}, Flag: "-bucket"},
		{Args: []string{"versions", "-bucket", "bkt\n", "-key", "k"}, Flag: "-bucket"},
		{Args: []string{"versions", "-bucket", strings.Repeat("b", 256), "-key", "k"}, Flag: "-bucket"},
		{Args: []string{"versions", "-bucket", "", "-key", "k"}, Flag: "-bucket"},
		{Args: []string{"versions", "-bucket", "bkt", "-key", ""}, Flag: "-key"},
		{Args: []string{"versions", "-bucket", "bkt", "-key", "k\xff"}, Flag: "-key"},
		{Args: []string{"retain", "-bucket", "bkt", "-prefix", strings.Repeat("p", 1025), "-keep", "1"}, Flag: "-prefix"},
		{Args: []string{"retain", "-bucket", "bkt", "-prefix", "p/", "-keep", "1", "-start-after", "p/" + strings.Repeat("k", 1025)}, Flag: "-start-after"},
		{Args: []string{"retain", "-bucket", "bkt", "-key", "k", "-keep", "99999999999999999999"}, Flag: "-keep"},
		{Args: []string{"retain", "-bucket", "bkt", "-key", "k", "-keep", "1.5"}, Flag: "-keep"},
		{Args: []string{"retain", "-bucket", "bkt", "-prefix", "p/", "-keep", "1", "-concurrency", "-1"}, Flag: "-concurrency"},
		{Args: []string{"retain", "-bucket", "bkt", "-key", "k", "-keep", "1", "-concurrency", "8"}, Flag: "-concurrency"},
		{Args: []string{"diff", "-bucket", "bkt", "-key", "k", "-from", "v1", "-from-file", "f"}, Flag: "-from"},
		{Args: []string{"diff", "-bucket", "bkt", "-key", "k", "-max-bytes", "-1"}, Flag: "-max-bytes"},
		{Args: []string{"changes", "-bucket", "bkt", "-prefix", "p/", "-since", "-7d"}, Flag: "-since"},
		{Args: []string{"lifecycle-rule", "-keep", "2", "-id", strings.Repeat("r", 256)}, Flag: "-id"},
		{Args: []string{"lifecycle-rule", "-keep", "2", "-prefix", strings.Repeat("p", 1025)}, Flag: "-prefix"},
	}, func(args []string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr, fromEnvironment)
		return code, stderr.String()
	})
}
