// Package draintest is a stateful fake of the ECS calls package drain uses: clusters,
// container instances with status and EC2 instance ids, REPLICA and DAEMON services,
// standalone tasks, and tasks that walk RUNNING -> DEACTIVATING -> STOPPING ->
// DEPROVISIONING -> STOPPED over fake time once their instance drains (replica tasks first,
// daemon tasks after them; standalone tasks only when stopped with StopTask), with
// pagination, throttling injection, call counting, and an ECS that ignores
// ListContainerInstances' filter (IgnoreFilter, as moto 5.2.1 does) or lists one EC2
// instance twice (SetAgentConnected for the stale registration).
package draintest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

var (
	_ drain.ECSAPI = (*ECS)(nil)
)

// APIError builds the error ECS answers with code (ServerException is a server fault, so
// the SDK retries it, as it retries ThrottlingException), for Fail.
func APIError(code, message string) error {
	if code == "ClusterNotFoundException" {
		return &types.ClusterNotFoundException{Message: aws.String(message)}
	}
	return fakeapi.Error(code, message, "ServerException")
}

// Operation names for Fail and Calls.
const (
	OpListContainerInstances     = "ListContainerInstances"
	OpDescribeContainerInstances = "DescribeContainerInstances"
	OpUpdateState                = "UpdateContainerInstancesState"
	OpListTasks                  = "ListTasks"
	OpDescribeTasks              = "DescribeTasks"
	OpDescribeServices           = "DescribeServices"
	OpStopTask                   = "StopTask"
)

// stopping phases, each lasting Phase.
var phases = []string{"DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"}

type task struct {
	arn, cluster, instance, group string
	daemon                        bool
	delay                         time.Duration // after the drain starts, before it begins stopping
	stopFrom                      time.Time     // zero: not stopping
}

type containerInstance struct {
	arn, cluster, ec2ID, status string
	disconnected                bool // agentConnected false
	drainedAt                   time.Time
}

// ECS is the fake. It is safe for concurrent use. Its embedded Script gives the fault API
// every fake of the module has: Fail(op, err, times), Calls(op), fakeapi.Inputs (the typed *Input of
// each call) and Total().
type ECS struct {
	fakeapi.Script
	clock *clocktest.Clock
	// Phase is how long each stopping phase lasts. Default: 10 s.
	Phase time.Duration
	// PageSize of ListTasks and ListContainerInstances. Default: 100.
	PageSize int

	mu           sync.Mutex
	ignoreFilter bool
	clusters     map[string]bool
	instances    map[string]*containerInstance // by ARN
	services     map[string]map[string]bool    // cluster -> service -> daemon
	tasks        map[string]*task
	seq          int
}

// New returns an empty fake on clock (nil: a new one).
func New(clock *clocktest.Clock) *ECS {
	if clock == nil {
		clock = clocktest.New()
	}
	f := &ECS{clock: clock, Phase: 10 * time.Second, PageSize: 100}
	f.Reset()
	return f
}

// Reset removes every cluster, instance, service, task, fault and recorded call.
func (f *ECS) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Script.Reset()
	f.clusters, f.instances = map[string]bool{}, map[string]*containerInstance{}
	f.services, f.tasks, f.seq = map[string]map[string]bool{}, map[string]*task{}, 0
	f.ignoreFilter = false
}

// IgnoreFilter is fault injection: while on, ListContainerInstances answers every container
// instance of the cluster whatever its filter says, as moto 5.2.1 does. Reset turns it off.
func (f *ECS) IgnoreFilter(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ignoreFilter = on
}

// SetAgentConnected sets a container instance's agentConnected (true when added). ECS can
// list two container instances on one EC2 instance (an agent that lost its state registers
// again); the stale one's agent is disconnected.
func (f *ECS) SetAgentConnected(arn string, connected bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ci := f.instances[arn]; ci != nil {
		ci.disconnected = !connected
	}
}

// Clock returns the fake's clock.
func (f *ECS) Clock() *clocktest.Clock { return f.clock }

// CreateCluster creates a cluster.
func (f *ECS) CreateCluster(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clusters[name] = true
	f.services[name] = map[string]bool{}
}

// AddInstance registers a container instance for an EC2 instance and returns its ARN.
func (f *ECS) AddInstance(cluster, ec2ID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	arn := fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:container-instance/%s/%032x", cluster, f.seq)
	f.instances[arn] = &containerInstance{arn: arn, cluster: cluster, ec2ID: ec2ID, status: "ACTIVE"}
	return arn
}

// SetInstanceStatus sets a container instance's status (ACTIVE, DRAINING, INACTIVE, ...), as
// someone else draining it, or its termination, would.
func (f *ECS) SetInstanceStatus(arn, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ci := f.instances[arn]; ci != nil {
		ci.status = status
		if status == "DRAINING" && ci.drainedAt.IsZero() {
			ci.drainedAt = f.clock.Now()
		}
	}
}

// RemoveInstance deregisters a container instance entirely, as its termination does:
// DescribeContainerInstances then reports it MISSING and its tasks are STOPPED.
func (f *ECS) RemoveInstance(arn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.instances, arn)
	for _, t := range f.tasks {
		if t.instance == arn {
			t.stopFrom = f.clock.Now().Add(-time.Duration(len(phases)) * f.Phase)
		}
	}
}

// AddService creates a REPLICA (daemon false) or DAEMON service.
func (f *ECS) AddService(cluster, name string, daemon bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services[cluster][name] = daemon
}

// RunTask starts a task on a container instance: of service (group "service:NAME") or, with
// service "", a standalone task. delay is how long after the drain starts it begins stopping.
// It returns the task ARN.
func (f *ECS) RunTask(instanceARN, service string, delay time.Duration) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ci := f.instances[instanceARN]
	f.seq++
	arn := fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task/%s/%032x", ci.cluster, f.seq)
	t := &task{arn: arn, cluster: ci.cluster, instance: instanceARN, delay: delay, group: "family:batch-job"}
	if service != "" {
		t.group = "service:" + service
		t.daemon = f.services[ci.cluster][service]
	}
	f.tasks[arn] = t
	return arn
}

// status computes a task's lastStatus and desiredStatus now. Needs f.mu.
func (f *ECS) status(t *task) (last, desired string) {
	now := f.clock.Now()
	ci := f.instances[t.instance]
	if t.stopFrom.IsZero() && ci != nil && !ci.drainedAt.IsZero() && !t.daemon && strings.HasPrefix(t.group, "service:") {
		t.stopFrom = ci.drainedAt.Add(t.delay)
	}
	if t.stopFrom.IsZero() && t.daemon && ci != nil && !ci.drainedAt.IsZero() && f.othersStopped(t) {
		t.stopFrom = now
	}
	if t.stopFrom.IsZero() || now.Before(t.stopFrom) {
		return "RUNNING", "RUNNING"
	}
	i := min(int(now.Sub(t.stopFrom)/f.Phase), len(phases)-1)
	return phases[i], "STOPPED"
}

// othersStopped: every non-daemon service task on the instance has stopped. Needs f.mu.
func (f *ECS) othersStopped(d *task) bool {
	for _, t := range f.tasks {
		if t.instance == d.instance && !t.daemon && strings.HasPrefix(t.group, "service:") {
			if last, _ := f.status(t); last != "STOPPED" {
				return false
			}
		}
	}
	return true
}

// TaskStatus returns a task's lastStatus now.
func (f *ECS) TaskStatus(arn string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	last, _ := f.status(f.tasks[arn])
	return last
}

// InstanceStatus returns a container instance's status.
func (f *ECS) InstanceStatus(arn string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ci := f.instances[arn]; ci != nil {
		return ci.status
	}
	return ""
}

func (f *ECS) enter(ctx context.Context, op string, input any, cluster *string) error {
	if err := fakeapi.Call(ctx, &f.Script, op, input); err != nil {
		return err
	}
	if cluster != nil && !f.clusters[aws.ToString(cluster)] {
		return &types.ClusterNotFoundException{Message: aws.String("Cluster not found.")}
	}
	return nil
}

func page[T any](items []T, token *string, size int) ([]T, *string) {
	start := 0
	if token != nil {
		start, _ = strconv.Atoi(aws.ToString(token))
	}
	end := min(start+size, len(items))
	if start > len(items) {
		start = len(items)
	}
	var next *string
	if end < len(items) {
		next = aws.String(strconv.Itoa(end))
	}
	return items[start:end], next
}

// ListContainerInstances supports exactly the filter "ec2InstanceId == i-..." (and none),
// unless told to IgnoreFilter.
func (f *ECS) ListContainerInstances(ctx context.Context, in *ecs.ListContainerInstancesInput, _ ...func(*ecs.Options)) (*ecs.ListContainerInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, OpListContainerInstances, in, in.Cluster); err != nil {
		return nil, err
	}
	want := ""
	if fl := aws.ToString(in.Filter); fl != "" {
		id, ok := strings.CutPrefix(fl, "ec2InstanceId == ")
		if !ok {
			return nil, &types.InvalidParameterException{Message: aws.String("draintest supports only the filter ec2InstanceId == i-...")}
		}
		want = strings.TrimSpace(id)
	}
	if f.ignoreFilter {
		want = ""
	}
	var arns []string
	for _, ci := range f.instances {
		if ci.cluster == aws.ToString(in.Cluster) && (want == "" || ci.ec2ID == want) && ci.status != "INACTIVE" {
			arns = append(arns, ci.arn)
		}
	}
	sort.Strings(arns)
	items, next := page(arns, in.NextToken, f.PageSize)
	return &ecs.ListContainerInstancesOutput{ContainerInstanceArns: items, NextToken: next}, nil
}

// DescribeContainerInstances describes up to 100 container instances.
func (f *ECS) DescribeContainerInstances(ctx context.Context, in *ecs.DescribeContainerInstancesInput, _ ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, OpDescribeContainerInstances, in, in.Cluster); err != nil {
		return nil, err
	}
	out := &ecs.DescribeContainerInstancesOutput{}
	for _, arn := range in.ContainerInstances {
		ci := f.instances[arn]
		if ci == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		running := 0
		for _, t := range f.tasks {
			if last, _ := f.status(t); t.instance == arn && last == "RUNNING" {
				running++
			}
		}
		out.ContainerInstances = append(out.ContainerInstances, types.ContainerInstance{ContainerInstanceArn: aws.String(arn),
			Ec2InstanceId: aws.String(ci.ec2ID), Status: aws.String(ci.status), RunningTasksCount: int32(running), AgentConnected: !ci.disconnected})
	}
	return out, nil
}

// UpdateContainerInstancesState sets DRAINING or ACTIVE.
func (f *ECS) UpdateContainerInstancesState(ctx context.Context, in *ecs.UpdateContainerInstancesStateInput, _ ...func(*ecs.Options)) (*ecs.UpdateContainerInstancesStateOutput, error) {
	f.mu.Lock()
	if err := f.enter(ctx, OpUpdateState, in, in.Cluster); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	status := string(in.Status)
	f.mu.Unlock()
	if status != "DRAINING" && status != "ACTIVE" {
		return nil, &types.InvalidParameterException{Message: aws.String("status must be ACTIVE or DRAINING")}
	}
	for _, arn := range in.ContainerInstances {
		f.SetInstanceStatus(arn, status)
	}
	return &ecs.UpdateContainerInstancesStateOutput{}, nil
}

// ListTasks lists a container instance's tasks with one desired status (RUNNING by
// default, as ECS does), in pages.
func (f *ECS) ListTasks(ctx context.Context, in *ecs.ListTasksInput, _ ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, OpListTasks, in, in.Cluster); err != nil {
		return nil, err
	}
	want := string(in.DesiredStatus)
	if want == "" {
		want = "RUNNING"
	}
	var arns []string
	for _, t := range f.tasks {
		if t.cluster != aws.ToString(in.Cluster) || (in.ContainerInstance != nil && t.instance != aws.ToString(in.ContainerInstance)) {
			continue
		}
		if _, desired := f.status(t); desired == want {
			arns = append(arns, t.arn)
		}
	}
	sort.Strings(arns)
	items, next := page(arns, in.NextToken, f.PageSize)
	return &ecs.ListTasksOutput{TaskArns: items, NextToken: next}, nil
}

// DescribeTasks describes up to 100 tasks; unknown ones are MISSING failures.
func (f *ECS) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, _ ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, OpDescribeTasks, in, in.Cluster); err != nil {
		return nil, err
	}
	if len(in.Tasks) > 100 {
		return nil, &types.InvalidParameterException{Message: aws.String("at most 100 tasks")}
	}
	out := &ecs.DescribeTasksOutput{}
	for _, arn := range in.Tasks {
		t := f.tasks[arn]
		if t == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		last, desired := f.status(t)
		out.Tasks = append(out.Tasks, types.Task{TaskArn: aws.String(arn), LastStatus: aws.String(last), DesiredStatus: aws.String(desired),
			Group: aws.String(t.group), ContainerInstanceArn: aws.String(t.instance), ClusterArn: aws.String(t.cluster)})
	}
	return out, nil
}

// DescribeServices describes up to 10 services.
func (f *ECS) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, OpDescribeServices, in, in.Cluster); err != nil {
		return nil, err
	}
	out := &ecs.DescribeServicesOutput{}
	for _, name := range in.Services {
		daemon, ok := f.services[aws.ToString(in.Cluster)][name]
		if !ok {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(name), Reason: aws.String("MISSING")})
			continue
		}
		strategy := types.SchedulingStrategyReplica
		if daemon {
			strategy = types.SchedulingStrategyDaemon
		}
		out.Services = append(out.Services, types.Service{ServiceName: aws.String(name), SchedulingStrategy: strategy})
	}
	return out, nil
}

// StopTask starts stopping a task now.
func (f *ECS) StopTask(ctx context.Context, in *ecs.StopTaskInput, _ ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, OpStopTask, in, in.Cluster); err != nil {
		return nil, err
	}
	t := f.tasks[aws.ToString(in.Task)]
	if t == nil {
		return nil, &types.InvalidParameterException{Message: aws.String("The referenced task was not found.")}
	}
	if t.stopFrom.IsZero() {
		t.stopFrom = f.clock.Now()
	}
	return &ecs.StopTaskOutput{Task: &types.Task{TaskArn: in.Task, DesiredStatus: aws.String("STOPPED")}}, nil
}
