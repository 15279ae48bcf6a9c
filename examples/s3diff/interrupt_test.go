package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// TestRetainPrefixRecordIsExactAfterCtrlC runs the built binary against the fake's wire
// server behind a proxy that lets every DeleteObjects call take effect and then holds its
// answer until the client gives up. SIGINT arrives with three batches in flight: the process
// must print every version that is gone (the proxy's record of what S3 deleted, and a fresh
// listing, agree with stdout), never "deleted 0, failed 3000", and give a resume point that
// is not past anything undone.
func TestRetainPrefixRecordIsExactAfterCtrlC(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "s3diff")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	b := s3difftest.New()
	b.CreateBucket("bucket")
	const keys = 4000
	oldest := map[string]string{}
	for i := range keys {
		k := fmt.Sprintf("logs/%05d", i)
		oldest[k] = b.Put("bucket", k, []byte("old"))
		b.Put("bucket", k, []byte("new"))
	}
	wire := s3difftest.NewWireServer(b)
	t.Cleanup(wire.Close)

	var inFlight atomic.Int32
	held := make(chan struct{}, 16)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, wire.URL+r.URL.RequestURI(), bytes.NewReader(body))
		require.NoError(t, err)
		out.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if r.Method == http.MethodPost && r.URL.Query().Has("delete") {
			// S3 has deleted; the answer never reaches the client.
			inFlight.Add(1)
			held <- struct{}{}
			<-r.Context().Done()
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(proxy.Close)

	cmd := exec.Command(bin, "retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-path-style", "-concurrency", "3")
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+proxy.URL, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	for range 3 {
		select {
		case <-held:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			t.Fatalf("three delete calls never arrived; stderr:\n%s", stderr.String())
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("the process did not end after SIGINT; stderr:\n%s", stderr.String())
	}
	assert.NotZero(t, cmd.ProcessState.ExitCode(), "interrupted: not a success\n%s", stderr.String())

	printed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if line != "" {
			printed[line] = true
		}
	}
	gone, resume := 0, ""
	if m := resumeFlag.FindStringSubmatch(stderr.String()); m != nil {
		resume = m[1]
	}
	for k, id := range oldest {
		still := len(b.VersionIDs("bucket", k)) == 2
		if still {
			assert.False(t, printed[k+"\t"+id], "%s is printed as deleted but still there", k)
			assert.Greater(t, k, resume, "%s is not done but lies before the resume point", k)
			continue
		}
		gone++
		assert.True(t, printed[k+"\t"+id], "%s %s is gone but not printed", k, id)
	}
	assert.Equal(t, 3000, gone, "three batches of 1000 took effect")
	assert.Len(t, printed, gone, "stdout holds exactly what is gone")
	assert.Contains(t, stderr.String(), fmt.Sprintf("deleted %d, failed 0", gone), stderr.String())
	assert.Equal(t, int32(3), inFlight.Load(), "no batch was sent after the interrupt")
	t.Logf("stderr:\n%s", stderr.String())
}
