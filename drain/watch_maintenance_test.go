package drain_test

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/imds"
)

// reboot is a pending system reboot of the instance that may start at notBefore.
func reboot(notBefore time.Time) imds.MaintenanceEvent {
	return imds.MaintenanceEvent{EventID: "instance-event-0123", Code: imds.MaintenanceSystemReboot, State: imds.MaintenanceActive,
		Description: "scheduled reboot", NotBefore: notBefore.UTC().Truncate(time.Second), NotAfter: notBefore.UTC().Truncate(time.Second).Add(2 * time.Hour)}
}

func TestWatchDrainsAheadOfScheduledMaintenance(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Minute)
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	var trig drain.Trigger
	res, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true, AutoScaling: c.asg, OnTrigger: func(tr drain.Trigger) { trig = tr }}, 20, func() {
		m.srv.SetMaintenance(reboot(start.Add(20 * time.Minute))) // within the lead (MaxDrain, 30 minutes)
	}, nil)
	require.True(t, triggered)
	require.NoError(t, err)
	assert.True(t, res.Last.Done)
	assert.Equal(t, drain.KindMaintenance, trig.Kind)
	assert.Contains(t, trig.Reason, "system-reboot")
	assert.Contains(t, trig.Reason, "instance-event-0123")
	assert.True(t, trig.Deadline.IsZero(), "NotBefore starts the drain; it is no Spot deadline")
	assert.Equal(t, start.Add(30*time.Minute), trig.DrainBy)
	assert.Zero(t, c.asg.Calls("DescribeAutoScalingInstances"), "the instance stays: no termination hook is looked for")
	assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn))
}

func TestWatchMaintenanceDrainsOnlyOnceWithinTheLead(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	event := reboot(c.clock.Now().Add(2 * time.Hour))
	o := drain.WatchOptions{OnMaintenance: true, MaintenanceLead: time.Hour}
	_, _, triggered := m.watchFor(t, c, o, 10, func() { m.srv.SetMaintenance(event) }, nil)
	require.False(t, triggered, "two hours ahead with a lead of one: not yet")
	assert.Zero(t, c.ecs.Total(), "no ECS call before a trigger")

	c.clock.Advance(time.Hour + time.Second) // now within the lead
	var trig drain.Trigger
	o.OnTrigger = func(tr drain.Trigger) { trig = tr }
	res, err, triggered := m.watchFor(t, c, o, 20, nil, nil)
	require.True(t, triggered)
	require.NoError(t, err)
	assert.True(t, res.Last.Done)
	assert.Equal(t, drain.KindMaintenance, trig.Kind)
}

func TestWatchNeverDrainsForMaintenanceThatIsOverOrLeavesTheInstanceUp(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	now := c.clock.Now()
	canceled, completed, marked, hostWork := reboot(now), reboot(now), reboot(now), reboot(now)
	canceled.EventID, canceled.State = "instance-event-canceled", imds.MaintenanceCanceled
	completed.EventID, completed.State = "instance-event-completed", imds.MaintenanceCompleted
	marked.EventID, marked.Description = "instance-event-marked", "[Completed] scheduled reboot"
	hostWork.EventID, hostWork.Code = "instance-event-host", imds.MaintenanceSystemMaintenance
	var logs bytes.Buffer
	d := c.drainer(func(o *drain.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	_, _, triggered := m.watchForWith(t, c, d, drain.WatchOptions{OnMaintenance: true}, 10, func() {
		m.srv.SetMaintenance(canceled, completed, marked, hostWork)
	}, nil)
	require.False(t, triggered)
	assert.Zero(t, c.ecs.Total())
	assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(c.arn))
	assert.Contains(t, logs.String(), "instance-event-host", "the host maintenance is logged as not drained for")
	assert.Equal(t, 1, bytes.Count(logs.Bytes(), []byte("instance-event-host")), "once, not at every poll")
}

func TestWatchMaintenanceWithAnUnreadableStartDrainsAtOnce(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	event := reboot(c.clock.Now().Add(30 * 24 * time.Hour))
	event.BadTimes = map[string]string{"NotBefore": "soon"}
	var trig drain.Trigger
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true, OnTrigger: func(tr drain.Trigger) { trig = tr }}, 20, func() {
		m.srv.SetMaintenance(event)
	}, nil)
	require.True(t, triggered, "an event that may start at any time is due now")
	require.NoError(t, err)
	assert.Contains(t, trig.Reason, `unreadable time "soon"`)
}

func TestWatchMaintenanceOnlyWhenOptedIn(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	_, _, triggered := m.watchFor(t, c, drain.WatchOptions{}, 10, func() { m.srv.SetMaintenance(reboot(c.clock.Now())) }, nil)
	require.False(t, triggered)
	for _, r := range m.srv.Requests() {
		require.NotEqual(t, "/latest/meta-data/events/maintenance/scheduled", r.Path, "not read unless asked for")
	}
	_, err := c.drainer().Watch(t.Context(), m.md, []string{"prod"}, drain.WatchOptions{OnMaintenance: true, MaintenanceLead: -time.Minute})
	require.ErrorIs(t, err, drain.ErrInvalidInput)
	assert.Contains(t, err.Error(), "MaintenanceLead")
}
