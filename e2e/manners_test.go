package e2e

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

// What every binary promises (examples/internal/cli, which this package may not import).
const (
	noRegion        = "set AWS_REGION (or use a profile with a region)"
	exitInterrupted = 130 // SIGINT
	exitTerminated  = 143 // SIGTERM
)

// Every binary's manners: -version, -h of the Lambda binaries, the one missing-region message
// (exit 2, no request), and the exit codes of a signal.

var (
	cliBinaries    = []string{"s3diff", "secretsenv", "imdscreds", "lifecycle-gate", "ecs-drain", "dr-verify", "dr-failover", "dr-sanitize"}
	lambdaBinaries = []string{"s3diff-lambda", "drain-lambda", "dr-source", "dr-recovery", "dr-steps", "dr-sanitize"}
)

func TestEveryBinaryAnswersVersion(t *testing.T) {
	for _, name := range append(cliBinaries, lambdaBinaries...) {
		r := run(t, nil, "", binary(t, name), "-version")
		require.Zero(t, r.code, "%s: %s", name, r)
		line := strings.TrimSpace(r.stdout)
		assert.True(t, strings.HasPrefix(line, name+" "), "%s: %q", name, line)
		assert.Contains(t, line, "github.com/shipshape-dev/shipshape", name)
		assert.NotContains(t, line, "unknown revision", "%s: built from a git checkout, the revision is known", name)
	}
}

func TestLambdaBinariesAnswerHelp(t *testing.T) {
	for _, name := range lambdaBinaries {
		r := run(t, nil, "", binary(t, name), "-h")
		require.Zero(t, r.code, "%s: %s", name, r)
		out := r.stdout + r.stderr
		assert.NotContains(t, out, "expected AWS Lambda environment variables", name)
		assert.Regexp(t, `(?m)^\s+(DR_|KEEP_VERSIONS|ECS_CLUSTERS)`, out, "%s lists its settings", name)
		assert.Contains(t, out, "default", "%s says its defaults", name)
	}
}

// TestEveryBinaryNamesTheMissingRegionAndMakesNoRequest: with valid arguments and no region
// anywhere (no AWS_REGION, no profile, no instance metadata), each binary says the one
// message and exits 2, and nothing reaches the endpoint. imdscreds reads instance metadata
// only and needs no region.
func TestEveryBinaryNamesTheMissingRegionAndMakesNoRequest(t *testing.T) {
	var requests atomic.Int32
	aws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1); w.WriteHeader(500) }))
	t.Cleanup(aws.Close)
	env := []string{"AWS_ENDPOINT_URL=" + aws.URL, "AWS_ACCESS_KEY_ID=AKIDNOREGION", "AWS_SECRET_ACCESS_KEY=x",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + aws.URL + "/"}
	dsn := "postgres://u@{host}:{port}/d"
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"s3diff", nil, []string{"versions", "-bucket", "bkt", "-key", "k"}},
		{"secretsenv", nil, []string{"print", "-secret", "app"}},
		{"lifecycle-gate", nil, []string{"-instance-id", "i-0123456789abcdef0", "-group", "web", "-cmd", "true"}},
		{"ecs-drain", nil, []string{"-cluster", "prod", "-instance", "i-0123456789abcdef0"}},
		{"dr-verify", nil, []string{"-instance", "orders", "-class", "db.t3.micro", "-dsn", dsn}},
		{"dr-failover", nil, []string{"-instance", "orders", "-target-id", "shipshape-orders", "-class", "db.t3.micro", "-dry-run"}},
		{"dr-sanitize", nil, []string{"-instance", "orders", "-class", "db.t3.micro", "-dsn", dsn, "-statement", "select 1"}},
		{"s3diff-lambda", []string{"KEEP_VERSIONS=1"}, nil},
		{"drain-lambda", []string{"ECS_CLUSTERS=prod"}, nil},
		{"dr-source", nil, nil},
		{"dr-recovery", []string{"DR_SOURCE_ACCOUNTS=111111111111", "DR_SOURCE_REGION=eu-west-1"}, nil},
		{"dr-steps", []string{"DR_SOURCE_INSTANCE=orders", "DR_INSTANCE_CLASS=db.t3.micro", "DR_DSN=" + dsn}, nil},
		{"dr-sanitize", []string{"AWS_LAMBDA_RUNTIME_API=127.0.0.1:9", "DR_SOURCE_INSTANCE=orders", "DR_INSTANCE_CLASS=db.t3.micro", "DR_DSN=" + dsn,
			`DR_STATEMENTS=["select 1"]`}, nil},
	} {
		before := requests.Load()
		r := run(t, append(append([]string(nil), env...), tc.env...), "", binary(t, tc.name), tc.args...)
		assert.Equal(t, 2, r.code, "%s %v: %s", tc.name, tc.args, r)
		assert.Contains(t, r.stdout+r.stderr, noRegion, "%s %v", tc.name, tc.args)
		assert.Equal(t, before, requests.Load(), "%s %v: no request without a region", tc.name, tc.args)
	}
}

// lockedBuffer is the output of a running process: os/exec's copier writes it while the test
// reads it (a plain bytes.Buffer is a data race there).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// started runs a binary in the background and returns it with its output buffer.
func started(t *testing.T, env []string, bin string, args ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}, env...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, out
}

// exitAfter sends sig once the process has been running a moment, and returns its exit code.
func exitAfter(t *testing.T, cmd *exec.Cmd, ready func() bool, sig syscall.Signal) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ready() {
		require.True(t, time.Now().Before(deadline), "the process never got going")
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(sig))
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the process did not end after the signal")
	}
	return cmd.ProcessState.ExitCode()
}

// TestFiniteJobsExitWithTheSignalsCode: a CLI doing a finite job exits 130 on SIGINT and 143
// on SIGTERM, with a line saying it stopped; a watcher (ecs-drain -watch) stops cleanly on
// SIGTERM with 0.
func TestFiniteJobsExitWithTheSignalsCode(t *testing.T) {
	var hanging atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		<-r.Context().Done() // S3 never answers
	}))
	t.Cleanup(slow.Close)
	env := []string{"AWS_ENDPOINT_URL=" + slow.URL, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDSIGNAL", "AWS_SECRET_ACCESS_KEY=x",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: exitInterrupted, syscall.SIGTERM: exitTerminated} {
		before := hanging.Load()
		cmd, out := started(t, env, binary(t, "s3diff"), "retain", "-bucket", "bkt", "-prefix", "logs/", "-keep", "1", "-path-style")
		code := exitAfter(t, cmd, func() bool { return hanging.Load() > before }, sig)
		assert.Equal(t, want, code, "%s\n%s", sig, out)
		assert.Contains(t, out.String(), "stopped by", "%s", out)
	}

	md := imdstest.NewServer()
	t.Cleanup(md.Close)
	ecsCalls := atomic.Int32{}
	ecs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ecsCalls.Add(1); w.WriteHeader(500) }))
	t.Cleanup(ecs.Close)
	cmd, out := started(t, append(env[:0:0], "AWS_ENDPOINT_URL="+ecs.URL, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDSIGNAL", "AWS_SECRET_ACCESS_KEY=x",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_SERVICE_ENDPOINT="+md.URL+"/"),
		binary(t, "ecs-drain"), "-watch", "-cluster", "prod", "-poll", "1s", "-ecs-config", "")
	code := exitAfter(t, cmd, func() bool { return strings.Contains(out.String(), "watching instance metadata") }, syscall.SIGTERM)
	assert.Zero(t, code, "a watcher told to stop stops cleanly\n%s", out)
}
