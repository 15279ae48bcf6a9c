package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// TestIntegrationGateWithMetadataMock discovers through AWS's amazon-ec2-metadata-mock
// (instance id, tags, target lifecycle state) while the gate runs against the fake group.
func TestIntegrationGateWithMetadataMock(t *testing.T) {
	mock := testbed.IMDSMock(t)
	md, err := imds.New(func(o *imds.Options) { o.Endpoint = mock.URL; o.Getenv = func(string) string { return "" } })
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	e := newEnv(t)
	e.asg.Launch("web", "i-1234567890abcdef0") // the mock's instance id
	g := e.gate()

	// The mock's tags (Name, Test) carry no aws:autoscaling:groupName: one DescribeAutoScalingInstances.
	tags, err := md.Tags(ctx)
	require.NoError(t, err)
	assert.NotContains(t, tags, "aws:autoscaling:groupName")
	tgt, err := g.Discover(ctx, md, lifecycle.DiscoverOptions{})
	require.NoError(t, err)
	assert.Equal(t, "i-1234567890abcdef0", tgt.InstanceID)
	assert.Equal(t, "web", tgt.Group)
	assert.Equal(t, 1, e.asg.Calls(lifecycletest.OpDescribeInstance))

	state, err := md.TargetLifecycleState(ctx)
	require.NoError(t, err)
	assert.Equal(t, imds.LifecycleTerminated, state, "what the mock's asglifecycle mode serves")

	out, err := g.Run(ctx, tgt, &scripted{results: []error{nil}})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Continue, out.Result)
	assert.Equal(t, "InService", e.asg.State("i-1234567890abcdef0"))
}
