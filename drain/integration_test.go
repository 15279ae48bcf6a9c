package drain_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// TestIntegrationOnInstanceWithMetadataMock: on-instance mode reacting to the spot
// instance-action and target-lifecycle-state that AWS's amazon-ec2-metadata-mock serves
// (both say the instance is leaving), draining the mock's instance in the fake cluster.
func TestIntegrationOnInstanceWithMetadataMock(t *testing.T) {
	mock := testbed.IMDSMock(t)
	// The watchers' clock never moves: the first poll sees what the mock serves.
	md, err := imds.New(func(o *imds.Options) {
		o.Endpoint, o.Clock = mock.URL, clocktest.NewManual()
		o.Getenv = func(string) string { return "" }
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	spot, err := md.SpotAction(ctx)
	require.NoError(t, err)
	require.Equal(t, imds.SpotTerminate, spot.Action)
	state, err := md.TargetLifecycleState(ctx)
	require.NoError(t, err)
	require.Equal(t, imds.LifecycleTerminated, state)

	clock := clocktest.New()
	fake := draintest.New(clock)
	fake.CreateCluster("prod")
	arn := fake.AddInstance("prod", "i-1234567890abcdef0") // the mock's instance id
	fake.AddService("prod", "web", false)
	task := fake.RunTask(arn, "web", time.Minute)

	// The drain runs on a fake clock set two minutes before the mock's interruption time, as
	// on an instance that just got the notice.
	clock.Advance(spot.Time.Sub(clock.Now()) - 2*time.Minute)
	d, err := drain.New(fake, func(o *drain.Options) { o.Clock = clock })
	require.NoError(t, err)
	var trig drain.Trigger
	res, err := d.Watch(ctx, md, []string{"prod"}, drain.WatchOptions{OnTrigger: func(tr drain.Trigger) { trig = tr }})
	require.NoError(t, err, "a task that stops within a minute is out before the Spot deadline")
	assert.True(t, res.Last.Done)
	assert.Contains(t, []drain.Kind{drain.KindSpot, drain.KindTerminate}, trig.Kind, "the mock posts both")
	if trig.Kind == drain.KindSpot {
		assert.Equal(t, spot.Time, trig.Deadline)
		assert.False(t, clock.Now().After(spot.Time), "done before the notice time")
	}
	assert.Equal(t, "STOPPED", fake.TaskStatus(task))
	assert.Equal(t, "DRAINING", fake.InstanceStatus(arn))
}

// spotOnlyMock is the metadata mock with its target lifecycle state hidden (404, as on an
// instance in no group), so that its Spot instance-action, and not its Terminated state,
// triggers the drain. Every other path, the token PUT and the Spot notice included, is the
// mock's own answer.
func spotOnlyMock(t *testing.T, mockURL string) *imds.Client {
	target, err := url.Parse(mockURL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/meta-data/autoscaling/target-lifecycle-state" {
			http.NotFound(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	md, err := imds.New(func(o *imds.Options) {
		o.Endpoint, o.Clock = srv.URL, clocktest.NewManual()
		o.Getenv = func(string) string { return "" }
	})
	require.NoError(t, err)
	return md
}

// TestIntegrationSpotNoticeTimeFromTheMetadataMock: the instance-action time the mock serves
// (two minutes after the request) bounds the drain with MaxDrain, whichever comes first, and
// the same time seen from a clock an hour behind it (more than 15 minutes ahead) is
// suspicious and bounded.
func TestIntegrationSpotNoticeTimeFromTheMetadataMock(t *testing.T) {
	mock := testbed.IMDSMock(t)
	md := spotOnlyMock(t, mock.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spot, err := md.SpotAction(ctx)
	require.NoError(t, err)
	require.Equal(t, imds.SpotTerminate, spot.Action)

	for _, tc := range []struct {
		name        string
		before      time.Duration // the drain's clock is this long before the mock's time
		maxDrain    time.Duration
		want        time.Duration // how long the drain may last
		suspicious  bool
		atTheNotice bool // ended by the Spot time itself: ErrSpotDeadline
	}{
		{"MaxDrain first", 2 * time.Minute, 30 * time.Second, 30 * time.Second, false, false},
		{"the notice first", 2 * time.Minute, time.Hour, 2 * time.Minute, false, true},
		{"an hour ahead", time.Hour, time.Hour, drain.MaxSpotNotice, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clocktest.New()
			fake := draintest.New(clock)
			fake.CreateCluster("prod")
			arn := fake.AddInstance("prod", "i-1234567890abcdef0") // the mock's instance id
			fake.AddService("prod", "web", false)
			fake.RunTask(arn, "web", 3*time.Hour)
			// The mock serves "now + 2 minutes" on every request: read it again to place the clock.
			now, err := md.SpotAction(ctx)
			require.NoError(t, err)
			clock.Advance(now.Time.Sub(clock.Now()) - tc.before)
			start := clock.Now()
			d, err := drain.New(fake, func(o *drain.Options) { o.Clock = clock })
			require.NoError(t, err)
			var trig drain.Trigger
			_, err = d.Watch(ctx, md, []string{"prod"}, drain.WatchOptions{MaxDrain: tc.maxDrain, OnTrigger: func(tr drain.Trigger) { trig = tr }})
			require.ErrorIs(t, err, drain.ErrTimeout)
			assert.Equal(t, tc.atTheNotice, errors.Is(err, drain.ErrSpotDeadline), "%v", err)
			assert.Equal(t, drain.KindSpot, trig.Kind)
			assert.Equal(t, tc.suspicious, trig.Suspicious)
			assert.WithinDuration(t, start.Add(tc.want), trig.DrainBy, 5*time.Second, "the mock's time moves with the wall clock")
			assert.LessOrEqual(t, clock.Now().Sub(start), tc.want+5*time.Second)
			assert.Equal(t, "DRAINING", fake.InstanceStatus(arn))
		})
	}
}

// TestIntegrationDrainsAheadOfTheMetadataMocksMaintenance: the system reboot that
// amazon-ec2-metadata-mock schedules (its times written as IMDS writes them) drains the
// instance once the drain's clock is within the lead of its NotBefore.
func TestIntegrationDrainsAheadOfTheMetadataMocksMaintenance(t *testing.T) {
	mock := testbed.IMDSMock(t)
	target, err := url.Parse(mock.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path { // only the maintenance event may trigger
		case "/latest/meta-data/autoscaling/target-lifecycle-state", "/latest/meta-data/spot/instance-action":
			http.NotFound(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	md, err := imds.New(func(o *imds.Options) {
		o.Endpoint, o.Clock = srv.URL, clocktest.NewManual()
		o.Getenv = func(string) string { return "" }
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, err := md.ScheduledMaintenance(ctx)
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.True(t, events[0].Pending())

	clock := clocktest.New()
	clock.Advance(events[0].NotBefore.Sub(clock.Now()) - 10*time.Minute) // ten minutes before the reboot
	fake := draintest.New(clock)
	fake.CreateCluster("prod")
	arn := fake.AddInstance("prod", "i-1234567890abcdef0") // the mock's instance id
	fake.AddService("prod", "web", false)
	fake.RunTask(arn, "web", time.Minute)
	d, err := drain.New(fake, func(o *drain.Options) { o.Clock = clock })
	require.NoError(t, err)
	var trig drain.Trigger
	res, err := d.Watch(ctx, md, []string{"prod"}, drain.WatchOptions{OnMaintenance: true, MaintenanceLead: 15 * time.Minute,
		OnTrigger: func(tr drain.Trigger) { trig = tr }})
	require.NoError(t, err)
	assert.True(t, res.Last.Done)
	assert.Equal(t, drain.KindMaintenance, trig.Kind)
	assert.Contains(t, trig.Reason, events[0].EventID)
	assert.Equal(t, "DRAINING", fake.InstanceStatus(arn))
}
