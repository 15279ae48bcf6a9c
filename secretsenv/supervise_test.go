package secretsenv_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// supervised runs Supervise over app/db with a /bin/sh child running script, in the
// background; the child's output goes to out.
type supervised struct {
	b      *bed
	out    *testbed.SyncBuffer
	cancel context.CancelFunc
	done   chan struct{}
	code   int
	err    error

	mu     sync.Mutex
	starts []string
}

func supervise(t *testing.T, b *bed, script string, optFns ...func(*secretsenv.SuperviseOptions)) *supervised {
	t.Helper()
	w, err := b.loader(func(o *secretsenv.Options) { o.Environ = []string{"PATH=" + os.Getenv("PATH")} }).
		Watch(context.Background(), b.client, specs(t, "app/db"), func(o *secretsenv.WatchOptions) { o.Interval, o.Jitter = time.Second, 0 })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	s := &supervised{b: b, out: &testbed.SyncBuffer{}, cancel: cancel, done: make(chan struct{})}
	opts := append([]func(*secretsenv.SuperviseOptions){func(o *secretsenv.SuperviseOptions) {
		o.Stdin, o.Stdout, o.Stderr = strings.NewReader(""), s.out, s.out
		o.OnStart = func(_ int, reason string) { s.mu.Lock(); s.starts = append(s.starts, reason); s.mu.Unlock() }
	}}, optFns...)
	go func() {
		defer close(s.done)
		s.code, s.err = secretsenv.Supervise(ctx, w, b.loader(func(o *secretsenv.Options) { o.Environ = []string{"PATH=" + os.Getenv("PATH")} }).Environ,
			"sh", []string{"-c", script}, opts...)
	}()
	t.Cleanup(func() { cancel(); <-s.done })
	return s
}

func (s *supervised) waitFor(t *testing.T, text string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(s.out.String(), text) }, 20*time.Second, 5*time.Millisecond,
		"the child never printed %q; it printed:\n%s", text, s.out.String())
}

func (s *supervised) wait(t *testing.T) (int, error) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("Supervise did not return; the child printed:\n%s", s.out.String())
	}
	return s.code, s.err
}

func (s *supervised) startReasons() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.starts...)
}

// A child that prints its password and then waits to be stopped.
const printAndWait = `echo "pw=$DB_PASSWORD"; exec sleep 1000`

func TestSuperviseRestartsTheChildWithTheNewValues(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := supervise(t, b, printAndWait)
	s.waitFor(t, "pw=one")
	b.sm.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	s.waitFor(t, "pw=two")
	s.cancel()
	code, err := s.wait(t)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 128+int(syscall.SIGTERM), code, "stopped with SIGTERM")
	assert.Equal(t, []string{"start", "restart: [DB_PASSWORD] changed"}, s.startReasons())
}

func TestSuperviseDoesNotRestartForHalfAChange(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := supervise(t, b, printAndWait)
	s.waitFor(t, "pw=one")
	b.sm.PutString("app/db", "not a JSON object any more")
	calls := b.sm.Calls(secretsenvtest.OpDescribeSecret)
	require.Eventually(t, func() bool { return b.sm.Calls(secretsenvtest.OpDescribeSecret) >= calls+5 }, 20*time.Second, time.Millisecond)
	assert.Equal(t, []string{"start"}, s.startReasons(), "a value that can't become variables restarts nothing")
	b.sm.PutString("app/db", `{"DB_PASSWORD":"three"}`)
	s.waitFor(t, "pw=three")
}

func TestSuperviseSignalsTheChildInstead(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := supervise(t, b, `trap 'echo got-HUP' HUP; echo "pw=$DB_PASSWORD"; while :; do sleep 0.05; done`,
		func(o *secretsenv.SuperviseOptions) { o.OnChange = secretsenv.SignalChild })
	s.waitFor(t, "pw=one")
	b.sm.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	s.waitFor(t, "got-HUP")
	assert.Equal(t, []string{"start"}, s.startReasons(), "the same child")
}

func TestSuperviseExitsOnChangeForASupervisorToRestart(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := supervise(t, b, `trap 'echo stopping; exit 0' TERM; echo "pw=$DB_PASSWORD"; while :; do sleep 0.05; done`,
		func(o *secretsenv.SuperviseOptions) { o.OnChange = secretsenv.ExitOnChange })
	s.waitFor(t, "pw=one")
	b.sm.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	code, err := s.wait(t)
	require.NoError(t, err)
	assert.Equal(t, secretsenv.ExitChanged, code)
	assert.Contains(t, s.out.String(), "stopping", "the child was asked to stop")
	assert.NotContains(t, s.out.String(), "pw=two")
}

func TestSuperviseReturnsTheChildsOwnStatus(t *testing.T) {
	for script, want := range map[string]int{`exit 7`: 7, `kill -USR1 $$`: 128 + int(syscall.SIGUSR1), `true`: 0} {
		b := newBed(t)
		b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
		code, err := supervise(t, b, script).wait(t)
		require.NoError(t, err, script)
		assert.Equal(t, want, code, script)
	}
}

func TestSuperviseForwardsSignalsAndEndsWithTheChild(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	signals := make(chan os.Signal, 1)
	s := supervise(t, b, `trap 'echo bye; exit 5' TERM; echo ready; while :; do sleep 0.05; done`,
		func(o *secretsenv.SuperviseOptions) { o.Signals = signals })
	s.waitFor(t, "ready")
	signals <- syscall.SIGTERM
	code, err := s.wait(t)
	require.NoError(t, err)
	assert.Equal(t, 5, code, "the child's own status after it handled the signal")
	assert.Contains(t, s.out.String(), "bye")
}

func TestSuperviseKillsAChildThatIgnoresTheStopSignal(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := supervise(t, b, `trap '' TERM; echo "pw=$DB_PASSWORD"; while :; do sleep 0.05; done`,
		func(o *secretsenv.SuperviseOptions) { o.StopTimeout = 200 * time.Millisecond })
	s.waitFor(t, "pw=one")
	b.sm.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	s.waitFor(t, "pw=two")
	assert.Len(t, s.startReasons(), 2)
}

func TestSuperviseRefusesACommandItCannotRun(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/db"))
	require.NoError(t, err)
	code, err := secretsenv.Supervise(context.Background(), w, b.loader().Environ, "no-such-command-shipshape", nil)
	require.Error(t, err)
	assert.Equal(t, 1, code)
	assert.Contains(t, err.Error(), "no-such-command-shipshape")
}

func TestSuperviseLeavesTheChildAloneWhenNoVariableChanged(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := supervise(t, b, printAndWait)
	s.waitFor(t, "pw=one")
	calls := b.sm.Calls(secretsenvtest.OpGetSecretValue)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`) // a new version, the same value
	require.Eventually(t, func() bool { return b.sm.Calls(secretsenvtest.OpGetSecretValue) > calls }, 20*time.Second, time.Millisecond,
		"the new version was read")
	b.sm.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	s.waitFor(t, "pw=two")
	assert.Equal(t, []string{"start", "restart: [DB_PASSWORD] changed"}, s.startReasons(), "no restart for the same value")
}
