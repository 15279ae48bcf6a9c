package drain_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// TestIntegrationOnInstanceWithMetadataMock: on-instance mode reacting to the spot
// instance-action and target-lifecycle-state that AWS's amazon-ec2-metadata-mock serves
// (both say the instance is leaving), draining the mock's instance in the fake cluster.
func TestIntegrationOnInstanceWithMetadataMock(t *testing.T) {
	mock := testbed.IMDSMock(t)
	// The watchers' clock never moves: the first poll sees what the mock serves.
	md, err := imds.New(func(o *imds.Options) {
		o.Endpoint, o.Clock = mock.URL, imdstest.NewClock()
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

	clock := draintest.NewClock()
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
