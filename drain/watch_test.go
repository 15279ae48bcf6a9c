package drain_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
	"github.com/shipshape-dev/shipshape/lifecycle"
)

// instanceMetadata is this instance's IMDS (imdstest) on a clock of its own, which the test
// advances whenever the watchers sleep.
type instanceMetadata struct {
	srv   *imdstest.Server
	md    *imds.Client
	clock *clocktest.Clock
}

func newInstanceMetadata(t *testing.T) *instanceMetadata {
	clock := clocktest.NewManual()
	srv := imdstest.NewServer(func(o *imdstest.Options) { o.Clock = clock })
	t.Cleanup(srv.Close)
	srv.SetInstance("i-00000001", "us-east-1", "us-east-1a")
	md, err := imds.New(func(o *imds.Options) {
		o.Endpoint, o.Clock = srv.URL, clock
		o.Getenv = func(string) string { return "" }
	})
	require.NoError(t, err)
	return &instanceMetadata{srv: srv, md: md, clock: clock}
}

// watch runs Watch until it returns, waking the watchers for another poll every time they
// all sleep; post runs once the watchers poll (to post a notice after the start).
func (m *instanceMetadata) watch(t *testing.T, c *cluster, o drain.WatchOptions, post func()) (drain.Result, error) {
	return m.watchWith(t, c.drainer(), o, post)
}

// watchWith is watch with a Drainer of the test's own (options, logger).
func (m *instanceMetadata) watchWith(t *testing.T, d *drain.Drainer, o drain.WatchOptions, post func()) (drain.Result, error) {
	done := make(chan struct{})
	var res drain.Result
	var err error
	watching, stop := context.WithCancel(context.Background())
	go func() {
		defer close(done)
		defer stop()
		res, err = d.Watch(context.Background(), m.md, []string{"prod"}, o)
	}()
	posted := false
	for m.clock.BlockUntilSleeping(watching, 1) == nil {
		if !posted && post != nil {
			post()
			posted = true
		}
		m.clock.Advance(5 * time.Second)
	}
	<-done
	return res, err
}

func TestWatchSpotDrainsBeforeTheDeadline(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	c.ecs.RunTask(c.arn, "web", 30*time.Second) // both stop well within two minutes
	m := newInstanceMetadata(t)
	var trig drain.Trigger
	res, err := m.watch(t, c, drain.WatchOptions{OnTrigger: func(tr drain.Trigger) { trig = tr }}, func() {
		m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: c.clock.Now().Add(2 * time.Minute)})
	})
	require.NoError(t, err)
	assert.True(t, res.Last.Done)
	assert.Equal(t, drain.KindSpot, trig.Kind)
	assert.Contains(t, trig.Reason, "Spot interruption notice")
	assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn))
}

func TestWatchSpotStopsAtTheNoticeTime(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 10*time.Minute) // would stop only after ten minutes
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	deadline := start.Add(2 * time.Minute)
	res, err := m.watch(t, c, drain.WatchOptions{MaxDrain: time.Hour}, func() {
		m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: deadline})
	})
	require.ErrorIs(t, err, drain.ErrSpotDeadline)
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.Contains(t, err.Error(), "1 task(s) left: 1 RUNNING", "says what could not be stopped in time")
	assert.False(t, res.Last.Done)
	assert.False(t, c.clock.Now().After(deadline.Add(10*time.Second)), "bounded by the notice (%s), not by MaxDrain (1 h)", c.clock.Now().Sub(start))
}

// The drain deadline is the earlier of the Spot instance-action time and MaxDrain: with
// -timeout 30s, a two-minute notice does not keep the drain going for two minutes.
func TestWatchSpotDeadlineIsTheEarlierOfTheNoticeAndMaxDrain(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 10*time.Minute)
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	var trig drain.Trigger
	res, err := m.watch(t, c, drain.WatchOptions{MaxDrain: 30 * time.Second, OnTrigger: func(tr drain.Trigger) { trig = tr }}, func() {
		m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(2 * time.Minute)})
	})
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.NotErrorIs(t, err, drain.ErrSpotDeadline, "MaxDrain came first, not the Spot time")
	assert.Contains(t, err.Error(), "before the Spot interruption time")
	assert.False(t, res.Last.Done)
	assert.Equal(t, start.Add(30*time.Second), trig.DrainBy)
	assert.Equal(t, start.Add(2*time.Minute), trig.Deadline)
	assert.False(t, trig.Suspicious)
	assert.LessOrEqual(t, c.clock.Now().Sub(start), 30*time.Second, "bounded by MaxDrain")
}

// An instance-action time more than 15 minutes ahead (Spot gives two) is logged as
// suspicious and not believed: the drain lasts at most min(MaxDrain, 15 minutes).
func TestWatchBoundsASuspiciousSpotNoticeTime(t *testing.T) {
	for _, tc := range []struct {
		maxDrain, want time.Duration
	}{
		{time.Hour, drain.MaxSpotNotice},
		{5 * time.Minute, 5 * time.Minute},
	} {
		t.Run(tc.maxDrain.String(), func(t *testing.T) {
			c := newCluster(t)
			c.ecs.RunTask(c.arn, "web", 3*time.Hour)
			m := newInstanceMetadata(t)
			var logs bytes.Buffer
			d := c.drainer(func(o *drain.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
			start := c.clock.Now()
			var trig drain.Trigger
			res, err := m.watchWith(t, d, drain.WatchOptions{MaxDrain: tc.maxDrain, OnTrigger: func(tr drain.Trigger) { trig = tr }}, func() {
				m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(2 * time.Hour)})
			})
			require.ErrorIs(t, err, drain.ErrTimeout)
			assert.NotErrorIs(t, err, drain.ErrSpotDeadline)
			assert.False(t, res.Last.Done)
			assert.True(t, trig.Suspicious)
			assert.Contains(t, err.Error(), "was not believed", "the error never calls the disbelieved time the deadline")
			assert.NotContains(t, err.Error(), "before the Spot interruption time")
			assert.Equal(t, start.Add(tc.want), trig.DrainBy)
			assert.Contains(t, trig.Reason, "SUSPICIOUS: 2h0m0s ahead where Spot gives 2 minutes; draining at most "+tc.want.String())
			assert.Contains(t, logs.String(), "level=WARN msg=\"drain: SUSPICIOUS Spot interruption time")
			assert.LessOrEqual(t, c.clock.Now().Sub(start), tc.want, "not two hours")
			assert.GreaterOrEqual(t, c.clock.Now().Sub(start), tc.want-10*time.Second, "but as long as the bound allows")
		})
	}
}

// A notice exactly 15 minutes ahead is still believed (the bound is "more than").
func TestWatchBelievesASpotNoticeUpToFifteenMinutesAhead(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 3*time.Hour)
	m := newInstanceMetadata(t)
	start := c.clock.Now()
	var trig drain.Trigger
	_, err := m.watch(t, c, drain.WatchOptions{MaxDrain: time.Hour, OnTrigger: func(tr drain.Trigger) { trig = tr }}, func() {
		m.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(drain.MaxSpotNotice)})
	})
	require.ErrorIs(t, err, drain.ErrSpotDeadline)
	assert.False(t, trig.Suspicious)
	assert.Equal(t, trig.Deadline, trig.DrainBy)
}

// A rebalance recommendation's noticeTime is when it was sent, not a deadline: one sent an
// hour ago still gets the whole MaxDrain.
func TestWatchRebalanceNoticeTimeIsNotADeadline(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 10*time.Minute)
	m := newInstanceMetadata(t)
	m.srv.SetRebalance(c.clock.Now().Add(-time.Hour))
	start := c.clock.Now()
	var trig drain.Trigger
	res, err := m.watch(t, c, drain.WatchOptions{OnRebalance: true, OnTrigger: func(tr drain.Trigger) { trig = tr }}, nil)
	require.NoError(t, err, "the task stops after ten minutes, within MaxDrain (30 minutes)")
	assert.True(t, res.Last.Done)
	assert.Equal(t, drain.KindRebalance, trig.Kind)
	assert.True(t, trig.Deadline.IsZero())
	assert.Equal(t, start.Add(30*time.Minute), trig.DrainBy)
}

func TestWatchRebalanceOnlyWhenOptedIn(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	m := newInstanceMetadata(t)
	m.srv.SetRebalance(m.clock.Now())

	// Not opted in: the recommendation is ignored; cancelling the watch changes nothing.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.drainer().Watch(ctx, m.md, []string{"prod"}, drain.WatchOptions{})
		done <- err
	}()
	for range 3 { // three polls of each watcher
		require.NoError(t, m.clock.BlockUntilSleeping(context.Background(), 2))
		m.clock.Advance(5 * time.Second)
	}
	require.NoError(t, m.clock.BlockUntilSleeping(context.Background(), 2))
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.Zero(t, c.ecs.Total(), "no ECS call before a trigger")
	assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(c.arn))

	// Opted in: drained.
	var trig drain.Trigger
	res, err := m.watch(t, c, drain.WatchOptions{OnRebalance: true, OnTrigger: func(tr drain.Trigger) { trig = tr }}, nil)
	require.NoError(t, err)
	assert.True(t, res.Last.Done)
	assert.Equal(t, drain.KindRebalance, trig.Kind)
}

func TestWatchTerminationCompletesTheHook(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", time.Minute)
	c.terminating() // the group scales in: i-1 waits in the termination hook
	m := newInstanceMetadata(t)
	res, err := m.watch(t, c, drain.WatchOptions{AutoScaling: c.asg}, func() { m.srv.SetLifecycleState(imds.LifecycleTerminated) })
	require.NoError(t, err)
	assert.True(t, res.Last.Done)
	require.NotNil(t, res.Hook)
	assert.Equal(t, lifecycle.Continue, res.Hook.Result)
	assert.Equal(t, "Terminated", c.asg.State("i-00000001"))
}

func TestWatchCancelledMidDrainLeavesTheHook(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 10*time.Minute)
	c.terminating()
	m := newInstanceMetadata(t)
	m.srv.SetLifecycleState(imds.LifecycleTerminated)
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	_, err := c.drainer().Watch(ctx, m.md, []string{"prod"}, drain.WatchOptions{AutoScaling: c.asg, OnProgress: func(drain.Progress) {
		if steps++; steps == 3 {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	res, _ := c.asg.Result("i-00000001", "drain")
	assert.Empty(t, res, "the hook is left to its timeout, or to the next run")
	assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn))
}
