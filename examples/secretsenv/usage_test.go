package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
)

// TestUsageErrors: every bad invocation exits 2 with one line naming the flag (or variable),
// before any request.
func TestUsageErrors(t *testing.T) {
	noExec := func(string, []string, []string) error { t.Error("nothing may be executed"); return nil }
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{"exec", "-prefix", "APP-", "-secret", "s", "--", "true"}, Flag: "-prefix"},
		{Args: []string{"print", "-prefix", "9", "-secret", "s"}, Flag: "-prefix"},
		{Args: []string{"print", "-prefix", "AWS_", "-secret", "s"}, Flag: "-prefix"},
		{Args: []string{"print", "-secret", "s"}, Env: map[string]string{"SECRETSENV_PREFIX": "a b"}, Flag: "-prefix"},
		{Args: []string{"print", "-timeout", "0s", "-secret", "s"}, Flag: "-timeout"},
		{Args: []string{"print", "-timeout", "-1s", "-secret", "s"}, Flag: "-timeout"},
		{Args: []string{"print", "-timeout", "soon", "-secret", "s"}, Flag: "-timeout"},
		{Args: []string{"print", "-secret", "s"}, Env: map[string]string{"SECRETSENV_TIMEOUT": "0s"}, Flag: "SECRETSENV_TIMEOUT"},
		{Args: []string{"print", "-secret", "a,var=1X"}, Flag: "-secret"},
		{Args: []string{"print", "-secret", "a,var=PATH"}, Flag: "-secret"},
		{Args: []string{"print", "-secret", "a,var=AWS_SECRET_ACCESS_KEY"}, Flag: "-secret"},
		{Args: []string{"print", "-secret", "a", "-secret", "a"}, Flag: "-secret"},
		{Args: []string{"print", "-secret", "a,var=X", "-secret", "b,var=X"}, Flag: "-secret"},
		{Args: []string{"print", "-secret", ""}, Flag: "-secret"},
		{Args: []string{"print", "-secret", "s,colour=red"}, Flag: "-secret"},
		{Args: []string{"print"}, Env: map[string]string{"SECRETSENV_SECRETS": "a;a"}, Flag: "SECRETSENV_SECRETS"},
		{Args: []string{"print", "-secret", "s"}, Env: map[string]string{"SECRETSENV_BINARY": "hex"}, Flag: "SECRETSENV_BINARY"},
		{Args: []string{"print", "-secret", "s"}, Env: map[string]string{"SECRETSENV_STRICT": "yes please"}, Flag: "SECRETSENV_STRICT"},
		{Args: []string{"print", "-format", "yaml", "-secret", "s"}, Flag: "-format"},
		{Args: []string{"print", "-secret", "s", "extra"}, Flag: "extra"},
		{Args: []string{"exec", "-secret", "s"}, Flag: "--"},
		{Args: []string{"exec", "-nope", "--", "true"}, Flag: "-nope"},
		{Args: []string{"print"}, Flag: "-secret"},
		{Args: []string{"frobnicate"}, Flag: "frobnicate"},
	}, func(args []string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, os.Getenv, &stdout, &stderr, noExec, nil)
		if stdout.Len() > 0 {
			t.Errorf("stdout must stay empty on a usage error: %q", stdout.String())
		}
		return code, stderr.String()
	})
}
