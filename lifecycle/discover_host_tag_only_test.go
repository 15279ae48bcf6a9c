package lifecycle_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// With an instance id given, the metadata's group tag is the host's: when metadata does not
// say which instance the host is (its instance-id can't be read, or is empty), the tag is
// not known to be the given instance's, so Auto Scaling is asked.
func TestDiscoverNeverTakesTheMetadataGroupTagWhenTheHostIsUnknown(t *testing.T) {
	for name, status := range map[string]int{"instance-id not found": 404, "instance-id empty": 200} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t) // i-1 in "web"
			e.asg.CreateGroup("batch", lifecycletest.Hook{Name: "launch-batch"})
			srv := imdstest.NewServer()
			defer srv.Close()
			srv.SetInstance("i-2", "us-east-1", "us-east-1a")
			srv.SetTags(map[string]string{"aws:autoscaling:groupName": "batch"})
			srv.SetBody("/latest/meta-data/instance-id", status, "")
			md, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL; o.Getenv = func(string) string { return "" } })
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			tgt, err := e.gate().Discover(ctx, md, lifecycle.DiscoverOptions{InstanceID: "i-1"})
			t.Logf("target %+v err %v", tgt, err)
			require.NoError(t, err)
			assert.Equal(t, "web", tgt.Group, "batch is the tag of a host not known to be i-1")
		})
	}
}

// An entry for the instance that names no group (nil, empty, blank) is no group: never a
// target in group "", ErrNotInGroup (no hooks looked up).
func TestDiscoverNeverTakesAnEntryWithoutAGroup(t *testing.T) {
	discoverEntryWithGroup(t, map[string]*string{"nil": nil, "empty": aws.String("")})
}

// A group name of blanks only names no group either: ErrNotInGroup, never a
// DescribeLifecycleHooks call for group " ".
func TestDiscoverNeverTakesAnEntryWithABlankGroup(t *testing.T) {
	discoverEntryWithGroup(t, map[string]*string{"blank": aws.String(" "), "tab": aws.String("\t")})
}

func discoverEntryWithGroup(t *testing.T, groups map[string]*string) {
	for name, group := range groups {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			en := entry("i-1", "web")
			en.AutoScalingGroupName = group
			g, err := lifecycle.New(describeAnswers{e.asg, []types.AutoScalingInstanceDetails{en}}, func(o *lifecycle.Options) { o.Clock = e.clock })
			require.NoError(t, err)
			tgt, err := g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1"})
			t.Logf("target %+v err %v", tgt, err)
			require.ErrorIs(t, err, lifecycle.ErrNotInGroup)
			assert.Zero(t, e.asg.Calls(lifecycletest.OpDescribeHooks))
		})
	}
}

// Two entries whose group names differ only in case are two groups (names are
// case-sensitive): ErrSeveralGroups. The same group listed twice is one group.
func TestDiscoverGroupsThatDifferOnlyInCaseAreSeveral(t *testing.T) {
	e := newEnv(t)
	g, err := lifecycle.New(describeAnswers{e.asg, []types.AutoScalingInstanceDetails{entry("i-1", "web"), entry("i-1", strings.ToUpper("web"))}},
		func(o *lifecycle.Options) { o.Clock = e.clock })
	require.NoError(t, err)
	_, err = g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1"})
	require.ErrorIs(t, err, lifecycle.ErrSeveralGroups)

	g, err = lifecycle.New(describeAnswers{e.asg, []types.AutoScalingInstanceDetails{entry("i-1", "web"), entry("i-1", "web")}},
		func(o *lifecycle.Options) { o.Clock = e.clock })
	require.NoError(t, err)
	tgt, err := g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1"})
	require.NoError(t, err)
	assert.Equal(t, "web", tgt.Group)
}
