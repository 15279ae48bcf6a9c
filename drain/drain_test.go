package drain_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// cluster is a fake ECS behind its wire server, used through the real SDK client (so the
// SDK's retryer, the only retry layer, takes part), and a fake Auto Scaling, on one fake
// clock.
type cluster struct {
	t      *testing.T
	ecs    *draintest.ECS
	srv    *draintest.WireServer
	client *ecs.Client
	asg    *lifecycletest.AutoScaling
	clock  *clocktest.Clock
	arn    string // container instance of i-1
}

// newCluster: cluster "prod" with i-1 (the one to drain) and i-2, i-3; group "ecs" with a
// termination hook (HeartbeatTimeout 300 s) and i-1 waiting in it.
func newCluster(t *testing.T) *cluster {
	clock := clocktest.New()
	c := &cluster{t: t, ecs: draintest.New(clock), asg: lifecycletest.New(clock), clock: clock}
	c.client, c.srv = wireClient(t, c.ecs)
	c.ecs.CreateCluster("prod")
	c.arn = c.ecs.AddInstance("prod", "i-00000001")
	c.ecs.AddInstance("prod", "i-00000002")
	c.ecs.AddInstance("prod", "i-00000003")
	c.ecs.AddService("prod", "web", false)
	c.ecs.AddService("prod", "log-agent", true)
	c.asg.CreateGroup("ecs", lifecycletest.Hook{Name: "drain", Transition: lifecycle.TerminateTransition, HeartbeatTimeout: 300 * time.Second, DefaultResult: lifecycle.Continue})
	return c
}

func (c *cluster) drainer(optFns ...func(*drain.Options)) *drain.Drainer {
	d, err := drain.New(c.client, append([]func(*drain.Options){func(o *drain.Options) { o.Clock = c.clock }}, optFns...)...)
	require.NoError(c.t, err)
	return d
}

func (c *cluster) instance(t *testing.T, d *drain.Drainer) drain.Instance {
	in, err := d.Find(context.Background(), "i-00000001", "prod")
	require.NoError(t, err)
	return in
}

// terminating puts i-1 in the termination hook (as a scale-in would) and returns the target.
func (c *cluster) terminating() *lifecycle.Target {
	c.asg.Launch("ecs", "i-00000001")
	c.asg.ScaleIn("ecs", "i-00000001") // the fake opens an action per termination hook of the group
	return &lifecycle.Target{Group: "ecs", InstanceID: "i-00000001", Hooks: []lifecycle.Hook{{Name: "drain", HeartbeatTimeout: 300 * time.Second, GlobalTimeout: 30000 * time.Second}}}
}

func TestFindIsOneFilteredCall(t *testing.T) {
	c := newCluster(t)
	for i := range 500 {
		c.ecs.AddInstance("prod", fmt.Sprintf("i-1%07x", i))
	}
	d := c.drainer()
	in := c.instance(t, d)
	assert.Equal(t, c.arn, in.ContainerInstanceARN)
	assert.Equal(t, 1, c.ecs.Total(), "one ListContainerInstances, whatever the cluster size")

	_, err := d.Find(context.Background(), "i-0000ffff", "prod")
	require.ErrorIs(t, err, drain.ErrNotInCluster)
	c.ecs.CreateCluster("other")
	other := c.ecs.AddInstance("other", "i-00000009")
	in, err = d.Find(context.Background(), "i-00000009", "prod", "other")
	require.NoError(t, err)
	assert.Equal(t, drain.Instance{Cluster: "other", ContainerInstanceARN: other, EC2InstanceID: "i-00000009"}, in)
	_, err = d.Find(context.Background(), "nonsense", "prod")
	require.ErrorIs(t, err, drain.ErrInvalidInput)
}

func TestDoneMeansEveryTaskStopped(t *testing.T) {
	c := newCluster(t)
	var tasks []string
	for i := range 3 {
		tasks = append(tasks, c.ecs.RunTask(c.arn, "web", time.Duration(i)*30*time.Second))
	}
	d := c.drainer()
	in := c.instance(t, d)
	st := &drain.State{}
	seen := map[string]bool{}
	for step := 0; step < 100; step++ {
		p, err := d.Step(context.Background(), in, st)
		require.NoError(t, err)
		for s := range p.ByStatus {
			seen[s] = true
		}
		if p.Done {
			for _, task := range tasks {
				assert.Equal(t, "STOPPED", c.ecs.TaskStatus(task), "done only when every task has stopped")
			}
			assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn))
			for _, s := range []string{"RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING"} {
				assert.True(t, seen[s], "a task in %s held the drain", s)
			}
			return
		}
		c.clock.Advance(p.Wait)
	}
	t.Fatal("never drained")
}

func TestAlreadyDrainingIsNotDoneWhileTasksRun(t *testing.T) {
	c := newCluster(t)
	task := c.ecs.RunTask(c.arn, "web", time.Minute)
	c.ecs.SetInstanceStatus(c.arn, "DRAINING") // someone started draining before us
	d := c.drainer()
	p, err := d.Step(context.Background(), c.instance(t, d), nil)
	require.NoError(t, err)
	assert.False(t, p.Done, "the known bug: completing at once because the instance was already DRAINING")
	assert.Equal(t, 1, p.ByStatus["RUNNING"])
	assert.Equal(t, 0, c.ecs.Calls(draintest.OpUpdateState), "no second DRAINING call")
	assert.Equal(t, "RUNNING", c.ecs.TaskStatus(task))
}

func TestStandaloneAndDaemonPolicies(t *testing.T) {
	cases := []struct {
		name       string
		standalone drain.Policy
		daemon     drain.Policy
		wantDone   bool
		wantStop   bool
	}{
		{"wait for standalone: never done", drain.Wait, drain.Ignore, false, false},
		{"stop standalone after the grace", drain.Stop, drain.Ignore, true, true},
		{"ignore standalone", drain.Ignore, drain.Ignore, true, false},
		{"wait for daemons too", drain.Ignore, drain.Wait, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			c.ecs.RunTask(c.arn, "web", 0)
			daemon := c.ecs.RunTask(c.arn, "log-agent", 0)
			job := c.ecs.RunTask(c.arn, "", 0)
			d := c.drainer(func(o *drain.Options) {
				o.Standalone, o.Daemon, o.StandaloneGrace = tc.standalone, tc.daemon, 2*time.Minute
			})
			in := c.instance(t, d)
			st := &drain.State{}
			var p drain.Progress
			var err error
			for range 60 { // 10 minutes of 10 s steps
				p, err = d.Step(context.Background(), in, st)
				require.NoError(t, err)
				if p.Done {
					break
				}
				c.clock.Advance(p.Wait)
			}
			assert.Equal(t, tc.wantDone, p.Done, p.String())
			if tc.wantStop {
				assert.Equal(t, 1, c.ecs.Calls(draintest.OpStopTask))
				assert.Equal(t, "STOPPED", c.ecs.TaskStatus(job))
			} else {
				assert.Equal(t, 0, c.ecs.Calls(draintest.OpStopTask))
			}
			if tc.daemon == drain.Wait && p.Done {
				assert.Equal(t, "STOPPED", c.ecs.TaskStatus(daemon), "daemon tasks stop after the others, and were waited for")
			}
		})
	}
}

func TestInstanceAlreadyGone(t *testing.T) {
	c := newCluster(t)
	d := c.drainer()
	in := c.instance(t, d)
	c.ecs.RemoveInstance(c.arn)
	p, err := d.Step(context.Background(), in, nil)
	require.NoError(t, err)
	assert.True(t, p.Done)
	assert.True(t, p.Gone)

	c.ecs.SetInstanceStatus(c.ecs.AddInstance("prod", "i-00000007"), "INACTIVE")
	res, err := d.Drain(context.Background(), drain.Instance{Cluster: "prod", ContainerInstanceARN: "x", EC2InstanceID: "i-00000007"}, drain.DrainOptions{AutoScaling: c.asg, Hook: c.terminating()})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Continue, res.Hook.Result, "an instance already gone completes with CONTINUE")
}

func TestInstanceTerminatedMidDrain(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "", 0) // standalone: would hold the drain forever
	d := c.drainer()
	in := c.instance(t, d)
	st := &drain.State{}
	p, err := d.Step(context.Background(), in, st)
	require.NoError(t, err)
	require.False(t, p.Done)
	c.ecs.RemoveInstance(c.arn) // someone terminated it anyway
	p, err = d.Step(context.Background(), in, st)
	require.NoError(t, err)
	assert.True(t, p.Done, p.String())
}

func TestDrainWithHookHeartbeatsAndCompletes(t *testing.T) {
	c := newCluster(t)
	for i := range 10 {
		c.ecs.RunTask(c.arn, "web", time.Duration(i)*time.Minute) // the last starts stopping after 9 min
	}
	hook := c.terminating()
	d := c.drainer()
	var lines []string
	res, err := d.Drain(context.Background(), c.instance(t, d), drain.DrainOptions{AutoScaling: c.asg, Hook: hook,
		OnProgress: func(p drain.Progress) { lines = append(lines, p.String()) }})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Continue, res.Hook.Result)
	assert.True(t, res.Last.Done)
	assert.GreaterOrEqual(t, res.Hook.Heartbeats, 5, "about 9.5 minutes at one heartbeat per 100 s")
	out, expired := c.asg.Result("i-00000001", "drain")
	assert.Equal(t, lifecycle.Continue, out)
	assert.False(t, expired, "the action never lapsed")
	assert.Equal(t, "10 task(s) left: 9 RUNNING, 1 DEACTIVATING", lines[0], "the first task starts stopping at once")
}

func TestMaximumDrainTime(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "", 0) // standalone, never stops under the Wait policy
	hook := c.terminating()
	d := c.drainer()
	res, err := d.Drain(context.Background(), c.instance(t, d), drain.DrainOptions{AutoScaling: c.asg, Hook: hook, MaxDrain: 10 * time.Minute})
	require.ErrorIs(t, err, drain.ErrTimeout)
	assert.Equal(t, lifecycle.Continue, res.Hook.Result, "the group is never held forever")
	assert.Equal(t, "Terminated", c.asg.State("i-00000001"), "the termination goes on")
	assert.Contains(t, err.Error(), "1 task(s) left: 1 RUNNING")

	_, err = d.Drain(context.Background(), c.instance(t, d), drain.DrainOptions{MaxDrain: time.Minute})
	require.ErrorIs(t, err, drain.ErrTimeout, "without a hook too")
}

func TestActionAlreadyCompletedElsewhere(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	hook := c.terminating()
	_, err := c.asg.CompleteLifecycleAction(context.Background(), completeInput("i-00000001"))
	require.NoError(t, err)
	d := c.drainer()
	res, err := d.Drain(context.Background(), c.instance(t, d), drain.DrainOptions{AutoScaling: c.asg, Hook: hook})
	require.NoError(t, err, "reported, not an error")
	assert.True(t, res.Hook.NoActiveAction)
}

func TestThrottlingIsRetried(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	c.ecs.Fail(draintest.OpDescribeTasks, draintest.APIError("ThrottlingException", "Rate exceeded"), 2)
	c.ecs.Fail(draintest.OpListContainerInstances, draintest.APIError("ThrottlingException", "Rate exceeded"), 1)
	d := c.drainer()
	in := c.instance(t, d)
	_, err := d.Step(context.Background(), in, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, c.ecs.Calls(draintest.OpDescribeTasks))

	c.ecs.Fail(draintest.OpListTasks, draintest.APIError("AccessDeniedException", "not authorized"), 1)
	_, err = d.Step(context.Background(), in, nil)
	require.ErrorContains(t, err, "AccessDeniedException")
}

func TestReadsPerPoll(t *testing.T) {
	c := newCluster(t)
	for range 30 {
		c.ecs.RunTask(c.arn, "web", 5*time.Minute)
	}
	d := c.drainer()
	in := c.instance(t, d)
	st := &drain.State{}
	_, err := d.Step(context.Background(), in, st) // the first step also lists desired-STOPPED tasks
	require.NoError(t, err)
	before := c.ecs.Total()
	c.clock.Advance(10 * time.Second)
	_, err = d.Step(context.Background(), in, st)
	require.NoError(t, err)
	assert.Equal(t, 2, c.ecs.Total()-before, "ListTasks + DescribeTasks (30 tasks: one call); the instance is known to be DRAINING")
}

func TestFindTriesEveryListedCluster(t *testing.T) {
	c := newCluster(t)
	d := c.drainer()
	in, err := d.Find(context.Background(), "i-00000001", "deleted-last-year", "prod")
	require.NoError(t, err)
	assert.Equal(t, "prod", in.Cluster)

	in, err = d.Find(context.Background(), "i-00000001", "prod, staging,")
	require.NoError(t, err, "a comma-separated list with spaces is read as the user meant it")
	assert.Equal(t, "prod", in.Cluster)

	for _, bad := range [][]string{nil, {""}, {" , "}} {
		_, err := d.Find(context.Background(), "i-00000001", bad...)
		assert.ErrorIs(t, err, drain.ErrInvalidInput, "%q", bad)
	}
}

// A cluster name that ECS can never have (letters, digits, hyphens and underscores, up to
// 255; or a cluster ARN) is refused before any call, in the library as in the binaries.
func TestClusterNamesThatCanNeverExistAreRefusedBeforeAnyCall(t *testing.T) {
	c := newCluster(t)
	d := c.drainer()
	for _, bad := range []string{"prod;rm", "prod/eu", "prod staging", "prod$", "arn:aws:ecs:eu-west-1:123456789012:cluster/prod;rm",
		"arn:aws:ecs:eu-west-1:1234:cluster/prod", strings.Repeat("a", 256)} {
		_, err := d.Find(context.Background(), "i-00000001", bad)
		require.ErrorIs(t, err, drain.ErrInvalidInput, "%q", bad)
		assert.Contains(t, err.Error(), "cluster name", "%q", bad)
	}
	assert.Zero(t, c.ecs.Total(), "no request")
	for _, good := range []string{"prod", "Prod_EU-1", strings.Repeat("a", 255), "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
		"arn:aws-us-gov:ecs:us-gov-west-1:123456789012:cluster/prod"} {
		list, err := drain.CleanClusters([]string{good})
		require.NoError(t, err, "%q", good)
		assert.Equal(t, []string{good}, list)
	}
}

// An agent metadata URL that can never be read is refused without a request.
func TestAgentMetadataURLsThatCanNeverWorkAreRefused(t *testing.T) {
	for _, bad := range []string{"localhost:51678/v1/metadata", "ftp://localhost/v1/metadata", "http://localhost:99999/v1/metadata", "http:///v1/metadata"} {
		require.ErrorIs(t, drain.CheckAgentMetadataURL(bad), drain.ErrInvalidInput, "%q", bad)
		_, err := drain.ReadAgentMetadata(context.Background(), bad)
		require.ErrorIs(t, err, drain.ErrInvalidInput, "%q", bad)
	}
	require.NoError(t, drain.CheckAgentMetadataURL(drain.DefaultAgentMetadataURL))
}

// drainerVia is a Drainer that reaches the fake through via: the fake itself, or the real SDK
// client over the wire server.
func (c *cluster) drainerVia(via string, optFns ...func(*drain.Options)) *drain.Drainer {
	var api drain.ECSAPI = c.client
	if via == "fake" {
		api = c.ecs
	}
	d, err := drain.New(api, append([]func(*drain.Options){func(o *drain.Options) { o.Clock = c.clock }}, optFns...)...)
	require.NoError(c.t, err)
	return d
}

// An ECS that ignores ListContainerInstances' filter (moto 5.2.1 does) answers the lookup of
// i-1 with whatever the cluster holds. With one container instance of another EC2 instance,
// the drain must refuse it, naming both instances, and drain nothing: not the other
// instance, and no hook completed as if i-1 were empty.
func TestDrainRefusesAContainerInstanceOfAnotherEC2Instance(t *testing.T) {
	for _, via := range []string{"fake", "wire"} {
		t.Run(via, func(t *testing.T) {
			c := newCluster(t)
			c.ecs.CreateCluster("small")
			other := c.ecs.AddInstance("small", "i-00000002")
			c.ecs.RunTask(other, "", 0)
			c.ecs.IgnoreFilter(true)
			hook := c.terminating()
			d := c.drainerVia(via)

			in, err := d.Find(context.Background(), "i-00000001", "small")
			require.NoError(t, err, "one container instance listed: Find takes it; the step checks it")
			_, err = d.Step(context.Background(), in, nil)
			var wrong *drain.WrongInstanceError
			require.ErrorAs(t, err, &wrong)
			require.ErrorIs(t, err, drain.ErrWrongInstance)
			assert.Equal(t, "i-00000001", wrong.Asked)
			assert.Equal(t, []string{"i-00000002"}, wrong.Found)
			assert.Equal(t, other, wrong.ContainerInstanceARN)
			assert.Contains(t, err.Error(), "runs on EC2 instance i-00000002, not on i-00000001")

			res, err := d.Drain(context.Background(), in, drain.DrainOptions{AutoScaling: c.asg, Hook: hook})
			require.ErrorIs(t, err, drain.ErrWrongInstance, "the drain ends at once, not at MaxDrain")
			assert.Nil(t, res.Hook, "nothing decided")
			assert.Equal(t, 1, res.Steps, "ended at its first step")
			_, err = d.Drain(context.Background(), in, drain.DrainOptions{})
			require.ErrorIs(t, err, drain.ErrWrongInstance, "without a hook too")

			assert.Zero(t, c.ecs.Calls(draintest.OpUpdateState), "nothing set DRAINING")
			assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(other))
			assert.Zero(t, c.asg.Calls(lifecycletest.OpComplete), "no hook completed as if i-1 were empty")
			assert.Equal(t, "Terminating:Wait", c.asg.State("i-00000001"))
		})
	}
}

// Several container instances listed for one EC2 instance: described in one call, and only
// the one on the EC2 instance asked for is drained; none on it is refused.
func TestFindPicksTheContainerInstanceOnTheEC2InstanceWhenTheFilterIsIgnored(t *testing.T) {
	for _, via := range []string{"fake", "wire"} {
		t.Run(via, func(t *testing.T) {
			c := newCluster(t)
			c.ecs.RunTask(c.arn, "web", 0)
			c.ecs.IgnoreFilter(true)
			d := c.drainerVia(via)
			in, err := d.Find(context.Background(), "i-00000001", "prod")
			require.NoError(t, err)
			assert.Equal(t, drain.Instance{Cluster: "prod", ContainerInstanceARN: c.arn, EC2InstanceID: "i-00000001"}, in)
			assert.Equal(t, 1, c.ecs.Calls(draintest.OpDescribeContainerInstances), "the three listed, described in one call")
			res, err := d.Drain(context.Background(), in, drain.DrainOptions{})
			require.NoError(t, err)
			assert.True(t, res.Last.Done)
			for _, ci := range fakeapi.Inputs[*ecs.UpdateContainerInstancesStateInput](c.ecs, draintest.OpUpdateState) {
				assert.Equal(t, []string{c.arn}, ci.ContainerInstances, "only i-1's container instance")
			}

			before := c.ecs.Calls(draintest.OpUpdateState)
			_, err = d.Find(context.Background(), "i-0000000a", "prod")
			var wrong *drain.WrongInstanceError
			require.ErrorAs(t, err, &wrong, "listed three, none on i-a")
			assert.Equal(t, []string{"i-00000001", "i-00000002", "i-00000003"}, wrong.Found)
			assert.Contains(t, err.Error(), "not on i-0000000a")
			assert.Equal(t, before, c.ecs.Calls(draintest.OpUpdateState))

			c.ecs.CreateCluster("other")
			c.ecs.AddInstance("other", "i-0000000a")
			_, err = d.Find(context.Background(), "i-0000000a", "prod", "other")
			require.ErrorIs(t, err, drain.ErrWrongInstance, "an endpoint that ignores the filter is not trusted to say 'not here'")

			// A whole cluster listed: one describe of at most 100, never a scan of every page.
			c.ecs.CreateCluster("big")
			for i := range 150 {
				c.ecs.AddInstance("big", fmt.Sprintf("i-2%07x", i))
			}
			describes := c.ecs.Calls(draintest.OpDescribeContainerInstances)
			_, err = d.Find(context.Background(), "i-2000008f", "big") // the 144th: not on the first page
			require.ErrorAs(t, err, &wrong)
			assert.Len(t, wrong.Found, 100)
			assert.Contains(t, err.Error(), "and 97 more")
			assert.Equal(t, describes+1, c.ecs.Calls(draintest.OpDescribeContainerInstances))
			inputs := fakeapi.Inputs[*ecs.DescribeContainerInstancesInput](c.ecs, draintest.OpDescribeContainerInstances)
			assert.Len(t, inputs[len(inputs)-1].ContainerInstances, 100)
		})
	}
}

// ECS itself can list two container instances on one EC2 instance (RegisterContainerInstance
// is not idempotent: an agent that lost its state registers again). The drain takes the one
// whose agent is connected, and refuses to guess when that is not exactly one.
func TestFindOfAnEC2InstanceRegisteredTwice(t *testing.T) {
	c := newCluster(t)
	stale := c.ecs.AddInstance("prod", "i-00000001")
	c.ecs.SetAgentConnected(stale, false)
	d := c.drainer()
	in, err := d.Find(context.Background(), "i-00000001", "prod")
	require.NoError(t, err)
	assert.Equal(t, c.arn, in.ContainerInstanceARN, "the registration whose agent is connected")

	c.ecs.SetAgentConnected(stale, true)
	_, err = d.Find(context.Background(), "i-00000001", "prod")
	var ambiguous *drain.AmbiguousInstanceError
	require.ErrorAs(t, err, &ambiguous)
	require.ErrorIs(t, err, drain.ErrAmbiguousInstance)
	assert.ElementsMatch(t, []string{c.arn, stale}, ambiguous.ContainerInstanceARNs)
	assert.Zero(t, c.ecs.Calls(draintest.OpUpdateState))
}

// TestRequestsPerLogicalCallUnderThrottling: the SDK's retryer is the only retry layer, so a
// call that is throttled every time goes out exactly MaxAttempts times (5 by default), not
// five times the SDK's own three as before.
func TestRequestsPerLogicalCallUnderThrottling(t *testing.T) {
	for _, maxAttempts := range []int{0, 3} {
		c := newCluster(t)
		d := c.drainer(func(o *drain.Options) { o.MaxAttempts = maxAttempts })
		c.ecs.Fail(draintest.OpListContainerInstances, draintest.APIError("ThrottlingException", "Rate exceeded"), 0)
		start := c.clock.Now()
		_, err := d.Find(context.Background(), "i-00000001", "prod")
		require.ErrorContains(t, err, "ThrottlingException")
		want := maxAttempts
		if want == 0 {
			want = 5
		}
		assert.Equal(t, want, c.ecs.Calls(draintest.OpListContainerInstances), "MaxAttempts %d", maxAttempts)
		assert.Len(t, c.srv.Requests(), want)
		assert.True(t, c.clock.Now().After(start), "the backoff ran on the fake clock")
	}
}

// TestCancelledDrainCompletesNothing: a drain cancelled halfway (the process is stopped)
// returns the context's error and leaves the hook alone: its own timeout and default
// result apply, and a new run picks the drain up (the instance is already DRAINING).
func TestCancelledDrainCompletesNothing(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 10*time.Minute)
	hook := c.terminating()
	d := c.drainer()
	in := c.instance(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	_, err := d.Drain(ctx, in, drain.DrainOptions{AutoScaling: c.asg, Hook: hook, OnProgress: func(drain.Progress) {
		if steps++; steps == 2 {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, c.asg.Calls(lifecycletest.OpComplete), "nothing decided on a cancelled drain")
	res, _ := c.asg.Result("i-00000001", "drain")
	assert.Empty(t, res, "the action is still pending")
	assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn), "a new run resumes from here")
}

// TestServerErrorsAreRetried: ECS's ServerException (a 5xx) is retried by the SDK's retryer.
func TestServerErrorsAreRetried(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 0)
	d := c.drainer()
	in := c.instance(t, d)
	c.ecs.Fail(draintest.OpDescribeContainerInstances, draintest.APIError("ServerException", "internal error"), 2)
	_, err := d.Step(context.Background(), in, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, c.ecs.Calls(draintest.OpDescribeContainerInstances))
}

func TestAgentConfigAndTheSpotWarning(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/ecs.config"
	require.NoError(t, os.WriteFile(path, []byte("ECS_CLUSTER=prod\nECS_CONTAINER_STOP_TIMEOUT=3m\n"), 0o644))
	cfg, err := drain.ReadAgentConfig(path)
	require.NoError(t, err)
	assert.Equal(t, 3*time.Minute, cfg.StopTimeout)
	assert.Contains(t, drain.SpotStopWarning(cfg.StopTimeout), "killed when EC2 reclaims the instance")
	assert.Empty(t, drain.SpotStopWarning(drain.DefaultStopTimeout))

	require.NoError(t, os.WriteFile(path, []byte("ECS_CLUSTER=prod\n"), 0o644))
	cfg, err = drain.ReadAgentConfig(path)
	require.NoError(t, err)
	assert.Equal(t, drain.DefaultStopTimeout, cfg.StopTimeout, "the agent's default")

	require.NoError(t, os.WriteFile(path, []byte("ECS_CONTAINER_STOP_TIMEOUT=soon\n"), 0o644))
	_, err = drain.ReadAgentConfig(path)
	require.ErrorIs(t, err, drain.ErrInvalidInput)
	_, err = drain.ReadAgentConfig(dir + "/missing")
	require.Error(t, err)
}
