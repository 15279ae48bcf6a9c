package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoggerWritesPlainLinesForAPerson(t *testing.T) {
	var out bytes.Buffer
	log := Logger("s3diff", &out, false, false)
	log.Info("changed: +2 -2 lines", "notes", "")
	log.Warn("not deleted", "version", "v 1")
	log.Debug("hidden")
	log.Error("s3diff: failed", "error", errors.New("boom"))
	assert.Equal(t, "s3diff: changed: +2 -2 lines\ns3diff: warning: not deleted version=\"v 1\"\ns3diff: error: failed error=boom\n", out.String(),
		"no time, no level for Info, an empty value left out, the package named once")

	out.Reset()
	Logger("s3diff", &out, false, true).Info("progress")
	assert.Empty(t, out.String(), "quiet: nothing below warnings")
	Logger("s3diff", &out, true, false).Debug("pages", "n", 3)
	assert.Equal(t, "s3diff: debug: pages n=3\n", out.String())
}

func TestAskedVersionAnswersAnywhereBeforeTheCommand(t *testing.T) {
	var out bytes.Buffer
	assert.True(t, AskedVersion("ecs-drain", []string{"-cluster", "x", "-version"}, &out))
	assert.True(t, strings.HasPrefix(out.String(), "ecs-drain "), out.String())
	out.Reset()
	assert.False(t, AskedVersion("secretsenv", []string{"exec", "--", "app", "-version"}, &out), "after --, it is the command's")
	assert.Empty(t, out.String())
}

func TestSignalsGiveTheShellsExitCodes(t *testing.T) {
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: ExitInterrupted, syscall.SIGTERM: ExitTerminated} {
		ctx, s := WithSignals(context.Background())
		require.NoError(t, syscall.Kill(syscall.Getpid(), sig))
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not end the context", sig)
		}
		assert.Equal(t, want, s.Code(1))
		assert.NotEmpty(t, s.Name())
		s.Stop()
	}
	_, s := WithSignals(context.Background())
	assert.Equal(t, 3, s.Code(3), "no signal: the job's own code")
	s.Stop()
}
