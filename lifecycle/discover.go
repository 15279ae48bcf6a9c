package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/shipshape-dev/shipshape/imds"
)

// Lifecycle transitions of hooks.
const (
	LaunchTransition    = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TerminateTransition = "autoscaling:EC2_INSTANCE_TERMINATING"
)

// groupNameTag is the tag Auto Scaling puts on its instances.
const groupNameTag = "aws:autoscaling:groupName"

// Hook is a launch lifecycle hook as the gate needs it.
type Hook struct {
	Name             string
	HeartbeatTimeout time.Duration
	// GlobalTimeout is how long the action may last in all, heartbeats included:
	// min(48 h, 100 x HeartbeatTimeout).
	GlobalTimeout time.Duration
	DefaultResult Result
}

// Target is the lifecycle action(s) one launch waits in.
type Target struct {
	Group      string
	InstanceID string
	Hooks      []Hook
	// Token is the LifecycleActionToken when known (from the lifecycle notification); with
	// several hooks it is not used, since each action has its own.
	Token string
}

// DiscoverOptions narrow discovery.
type DiscoverOptions struct {
	// InstanceID skips the IMDS lookup.
	InstanceID string
	// Group skips the group lookup.
	Group string
	// Hooks names the hooks to complete; default: every hook of the group for Transition.
	Hooks []string
	// Transition picks the hooks: LaunchTransition (the default) or TerminateTransition (a
	// drain completes the termination hooks).
	Transition string
}

// Discover finds what a launching instance waits in, with no CloudFormation lookup: the
// instance id from IMDS; the group from the instance tag aws:autoscaling:groupName when tags
// are enabled in metadata, else (tags not enabled, no such tag, or metadata disabled,
// unreachable or failing: md may be nil when the instance id is given) from one
// DescribeAutoScalingInstances call; the launch hooks and their timeouts from
// DescribeLifecycleHooks. The metadata's tag is this host's group: with an InstanceID given,
// it is read only when metadata says the host is that instance; otherwise Auto Scaling is
// asked. An instance Auto Scaling knows in no group is ErrNotInGroup, one it lists in
// several groups ErrSeveralGroups (naming them).
func (g *Gate) Discover(ctx context.Context, md *imds.Client, o DiscoverOptions) (Target, error) {
	t := Target{Group: o.Group, InstanceID: o.InstanceID}
	if o.Transition != "" && o.Transition != LaunchTransition && o.Transition != TerminateTransition {
		return t, fmt.Errorf("%w: transition %q is neither %s nor %s", ErrInvalidInput, o.Transition, LaunchTransition, TerminateTransition)
	}
	var err error
	if t.InstanceID == "" {
		if md == nil {
			return t, fmt.Errorf("%w: no instance id given and no IMDS client to read it", ErrInvalidInput)
		}
		if t.InstanceID, err = md.InstanceID(ctx); err != nil {
			return t, fmt.Errorf("lifecycle: reading the instance id from IMDS: %w", err)
		}
	} else if t.Group == "" && md != nil && !g.isHost(ctx, md, t.InstanceID) {
		md = nil // the metadata's group tag is another instance's
	}
	if t.Group == "" && md != nil {
		name, found, err := md.Tag(ctx, groupNameTag)
		switch {
		case err == nil && found:
			t.Group = name
		case err != nil && !errors.Is(err, imds.ErrTagsNotEnabled):
			// Metadata disabled, unreachable or failing (the instance id may have been given):
			// Auto Scaling knows the group as well.
			g.log.Warn("lifecycle: could not read the group tag from instance metadata; asking Auto Scaling", "tag", groupNameTag, "error", err.Error())
		}
	}
	if t.Group == "" {
		out, err := g.asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{t.InstanceID}}, g.callOpts...)
		if err != nil {
			return t, fmt.Errorf("lifecycle: DescribeAutoScalingInstances for %s: %w", t.InstanceID, err)
		}
		var groups []string
		for _, in := range out.AutoScalingInstances {
			if name := aws.ToString(in.AutoScalingGroupName); aws.ToString(in.InstanceId) == t.InstanceID && strings.TrimSpace(name) != "" && !slices.Contains(groups, name) {
				groups = append(groups, name)
			}
		}
		switch len(groups) {
		case 0:
			return t, fmt.Errorf("%w: Auto Scaling knows no instance %s in any group of this region (DescribeAutoScalingInstances); "+
				"check the instance id and the region, or name the group", ErrNotInGroup, t.InstanceID)
		case 1:
			t.Group = groups[0]
		default:
			return t, fmt.Errorf("%w: DescribeAutoScalingInstances lists %s in groups %s; an instance is in one group at most: "+
				"nothing was completed; name the group", ErrSeveralGroups, t.InstanceID, strings.Join(groups, ", "))
		}
	}
	in := &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String(t.Group), LifecycleHookNames: o.Hooks}
	hooks, err := g.asg.DescribeLifecycleHooks(ctx, in, g.callOpts...)
	if err != nil {
		return t, fmt.Errorf("lifecycle: DescribeLifecycleHooks of group %s: %w", t.Group, err)
	}
	transition := o.Transition
	if transition == "" {
		transition = LaunchTransition
	}
	for _, h := range hooks.LifecycleHooks {
		if aws.ToString(h.LifecycleTransition) != transition {
			continue
		}
		hb := time.Duration(aws.ToInt32(h.HeartbeatTimeout)) * time.Second
		if hb <= 0 {
			hb = time.Hour
		}
		global := time.Duration(aws.ToInt32(h.GlobalTimeout)) * time.Second
		if global <= 0 {
			global = min(48*time.Hour, 100*hb)
		}
		t.Hooks = append(t.Hooks, Hook{Name: aws.ToString(h.LifecycleHookName), HeartbeatTimeout: hb, GlobalTimeout: global,
			DefaultResult: Result(aws.ToString(h.DefaultResult))})
	}
	if len(t.Hooks) == 0 {
		which := "launch hook"
		if transition == TerminateTransition {
			which = "termination hook"
		}
		if len(o.Hooks) > 0 {
			which = fmt.Sprintf("%s named %v", which, o.Hooks)
		}
		return t, fmt.Errorf("%w: group %s has no %s (declare one in LifecycleHookSpecificationList)", ErrNoHook, t.Group, which)
	}
	return t, nil
}

// isHost reports whether instance metadata says this host is instanceID. When metadata can't
// say (disabled, unreachable, failing), the host is not taken to be it.
func (g *Gate) isHost(ctx context.Context, md *imds.Client, instanceID string) bool {
	host, err := md.InstanceID(ctx)
	switch {
	case err != nil:
		g.log.Debug("lifecycle: could not read this host's instance id from metadata; asking Auto Scaling for the group", "error", err.Error())
		return false
	case host != instanceID:
		g.log.Debug("lifecycle: the instance is not this host; asking Auto Scaling for its group", "instance", instanceID, "host", host)
		return false
	}
	return true
}
