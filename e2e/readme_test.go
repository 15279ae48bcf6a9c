package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// TestTheREADMEWalkThroughWorks runs the README's "Try it locally" block as it is, in bash,
// from the repository root, with a clean environment (no AWS variables, no SHIPSHAPE_ ones):
// it starts its own test bed, seeds it, builds the binaries and runs each one's main job.
func TestTheREADMEWalkThroughWorks(t *testing.T) {
	testbed.AWS(t) // moto is on this machine: the block's own test bed can start it
	npm := testbed.Dotenv(t).NodePath
	block := testbed.ShellBlock(t, "../README.md", "<!-- test: try-it-locally")
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", block)
	cmd.Dir = root
	home := t.TempDir()
	// TMPDIR stays the system's: PostgreSQL's user must be able to reach the test bed's folder.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		// The build and module caches and the npm packages of this machine, so that the walk
		// through does not download them again.
		"GOCACHE=" + goEnv(t, "GOCACHE"), "GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "GOPATH=" + goEnv(t, "GOPATH"),
		"SHIPSHAPE_NPM_DIR=" + filepath.Dir(npm)}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Its own process group: whatever the block leaves running (the test bed it started in the
	// background, when a line fails before `kill %1`) is stopped with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	// A line that fails ends the block before its `kill %1`: the test bed it started keeps
	// our stderr open. Run returns a minute after bash has exited anyway (the Cleanup below
	// then stops the test bed), with the block's output, instead of waiting for the pipe.
	cmd.WaitDelay = time.Minute
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) })
	err = cmd.Run()
	_ = os.RemoveAll(filepath.Join(root, "bin")) // what the walk-through built
	require.NoError(t, err, "the README's block failed\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	out := stdout.String() + stderr.String()
	for _, want := range []string{
		"PORT=5432, a 33-character password",              // secretsenv exec
		"DB_PASSWORD='correct horse $(battery) `staple`'", // secretsenv print, literal
		"+replicas: 3", // s3diff diff
		"dry run: would restore shipshape-dr-orders-db-", // dr-failover -dry-run
		`"ok": true`,                      // dr-verify's report
		`"result": "shipshape-sanitized-`, // dr-sanitize
		"drained: every task has stopped", // ecs-drain
		`"resultCode":"Succeeded"`,        // s3diff-lambda's Batch Operations answer
	} {
		assert.Contains(t, out, want)
	}
	assert.False(t, strings.Contains(out, "panic"), "%s", out)
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}
