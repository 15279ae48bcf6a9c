package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
)

// Cluster names ECS can never have (letters beyond ASCII, digits beyond 0-9, more than 255
// characters, an ARN that is not a cluster's or names a bad cluster), -agent-metadata URLs
// that can never be read, and -watch timeouts under 1m: exit 2, one line naming the flag,
// no request.
func TestClusterNamesAndAgentURLsThatCanNeverWorkAreUsageErrors(t *testing.T) {
	id := "i-0123456789abcdef0"
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{"-cluster", "prodé", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", "prod٣", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", strings.Repeat("a", 256), "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", "prod,staging;rm", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", "arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", "arn:aws:ecs:us-east-1:123456789012:cluster/prod;rm", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", "arn:aws:ecs:us-east-1:123456789012:cluster/", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", "arn:aws:s3:::prod", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", "arn:", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-replace", "-cluster", "prod/eu", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-watch", "-cluster", "prod;rm"}, Flag: "-cluster"},
		{Args: []string{"-watch", "-agent-metadata", "http://localhost:0/v1/metadata"}, Flag: "-agent-metadata"},
		{Args: []string{"-watch", "-agent-metadata", "http://:51678/v1/metadata"}, Flag: "-agent-metadata"},
		{Args: []string{"-watch", "-agent-metadata", "http:///v1/metadata"}, Flag: "-agent-metadata"},
		{Args: []string{"-watch", "-agent-metadata", "http://localhost:65536/v1/metadata"}, Flag: "-agent-metadata"},
		{Args: []string{"-watch", "-agent-metadata", "http://[::1]:70000/v1/metadata"}, Flag: "-agent-metadata"},
		{Args: []string{"-watch", "-agent-metadata", "unix:///var/run/ecs.sock"}, Flag: "-agent-metadata"},
		{Args: []string{"-self", "-agent-metadata", ""}, Flag: "-agent-metadata"},
	}, func(args []string) (int, string) {
		code, _, stderr := drainCmd(nil, args...)
		return code, stderr
	})
}

// -watch with -timeout under 1m (59s, 0s) is refused like 1ns: every drain would end at its
// first step and complete the hook with tasks running.
func TestWatchWithATimeoutUnderAMinuteIsAUsageError(t *testing.T) {
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{"-watch", "-cluster", "prod", "-timeout", "59s"}, Flag: "-timeout"},
		{Args: []string{"-watch", "-cluster", "prod", "-timeout", "59.999s"}, Flag: "-timeout"},
		{Args: []string{"-watch", "-timeout", "0s"}, Flag: "-timeout"},
		{Args: []string{"-watch", "-on-rebalance", "-timeout", "30s"}, Flag: "-timeout"},
	}, func(args []string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var out, errOut bytes.Buffer
		code := run(ctx, args, &out, &errOut, nil)
		return code, errOut.String()
	})
}
