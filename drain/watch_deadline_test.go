package drain_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/lifecycle"
)

// watchFor runs Watch for at most polls polls of the Spot watcher before a trigger (then
// cancels it); post runs once the watchers poll, mid runs after the trigger at the given
// poll after it. The bound counts the Spot watcher's own requests, not the loop's turns: a
// turn needs only one watcher asleep, so under load the lifecycle watcher could use up
// every turn before the Spot watcher had read the notice once, and the Spot watcher could
// poll on while Watch, not yet scheduled, has not acted on what it read.
func (m *instanceMetadata) watchFor(t *testing.T, c *cluster, o drain.WatchOptions, polls int, post func(), mid func(poll int)) (drain.Result, error, bool) {
	return m.watchForWith(t, c, c.drainer(), o, polls, post, mid)
}

// watchForWith is watchFor with a Drainer of the test's own (a logger).
func (m *instanceMetadata) watchForWith(t *testing.T, c *cluster, d *drain.Drainer, o drain.WatchOptions, polls int, post func(), mid func(poll int)) (drain.Result, error, bool) {
	done := make(chan struct{})
	var res drain.Result
	var err error
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watching, stop := context.WithCancel(context.Background())
	triggered := make(chan struct{})
	user := o.OnTrigger
	o.OnTrigger = func(tr drain.Trigger) {
		close(triggered)
		if user != nil {
			user(tr)
		}
	}
	go func() {
		defer close(done)
		defer stop()
		res, err = d.Watch(ctx, m.md, []string{"prod"}, o)
	}()
	posted, after := false, 0
	for m.clock.BlockUntilSleeping(watching, 1) == nil {
		if !posted && post != nil {
			post()
			posted = true
		}
		select {
		case <-triggered:
			after++
			if mid != nil {
				mid(after)
			}
		default:
			if spotPolls(m) >= polls && (!o.OnMaintenance || maintenancePolls(m) >= polls) {
				// The Spot watcher may have read the notice while Watch itself has not yet been
				// scheduled to act on it (a loaded machine): give it a moment of wall time
				// before calling the notice ignored.
				select {
				case <-triggered:
				case <-time.After(2 * time.Second):
					cancel()
				}
			}
		}
		m.clock.Advance(5 * time.Second)
		c.clock.Advance(0)
	}
	<-done
	select {
	case <-triggered:
		return res, err, true
	default:
		return res, err, false
	}
}

// maintenancePolls is how many times the scheduled maintenance events have been read: with
// OnMaintenance, a watch is given up only when that watcher too has polled enough (under
// load one watcher can poll many times while another waits for its first answer).
func maintenancePolls(m *instanceMetadata) int {
	n := 0
	for _, r := range m.srv.Requests() {
		if r.Path == "/latest/meta-data/events/maintenance/scheduled" {
			n++
		}
	}
	return n
}

// spotPolls is how many times the Spot instance-action has been read.
func spotPolls(m *instanceMetadata) int {
	n := 0
	for _, r := range m.srv.Requests() {
		if r.Path == "/latest/meta-data/spot/instance-action" {
			n++
		}
	}
	return n
}

// A Spot instance-action time already in the past (a metadata clock behind, a notice read
// late): the instance may be reclaimed at any moment. It is still drained (set DRAINING at
// once), and the drain ends at once with ErrSpotDeadline, never waiting MaxDrain.
func TestWatchSpotNoticeTimeInThePastStillDrainsAtOnce(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 10*time.Minute)
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	var trig drain.Trigger
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{MaxDrain: time.Hour, OnTrigger: func(tr drain.Trigger) { trig = tr }}, 20, func() {
		m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(-10 * time.Minute)})
	}, nil)
	require.True(t, triggered)
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn), "the tasks are moved off as soon as possible")
	assert.False(t, trig.DrainBy.After(start.Add(drain.SpotWarning)), "DrainBy %s", trig.DrainBy.Sub(start))
	assert.LessOrEqual(t, c.clock.Now().Sub(start), drain.SpotWarning+10*time.Second)
}

// A Spot notice whose time can't be read is still a Spot notice: the instance is leaving.
// It is drained, bounded as a suspicious time is (min(MaxDrain, MaxSpotNotice)), not ignored
// until EC2 reclaims the instance under its tasks.
func TestWatchSpotNoticeWithAMalformedTimeIsStillDrained(t *testing.T) {
	for _, body := range []string{
		`{"action":"terminate","time":"2026-11-23T09:02:00Z"}`, // well formed: the control case
		`{"action":"terminate","time":"soon"}`,
		`{"action":"terminate","time":""}`,
		`{"action":"terminate"}`,
		`{"action":"stop","time":"2026-13-45T99:00:00Z"}`,
	} {
		t.Run(body, func(t *testing.T) {
			c := newCluster(t)
			c.ecs.RunTask(c.arn, "web", 10*time.Minute)
			m := newInstanceMetadata(t)
			start := c.clock.Now()
			var trig drain.Trigger
			_, err, triggered := m.watchFor(t, c, drain.WatchOptions{MaxDrain: time.Hour, OnTrigger: func(tr drain.Trigger) { trig = tr }}, 60, func() {
				m.srv.SetBody("/latest/meta-data/spot/instance-action", 200, body)
			}, nil)
			t.Logf("triggered %v trig %+v err %v", triggered, trig, err)
			assert.True(t, triggered, "a Spot notice the watcher could not read was ignored")
			assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn))
			if triggered {
				assert.False(t, trig.DrainBy.After(start.Add(drain.MaxSpotNotice+10*time.Second)), "bounded")
			}
		})
	}
}

// The instance-action time moved earlier after the drain started (a second notice): the
// earlier time is the deadline; the drain does not go on past it.
func TestWatchSpotNoticeMovedEarlierMidDrainIsTheDeadline(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Hour)
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{MaxDrain: time.Hour}, 400, func() {
		m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(10 * time.Minute)})
	}, func(poll int) {
		if poll == 2 {
			m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(2 * time.Minute)})
		}
	})
	require.True(t, triggered)
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.LessOrEqual(t, c.clock.Now().Sub(start), 2*time.Minute+20*time.Second, "drained past the new instance-action time")
}

// A scheduled maintenance event (NotBefore days ahead) is not a trigger and not a deadline:
// Watch makes no ECS call for it.
func TestWatchIgnoresScheduledMaintenance(t *testing.T) {
	c := newCluster(t)
	m := newInstanceMetadata(t)
	notBefore := c.clock.Now().Add(-time.Minute).UTC().Format("2 Jan 2006 15:04:05 GMT")
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{OnRebalance: true}, 10, func() {
		m.srv.SetBody("/latest/meta-data/events/maintenance/scheduled", 200,
			`[{"NotBefore":"`+notBefore+`","Code":"system-reboot","Description":"scheduled reboot","EventId":"instance-event-0d59937288b749b32","NotAfter":"`+notBefore+`","State":"active"}]`)
	}, nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, triggered)
	assert.Zero(t, c.ecs.Total())
}

// A rebalance recommendation with a noticeTime in the future (a skewed clock) is not a
// deadline either: the drain gets MaxDrain.
func TestWatchRebalanceNoticeTimeAheadIsNotADeadline(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 10*time.Minute)
	m := newInstanceMetadata(t)
	m.srv.SetRebalance(c.clock.Now().Add(time.Minute))
	start := c.clock.Now()
	var trig drain.Trigger
	res, err := m.watch(t, c, drain.WatchOptions{OnRebalance: true, OnTrigger: func(tr drain.Trigger) { trig = tr }}, nil)
	require.NoError(t, err)
	assert.True(t, res.Last.Done)
	assert.True(t, trig.Deadline.IsZero())
	assert.Equal(t, start.Add(30*time.Minute), trig.DrainBy)
}

// A notice that flaps (published, withdrawn, published again at another time) starts one
// drain; the drain's bound is never later than the first notice believed.
func TestWatchFlappingSpotNoticeDrainsOnce(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Hour)
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	var trigs []drain.Trigger
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{MaxDrain: time.Hour, OnTrigger: func(tr drain.Trigger) { trigs = append(trigs, tr) }}, 400, func() {
		m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(2 * time.Minute)})
	}, func(poll int) {
		switch poll {
		case 1:
			m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotNone})
		case 2:
			m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(14 * time.Minute)})
		}
	})
	require.True(t, triggered)
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.Len(t, trigs, 1)
	assert.LessOrEqual(t, c.clock.Now().Sub(start), 2*time.Minute+20*time.Second)
}

// An unreadable or missing notice time: the drain is bounded by two minutes (the Spot
// warning) or MaxDrain, whichever is shorter, says so in the trigger's reason and the log,
// and ends with ErrSpotDeadline when the two minutes came first (ErrTimeout when MaxDrain did).
func TestWatchSpotNoticeWithAnUnreadableTimeIsBoundedByTheSpotWarning(t *testing.T) {
	for _, tc := range []struct {
		maxDrain, want time.Duration
		spot           bool
	}{
		{time.Hour, drain.SpotWarning, true},
		{time.Minute, time.Minute, false},
	} {
		t.Run(tc.maxDrain.String(), func(t *testing.T) {
			c := newCluster(t)
			c.ecs.RunTask(c.arn, "web", time.Hour)
			m := newInstanceMetadata(t)
			var logs bytes.Buffer
			d := c.drainer(func(o *drain.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
			start := c.clock.Now()
			var trig drain.Trigger
			_, err, triggered := m.watchForWith(t, c, d, drain.WatchOptions{MaxDrain: tc.maxDrain, OnTrigger: func(tr drain.Trigger) { trig = tr }}, 60, func() {
				m.srv.SetBody("/latest/meta-data/spot/instance-action", 200, `{"action":"terminate","time":"soon"}`)
			}, nil)
			require.True(t, triggered)
			require.ErrorIs(t, err, drain.ErrTimeout)
			if tc.spot {
				assert.ErrorIs(t, err, drain.ErrSpotDeadline)
			} else {
				assert.NotErrorIs(t, err, drain.ErrSpotDeadline)
			}
			assert.Equal(t, drain.KindSpot, trig.Kind)
			assert.True(t, trig.Deadline.IsZero(), "no time was readable")
			assert.Equal(t, start.Add(tc.want), trig.DrainBy)
			assert.Contains(t, trig.Reason, `unreadable time "soon"`)
			assert.Contains(t, logs.String(), `level=WARN msg="drain: the Spot interruption notice's time is UNREADABLE`)
			assert.Contains(t, logs.String(), "time=soon")
			assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn))
			assert.LessOrEqual(t, c.clock.Now().Sub(start), tc.want+10*time.Second)
		})
	}
}

// With a termination hook held (Terminating:Wait), a Spot time moved earlier mid-drain also
// ends the drain, and the hook is completed with CONTINUE then (the group is not held past
// the reclaim), not at the first notice's time.
func TestWatchSpotNoticeMovedEarlierEndsTheDrainOfAHeldHook(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Hour)
	c.terminating()
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	res, err, triggered := m.watchFor(t, c, drain.WatchOptions{MaxDrain: time.Hour, AutoScaling: c.asg}, 400, func() {
		m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(10 * time.Minute)})
	}, func(poll int) {
		if poll == 2 {
			m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(2 * time.Minute)})
		}
	})
	require.True(t, triggered)
	require.ErrorIs(t, err, drain.ErrSpotDeadline)
	require.NotNil(t, res.Hook)
	assert.Equal(t, lifecycle.Continue, res.Hook.Result)
	assert.Equal(t, "Terminated", c.asg.State("i-00000001"))
	assert.LessOrEqual(t, c.clock.Now().Sub(start), 2*time.Minute+20*time.Second, "drained past the new instance-action time")
}

// A Spot notice that comes while a drain started by something else runs (the target
// lifecycle state Terminated) bounds that drain too.
func TestWatchSpotNoticeDuringAnotherDrainIsItsDeadline(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Hour)
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	var trig drain.Trigger
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{MaxDrain: time.Hour, OnTrigger: func(tr drain.Trigger) { trig = tr }}, 400, func() {
		m.srv.SetLifecycleState(imds.LifecycleTerminated)
	}, func(poll int) {
		if poll == 2 {
			m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(2 * time.Minute)})
		}
	})
	require.True(t, triggered)
	assert.Equal(t, drain.KindTerminate, trig.Kind)
	require.ErrorIs(t, err, drain.ErrSpotDeadline)
	assert.LessOrEqual(t, c.clock.Now().Sub(start), 2*time.Minute+20*time.Second)
}
