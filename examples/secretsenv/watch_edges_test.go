package main

// Edges of secretsenv exec -watch, run against the built binary: odd flag values, signals
// before and after the command starts, throttling, a restart that must leave nothing of the
// old command running, and nothing written to disk or stderr.

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// firstLineOrExit waits for the command's first line, or for secretsenv to exit first.
func (s *started) firstLineOrExit(t *testing.T) (line string, code int, exited bool) {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		if ok {
			return l, 0, false
		}
		return "", s.exit(t), true
	case <-s.done:
		code := s.code
		return "", code, true
	case <-time.After(20 * time.Second):
		t.Fatalf("neither a line nor an exit; stderr:\n%s", s.stderr.String())
		return "", 0, false
	}
}

// noLine asserts the command prints nothing for d.
func (s *started) noLine(t *testing.T, d time.Duration, why string) {
	t.Helper()
	select {
	case l := <-s.lines:
		t.Errorf("%s: the command printed %q; stderr:\n%s", why, l, s.stderr.String())
	case <-time.After(d):
	}
}

func procRunning(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

var pidRe = regexp.MustCompile(`pid=(\d+)`)

func pidOf(t *testing.T, line string) int {
	t.Helper()
	m := pidRe.FindStringSubmatch(line)
	require.NotNil(t, m, line)
	p, _ := strconv.Atoi(m[1])
	return p
}

const trapsEverything = `for s in HUP USR1 USR2 INT QUIT WINCH; do trap "echo got $s" $s; done; trap 'echo got TERM; exit 9' TERM; echo "pw=$DB_PASSWORD"; while :; do sleep 0.05; done`

// -on-change signal:NAME with odd names: refused (2), or the signal meant is the one sent.
// Never KILL or STOP however spelled, never an empty or unknown number.
func TestExecWatchOddSignalNames(t *testing.T) {
	want := map[string]string{ // name -> the signal it can only mean ("" : must be refused)
		"hup": "HUP", "SIGHUP": "HUP", "sighup": "HUP", "1": "HUP", "SIGUSR1": "USR1", "usr2": "USR2",
		"WINCH": "WINCH",
		"":      "", "0": "", "99": "", "-1": "", "9": "", "SIGKILL": "", "kill": "", "STOP": "", "SIGSTOP": "", "19": "",
		"HUP ": "", " HUP": "", "HUP,USR1": "",
	}
	for name, sig := range want {
		b := newExecBed(t)
		b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
		s := b.start(t, "exec", "-watch", "-interval", "1s", "-on-change", "signal:"+name, "-secret", "app/db", "--", "sh", "-c", trapsEverything)
		line, code, exited := s.firstLineOrExit(t)
		if exited {
			assert.Equal(t, 2, code, "signal:%q: %s", name, s.stderr.String())
			assert.Contains(t, s.stderr.String(), "on-change", "signal:%q", name)
			continue
		}
		if !assert.NotEmpty(t, sig, "signal:%q was accepted; it must be refused", name) {
			s.stop(t)
			continue
		}
		assert.Equal(t, "pw=one", line)
		b.fake.PutString("app/db", `{"DB_PASSWORD":"two"}`)
		assert.Equal(t, "got "+sig, s.line(t), "signal:%q", name)
		s.stop(t)
	}
}

// -interval and -stop-timeout edges.

// negative wait in Watcher.Run); random, so it fails about half the runs.
func TestExecWatchIntervalEdges(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	for _, args := range [][]string{
		{"-interval", "999ms"}, {"-interval", "0"}, {"-interval", "0s"}, {"-stop-timeout", "-1s"}, {"-interval", "1"},
	} {
		a := append(append([]string{"exec", "-watch"}, args...), "-secret", "app/db", "--", "true")
		code, stdout, stderr := b.run(t, nil, a...)
		assert.Equal(t, 2, code, "%v: %s", args, stderr)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, strings.TrimPrefix(args[0], "-"), "%v names the flag", args)
	}
	assert.Zero(t, b.fake.Calls("GetSecretValue"), "refused before any call")

	// An interval so large that interval+jitter overflows: refused, or no check soon (no spin).
	s := b.start(t, "exec", "-watch", "-interval", "2562047h", "-secret", "app/db", "--", "sh", "-c", trapsEverything)
	if line, code, exited := s.firstLineOrExit(t); exited {
		assert.Equal(t, 2, code, s.stderr.String())
	} else {
		assert.Equal(t, "pw=one", line)
		time.Sleep(2 * time.Second)
		assert.Zero(t, b.fake.Calls(secretsenvtest.OpDescribeSecret), "checks spin with a huge -interval")
		s.stop(t)
	}
}

// exec -watch with a command that does not exist: status 1 (nothing was run), the command
// named, no value on stderr.
func TestExecWatchCommandNotFound(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"TOPSECRET-x"}`)
	for _, cmd := range []string{"no-such-command-shipshape", "/nonexistent/dir/server", t.TempDir()} {
		code, stdout, stderr := b.run(t, nil, "exec", "-watch", "-secret", "app/db", "--", cmd)
		assert.Equal(t, 1, code, "%s: %s", cmd, stderr)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, cmd)
		assert.NotContains(t, stderr, "TOPSECRET")
	}
}

// Each forwarded signal reaches the command; a command that dies of it gives 128+n.
func TestExecWatchSignalExitCodes(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR2, syscall.SIGTERM} {
		b := newExecBed(t)
		b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
		s := b.start(t, "exec", "-watch", "-interval", "1s", "-secret", "app/db", "--", "sh", "-c", `echo ready; exec sleep 1000`)
		assert.Equal(t, "ready", s.line(t))
		time.Sleep(100 * time.Millisecond) // the exec into sleep
		require.NoError(t, s.cmd.Process.Signal(sig))
		assert.Equal(t, 128+int(sig), s.exit(t), "%v: %s", sig, s.stderr.String())
	}
}

// Rapid signals: secretsenv survives them all, the command gets them, its status is the exit.
func TestExecWatchRapidSignals(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := b.start(t, "exec", "-watch", "-interval", "1s", "-secret", "app/db", "--", "sh", "-c",
		`n=0; trap 'n=$((n+1))' USR1 HUP; trap 'echo "got $n"; exit 0' TERM; echo ready; while :; do sleep 0.01; done`)
	assert.Equal(t, "ready", s.line(t))
	for i := range 300 {
		sig := syscall.SIGUSR1
		if i%2 == 1 {
			sig = syscall.SIGHUP
		}
		require.NoError(t, s.cmd.Process.Signal(sig))
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case <-s.done:
		code := s.code
		t.Fatalf("secretsenv exited (%d) during the signals; stderr:\n%s", code, s.stderr.String())
	default:
	}
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Regexp(t, `^got [1-9]`, s.line(t))
	assert.Equal(t, 0, s.exit(t))
}

// While nothing changes no value is read; while Secrets Manager throttles the command keeps
// running with the last good values; then it is restarted once with the new ones. No value
// on stderr (even with -v), no file written to TMPDIR or HOME.
func TestExecWatchQuietThrottledAndDiskless(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"TOPSECRET-one"}`)
	tmp := t.TempDir()
	b.env = append(b.env, "TMPDIR="+tmp)
	home := ""
	for _, kv := range b.env {
		if strings.HasPrefix(kv, "HOME=") {
			home = strings.TrimPrefix(kv, "HOME=")
		}
	}
	s := b.start(t, "exec", "-watch", "-v", "-interval", "1s", "-secret", "app/db", "--", "sh", "-c", childPrintsAndWaits)
	assert.Equal(t, "pw=TOPSECRET-one", s.line(t))
	time.Sleep(3500 * time.Millisecond)
	assert.Equal(t, 1, b.fake.Calls("GetSecretValue"), "no value read while nothing changes")
	assert.GreaterOrEqual(t, b.fake.Calls(secretsenvtest.OpDescribeSecret), 2)

	b.fake.Fail(secretsenvtest.OpDescribeSecret, secretsenvtest.APIError("ThrottlingException", "Rate exceeded"), 6)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"TOPSECRET-two"}`)
	s.noLine(t, 2*time.Second, "checks throttled: the command keeps running") // the SDK's backoff: more than 2s for 6 attempts
	var first string
	select {
	case first = <-s.lines:
	case <-time.After(60 * time.Second):
		t.Fatalf("no restart after the throttling ended; stderr:\n%s", s.stderr.String())
	}
	assert.Equal(t, "got TERM", first)
	assert.Equal(t, "pw=TOPSECRET-two", s.line(t))
	assert.Contains(t, s.stderr.String(), "checking the secrets failed; keeping the last good values",
		"a failing check is said on stderr, so the operator knows the values may be going stale")
	s.noLine(t, 2500*time.Millisecond, "one change, one restart")
	assert.Equal(t, 2, b.fake.Calls("GetSecretValue"))

	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, "got TERM", s.line(t))
	assert.Equal(t, 9, s.exit(t))
	assert.NotContains(t, s.stderr.String(), "TOPSECRET")
	for _, d := range []string{tmp, home} {
		entries, err := os.ReadDir(d)
		require.NoError(t, err)
		assert.Empty(t, entries, "%s: nothing written to disk", d)
	}
}

// -list: a secret whose name extends the watched one moving, or the watched one becoming
// denied (no longer listed), restarts nothing; the command keeps the last good values.
func TestExecWatchListPrefixAndDenied(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	b.fake.PutString("app/db2", `{"DB_PASSWORD":"TOPSECRET-other"}`)
	s := b.start(t, "exec", "-watch", "-list", "-interval", "1s", "-secret", "app/db", "--", "sh", "-c", childPrintsAndWaits)
	assert.Equal(t, "pw=one", s.line(t))
	for i := range 3 {
		b.fake.PutString("app/db2", `{"DB_PASSWORD":"TOPSECRET-other`+strconv.Itoa(i)+`"}`)
		time.Sleep(800 * time.Millisecond)
	}
	s.noLine(t, 1500*time.Millisecond, "app/db2 moved, not app/db")
	b.fake.Deny("app/db")
	b.fake.PutString("app/db2", `{"DB_PASSWORD":"TOPSECRET-other9"}`)
	s.noLine(t, 3*time.Second, "app/db denied: keep the command running with the last good values")
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, "got TERM", s.line(t))
	assert.Equal(t, 9, s.exit(t))
	assert.NotContains(t, s.stderr.String(), "TOPSECRET")
}

// SIGTERM while the secrets are still loading: secretsenv stops without running the command
// (as plain exec does), promptly.
func TestExecWatchSignalDuringTheInitialLoad(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	target, err := url.Parse(b.srv.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("X-Amz-Target"), "GetSecretValue") {
			time.Sleep(3 * time.Second)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)
	for i, kv := range b.env {
		if strings.HasPrefix(kv, "AWS_ENDPOINT_URL_SECRETS_MANAGER=") {
			b.env[i] = "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + slow.URL
		}
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	s := b.start(t, "exec", "-watch", "-secret", "app/db", "--", exe)
	time.Sleep(700 * time.Millisecond)
	sent := time.Now()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	code := s.exit(t)
	assert.NotZero(t, code)
	assert.Less(t, time.Since(sent), 2*time.Second, "not stopped until the load finished")
	assert.False(t, b.childRan(), "the command was run after the operator's SIGTERM")
}

// -on-change exit with a command that ignores SIGTERM: SIGKILL after -stop-timeout, exit 3,
// nothing left running.
func TestExecWatchExitOnChangeStubbornCommand(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := b.start(t, "exec", "-watch", "-interval", "1s", "-on-change", "exit", "-stop-timeout", "1s", "-secret", "app/db", "--", "sh", "-c",
		`trap '' TERM; echo "pid=$$ pw=$DB_PASSWORD"; while :; do sleep 0.05; done`)
	pid := pidOf(t, s.line(t))
	b.fake.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	assert.Equal(t, 3, s.exit(t), s.stderr.String())
	assert.Eventually(t, func() bool { return !procRunning(pid) }, 2*time.Second, 10*time.Millisecond, "the command (%d) outlived secretsenv", pid)
}

// A restart leaves no process of the old command running (it holds the old secret).

// keep running with the old secret after the restart.
func TestExecWatchRestartLeavesNoGrandchild(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := b.start(t, "exec", "-watch", "-interval", "1s", "-stop-timeout", "1s", "-secret", "app/db", "--", "sh", "-c",
		`sleep 30 & echo "pid=$! pw=$DB_PASSWORD"; wait`)
	var seen []int
	t.Cleanup(func() {
		for _, p := range seen {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	})
	first := pidOf(t, s.line(t))
	seen = append(seen, first)
	b.fake.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	line := s.line(t)
	assert.Contains(t, line, "pw=two")
	if m := pidRe.FindStringSubmatch(line); m != nil {
		p, _ := strconv.Atoi(m[1])
		seen = append(seen, p)
	}
	assert.Eventually(t, func() bool { return !procRunning(first) }, 2*time.Second, 10*time.Millisecond,
		"the old command's process %d (with the old secret) still runs after the restart", first)
}
