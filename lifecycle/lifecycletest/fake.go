// Package lifecycletest has a stateful fake of EC2 Auto Scaling's lifecycle hooks, on a
// clocktest clock, for tests of code that uses lifecycle: groups, instances, hooks with
// HeartbeatTimeout, GlobalTimeout and DefaultResult, actions in Pending:Wait that complete
// with CONTINUE or ABANDON, heartbeats that extend the timeout, expiry to the default result,
// the "No active Lifecycle Action found" ValidationError, throttling, and call counts.
package lifecycletest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/smithy-go"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/lifecycle"
)

var (
	_ lifecycle.AutoScalingAPI = (*AutoScaling)(nil)
)

// Operation names for Fail and Calls.
const (
	OpComplete         = "CompleteLifecycleAction"
	OpHeartbeat        = "RecordLifecycleActionHeartbeat"
	OpDescribeHooks    = "DescribeLifecycleHooks"
	OpDescribeInstance = "DescribeAutoScalingInstances"
	OpTerminate        = "TerminateInstanceInAutoScalingGroup"
	OpProtect          = "SetInstanceProtection"
)

// Hook configures a lifecycle hook of a fake group.
type Hook struct {
	Name             string
	Transition       string           // default: autoscaling:EC2_INSTANCE_LAUNCHING
	HeartbeatTimeout time.Duration    // default: 1 h (30 s to 2 h allowed)
	DefaultResult    lifecycle.Result // default: ABANDON
}

type action struct {
	hook     Hook
	token    string
	started  time.Time
	deadline time.Time // heartbeat deadline
	global   time.Time
	result   lifecycle.Result // "" while pending
	expired  bool
}

type instance struct {
	id, group string
	state     string
	protected bool               // ProtectedFromScaleIn
	actions   map[string]*action // by hook name, of the transition in progress
}

// AutoScaling is an in-memory Auto Scaling. It is safe for concurrent use. Its embedded
// Script gives the fault API every fake of the module has: Fail(op, err, times), Calls(op),
// fakeapi.Inputs (the typed *Input of each call) and Total().
type AutoScaling struct {
	fakeapi.Script
	clock *clocktest.Clock

	mu        sync.Mutex
	groups    map[string][]Hook
	desired   map[string]int
	instances map[string]*instance
	seq       int
}

// New returns an empty fake on clock (nil: a new clocktest.New()).
func New(clock *clocktest.Clock) *AutoScaling {
	if clock == nil {
		clock = clocktest.New()
	}
	f := &AutoScaling{clock: clock}
	f.Reset()
	return f
}

// Reset removes every group, instance, fault and recorded call.
func (f *AutoScaling) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Script.Reset()
	f.groups, f.desired, f.instances, f.seq = map[string][]Hook{}, map[string]int{}, map[string]*instance{}, 0
}

// Clock returns the fake's clock.
func (f *AutoScaling) Clock() *clocktest.Clock { return f.clock }

// APIError builds the error Auto Scaling answers with code (Throttling, ServiceUnavailable,
// InternalFailure are server faults, so the SDK retries them), for Fail.
func APIError(code, message string) error {
	return fakeapi.Error(code, message, "ServiceUnavailable", "InternalFailure")
}

// CreateGroup creates a group with hooks.
func (f *AutoScaling) CreateGroup(name string, hooks ...Hook) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range hooks {
		if hooks[i].Transition == "" {
			hooks[i].Transition = lifecycle.LaunchTransition
		}
		if hooks[i].HeartbeatTimeout == 0 {
			hooks[i].HeartbeatTimeout = time.Hour
		}
		if hooks[i].DefaultResult == "" {
			hooks[i].DefaultResult = lifecycle.Abandon
		}
	}
	f.groups[name] = hooks
}

// Launch starts an instance in group: with launch hooks it waits in Pending:Wait, one action
// per launch hook; otherwise it goes InService. It returns the action tokens by hook name.
// The group's desired capacity grows by one.
func (f *AutoScaling) Launch(group, instanceID string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := &instance{id: instanceID, group: group, state: "InService", actions: map[string]*action{}}
	f.instances[instanceID] = in
	f.desired[group]++
	return f.open(in, lifecycle.LaunchTransition, "Pending:Wait")
}

// ScaleIn starts the termination of an InService instance, as a scale-in (or a Spot
// interruption of a group's instance) would: with termination hooks it waits in
// Terminating:Wait, one action per termination hook, until every action is decided (either
// result lets it go on to Terminated); otherwise it is Terminated at once. The group's
// desired capacity shrinks by one. A protected instance (SetInstanceProtection) is never
// chosen for scale-in: ScaleIn of one returns nil and changes nothing.
func (f *AutoScaling) ScaleIn(group, instanceID string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.instances[instanceID]
	if in == nil || in.group != group || in.protected {
		return nil
	}
	f.settle(in)
	if in.state != "InService" {
		return nil
	}
	f.desired[group]--
	return f.terminate(in)
}

// terminate opens the termination actions. Needs f.mu.
func (f *AutoScaling) terminate(in *instance) map[string]string {
	in.actions = map[string]*action{}
	tokens := f.open(in, lifecycle.TerminateTransition, "Terminating:Wait")
	if len(tokens) == 0 {
		in.state = "Terminated"
	}
	return tokens
}

// open starts one action per hook of transition and moves the instance to waitState when
// there is any. Needs f.mu.
func (f *AutoScaling) open(in *instance, transition, waitState string) map[string]string {
	tokens := map[string]string{}
	now := f.clock.Now()
	for _, h := range f.groups[in.group] {
		if h.Transition != transition {
			continue
		}
		f.seq++
		a := &action{hook: h, token: fmt.Sprintf("%08d-token", f.seq), started: now, deadline: now.Add(h.HeartbeatTimeout),
			global: now.Add(min(48*time.Hour, 100*h.HeartbeatTimeout))}
		in.actions[h.Name] = a
		tokens[h.Name] = a.token
		in.state = waitState
	}
	return tokens
}

// Desired returns the group's desired capacity as the fake tracks it.
func (f *AutoScaling) Desired(group string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.desired[group]
}

// Protected reports whether the instance is protected from scale-in.
func (f *AutoScaling) Protected(instanceID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.instances[instanceID]
	return in != nil && in.protected
}

// settle applies expiry: actions past their heartbeat deadline or global timeout complete
// with the hook's default result. Needs f.mu.
func (f *AutoScaling) settle(in *instance) {
	now := f.clock.Now()
	for _, a := range in.actions {
		if a.result == "" && (now.After(a.deadline) || now.After(a.global)) {
			a.result, a.expired = a.hook.DefaultResult, true
		}
	}
	f.updateState(in)
}

// updateState moves the instance on once its actions are decided. Needs f.mu.
func (f *AutoScaling) updateState(in *instance) {
	switch in.state {
	case "Pending:Wait":
		pending := false
		for _, a := range in.actions {
			switch a.result {
			case lifecycle.Abandon:
				in.state = "Terminating"
				for _, other := range in.actions {
					if other.result == "" {
						other.result = lifecycle.Abandon
					}
				}
				return
			case "":
				pending = true
			}
		}
		if !pending {
			in.state = "InService"
		}
	case "Terminating:Wait":
		for _, a := range in.actions {
			if a.result == "" {
				return
			}
		}
		in.state = "Terminated" // CONTINUE and ABANDON both let a termination go on
	}
}

// State returns the instance's lifecycle state (Pending:Wait, InService, Terminating,
// Terminating:Wait, Terminated), "" if unknown.
func (f *AutoScaling) State(instanceID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.instances[instanceID]
	if in == nil {
		return ""
	}
	f.settle(in)
	return in.state
}

// Result returns how the action of hook for the instance ended ("" while pending) and
// whether it expired to the default result.
func (f *AutoScaling) Result(instanceID, hook string) (result lifecycle.Result, expired bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.instances[instanceID]
	if in == nil || in.actions[hook] == nil {
		return "", false
	}
	f.settle(in)
	return in.actions[hook].result, in.actions[hook].expired
}

func validation(format string, args ...any) error {
	return &smithy.GenericAPIError{Code: "ValidationError", Message: fmt.Sprintf(format, args...), Fault: smithy.FaultClient}
}

// findAction applies CompleteLifecycleAction's lookup rules. Needs f.mu.
func (f *AutoScaling) findAction(group, hook, instanceID, token string) (*instance, *action, error) {
	hooks, ok := f.groups[group]
	if !ok {
		return nil, nil, validation("Group %s not found", group)
	}
	found := false
	for _, h := range hooks {
		found = found || h.Name == hook
	}
	if !found {
		return nil, nil, validation("No Lifecycle Hook found with name %s for group %s", hook, group)
	}
	if instanceID == "" && token == "" {
		return nil, nil, validation("Either LifecycleActionToken or InstanceId must be specified")
	}
	for _, in := range f.instances {
		if in.group != group || (instanceID != "" && in.id != instanceID) {
			continue
		}
		f.settle(in)
		a := in.actions[hook]
		if a != nil && a.result == "" && (token == "" || a.token == token) {
			return in, a, nil
		}
	}
	if instanceID != "" {
		return nil, nil, validation("No active Lifecycle Action found with instance ID %s", instanceID)
	}
	return nil, nil, validation("No active Lifecycle Action found with token %s", token)
}

// CompleteLifecycleAction completes a pending action with CONTINUE or ABANDON.
func (f *AutoScaling) CompleteLifecycleAction(ctx context.Context, in *autoscaling.CompleteLifecycleActionInput, _ ...func(*autoscaling.Options)) (*autoscaling.CompleteLifecycleActionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpComplete, in); err != nil {
		return nil, err
	}
	result := lifecycle.Result(aws.ToString(in.LifecycleActionResult))
	if result != lifecycle.Continue && result != lifecycle.Abandon {
		return nil, validation("LifecycleActionResult must be CONTINUE or ABANDON, not %q", result)
	}
	inst, a, err := f.findAction(aws.ToString(in.AutoScalingGroupName), aws.ToString(in.LifecycleHookName), aws.ToString(in.InstanceId), aws.ToString(in.LifecycleActionToken))
	if err != nil {
		return nil, err
	}
	a.result = result
	f.updateState(inst)
	return &autoscaling.CompleteLifecycleActionOutput{}, nil
}

// RecordLifecycleActionHeartbeat pushes the action's heartbeat deadline HeartbeatTimeout
// further, never past its global timeout.
func (f *AutoScaling) RecordLifecycleActionHeartbeat(ctx context.Context, in *autoscaling.RecordLifecycleActionHeartbeatInput, _ ...func(*autoscaling.Options)) (*autoscaling.RecordLifecycleActionHeartbeatOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpHeartbeat, in); err != nil {
		return nil, err
	}
	_, a, err := f.findAction(aws.ToString(in.AutoScalingGroupName), aws.ToString(in.LifecycleHookName), aws.ToString(in.InstanceId), aws.ToString(in.LifecycleActionToken))
	if err != nil {
		return nil, err
	}
	a.deadline = f.clock.Now().Add(a.hook.HeartbeatTimeout)
	return &autoscaling.RecordLifecycleActionHeartbeatOutput{}, nil
}

// DescribeLifecycleHooks lists a group's hooks (all, or the named ones).
func (f *AutoScaling) DescribeLifecycleHooks(ctx context.Context, in *autoscaling.DescribeLifecycleHooksInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeLifecycleHooksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpDescribeHooks, in); err != nil {
		return nil, err
	}
	group := aws.ToString(in.AutoScalingGroupName)
	hooks, ok := f.groups[group]
	if !ok {
		return nil, validation("Group %s not found", group)
	}
	out := &autoscaling.DescribeLifecycleHooksOutput{LifecycleHooks: []types.LifecycleHook{}}
	for _, h := range hooks {
		if len(in.LifecycleHookNames) > 0 && !contains(in.LifecycleHookNames, h.Name) {
			continue
		}
		hb := int32(h.HeartbeatTimeout / time.Second)
		out.LifecycleHooks = append(out.LifecycleHooks, types.LifecycleHook{
			AutoScalingGroupName: aws.String(group), LifecycleHookName: aws.String(h.Name), LifecycleTransition: aws.String(h.Transition),
			HeartbeatTimeout: aws.Int32(hb), GlobalTimeout: aws.Int32(int32(min(48*time.Hour, 100*h.HeartbeatTimeout) / time.Second)),
			DefaultResult: aws.String(string(h.DefaultResult)),
		})
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// DescribeAutoScalingInstances describes the named instances that are in a group.
func (f *AutoScaling) DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpDescribeInstance, in); err != nil {
		return nil, err
	}
	out := &autoscaling.DescribeAutoScalingInstancesOutput{AutoScalingInstances: []types.AutoScalingInstanceDetails{}}
	for _, id := range in.InstanceIds {
		if inst := f.instances[id]; inst != nil {
			f.settle(inst)
			out.AutoScalingInstances = append(out.AutoScalingInstances, types.AutoScalingInstanceDetails{
				InstanceId: aws.String(id), AutoScalingGroupName: aws.String(inst.group), LifecycleState: aws.String(inst.state),
				HealthStatus: aws.String("HEALTHY"), AvailabilityZone: aws.String("us-east-1a"), ProtectedFromScaleIn: aws.Bool(inst.protected),
			})
		}
	}
	return out, nil
}

// TerminateInstanceInAutoScalingGroup terminates an instance of a group, as the API does:
// termination hooks run (Terminating:Wait) and, unless ShouldDecrementDesiredCapacity, the
// group launches a replacement (the desired capacity stays). Scale-in protection does not
// stop it. An instance that is not InService (already terminating, unknown) is a
// ValidationError.
func (f *AutoScaling) TerminateInstanceInAutoScalingGroup(ctx context.Context, in *autoscaling.TerminateInstanceInAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpTerminate, in); err != nil {
		return nil, err
	}
	if in.ShouldDecrementDesiredCapacity == nil {
		return nil, validation("ShouldDecrementDesiredCapacity is required")
	}
	inst := f.instances[aws.ToString(in.InstanceId)]
	if inst == nil {
		return nil, validation("Instance Id not found - No managed instance found for instance ID: %s", aws.ToString(in.InstanceId))
	}
	f.settle(inst)
	if inst.state != "InService" {
		return nil, validation("The instance %s is not in InService (it is %s).", inst.id, inst.state)
	}
	if aws.ToBool(in.ShouldDecrementDesiredCapacity) {
		f.desired[inst.group]--
	}
	f.terminate(inst)
	f.seq++
	return &autoscaling.TerminateInstanceInAutoScalingGroupOutput{Activity: &types.Activity{
		ActivityId: aws.String(fmt.Sprintf("%08d-activity", f.seq)), AutoScalingGroupName: aws.String(inst.group),
		Cause: aws.String("terminated by TerminateInstanceInAutoScalingGroup"), StatusCode: types.ScalingActivityStatusCodeInProgress,
		StartTime: aws.Time(f.clock.Now()), Description: aws.String("Terminating EC2 instance: " + inst.id)}}, nil
}

// SetInstanceProtection sets or clears scale-in protection of instances of a group.
func (f *AutoScaling) SetInstanceProtection(ctx context.Context, in *autoscaling.SetInstanceProtectionInput, _ ...func(*autoscaling.Options)) (*autoscaling.SetInstanceProtectionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpProtect, in); err != nil {
		return nil, err
	}
	group := aws.ToString(in.AutoScalingGroupName)
	if _, ok := f.groups[group]; !ok {
		return nil, validation("AutoScalingGroup name not found - AutoScalingGroup %s not found", group)
	}
	if in.ProtectedFromScaleIn == nil || len(in.InstanceIds) == 0 {
		return nil, validation("InstanceIds and ProtectedFromScaleIn are required")
	}
	for _, id := range in.InstanceIds {
		inst := f.instances[id]
		if inst == nil || inst.group != group {
			return nil, validation("The instance %s is not part of Auto Scaling group %s.", id, group)
		}
	}
	for _, id := range in.InstanceIds {
		f.instances[id].protected = aws.ToBool(in.ProtectedFromScaleIn)
	}
	return &autoscaling.SetInstanceProtectionOutput{}, nil
}
