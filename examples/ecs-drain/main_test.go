package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

// bed points the binary's real AWS configuration at the ECS wire server.
func bed(t *testing.T) (*draintest.ECS, string, func(*drain.Options)) {
	clock := clocktest.New()
	fake := draintest.New(clock)
	fake.CreateCluster("prod")
	arn := fake.AddInstance("prod", "i-0123456789abcdef0")
	fake.AddService("prod", "web", false)
	srv := draintest.NewWireServer(fake)
	t.Cleanup(srv.Close)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_ECS": srv.URL, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDDRAIN", "AWS_SECRET_ACCESS_KEY": "drain",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"), "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	// The binary's waits run on the fake clock, so minutes of draining take no time.
	return fake, arn, func(o *drain.Options) { o.Clock = clock }
}

func drainCmd(optFn func(*drain.Options), args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, optFn)
	return code, out.String(), errOut.String()
}

func TestDrainsUntilEveryTaskStopped(t *testing.T) {
	fake, arn, clock := bed(t)
	tasks := []string{fake.RunTask(arn, "web", 0), fake.RunTask(arn, "web", time.Minute)}
	code, stdout, stderr := drainCmd(clock, "-cluster", "prod", "-instance", "i-0123456789abcdef0")
	require.Equal(t, 0, code, stderr)
	for _, task := range tasks {
		assert.Equal(t, "STOPPED", fake.TaskStatus(task))
	}
	assert.Contains(t, stdout, "2 task(s) left: 1 RUNNING, 1 DEACTIVATING")
	assert.Contains(t, stdout, "DEPROVISIONING")
	assert.Contains(t, stdout, "done after")
}

func TestTimeoutAndErrors(t *testing.T) {
	fake, arn, clock := bed(t)
	fake.RunTask(arn, "", 0) // standalone
	code, stdout, _ := drainCmd(clock, "-cluster", "prod", "-instance", "i-0123456789abcdef0", "-timeout", "5m")
	assert.Equal(t, 3, code)
	assert.Contains(t, stdout, "timeout: 1 task(s) left: 1 RUNNING")

	code, _, stderr := drainCmd(clock, "-cluster", "prod", "-instance", "i-0fffffffffffffff0")
	assert.Equal(t, 1, code)
	assert.Equal(t, "ecs-drain: drain: the EC2 instance is not a container instance of the cluster: i-0fffffffffffffff0 in prod\n", stderr, "one line")

	code, _, _ = drainCmd(clock, "-cluster", "prod", "-instance", "i-0123456789abcdef0", "-standalone", "stop", "-standalone-grace", "1m")
	assert.Equal(t, 0, code, "stopping the standalone task lets the drain finish")

	for _, args := range [][]string{{}, {"-cluster", "prod"}, {"-cluster", "prod", "-instance", "i-00000001", "-self"}, {"-cluster", "prod", "-instance", "i-00000001", "-daemon", "kill"}} {
		code, _, _ := drainCmd(clock, args...)
		assert.Equal(t, 2, code, "%v", args)
	}
}

// An ECS endpoint that ignores ListContainerInstances' filter (moto 5.2.1) answers with a
// container instance of another EC2 instance: ecs-drain names both and drains nothing.
func TestDrainRefusesTheContainerInstanceOfAnotherEC2Instance(t *testing.T) {
	fake, _, clock := bed(t)
	fake.CreateCluster("small")
	other := fake.AddInstance("small", "i-0fedcba9876543210")
	task := fake.RunTask(other, "", 0)
	fake.IgnoreFilter(true)
	code, stdout, stderr := drainCmd(clock, "-cluster", "small", "-instance", "i-0123456789abcdef0")
	assert.Equal(t, 1, code, stdout)
	assert.Contains(t, stderr, "runs on EC2 instance i-0fedcba9876543210, not on i-0123456789abcdef0")
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %s", stderr)
	assert.Equal(t, "ACTIVE", fake.InstanceStatus(other), "the other instance is not drained")
	assert.Equal(t, "RUNNING", fake.TaskStatus(task))
	assert.Zero(t, fake.Calls(draintest.OpUpdateState))
}

func TestSelfFindsInstanceAndCluster(t *testing.T) {
	fake, arn, clock := bed(t)
	task := fake.RunTask(arn, "web", 0)
	md := imdstest.NewServer()
	defer md.Close()
	md.SetInstance("i-0123456789abcdef0", "us-east-1", "us-east-1a")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", md.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"Cluster":"prod"}`))
	}))
	defer agent.Close()
	code, stdout, stderr := drainCmd(clock, "-self", "-agent-metadata", agent.URL)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "draining i-0123456789abcdef0")
	assert.Equal(t, "STOPPED", fake.TaskStatus(task))
}

func TestUsageErrors(t *testing.T) {
	id := "i-0123456789abcdef0"
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{}, Flag: "-instance"},
		{Args: []string{"-instance", id}, Flag: "-cluster"},
		{Args: []string{"-watch", "-replace"}, Flag: "-replace"},
		{Args: []string{"-watch", "-instance", id}, Flag: "-watch"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-on-rebalance"}, Flag: "-on-rebalance"},
		{Args: []string{"-watch", "-poll", "0s"}, Flag: "-poll"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-on-maintenance"}, Flag: "-on-maintenance"},
		{Args: []string{"-watch", "-maintenance-lead", "1h"}, Flag: "-maintenance-lead"},
		{Args: []string{"-watch", "-on-maintenance", "-maintenance-lead", "-1h"}, Flag: "-maintenance-lead"},
		{Args: []string{"-cluster", "prod"}, Flag: "-instance"},
		{Args: []string{"-cluster", "prod", "-instance", "bogus"}, Flag: "-instance"},
		{Args: []string{"-cluster", "prod", "-instance", "i-1"}, Flag: "-instance"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-self"}, Flag: "-self"},
		{Args: []string{"-cluster", " , ", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", "", "-instance", id}, Flag: "-cluster"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-standalone-grace", "-1s"}, Flag: "-standalone-grace"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-standalone", "kill"}, Flag: "-standalone"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-daemon", "kill"}, Flag: "-daemon"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-timeout", "0s"}, Flag: "-timeout"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-interval", "-5s"}, Flag: "-interval"},
		{Args: []string{"-cluster", "prod", "-instance", id, "extra"}, Flag: "extra"},
		// flags of another mode, silently ignored before
		{Args: []string{"-replace", "-cluster", "prod", "-instance", id, "-complete-hooks=false"}, Flag: "-complete-hooks"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-complete-hooks=false"}, Flag: "-complete-hooks"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-complete-hooks"}, Flag: "-complete-hooks"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-poll", "10s"}, Flag: "-poll"},
		{Args: []string{"-replace", "-cluster", "prod", "-instance", id, "-poll", "10s"}, Flag: "-poll"},
		{Args: []string{"-self", "-poll", "10s"}, Flag: "-poll"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-ecs-config", "/etc/ecs/ecs.config"}, Flag: "-ecs-config"},
		{Args: []string{"-replace", "-cluster", "prod", "-instance", id, "-ecs-config", ""}, Flag: "-ecs-config"},
		{Args: []string{"-watch", "-cluster", "prod", "-agent-metadata", "http://localhost:51678/v1/metadata"}, Flag: "-agent-metadata"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-standalone-grace", "1m"}, Flag: "-standalone-grace"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-standalone", "ignore", "-standalone-grace", "0s"}, Flag: "-standalone-grace"},
		// durations too short to be sane
		{Args: []string{"-cluster", "prod", "-instance", id, "-interval", "1ns"}, Flag: "-interval"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-interval", "999ms"}, Flag: "-interval"},
		{Args: []string{"-watch", "-poll", "1ns"}, Flag: "-poll"},
		{Args: []string{"-nope"}, Flag: "-nope"},
	}, func(args []string) (int, string) {
		code, _, stderr := drainCmd(nil, args...)
		return code, stderr
	})
}

func TestClusterListIsTrimmed(t *testing.T) {
	fake, arn, clock := bed(t)
	fake.RunTask(arn, "web", 0)
	code, stdout, stderr := drainCmd(clock, "-cluster", "old, prod", "-instance", "i-0123456789abcdef0")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "in cluster prod")
}
