package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
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

// -instance-id without -group, with instance metadata disabled or unreachable: the group
// comes from Auto Scaling, and an instance in no group is a clear error.
func TestInstanceIDWithoutGroupNeedsNoMetadata(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for name, env := range map[string]map[string]string{
		"disabled":    {"AWS_EC2_METADATA_DISABLED": "true"},
		"unreachable": {"AWS_EC2_METADATA_SERVICE_ENDPOINT": closed.URL},
	} {
		t.Run(name, func(t *testing.T) {
			fake := bed(t)
			t.Setenv("AWS_REGION", "us-east-1")
			for k, v := range env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := gate("-instance-id", "i-0123456789abcdef0", "-cmd", "true", "-interval", "1ms", "-healthy-threshold", "1")
			require.Equal(t, exitContinue, code, stderr)
			assert.Contains(t, stdout, "instance i-0123456789abcdef0 in group web")
			assert.Equal(t, "InService", fake.State("i-0123456789abcdef0"))
			assert.Equal(t, 1, fake.Calls(lifecycletest.OpDescribeInstance))

			code, _, stderr = gate("-instance-id", "i-0fffffffffffffff0", "-cmd", "true")
			assert.Equal(t, exitError, code)
			assert.Contains(t, stderr, "Auto Scaling knows no instance i-0fffffffffffffff0 in any group")
			assert.Equal(t, 1, fake.Calls(lifecycletest.OpComplete), "the first instance's completion only: nothing for the unknown one")
		})
	}
}

func TestUsageErrors(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "check.sh")
	require.NoError(t, os.WriteFile(exe, []byte("#!/bin/sh\nexit 0\n"), 0o644)) // not executable
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{}, Flag: "-health-url"},
		{Args: []string{"-health-url", "localhost:8080"}, Flag: "-health-url"},
		{Args: []string{"-health-url", "http://127.0.0.1:99999/health"}, Flag: "-health-url"},
		{Args: []string{"-health-url", "http://127.0.0.1:0/health"}, Flag: "-health-url"},
		{Args: []string{"-health-url", "http://:8080/health"}, Flag: "-health-url"},
		{Args: []string{"-health-url", "http:///health"}, Flag: "-health-url"},
		{Args: []string{"-health-url", "ftp://127.0.0.1/health"}, Flag: "-health-url"},
		{Args: []string{"-health-url", "http://127.0.0.1:-1/"}, Flag: "-health-url"},
		{Args: []string{"-health-url", "http://127.0.0.1:8080/", "-health-status", "2xx"}, Flag: "-health-status"},
		{Args: []string{"-cmd", "true", "-health-status", "200"}, Flag: "-health-status"},
		{Args: []string{"-tcp", "localhost8080"}, Flag: "-tcp"},
		{Args: []string{"-tcp", "localhost:http8080"}, Flag: "-tcp"},
		{Args: []string{"-tcp", "localhost:0"}, Flag: "-tcp"},
		{Args: []string{"-cmd", ""}, Flag: "-cmd"},
		{Args: []string{"-cmd", "   "}, Flag: "-cmd"},
		{Args: []string{"-cmd", "/nonexistent/check --ready"}, Flag: "-cmd"},
		{Args: []string{"-cmd", exe}, Flag: "-cmd"},
		{Args: []string{"-cmd", "true", "-result-on-failure", "MAYBE"}, Flag: "-result-on-failure"},
		{Args: []string{"-cmd", "true", "extra"}, Flag: "extra"},
		{Args: []string{"-cmd", "true", "-healthy-threshold", "0"}, Flag: "-healthy-threshold"},
		{Args: []string{"-cmd", "true", "-timeout", "0s"}, Flag: "-timeout"},
		{Args: []string{"-cmd", "true", "-interval", "-1s"}, Flag: "-interval"},
		{Args: []string{"-cmd", "true", "-probe-timeout", "-1s"}, Flag: "-probe-timeout"},
		{Args: []string{"-cmd", "true", "-timeout", "soon"}, Flag: "-timeout"},
		{Args: []string{"-cmd", "true", "-hook", ""}, Flag: "-hook"},
		{Args: []string{"-cmd", "true", "-instance-id", "bogus"}, Flag: "-instance-id"},
		{Args: []string{"-cmd", "true", "-group", ""}, Flag: "-group"},
		{Args: []string{"-cmd", "true", "-token", ""}, Flag: "-token"},
		{Args: []string{"-nope"}, Flag: "-nope"},
	}, func(args []string) (int, string) {
		code, _, stderr := gate(args...)
		return code, stderr
	})
	code, _, stderr := gate("-h")
	assert.Equal(t, exitContinue, code)
	assert.Contains(t, stderr, "Exit codes: 0 completed with CONTINUE, 3 completed with ABANDON, 4 no active lifecycle action")
}

// A command the shell cannot find can never pass: the gate abandons at the first round
// instead of waiting out -timeout.
func TestCommandNotFoundAbandonsAtOnce(t *testing.T) {
	fake := bed(t)
	code, stdout, stderr := gate("-cmd", "no-such-health-check --ready", "-interval", "1h", "-timeout", "10h")
	require.Equal(t, exitAbandon, code, stderr)
	assert.Equal(t, "Terminating", fake.State("i-0123456789abcdef0"))
	assert.Contains(t, stdout, "could not start it (exit 127)")
}
