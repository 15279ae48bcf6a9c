package lifecycle_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// describeAnswers answers DescribeAutoScalingInstances with a fixed list of entries, whatever
// was asked (a lying or filter-ignoring endpoint); every other call goes to the fake.
type describeAnswers struct {
	*lifecycletest.AutoScaling
	entries []types.AutoScalingInstanceDetails
}

func (d describeAnswers) DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	if _, err := d.AutoScaling.DescribeAutoScalingInstances(ctx, in, optFns...); err != nil {
		return nil, err
	}
	return &autoscaling.DescribeAutoScalingInstancesOutput{AutoScalingInstances: d.entries}, nil
}

func entry(id, group string) types.AutoScalingInstanceDetails {
	return types.AutoScalingInstanceDetails{InstanceId: aws.String(id), AutoScalingGroupName: aws.String(group),
		LifecycleState: aws.String("Pending:Wait"), AvailabilityZone: aws.String("us-east-1a"), HealthStatus: aws.String("HEALTHY"),
		ProtectedFromScaleIn: aws.Bool(false)}
}

// Without metadata, an answer that names only other instances, or none, is ErrNotInGroup:
// the group of another instance is never taken for the one asked.
func TestDiscoverWithoutMetadataNeverTakesTheGroupOfAnotherInstance(t *testing.T) {
	for name, entries := range map[string][]types.AutoScalingInstanceDetails{
		"empty":           nil,
		"another only":    {entry("i-2", "web")},
		"other instances": {entry("i-2", "other"), entry("i-3", "web")},
		"no instance id":  {{AutoScalingGroupName: aws.String("web"), LifecycleState: aws.String("Pending:Wait")}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			g, err := lifecycle.New(describeAnswers{e.asg, entries}, func(o *lifecycle.Options) { o.Clock = e.clock })
			require.NoError(t, err)
			md, err := imds.New(func(o *imds.Options) { o.Disabled = true; o.Getenv = func(string) string { return "" } })
			require.NoError(t, err)
			_, err = g.Discover(context.Background(), md, lifecycle.DiscoverOptions{InstanceID: "i-1"})
			require.ErrorIs(t, err, lifecycle.ErrNotInGroup)
			assert.Zero(t, e.asg.Calls(lifecycletest.OpDescribeHooks), "no hook of another group looked up")
		})
	}
}

// An answer that puts the instance in two groups (an instance is in at most one) is not
// resolved by picking one: completing the hooks of the wrong group is never a guess.
func TestDiscoverWithoutMetadataRefusesAnInstanceInSeveralGroups(t *testing.T) {
	e := newEnv(t)
	e.asg.CreateGroup("other", lifecycletest.Hook{Name: "launch-other"})
	g, err := lifecycle.New(describeAnswers{e.asg, []types.AutoScalingInstanceDetails{entry("i-1", "other"), entry("i-1", "web")}},
		func(o *lifecycle.Options) { o.Clock = e.clock })
	require.NoError(t, err)
	tgt, err := g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1"})
	require.Error(t, err, "i-1 named in two groups: discovered %+v", tgt)
	require.ErrorIs(t, err, lifecycle.ErrSeveralGroups)
	assert.Contains(t, err.Error(), "other, web", "names the groups")
	assert.Zero(t, e.asg.Calls(lifecycletest.OpDescribeHooks), "no hook of either group looked up")
}

// With -instance-id naming another instance than the one whose metadata answers, the
// metadata's aws:autoscaling:groupName tag is this instance's group, not the named one's:
// it must not be taken for the named instance (its hooks would be completed in the wrong
// group, or the gate would report "no active action" while the real one waits).
func TestDiscoverNeverTakesTheMetadataGroupTagForAnotherInstance(t *testing.T) {
	e := newEnv(t) // i-1 in "web"
	e.asg.CreateGroup("batch", lifecycletest.Hook{Name: "launch-batch"})
	e.asg.Launch("batch", "i-2")
	srv := imdstest.NewServer()
	defer srv.Close()
	srv.SetInstance("i-2", "us-east-1", "us-east-1a") // the gate runs on i-2, in "batch"
	srv.SetTags(map[string]string{"aws:autoscaling:groupName": "batch"})
	md, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL; o.Getenv = func(string) string { return "" } })
	require.NoError(t, err)
	tgt, err := e.gate().Discover(context.Background(), md, lifecycle.DiscoverOptions{InstanceID: "i-1"})
	require.NoError(t, err)
	assert.Equal(t, "i-1", tgt.InstanceID)
	assert.Equal(t, "web", tgt.Group, "i-1 is in web; batch is the group of the instance the metadata belongs to")
	assert.Equal(t, 1, e.asg.Calls(lifecycletest.OpDescribeInstance))

	// The host's own id given explicitly: its metadata tag is its group, no Auto Scaling call.
	tgt, err = e.gate().Discover(context.Background(), md, lifecycle.DiscoverOptions{InstanceID: "i-2"})
	require.NoError(t, err)
	assert.Equal(t, "batch", tgt.Group)
	assert.Equal(t, 1, e.asg.Calls(lifecycletest.OpDescribeInstance), "the tag was read for the host itself")
}
