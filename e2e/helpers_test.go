package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// binDir holds the binaries built for this run of the package.
var binDir string

func TestMain(m *testing.M) {
	if os.Getenv("E2E_PRINTENV") == "1" {
		// The test binary doubles as the child that secretsenv runs: it prints its
		// environment as JSON and, with E2E_MARKER, creates that file (proof that it ran).
		if f := os.Getenv("E2E_MARKER"); f != "" {
			_ = os.WriteFile(f, nil, 0o600)
		}
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		_ = json.NewEncoder(os.Stdout).Encode(env)
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "shipshape-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var builds sync.Map // binary name -> *build

type build struct {
	once sync.Once
	path string
	err  error
}

// binary builds examples/<name> once per run of the package and returns its path.
func binary(t testing.TB, name string) string {
	t.Helper()
	b, _ := builds.LoadOrStore(name, &build{})
	bb := b.(*build)
	bb.once.Do(func() {
		bb.path = filepath.Join(binDir, name)
		// -buildvcs=auto overrides a GOFLAGS=-buildvcs=false of the machine: -version names the revision.
		cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", bb.path, "./examples/"+name)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			bb.err = fmt.Errorf("building examples/%s: %v\n%s", name, err, out)
		}
	})
	if bb.err != nil {
		t.Fatal(bb.err)
	}
	return bb.path
}

// result is how a binary ended.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs a binary with env as its whole environment (PATH and HOME added) and stdin, for
// at most two minutes.
func run(t testing.TB, env []string, stdin string, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s %v: %v", filepath.Base(bin), args, err)
	}
	return r
}

var seq atomic.Int64

// unique is a name no other test of any run uses on the shared local AWS: prefix, then a
// time and a counter (lower case letters, digits and hyphens).
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e12, seq.Add(1))
}
