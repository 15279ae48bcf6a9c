package drain_test

// Edges of draining ahead of scheduled maintenance: codes EC2 may add, events already due,
// host work beside a reboot, answers that fail or flap while an event is due, leads from a
// nanosecond to forever, and what a maintenance drain never does to termination hooks.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

const scheduledPath = "/latest/meta-data/events/maintenance/scheduled"

// pendingEvent is a pending event with a code and a NotBefore, on whole seconds (IMDS's text).
func pendingEvent(id string, code imds.MaintenanceCode, notBefore time.Time) imds.MaintenanceEvent {
	nb := notBefore.UTC().Truncate(time.Second)
	return imds.MaintenanceEvent{EventID: id, Code: code, State: imds.MaintenanceActive,
		Description: "scheduled " + string(code), NotBefore: nb, NotAfter: nb.Add(2 * time.Hour)}
}

// imdsTime writes t as IMDS does.
func imdsTime(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04:05") + " GMT" }

// A code EC2 adds later (not one of the five documented) drains: "codes EC2 may add later".
func TestMaintenanceUnknownCodeDrains(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	var trig drain.Trigger
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true, OnTrigger: func(tr drain.Trigger) { trig = tr }}, 20, func() {
		m.srv.SetMaintenance(pendingEvent("instance-event-new", "instance-hibernate", c.clock.Now().Add(10*time.Minute)))
	}, nil)
	require.True(t, triggered, "a new kind of event that is not system-maintenance drains")
	require.NoError(t, err)
	assert.Equal(t, drain.KindMaintenance, trig.Kind)
	assert.Contains(t, trig.Reason, "instance-event-new")
}

// An active event whose NotBefore is already past (read late, a clock behind) is due now.
func TestMaintenanceNotBeforeInThePastDrainsAtOnce(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	var trig drain.Trigger
	start := c.clock.Now()
	res, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true, MaintenanceLead: time.Minute, OnTrigger: func(tr drain.Trigger) { trig = tr }}, 20, func() {
		m.srv.SetMaintenance(pendingEvent("instance-event-late", imds.MaintenanceInstanceStop, start.Add(-3*time.Hour)))
	}, nil)
	require.True(t, triggered)
	require.NoError(t, err)
	assert.True(t, res.Last.Done)
	assert.Equal(t, drain.KindMaintenance, trig.Kind)
	assert.True(t, trig.Deadline.IsZero(), "NotBefore is never a deadline, even when past")
	assert.Equal(t, start.Add(30*time.Minute), trig.DrainBy, "drained within MaxDrain (default 30 min) from the trigger")
}

// A system-maintenance event due now beside a reboot far ahead: nothing drains; once the
// reboot comes within the lead, it is the reboot that triggers (named in the reason).
func TestMaintenanceHostWorkDoesNotMaskARebootLater(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	now := c.clock.Now()
	host := pendingEvent("instance-event-host", imds.MaintenanceSystemMaintenance, now)
	rb := pendingEvent("instance-event-rb", imds.MaintenanceInstanceReboot, now.Add(3*time.Hour))
	o := drain.WatchOptions{OnMaintenance: true, MaintenanceLead: time.Hour}
	_, _, triggered := m.watchFor(t, c, o, 10, func() { m.srv.SetMaintenance(host, rb) }, nil)
	require.False(t, triggered)
	assert.Zero(t, c.ecs.Total())

	c.clock.Advance(2*time.Hour + time.Second)
	var trig drain.Trigger
	o.OnTrigger = func(tr drain.Trigger) { trig = tr }
	_, err, triggered := m.watchFor(t, c, o, spotPolls(m)+20, nil, nil)
	require.True(t, triggered)
	require.NoError(t, err)
	assert.Contains(t, trig.Reason, "instance-event-rb")
	assert.NotContains(t, trig.Reason, "instance-event-host")
}

// A canceled event with an unreadable NotBefore never drains (not pending), nor does a
// system-maintenance event with an unreadable NotBefore.
func TestMaintenanceUnreadableTimeDoesNotRevivePendingOrHostWork(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	canceled := pendingEvent("instance-event-c", imds.MaintenanceInstanceStop, c.clock.Now().Add(48*time.Hour))
	canceled.State, canceled.BadTimes = imds.MaintenanceCanceled, map[string]string{"NotBefore": "soon"}
	marked := pendingEvent("instance-event-m", imds.MaintenanceInstanceReboot, c.clock.Now().Add(48*time.Hour))
	marked.Description, marked.BadTimes = "[Canceled] scheduled reboot", map[string]string{"NotBefore": "soon"}
	host := pendingEvent("instance-event-h", imds.MaintenanceSystemMaintenance, c.clock.Now().Add(48*time.Hour))
	host.BadTimes = map[string]string{"NotBefore": "soon"}
	_, _, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true}, 10, func() {
		m.srv.SetMaintenance(canceled, marked, host)
	}, nil)
	assert.False(t, triggered)
	assert.Zero(t, c.ecs.Total())
}

// A maintenance event canceled while its drain runs: "a drain already started for it goes on".
func TestMaintenanceCanceledDuringTheDrainGoesOn(t *testing.T) {
	c := newCluster(t)
	task := c.ecs.RunTask(c.arn, "web", 5*time.Minute)
	m := newInstanceMetadata(t)
	ev := pendingEvent("instance-event-0", imds.MaintenanceInstanceReboot, c.clock.Now().Add(10*time.Minute))
	res, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true, MaxDrain: time.Hour}, 400, func() {
		m.srv.SetMaintenance(ev)
	}, func(poll int) {
		if poll == 1 {
			cc := ev
			cc.State = imds.MaintenanceCanceled
			m.srv.SetMaintenance(cc)
		}
		if poll == 3 {
			m.srv.SetMaintenance() // gone
		}
	})
	require.True(t, triggered)
	require.NoError(t, err, "the drain goes on to its end")
	assert.True(t, res.Last.Done)
	assert.Equal(t, "STOPPED", c.ecs.TaskStatus(task))
	assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn), "nothing undoes the drain")
}

// A failing maintenance poll (500, 429, a malformed answer) while the event is due is
// logged and the watch goes on: the first good poll after it triggers.
func TestMaintenancePollErrorsWhenDue(t *testing.T) {
	for name, fault := range map[string]func(m *instanceMetadata){
		"500": func(m *instanceMetadata) { m.srv.AddFault(imdstest.Fault{Path: scheduledPath, Status: 500}) },
		"429": func(m *instanceMetadata) { m.srv.AddFault(imdstest.Fault{Path: scheduledPath, Status: 429}) },
		"an object": func(m *instanceMetadata) {
			m.srv.SetBody(scheduledPath, 200, `{"EventId":"instance-event-ok","Code":"instance-stop","State":"active"}`)
		},
		"null": func(m *instanceMetadata) { m.srv.SetBody(scheduledPath, 200, `null`) },
	} {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t)
			c.ecs.RunTask(c.arn, "web", 0)
			m := newInstanceMetadata(t)
			fault(m)
			var trig drain.Trigger
			_, _, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true}, 8, nil, nil)
			require.False(t, triggered, "a failed poll is no event")
			assert.Zero(t, c.ecs.Total())
			m.srv.ClearFaults()
			m.srv.SetBody(scheduledPath, 200, fmt.Sprintf(
				`[{"EventId":"instance-event-ok","Code":"instance-stop","State":"active","NotBefore":%q}]`, imdsTime(c.clock.Now().Add(5*time.Minute))))
			_, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true, OnTrigger: func(tr drain.Trigger) { trig = tr }}, spotPolls(m)+20, nil, nil)
			require.True(t, triggered, "the first good poll triggers")
			require.NoError(t, err)
			assert.Contains(t, trig.Reason, "instance-event-ok")
		})
	}
}

// OnMaintenance with OnRebalance and a Spot notice posted at once: whichever triggers, the
// Spot notice's time bounds the drain ("a notice after another trigger ... moves the end").
func TestMaintenanceWithSpotAtOnceKeepsTheSpotDeadline(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 3*time.Hour)
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	var trig drain.Trigger
	res, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true, OnRebalance: true, MaxDrain: 2 * time.Hour,
		OnTrigger: func(tr drain.Trigger) { trig = tr }}, 2000, func() {
		m.srv.SetMaintenance(pendingEvent("instance-event-x", imds.MaintenanceInstanceStop, start))
		m.srv.SetRebalance(start)
		m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(2 * time.Minute)})
	}, nil)
	require.True(t, triggered)
	t.Logf("trigger %s (%s); ended %s after start: %v", trig.Kind, trig.Reason, c.clock.Now().Sub(start), err)
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.False(t, res.Last.Done)
	assert.LessOrEqual(t, c.clock.Now().Sub(start), 2*time.Minute+20*time.Second, "the Spot time still ends the drain")
}

// A Spot notice arriving after a maintenance trigger moves the end to the Spot time.
func TestSpotNoticeDuringAMaintenanceDrainEndsIt(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 3*time.Hour)
	m := newInstanceMetadata(t)
	var noticed time.Time
	res, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true, MaxDrain: 2 * time.Hour}, 2000, func() {
		m.srv.SetMaintenance(pendingEvent("instance-event-x", imds.MaintenanceInstanceRetirement, c.clock.Now()))
	}, func(poll int) {
		if poll == 2 {
			noticed = c.clock.Now()
			m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: noticed.Add(2 * time.Minute)})
		}
	})
	require.True(t, triggered)
	require.False(t, noticed.IsZero())
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.False(t, res.Last.Done)
	assert.LessOrEqual(t, c.clock.Now().Sub(noticed), 2*time.Minute+20*time.Second)
}

// MaintenanceLead 0 is the default (MaxDrain); a tiny lead waits; a huge one (even the
// largest Duration) drains at once without overflowing into "never".
func TestMaintenanceLeadExtremes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lead      time.Duration
		maxDrain  time.Duration
		ahead     time.Duration
		triggered bool
	}{
		{"zero is MaxDrain: within", 0, time.Hour, 50 * time.Minute, true},
		{"zero is MaxDrain: beyond", 0, time.Hour, 70 * time.Minute, false},
		{"one second, ten minutes ahead", time.Second, 0, 10 * time.Minute, false},
		{"1ns, ten minutes ahead", time.Nanosecond, 0, 10 * time.Minute, false},
		{"a year, 30 days ahead", 365 * 24 * time.Hour, 0, 30 * 24 * time.Hour, true},
		{"max duration, 30 days ahead", time.Duration(math.MaxInt64), 0, 30 * 24 * time.Hour, true},
		{"max duration, 100 years ahead", time.Duration(math.MaxInt64), 0, 100 * 365 * 24 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			c.ecs.RunTask(c.arn, "web", 0)
			m := newInstanceMetadata(t)
			start := c.clock.Now()
			var trig drain.Trigger
			_, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true, MaintenanceLead: tc.lead, MaxDrain: tc.maxDrain,
				OnTrigger: func(tr drain.Trigger) { trig = tr }}, 10, func() {
				m.srv.SetMaintenance(pendingEvent("instance-event-l", imds.MaintenanceSystemReboot, start.Add(tc.ahead)))
			}, nil)
			require.Equal(t, tc.triggered, triggered)
			if tc.triggered {
				require.NoError(t, err)
				md := tc.maxDrain
				if md == 0 {
					md = 30 * time.Minute
				}
				assert.Equal(t, start.Add(md), trig.DrainBy, "the drain is bounded by MaxDrain, not by the lead")
			} else {
				assert.Zero(t, c.ecs.Total())
			}
		})
	}
}

// Cancelled before: Watch returns ctx's error, no AWS call, even with a due event.
func TestMaintenanceContextCancelledBefore(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	m.srv.SetMaintenance(pendingEvent("instance-event-now", imds.MaintenanceInstanceStop, c.clock.Now()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.drainer().Watch(ctx, m.md, []string{"prod"}, drain.WatchOptions{OnMaintenance: true, OnTrigger: func(drain.Trigger) {
			t.Error("no trigger with a cancelled context")
		}})
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(20 * time.Second):
		t.Fatal("Watch with a cancelled context did not return")
	}
	assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(c.arn))
	assert.Zero(t, c.ecs.Total())
}

// Cancelled during a maintenance drain (with AutoScaling set): ctx's error, the instance
// DRAINING, and no termination hook looked for or completed.
func TestMaintenanceContextCancelledDuringTheDrainWithAutoScaling(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 10*time.Minute)
	c.terminating() // a hook is even waiting: a maintenance drain must leave it alone
	m := newInstanceMetadata(t)
	m.srv.SetMaintenance(pendingEvent("instance-event-now", imds.MaintenanceInstanceStop, c.clock.Now()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	steps := 0
	var trig drain.Trigger
	_, err := c.drainer().Watch(ctx, m.md, []string{"prod"}, drain.WatchOptions{OnMaintenance: true, AutoScaling: c.asg,
		OnTrigger: func(tr drain.Trigger) { trig = tr },
		OnProgress: func(drain.Progress) {
			if steps++; steps == 3 {
				cancel()
			}
		}})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, drain.KindMaintenance, trig.Kind)
	assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn))
	res, _ := c.asg.Result("i-00000001", "drain")
	assert.Empty(t, res)
	assert.Zero(t, c.asg.Calls("DescribeAutoScalingInstances"))
	assert.Zero(t, c.asg.Calls("RecordLifecycleActionHeartbeat"))
	assert.Zero(t, c.asg.Calls("CompleteLifecycleAction"))
}

// A maintenance drain that times out with AutoScaling set completes no hook either.
func TestMaintenanceTimeoutWithAutoScalingCompletesNoHook(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 3*time.Hour)
	c.terminating()
	m := newInstanceMetadata(t)
	var trig drain.Trigger
	res, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true, AutoScaling: c.asg, MaxDrain: 10 * time.Minute,
		OnTrigger: func(tr drain.Trigger) { trig = tr }}, 2000, func() {
		m.srv.SetMaintenance(pendingEvent("instance-event-now", imds.MaintenanceInstanceReboot, c.clock.Now()))
	}, nil)
	require.True(t, triggered)
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.NotErrorIs(t, err, drain.ErrSpotDeadline)
	assert.Equal(t, drain.KindMaintenance, trig.Kind)
	assert.Nil(t, res.Hook, "no hook for a maintenance drain")
	// (The fake hook itself times out after 300 s with its default result: not Watch's doing.)
	assert.Zero(t, c.asg.Calls("RecordLifecycleActionHeartbeat"))
	assert.Zero(t, c.asg.Calls("DescribeAutoScalingInstances"))
	assert.Zero(t, c.asg.Calls("CompleteLifecycleAction"))
}

// A flapping list (listed, gone, listed, malformed, listed) with the event beyond the lead
// never drains; once due, one trigger.
func TestMaintenanceFlappingListBeyondTheLead(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	ev := pendingEvent("instance-event-f", imds.MaintenanceInstanceReboot, c.clock.Now().Add(5*time.Hour))
	o := drain.WatchOptions{OnMaintenance: true, MaintenanceLead: time.Hour}
	_, _, triggered := m.watchFor(t, c, o, 10, func() { m.srv.SetMaintenance(ev) }, nil)
	require.False(t, triggered)
	listed := fmt.Sprintf(`[{"EventId":"instance-event-f","Code":"instance-reboot","State":"active","NotBefore":%q}]`, imdsTime(ev.NotBefore))
	for i, set := range []func(){
		func() { m.srv.SetBody(scheduledPath, 404, "") },
		func() { m.srv.SetBody(scheduledPath, 200, listed) },
		func() { m.srv.SetBody(scheduledPath, 200, `null`) },
		func() { m.srv.SetBody(scheduledPath, 200, `[]`) },
		func() { m.srv.SetBody(scheduledPath, 200, listed) },
	} {
		set()
		_, _, triggered = m.watchFor(t, c, o, spotPolls(m)+5, nil, nil)
		require.False(t, triggered, "step %d", i)
	}
	assert.Zero(t, c.ecs.Total())
	c.clock.Advance(4*time.Hour + time.Second)
	_, err, triggered := m.watchFor(t, c, o, spotPolls(m)+20, nil, nil)
	require.True(t, triggered)
	require.NoError(t, err)
}

// An event canceled, then active again under the same id (EC2 re-schedules): drains once due.
func TestMaintenanceCanceledThenActiveAgainDrains(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	ev := pendingEvent("instance-event-r", imds.MaintenanceInstanceStop, c.clock.Now().Add(10*time.Minute))
	cc := ev
	cc.State = imds.MaintenanceCanceled
	o := drain.WatchOptions{OnMaintenance: true}
	_, _, triggered := m.watchFor(t, c, o, 10, func() { m.srv.SetMaintenance(cc) }, nil)
	require.False(t, triggered)
	_, err, triggered := m.watchFor(t, c, o, spotPolls(m)+20, func() { m.srv.SetMaintenance(ev) }, nil)
	require.True(t, triggered)
	require.NoError(t, err)
}

// The same event id listed twice (one a stop due now): the documented contract refuses only
// a body that is not a list of events or an event without an EventId, and promises never
// to hide an event. The stop must drain.
func TestMaintenanceDuplicateIDStillDrains(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	nb := imdsTime(c.clock.Now())
	body := fmt.Sprintf(`[{"EventId":"instance-event-1","Code":"instance-stop","State":"active","NotBefore":%q,"Description":"stop"},
	  {"EventId":"instance-event-1","Code":"instance-stop","State":"active","NotBefore":%q,"Description":"stop"}]`, nb, nb)
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true}, 20, func() {
		m.srv.SetBody(scheduledPath, 200, body)
	}, nil)
	require.True(t, triggered, "a duplicated listing of a due stop hides the stop")
	require.NoError(t, err)
}

// A due event whose NotBefore is a JSON number, not a string: an unreadable time is kept
// as unknown, which counts as now, so the stop drains at once.
func TestMaintenanceNonStringTimeDrains(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true}, 20, func() {
		m.srv.SetBody(scheduledPath, 200, `[{"EventId":"instance-event-1","Code":"instance-stop","State":"active","NotBefore":1548061243}]`)
	}, nil)
	require.True(t, triggered, "an unreadable time hides the event")
	require.NoError(t, err)
}

// A State written "Active" (capitals) and a description "[completed]" in lower case.
func TestMaintenanceCaseOfStateAndDescription(t *testing.T) {
	for name, tc := range map[string]struct {
		state, desc string
		drains      bool
	}{
		"State Active":           {"Active", "scheduled reboot", true},
		"State ACTIVE":           {"ACTIVE", "scheduled reboot", true},
		"State Canceled":         {"Canceled", "scheduled reboot", false},
		"State COMPLETED":        {"COMPLETED", "scheduled reboot", false},
		"[completed] lower case": {"active", "[completed] scheduled reboot", false},
		"[CANCELED] upper case":  {"active", "[CANCELED] scheduled reboot", false},
		"missing state":          {"", "scheduled reboot", true},
	} {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t)
			c.ecs.RunTask(c.arn, "web", 0)
			m := newInstanceMetadata(t)
			body := fmt.Sprintf(`[{"EventId":"instance-event-1","Code":"instance-reboot","State":%q,"Description":%q,"NotBefore":%q}]`,
				tc.state, tc.desc, imdsTime(c.clock.Now()))
			_, _, triggered := m.watchFor(t, c, drain.WatchOptions{OnMaintenance: true}, 10, func() {
				m.srv.SetBody(scheduledPath, 200, body)
			}, nil)
			assert.Equal(t, tc.drains, triggered)
		})
	}
}

// System maintenance is logged once even when the list around it changes (another event
// appears beyond the lead, then goes).
func TestMaintenanceHostWorkLoggedOnceAcrossListChanges(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	var logs bytes.Buffer
	d := c.drainer(func(o *drain.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	host := pendingEvent("instance-event-host", imds.MaintenanceSystemMaintenance, c.clock.Now())
	far := pendingEvent("instance-event-far", imds.MaintenanceInstanceReboot, c.clock.Now().Add(72*time.Hour))
	_, _, triggered := m.watchForWith(t, c, d, drain.WatchOptions{OnMaintenance: true}, 15, func() {
		m.srv.SetMaintenance(host)
	}, nil)
	require.False(t, triggered)
	m.srv.SetMaintenance(host, far)
	_, _, triggered = m.watchForWith(t, c, d, drain.WatchOptions{OnMaintenance: true}, spotPolls(m)+15, nil, nil)
	require.False(t, triggered)
	// Separate Watch calls may each log once; within one Watch a list change must not re-log.
	assert.LessOrEqual(t, strings.Count(logs.String(), "instance-event-host"), 2, "%s", logs.String())
}
