package drain_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	clock imdstest.Clock
}

func newInstanceMetadata(t *testing.T) *instanceMetadata {
	clock := imdstest.NewClock()
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
	done := make(chan struct{})
	var res drain.Result
	var err error
	watching, stop := context.WithCancel(context.Background())
	go func() {
		defer close(done)
		defer stop()
		res, err = c.drainer().Watch(context.Background(), m.md, []string{"prod"}, o)
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
