package testbed

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Lambda is a function's bootstrap running in the Lambda Runtime Interface Emulator.
type Lambda struct {
	url  string
	logs *SyncBuffer
}

// StartLambda builds the Lambda function in the package folder dir (as `make lambda` does,
// for this machine's architecture) and runs it in the Runtime Interface Emulator with env
// as its whole environment (PATH is added). The emulator stops when the test ends.
func StartLambda(t testing.TB, dir string, env ...string) *Lambda {
	t.Helper()
	rie := LambdaRIE(t)
	bin := t.TempDir()
	bootstrap := filepath.Join(bin, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bootstrap, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the bootstrap in %s: %v\n%s", dir, err, out)
	}
	invoke, runtimeAPI := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", invoke, "--runtime-api-address", runtimeAPI, bootstrap)
	cmd.Dir = bin
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	l := &Lambda{url: fmt.Sprintf("http://%s/2015-03-31/functions/function/invocations", invoke), logs: &SyncBuffer{}}
	cmd.Stdout, cmd.Stderr = l.logs, l.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the emulator: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return l
}

// Invoke sends payload as one invocation and returns the function's answer. It waits up to
// 20 seconds for the emulator to start listening.
func (l *Lambda) Invoke(t testing.TB, payload []byte) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := http.Post(l.url, "application/json", bytes.NewReader(payload))
		if err == nil {
			defer r.Body.Close()
			body, err := io.ReadAll(r.Body)
			if err != nil || r.StatusCode != http.StatusOK {
				t.Fatalf("invocation: status %d, %v: %s\nlogs:\n%s", r.StatusCode, err, body, l.Logs())
			}
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator never answered: %v\nlogs:\n%s", err, l.Logs())
		}
		time.Sleep(50 * time.Millisecond) // still starting: poll its port
	}
}

// Logs returns what the emulator and the function wrote so far.
func (l *Lambda) Logs() string { return l.logs.String() }

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes and reads: a log sink, or a
// process's output read while the process still writes it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *SyncBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *SyncBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
