package imds_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

// runWatch starts watch in a goroutine on the bed's fake clock. tick waits until the watcher
// has finished its poll and sleeps, then wakes it for the next poll (the default 5 s).
func runWatch(t *testing.T, clk *clocktest.Clock, watch func(ctx context.Context) error) (tick func(), stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- watch(ctx) }()
	sleeping := func() {
		wait, cancelWait := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelWait()
		require.NoError(t, clk.BlockUntilSleeping(wait, 1), "the watcher never went back to sleep")
	}
	tick = func() { sleeping(); clk.Advance(5 * time.Second) }
	stop = func() error {
		sleeping() // the poll in flight has finished
		cancel()
		return <-done
	}
	return tick, stop
}

func TestWatchSpotAction(t *testing.T) {
	b := newBed(t)
	got := make(chan imds.SpotAction, 10)
	tick, stop := runWatch(t, b.clock, func(ctx context.Context) error {
		return b.client.WatchSpotAction(ctx, func(a imds.SpotAction) { got <- a })
	})
	tick() // no notice yet: no call
	tick()
	at := b.clock.Now().Add(2 * time.Minute)
	b.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: at})
	tick() // poll that sees it
	tick() // same notice again: no second call
	tick()
	b.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotNone})
	tick()
	require.ErrorIs(t, stop(), context.Canceled)
	close(got)
	var calls []imds.SpotAction
	for a := range got {
		calls = append(calls, a)
	}
	assert.Equal(t, []imds.SpotAction{{Action: imds.SpotTerminate, Time: at}, {Action: imds.SpotNone}}, calls)
}

func TestWatchTargetLifecycleStateKeepsGoingThroughErrors(t *testing.T) {
	b := newBed(t)
	var calls []imds.LifecycleState
	tick, stop := runWatch(t, b.clock, func(ctx context.Context) error {
		return b.client.WatchTargetLifecycleState(ctx, func(s imds.LifecycleState) { calls = append(calls, s) })
	})
	tick()
	b.srv.AddFault(imdstest.Fault{Path: "/latest/meta-data/autoscaling/target-lifecycle-state", Status: 500, Times: 3})
	tick() // fails (3 attempts), logged, no call
	b.srv.SetLifecycleState(imds.LifecycleTerminated)
	tick()
	tick()
	require.ErrorIs(t, stop(), context.Canceled)
	assert.Equal(t, []imds.LifecycleState{imds.LifecycleInService, imds.LifecycleTerminated}, calls)
	assert.Contains(t, b.logs.String(), "watch poll failed")
}

func TestWatchRebalanceAndDisabled(t *testing.T) {
	b := newBed(t)
	var calls []imds.Rebalance
	tick, stop := runWatch(t, b.clock, func(ctx context.Context) error {
		return b.client.WatchRebalance(ctx, func(r imds.Rebalance) { calls = append(calls, r) })
	})
	notice := b.clock.Now()
	b.srv.SetRebalance(notice)
	tick()
	tick()
	require.ErrorIs(t, stop(), context.Canceled)
	assert.Equal(t, []imds.Rebalance{{Recommended: true, NoticeTime: notice}}, calls)

	c, err := imds.New(func(o *imds.Options) { o.Disabled = true; o.Getenv = func(string) string { return "" } })
	require.NoError(t, err)
	err = c.WatchSpotAction(context.Background(), func(imds.SpotAction) { t.Error("called") })
	require.ErrorIs(t, err, imds.ErrDisabled)
}

// A Spot notice whose time is missing or unreadable is still a notice: the instance is
// leaving. SpotAction returns it with a zero Time (and what was given, in BadTime), and the
// watcher reports it; an unknown action is still malformed.
func TestSpotNoticeWithAnUnreadableTimeIsStillANotice(t *testing.T) {
	for body, want := range map[string]imds.SpotAction{
		`{"action":"terminate","time":"soon"}`:                 {Action: imds.SpotTerminate, BadTime: "soon"},
		`{"action":"terminate","time":""}`:                     {Action: imds.SpotTerminate},
		`{"action":"hibernate"}`:                               {Action: imds.SpotHibernate},
		`{"action":"stop","time":"2026-13-45T99:00:00Z"}`:      {Action: imds.SpotStop, BadTime: "2026-13-45T99:00:00Z"},
		`{"action":"terminate","time":"2026-11-23T09:02:00Z"}`: {Action: imds.SpotTerminate, Time: time.Date(2026, 11, 23, 9, 2, 0, 0, time.UTC)},
	} {
		t.Run(body, func(t *testing.T) {
			b := newBed(t)
			b.srv.SetBody("/latest/meta-data/spot/instance-action", http.StatusOK, body)
			got, err := b.client.SpotAction(context.Background())
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
	b := newBed(t)
	b.srv.SetBody("/latest/meta-data/spot/instance-action", http.StatusOK, `{"action":"explode","time":"soon"}`)
	_, err := b.client.SpotAction(context.Background())
	require.ErrorIs(t, err, imds.ErrMalformed)
}
