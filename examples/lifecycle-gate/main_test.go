package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds/imdstest"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// bed wires the binary to fakes through the standard environment: the Auto Scaling wire
// server (AWS_ENDPOINT_URL_AUTO_SCALING) and imdstest (AWS_EC2_METADATA_SERVICE_ENDPOINT).
func bed(t *testing.T) *lifecycletest.AutoScaling {
	fake := lifecycletest.New(nil)
	fake.CreateGroup("web", lifecycletest.Hook{Name: "launch", HeartbeatTimeout: 300e9})
	fake.Launch("web", "i-0123456789abcdef0")
	srv := lifecycletest.NewWireServer(fake)
	t.Cleanup(srv.Close)
	md := imdstest.NewServer()
	t.Cleanup(md.Close)
	md.SetTags(map[string]string{"aws:autoscaling:groupName": "web"})
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_AUTO_SCALING": srv.URL, "AWS_EC2_METADATA_SERVICE_ENDPOINT": md.URL,
		"AWS_ACCESS_KEY_ID": "AKIDGATE", "AWS_SECRET_ACCESS_KEY": "gate", "AWS_REGION": "",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "", "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	return fake
}

func gate(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestContinueWhenHealthy(t *testing.T) {
	fake := bed(t)
	var hits atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer app.Close()
	code, stdout, stderr := gate("-health-url", app.URL+"/health", "-interval", "10ms", "-healthy-threshold", "2")
	require.Equal(t, exitContinue, code, stderr)
	assert.Equal(t, "InService", fake.State("i-0123456789abcdef0"))
	assert.Contains(t, stdout, "instance i-0123456789abcdef0 in group web, hooks launch (heartbeat timeout 5m0s)")
	assert.Contains(t, stdout, "round 1: not ready (GET "+app.URL+"/health: HTTP 503)")
	assert.Contains(t, stdout, "completed with CONTINUE")
}

func TestAbandonWhenNeverHealthy(t *testing.T) {
	fake := bed(t)
	code, stdout, _ := gate("-cmd", "exit 1", "-interval", "10ms", "-timeout", "50ms")
	assert.Equal(t, exitAbandon, code)
	assert.Equal(t, "Terminating", fake.State("i-0123456789abcdef0"))
	assert.Contains(t, stdout, "completed with ABANDON")
}

func TestNoActiveAction(t *testing.T) {
	bed(t)
	// Completed once...
	code, _, _ := gate("-cmd", "true", "-interval", "1ms", "-healthy-threshold", "1")
	require.Equal(t, exitContinue, code)
	// ...so a second run has nothing to do, says so, and does not retry.
	code, stdout, _ := gate("-cmd", "true", "-interval", "1ms", "-healthy-threshold", "1")
	assert.Equal(t, exitNoAction, code)
	assert.Contains(t, stdout, "no active lifecycle action")
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{}, {"-health-url", "localhost:8080"}, {"-cmd", "true", "-result-on-failure", "MAYBE"}, {"-cmd", "true", "extra"},
		{"-cmd", "true", "-healthy-threshold", "0"}, {"-nope"},
	} {
		code, _, stderr := gate(args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr)
	}
	code, _, stderr := gate("-h")
	assert.Equal(t, exitContinue, code)
	assert.Contains(t, stderr, "Exit codes: 0 completed with CONTINUE, 3 completed with ABANDON, 4 no active lifecycle action")
}
