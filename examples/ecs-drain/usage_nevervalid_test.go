package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
)

// Values that can never work, beyond the usage table: each is exit 2, one line naming the
// flag, no request.
func TestValuesThatCanNeverWorkAreUsageErrors(t *testing.T) {
	id := "i-0123456789abcdef0"
	clitest.CheckUsage(t, []clitest.UsageCase{
		// ECS cluster names are letters, digits, hyphens and underscores (or a cluster ARN)
		{Args: []string{"-cluster", "prod staging", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", "prod;rm", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", "prod/eu", "-instance", id}, Flag: "-cluster"},
		// EC2 instance ids are lower case
		{Args: []string{"-cluster", "prod", "-instance", "i-0123456789ABCDEF0"}, Flag: "-instance"},
		{Args: []string{"-cluster", "prod", "-instance", " " + id}, Flag: "-instance"},
		{Args: []string{"-cluster", "prod", "-instance", "i-0123456789abcdef0x"}, Flag: "-instance"},
		{Args: []string{"-replace", "-cluster", "prod", "-instance", "i-0123456789abcdeg0"}, Flag: "-instance"},
		// durations
		{Args: []string{"-cluster", "prod", "-instance", id, "-timeout", "-5m"}, Flag: "-timeout"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-timeout", "soon"}, Flag: "-timeout"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-standalone", "stop", "-standalone-grace", "-1ns"}, Flag: "-standalone-grace"},
		// policies
		{Args: []string{"-cluster", "prod", "-instance", id, "-daemon", "stop"}, Flag: "-daemon"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-standalone", "WAIT "}, Flag: "-standalone"},
		// the agent's endpoint
		{Args: []string{"-watch", "-agent-metadata", "localhost:51678/v1/metadata"}, Flag: "-agent-metadata"},
		{Args: []string{"-watch", "-agent-metadata", "ftp://localhost/v1/metadata"}, Flag: "-agent-metadata"},
		{Args: []string{"-self", "-agent-metadata", "http://localhost:99999/v1/metadata"}, Flag: "-agent-metadata"},
	}, func(args []string) (int, string) {
		code, _, stderr := drainCmd(nil, args...)
		return code, stderr
	})
}

// A watch whose every drain would end at its first step, completing the termination hook
// with tasks still running (drain-lambda refuses MAX_DRAIN under 1m for this very reason),
// is a usage error, not a watcher that runs until the instance leaves. Run with a deadline:
// a watch that was accepted runs until it.
func TestWatchWithATimeoutThatEndsEveryDrainAtOnceIsAUsageError(t *testing.T) {
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{"-watch", "-cluster", "prod", "-timeout", "1ns"}, Flag: "-timeout"},
	}, func(args []string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var out, errOut bytes.Buffer
		code := run(ctx, args, &out, &errOut, nil)
		return code, errOut.String()
	})
}
