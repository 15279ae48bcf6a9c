package main

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// started is the built binary running in the background with its stdout read line by line.
type started struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *testbed.SyncBuffer
	done   chan struct{} // closed when secretsenv has exited, with its status in code
	code   int
}

func (b *execBed) start(t *testing.T, args ...string) *started {
	t.Helper()
	cmd := exec.Command(builtBinary, args...)
	cmd.Env = append([]string(nil), b.env...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	s := &started{cmd: cmd, lines: make(chan string, 100), stderr: &testbed.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	require.NoError(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
		close(s.lines)
	}()
	go func() {
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		s.code = code
		close(s.done)
	}()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop ends secretsenv with SIGTERM, which it forwards to the command's process group, and
// waits for it; SIGKILL only when that does not work. Killing secretsenv outright would
// leave the command running on its own, in its own process group.
func (s *started) stop(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("secretsenv did not end on SIGTERM; stderr:\n%s", s.stderr.String())
	}
}

func (s *started) line(t *testing.T) string {
	t.Helper()
	select {
	case l := <-s.lines:
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("no line from the command; stderr:\n%s", s.stderr.String())
		return ""
	}
}

func (s *started) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-s.done:
		return s.code
	case <-time.After(20 * time.Second):
		t.Fatalf("secretsenv did not exit; stderr:\n%s", s.stderr.String())
		return 0
	}
}

// The traps come first: once it has printed, the command handles TERM and HUP.
const childPrintsAndWaits = `trap 'echo "got TERM"; exit 9' TERM; trap 'echo "got HUP"' HUP; echo "pw=$DB_PASSWORD"; while :; do sleep 0.05; done`

func TestExecWatchRestartsTheCommandWithTheRotatedValue(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := b.start(t, "exec", "-watch", "-interval", "1s", "-secret", "app/db", "--", "sh", "-c", childPrintsAndWaits)
	assert.Equal(t, "pw=one", s.line(t))
	b.fake.StartRotation("app/db", `{"DB_PASSWORD":"two"}`)
	b.fake.FinishRotation("app/db")
	assert.Equal(t, "got TERM", s.line(t), "the old command is stopped with SIGTERM")
	assert.Equal(t, "pw=two", s.line(t), "and started again with the new value")
	assert.Contains(t, s.stderr.String(), "restart: [DB_PASSWORD] changed")
	assert.NotContains(t, s.stderr.String(), "two", "no value on stderr")

	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM)) // forwarded: the command exits 9
	assert.Equal(t, "got TERM", s.line(t))
	assert.Equal(t, 9, s.exit(t), "secretsenv exits with the command's status")
	assert.False(t, b.childRan(), "the test binary was not the child")
}

func TestExecWatchSignalsOrExitsOnChangeAsAsked(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := b.start(t, "exec", "-watch", "-interval", "1s", "-on-change", "signal:HUP", "-secret", "app/db", "--", "sh", "-c", childPrintsAndWaits)
	assert.Equal(t, "pw=one", s.line(t))
	b.fake.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	assert.Equal(t, "got HUP", s.line(t), "signalled, not restarted")
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	s.line(t)
	assert.Equal(t, 9, s.exit(t))

	b.fake.PutString("app/db", `{"DB_PASSWORD":"three"}`)
	s = b.start(t, "exec", "-watch", "-interval", "1s", "-on-change", "exit", "-secret", "app/db", "--", "sh", "-c", childPrintsAndWaits)
	assert.Equal(t, "pw=three", s.line(t))
	b.fake.PutString("app/db", `{"DB_PASSWORD":"four"}`)
	assert.Equal(t, "got TERM", s.line(t), "stopped")
	assert.Equal(t, 3, s.exit(t), "exit 3: a supervisor starts it again")
}

func TestExecWatchEndsWithTheCommand(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	code, stdout, stderr := b.run(t, nil, "exec", "-watch", "-secret", "app/db", "--", "sh", "-c", `echo "pw=$DB_PASSWORD"; exit 4`)
	assert.Equal(t, 4, code, stderr)
	assert.Equal(t, "pw=one\n", stdout)
}

func TestExecWatchFlagsAreUsageErrors(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	for _, args := range [][]string{
		{"exec", "-interval", "1m", "-secret", "app/db", "--", "true"},
		{"exec", "-on-change", "exit", "-secret", "app/db", "--", "true"},
		{"exec", "-watch", "-interval", "10ms", "-secret", "app/db", "--", "true"},
		{"exec", "-watch", "-interval", "-1m", "-secret", "app/db", "--", "true"},
		{"exec", "-watch", "-on-change", "reload", "-secret", "app/db", "--", "true"},
		{"exec", "-watch", "-on-change", "signal:KILL", "-secret", "app/db", "--", "true"},
		{"exec", "-watch", "-stop-timeout", "0s", "-secret", "app/db", "--", "true"},
		{"print", "-watch", "-secret", "app/db"},
	} {
		code, stdout, stderr := b.run(t, nil, args...)
		assert.Equal(t, 2, code, "%v: %s", args, stderr)
		assert.Empty(t, stdout)
		flag := ""
		for _, a := range args {
			if strings.HasPrefix(a, "-") && a != "--" && a != "-secret" {
				flag = a
			}
		}
		assert.Contains(t, stderr, strings.TrimPrefix(flag, "-"), "%v names the flag", args)
	}
	assert.Zero(t, b.fake.Calls("GetSecretValue"), "refused before any call")
}
