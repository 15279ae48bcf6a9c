package lambdamain

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"

	"github.com/shipshape-dev/shipshape/examples/internal/cli"
)

// TestEveryLambdaStartsTheSameWay: -h and -version answer and exit 0 without any AWS
// configuration; no region is exit 2 with the one message every binary gives, before the
// handler is built; a bad setting is exit 2; otherwise the handler is served.
func TestEveryLambdaStartsTheSameWay(t *testing.T) {
	built := 0
	l := Lambda{Name: "fn", Usage: "fn: does things\n\nEnvironment:\n  FN_SETTING  what (default x)\n",
		Handler: func(_ context.Context, _ aws.Config, getenv func(string) string, _ *slog.Logger) (any, error) {
			built++
			if getenv("FN_SETTING") == "bad" {
				return nil, errors.New("FN_SETTING=\"bad\": want good")
			}
			return func() {}, nil
		}}
	run := func(args []string, env map[string]string) (int, string, bool) {
		for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
			t.Setenv(k, env[k])
		}
		t.Setenv("AWS_CONFIG_FILE", "/dev/null")
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
		var out bytes.Buffer
		started := false
		code := l.run(context.Background(), args, &out, func(k string) string { return env[k] }, func(any) { started = true })
		return code, out.String(), started
	}

	code, out, started := run([]string{"-h"}, nil)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "FN_SETTING  what (default x)")
	assert.False(t, started)

	code, out, _ = run([]string{"-version"}, nil)
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "fn "), out)

	code, out, _ = run([]string{"--frobnicate"}, nil)
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "--frobnicate")

	code, out, started = run(nil, nil)
	assert.Equal(t, 2, code)
	assert.Contains(t, out, cli.NoRegion)
	assert.Contains(t, out, `"version"`, "the first line says which build it is")
	assert.False(t, started)
	assert.Zero(t, built, "no region: the handler is never built")

	code, out, started = run(nil, map[string]string{"AWS_REGION": "eu-west-1", "FN_SETTING": "bad"})
	assert.Equal(t, 2, code)
	assert.Contains(t, out, `FN_SETTING=\"bad\"`)
	assert.False(t, started)

	code, _, started = run(nil, map[string]string{"AWS_REGION": "eu-west-1"})
	assert.Equal(t, 0, code)
	assert.True(t, started)
}
