package drain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/lifecycle"
)

const spotInstanceAction = "/latest/meta-data/spot/instance-action"

// A Spot notice whose time is unreadable or missing, seen during a drain started by Auto
// Scaling (target lifecycle state Terminated, hook held) or by a rebalance recommendation,
// is still a Spot notice: EC2 reclaims the instance two minutes after it. The drain's end
// moves to min(its end, the notice + SpotWarning), and a held hook is completed with
// CONTINUE then, not after MaxDrain (an hour).
func TestWatchUnreadableSpotNoticeDuringAnotherDrainEndsItWithinTheSpotWarning(t *testing.T) {
	for _, trigger := range []string{"terminated", "rebalance"} {
		for _, body := range []string{`{"action":"terminate","time":"soon"}`, `{"action":"terminate"}`, `{"action":"stop","time":""}`} {
			t.Run(trigger+" "+body, func(t *testing.T) {
				c := newCluster(t)
				c.ecs.RunTask(c.arn, "web", time.Hour)
				o := drain.WatchOptions{MaxDrain: time.Hour}
				if trigger == "terminated" {
					c.terminating()
					o.AutoScaling = c.asg
				} else {
					o.OnRebalance = true
				}
				m := newInstanceMetadata(t)
				var noticed time.Time
				res, err, triggered := m.watchFor(t, c, o, 400, func() {
					if trigger == "terminated" {
						m.srv.SetLifecycleState(imds.LifecycleTerminated)
					} else {
						m.srv.SetRebalance(c.clock.Now())
					}
				}, func(poll int) {
					if poll == 2 {
						noticed = c.clock.Now()
						m.srv.SetBody(spotInstanceAction, 200, body)
					}
				})
				require.True(t, triggered)
				require.False(t, noticed.IsZero(), "the notice was posted")
				t.Logf("err %v; drained %s after the notice", err, c.clock.Now().Sub(noticed))
				assert.ErrorIs(t, err, drain.ErrTimeout)
				assert.LessOrEqual(t, c.clock.Now().Sub(noticed), drain.SpotWarning+20*time.Second,
					"drained past the two minutes an unreadable Spot notice leaves")
				if trigger == "terminated" {
					require.NotNil(t, res.Hook)
					assert.Equal(t, lifecycle.Continue, res.Hook.Result)
				}
			})
		}
	}
}

// A Spot notice more than MaxSpotNotice ahead, seen during a drain started otherwise, is
// suspicious as it is at a trigger: the drain's end moves to min(its end, the notice +
// MaxSpotNotice), never to the time it names (and never later than MaxDrain).
func TestWatchSuspiciousSpotNoticeDuringAnotherDrainIsBoundedByMaxSpotNotice(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 3*time.Hour)
	c.terminating()
	m := newInstanceMetadata(t)
	var noticed time.Time
	res, err, triggered := m.watchFor(t, c, drain.WatchOptions{MaxDrain: 2 * time.Hour, AutoScaling: c.asg}, 2000, func() {
		m.srv.SetLifecycleState(imds.LifecycleTerminated)
	}, func(poll int) {
		if poll == 2 {
			noticed = c.clock.Now()
			m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: noticed.Add(90 * time.Minute)})
		}
	})
	require.True(t, triggered)
	t.Logf("err %v; drained %s after the notice", err, c.clock.Now().Sub(noticed))
	assert.ErrorIs(t, err, drain.ErrTimeout)
	assert.LessOrEqual(t, c.clock.Now().Sub(noticed), drain.MaxSpotNotice+20*time.Second, "a suspicious time was believed mid-drain")
	require.NotNil(t, res.Hook)
	assert.Equal(t, lifecycle.Continue, res.Hook.Result)
}

// A Spot drain whose notice (ten minutes ahead) is re-published with an unreadable time: it
// is a notice all the same, and the end may only move earlier: to min(ten minutes, the new
// notice + SpotWarning).
func TestWatchSpotNoticeRepublishedWithAnUnreadableTimeMovesTheEndEarlier(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Hour)
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	var noticed time.Time
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{MaxDrain: time.Hour}, 400, func() {
		m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(10 * time.Minute)})
	}, func(poll int) {
		if poll == 2 {
			noticed = c.clock.Now()
			m.srv.SetBody(spotInstanceAction, 200, `{"action":"terminate","time":"soon"}`)
		}
	})
	require.True(t, triggered)
	t.Logf("err %v; drained %s after the start, %s after the second notice", err, c.clock.Now().Sub(start), c.clock.Now().Sub(noticed))
	assert.ErrorIs(t, err, drain.ErrTimeout)
	assert.LessOrEqual(t, c.clock.Now().Sub(noticed), drain.SpotWarning+20*time.Second)
}

// A Spot drain bounded by a suspicious notice (MaxSpotNotice) whose time is then corrected
// to a believable one, earlier than that bound: the drain ends at the corrected time.
func TestWatchSuspiciousSpotNoticeCorrectedEarlierIsTheNewEnd(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 3*time.Hour)
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	var corrected time.Time
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{MaxDrain: time.Hour}, 2000, func() {
		m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(2 * time.Hour)})
	}, func(poll int) {
		if poll == 2 {
			corrected = c.clock.Now().Add(2 * time.Minute)
			m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: corrected})
		}
	})
	require.True(t, triggered)
	t.Logf("err %v; ended %s after the corrected time", err, c.clock.Now().Sub(corrected))
	assert.ErrorIs(t, err, drain.ErrSpotDeadline)
	assert.LessOrEqual(t, c.clock.Now().Sub(corrected), 20*time.Second)
}

// A notice withdrawn mid-drain (instance-action 404 again) never moves the end later: the
// drain still ends at the first notice's time.
func TestWatchSpotNoticeWithdrawnMidDrainKeepsTheEnd(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Hour)
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	_, err, triggered := m.watchFor(t, c, drain.WatchOptions{MaxDrain: time.Hour}, 400, func() {
		m.srv.SetBody(spotInstanceAction, 200, `{"action":"terminate","time":"soon"}`)
	}, func(poll int) {
		if poll == 1 {
			m.srv.SetBody(spotInstanceAction, 404, "")
		}
	})
	require.True(t, triggered)
	assert.ErrorIs(t, err, drain.ErrSpotDeadline)
	assert.LessOrEqual(t, c.clock.Now().Sub(start), drain.SpotWarning+20*time.Second)
}
