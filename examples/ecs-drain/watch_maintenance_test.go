package main

// Attack tests of ecs-drain's -on-maintenance / -maintenance-lead, from the usage text only.

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
	"github.com/shipshape-dev/shipshape/imds"
)

func TestMaintenanceFlagsOutsideTheirModeAreUsageErrors(t *testing.T) {
	id := "i-0123456789abcdef0"
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{"-replace", "-cluster", "prod", "-instance", id, "-on-maintenance"}, Flag: "-on-maintenance"},
		{Args: []string{"-self", "-on-maintenance"}, Flag: "-on-maintenance"},
		{Args: []string{"-watch", "-on-maintenance=false", "-maintenance-lead", "1h"}, Flag: "-maintenance-lead"},
		{Args: []string{"-watch", "-maintenance-lead", "0s"}, Flag: "-maintenance-lead"},
		{Args: []string{"-replace", "-cluster", "prod", "-instance", id, "-maintenance-lead", "1h"}, Flag: "-maintenance-lead"},
		{Args: []string{"-cluster", "prod", "-instance", id, "-maintenance-lead", "1h"}, Flag: "-maintenance-lead"},
		{Args: []string{"-watch", "-on-maintenance", "-maintenance-lead", "soon"}, Flag: "-maintenance-lead"},
		{Args: []string{"-watch", "-on-maintenance", "-maintenance-lead", "-1ns"}, Flag: "-maintenance-lead"},
		{Args: []string{"-watch", "-on-maintenance", "-maintenance-lead", "99999999999h"}, Flag: "-maintenance-lead"},
		{Args: []string{"-watch", "-on-maintenance=maybe"}, Flag: "-on-maintenance"},
		{Args: []string{"-on-maintenance"}, Flag: "-on-maintenance"},
	}, func(args []string) (int, string) {
		code, _, stderr := drainCmd(nil, args...)
		return code, stderr
	})
}

// runFor runs the binary with a context that ends after d (as SIGTERM would).
func runFor(d time.Duration, optFn func(*drain.Options), args ...string) (int, string, string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := time.AfterFunc(d, cancel) // context.Canceled, as SIGTERM
	defer stop.Stop()
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut, optFn)
	return code, out.String(), errOut.String()
}

// -maintenance-lead 0s given explicitly with -on-maintenance: either a usage error naming the
// flag, or the default (-timeout). Never a lead of zero (a drain that starts when the event
// may already start).
func TestExplicitZeroMaintenanceLead(t *testing.T) {
	fake, arn, clockOpt := bed(t)
	var o drain.Options
	clockOpt(&o)
	fake.RunTask(arn, "web", 30*time.Second)
	md, _, agent := onInstance(t, o.Clock)
	md.SetMaintenance(imds.MaintenanceEvent{EventID: "instance-event-0123", Code: imds.MaintenanceInstanceStop, State: imds.MaintenanceActive,
		NotBefore: o.Clock.Now().Add(20 * time.Minute).UTC().Truncate(time.Second)})
	code, stdout, stderr := runFor(15*time.Second, clockOpt, "-watch", "-on-maintenance", "-maintenance-lead", "0s", "-timeout", "30m", "-poll", "1s", "-agent-metadata", agent, "-ecs-config", "")
	if code == 2 {
		assert.Contains(t, stderr, "-maintenance-lead")
		return
	}
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "within 30m0s", "0s means the default, -timeout")
	assert.Contains(t, stdout, "instance-event-0123")
	assert.Equal(t, "DRAINING", fake.InstanceStatus(arn))
}

// Canceled, completed and host maintenance: the watcher never drains; host work is logged
// once; ending the watcher is exit 0.
func TestWatchNeverDrainsForOverOrHostMaintenance(t *testing.T) {
	fake, arn, clockOpt := bed(t)
	var o drain.Options
	clockOpt(&o)
	fake.RunTask(arn, "web", 0)
	md, _, agent := onInstance(t, o.Clock)
	now := o.Clock.Now().UTC().Truncate(time.Second)
	md.SetMaintenance(
		imds.MaintenanceEvent{EventID: "instance-event-canceled", Code: imds.MaintenanceInstanceStop, State: imds.MaintenanceCanceled, NotBefore: now},
		imds.MaintenanceEvent{EventID: "instance-event-completed", Code: imds.MaintenanceSystemReboot, State: imds.MaintenanceCompleted, NotBefore: now},
		imds.MaintenanceEvent{EventID: "instance-event-marked", Code: imds.MaintenanceInstanceReboot, State: imds.MaintenanceActive,
			Description: "[Canceled] reboot", NotBefore: now},
		imds.MaintenanceEvent{EventID: "instance-event-host", Code: imds.MaintenanceSystemMaintenance, State: imds.MaintenanceActive, NotBefore: now},
	)
	code, stdout, stderr := runFor(5*time.Second, clockOpt, "-watch", "-on-maintenance", "-poll", "1s", "-agent-metadata", agent, "-ecs-config", "")
	assert.Equal(t, 0, code, "ended by its context (SIGTERM): exit 0\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Equal(t, "ACTIVE", fake.InstanceStatus(arn))
	polled := 0
	for _, r := range md.Requests() {
		if r.Path == "/latest/meta-data/events/maintenance/scheduled" {
			polled++
		}
	}
	require.NotZero(t, polled, "the maintenance list was read")
	all := stdout + stderr
	assert.Equal(t, 1, strings.Count(all, "instance-event-host"), "host maintenance logged once:\n%s", all)
	for _, id := range []string{"instance-event-canceled", "instance-event-completed", "instance-event-marked"} {
		assert.NotContains(t, stdout, "scheduled maintenance "+id)
	}
}

// A huge -maintenance-lead drains at once for an event weeks ahead, bounded by -timeout.
func TestHugeMaintenanceLeadDrainsAtOnce(t *testing.T) {
	fake, arn, clockOpt := bed(t)
	var o drain.Options
	clockOpt(&o)
	task := fake.RunTask(arn, "web", 30*time.Second)
	md, _, agent := onInstance(t, o.Clock)
	md.SetMaintenance(imds.MaintenanceEvent{EventID: "instance-event-far", Code: imds.MaintenanceInstanceRetirement, State: imds.MaintenanceActive,
		NotBefore: o.Clock.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)})
	code, stdout, stderr := runFor(15*time.Second, clockOpt, "-watch", "-on-maintenance", "-maintenance-lead", "2000000h", "-poll", "1s", "-agent-metadata", agent, "-ecs-config", "")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "instance-event-far")
	assert.Equal(t, "STOPPED", fake.TaskStatus(task))
	assert.Equal(t, "DRAINING", fake.InstanceStatus(arn))
}
