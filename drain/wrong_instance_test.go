package drain_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// lyingECS answers the lookups with what the test says; every other call goes to the fake.
type lyingECS struct {
	*draintest.ECS
	// list, when set, is the ListContainerInstances answer (one page), whatever the filter.
	list []string
	// describe, when set, rewrites each DescribeContainerInstances answer.
	describe func(in *ecs.DescribeContainerInstancesInput, out *ecs.DescribeContainerInstancesOutput)
	// lieFrom: describe lies only from this call on (1-based; 0: always).
	lieFrom     int
	describeNum atomic.Int32
}

func (l *lyingECS) ListContainerInstances(ctx context.Context, in *ecs.ListContainerInstancesInput, optFns ...func(*ecs.Options)) (*ecs.ListContainerInstancesOutput, error) {
	out, err := l.ECS.ListContainerInstances(ctx, in, optFns...)
	if err != nil || l.list == nil {
		return out, err
	}
	return &ecs.ListContainerInstancesOutput{ContainerInstanceArns: l.list}, nil
}

func (l *lyingECS) DescribeContainerInstances(ctx context.Context, in *ecs.DescribeContainerInstancesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error) {
	out, err := l.ECS.DescribeContainerInstances(ctx, in, optFns...)
	n := int(l.describeNum.Add(1))
	if err == nil && l.describe != nil && n >= l.lieFrom {
		l.describe(in, out)
	}
	return out, err
}

func (c *cluster) drainerOver(api drain.ECSAPI) *drain.Drainer {
	d, err := drain.New(api, func(o *drain.Options) { o.Clock = c.clock })
	require.NoError(c.t, err)
	return d
}

// drainedOnly asserts that no container instance but want was ever set DRAINING.
func drainedOnly(t *testing.T, f *draintest.ECS, want string) {
	t.Helper()
	for _, in := range fakeapi.Inputs[*ecs.UpdateContainerInstancesStateInput](f, draintest.OpUpdateState) {
		u := in
		for _, arn := range u.ContainerInstances {
			assert.Equal(t, want, arn, "set %s on a container instance not on i-00000001", u.Status)
		}
	}
}

// The lookup lists i-1's container instance twice (a repeated entry): it is one
// registration, drained, not an ambiguity.
func TestFindOfAContainerInstanceListedTwiceIsOneRegistration(t *testing.T) {
	c := newCluster(t)
	l := &lyingECS{ECS: c.ecs, list: []string{c.arn, c.arn}}
	d := c.drainerOver(l)
	in, err := d.Find(context.Background(), "i-00000001", "prod")
	require.NoError(t, err)
	assert.Equal(t, c.arn, in.ContainerInstanceARN)
}

// An ECS that ignores the filter and lists the whole cluster of 250 instances (over
// several pages, or all in one answer beyond maxResults): only i-1's container instance is
// ever drained, or none.
func TestFindWithManyListedNeverDrainsAnotherInstance(t *testing.T) {
	for _, onePage := range []bool{false, true} {
		t.Run(fmt.Sprintf("one page %v", onePage), func(t *testing.T) {
			c := newCluster(t)
			var all []string
			for i := range 250 {
				arn := c.ecs.AddInstance("prod", fmt.Sprintf("i-1%07x", i))
				c.ecs.RunTask(arn, "web", 0)
				all = append(all, arn)
			}
			// i-1 last of all.
			c.ecs.RemoveInstance(c.arn)
			c.arn = c.ecs.AddInstance("prod", "i-00000001")
			var api drain.ECSAPI
			if onePage {
				api = &lyingECS{ECS: c.ecs, list: append(all, c.arn)}
			} else {
				c.ecs.IgnoreFilter(true)
				api = c.ecs
			}
			d := c.drainerOver(api)
			in, err := d.Find(context.Background(), "i-00000001", "prod")
			t.Logf("found %+v err %v", in, err)
			if err == nil {
				assert.Equal(t, c.arn, in.ContainerInstanceARN)
				_, err = d.Drain(context.Background(), in, drain.DrainOptions{MaxDrain: time.Minute})
				t.Logf("drain: %v", err)
			}
			drainedOnly(t, c.ecs, c.arn)
			for _, arn := range all {
				require.Equal(t, "ACTIVE", c.ecs.InstanceStatus(arn))
			}
		})
	}
}

// The lookup names i-2's container instance for i-1, and the describe of it answers with
// i-1's container instance (another ARN than asked): the ARN asked is not on i-1 as far as
// any answer about it says, so it is never set DRAINING.
func TestStepNeverDrainsAContainerInstanceWhoseDescribeNamedAnotherARN(t *testing.T) {
	c := newCluster(t)
	// i-2's container instance in prod.
	l := &lyingECS{ECS: c.ecs}
	d0 := c.drainer()
	in2, err := d0.Find(context.Background(), "i-00000002", "prod")
	require.NoError(t, err)
	task := c.ecs.RunTask(in2.ContainerInstanceARN, "web", 0)
	l.list = []string{in2.ContainerInstanceARN}
	l.describe = func(in *ecs.DescribeContainerInstancesInput, out *ecs.DescribeContainerInstancesOutput) {
		// answer with i-1's container instance instead
		real, _ := c.ecs.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{Cluster: in.Cluster, ContainerInstances: []string{c.arn}})
		out.ContainerInstances = real.ContainerInstances
		out.Failures = nil
	}
	d := c.drainerOver(l)
	hook := c.terminating()
	in, err := d.Find(context.Background(), "i-00000001", "prod")
	if err == nil {
		_, err = d.Drain(context.Background(), in, drain.DrainOptions{AutoScaling: c.asg, Hook: hook, MaxDrain: 5 * time.Minute})
	}
	t.Logf("err: %v", err)
	require.Error(t, err)
	assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(in2.ContainerInstanceARN), "i-2's container instance was set DRAINING")
	assert.Equal(t, "RUNNING", c.ecs.TaskStatus(task))
	assert.Zero(t, c.asg.Calls(lifecycletest.OpComplete))
}

// A describe answer that omits the container instance asked for (no entry, no failure: no
// real ECS answers so) is not "gone": the drain is not done, the hook is not completed
// while the instance's tasks run.
func TestDrainNeverTakesADescribeThatOmitsTheInstanceForGone(t *testing.T) {
	for _, from := range []int{1, 2} {
		t.Run(fmt.Sprintf("omitted from describe %d", from), func(t *testing.T) {
			c := newCluster(t)
			task := c.ecs.RunTask(c.arn, "web", 10*time.Minute)
			l := &lyingECS{ECS: c.ecs, lieFrom: from, describe: func(_ *ecs.DescribeContainerInstancesInput, out *ecs.DescribeContainerInstancesOutput) {
				out.ContainerInstances = nil
				out.Failures = nil
			}}
			d := c.drainerOver(l)
			hook := c.terminating()
			in := c.instance(t, d)
			res, err := d.Drain(context.Background(), in, drain.DrainOptions{AutoScaling: c.asg, Hook: hook, MaxDrain: 20 * time.Minute})
			t.Logf("res %+v err %v", res.Last, err)
			assert.False(t, res.Last.Done && c.ecs.TaskStatus(task) == "RUNNING", "done with a task RUNNING")
			if c.asg.Calls(lifecycletest.OpComplete) > 0 {
				assert.Equal(t, "STOPPED", c.ecs.TaskStatus(task), "the hook was completed while the task runs")
			}
		})
	}
}

// A describe answer that names the asked ARN on another EC2 instance once the drain has
// started (i-1 replaced under the same ARN? no ECS does that): the drain ends, nothing else
// drained, the hook untouched.
func TestDrainStopsWhenADescribeLaterNamesAnotherEC2Instance(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 10*time.Minute)
	l := &lyingECS{ECS: c.ecs, lieFrom: 3, describe: func(_ *ecs.DescribeContainerInstancesInput, out *ecs.DescribeContainerInstancesOutput) {
		for i := range out.ContainerInstances {
			out.ContainerInstances[i].Ec2InstanceId = ptr("i-00000002")
		}
	}}
	d := c.drainerOver(l)
	hook := c.terminating()
	res, err := d.Drain(context.Background(), c.instance(t, d), drain.DrainOptions{AutoScaling: c.asg, Hook: hook, MaxDrain: 20 * time.Minute})
	t.Logf("res %+v err %v", res.Last, err)
	drainedOnly(t, c.ecs, c.arn)
	if c.asg.Calls(lifecycletest.OpComplete) > 0 {
		assert.True(t, res.Last.Done)
	}
}

func ptr(s string) *string { return &s }

// The same omission under Replace: an instance with a task RUNNING is never terminated on
// an answer that only failed to mention it.
func TestReplaceNeverTerminatesOnADescribeThatOmitsTheInstance(t *testing.T) {
	c := newCluster(t)
	task := c.ecs.RunTask(c.arn, "web", 10*time.Minute)
	c.inService(t)
	l := &lyingECS{ECS: c.ecs, describe: func(_ *ecs.DescribeContainerInstancesInput, out *ecs.DescribeContainerInstancesOutput) {
		out.ContainerInstances = nil
		out.Failures = nil
	}}
	d := c.drainerOver(l)
	res, err := d.Replace(context.Background(), c.asg, c.instance(t, d), drain.ReplaceOptions{MaxDrain: 5 * time.Minute})
	t.Logf("res %+v err %v", res, err)
	assert.Equal(t, "RUNNING", c.ecs.TaskStatus(task))
	assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate), "terminated with a task RUNNING")
	assert.False(t, res.Terminated)
}

// The Lambda path: a describe answer that omits the container instance does not complete
// the termination hook while its tasks run.
func TestLambdaNeverCompletesTheHookOnADescribeThatOmitsTheInstance(t *testing.T) {
	c := newCluster(t)
	task := c.ecs.RunTask(c.arn, "web", 10*time.Minute)
	c.terminating()
	l := &lyingECS{ECS: c.ecs, describe: func(_ *ecs.DescribeContainerInstancesInput, out *ecs.DescribeContainerInstancesOutput) {
		out.ContainerInstances = nil
		out.Failures = nil
	}}
	h, err := drain.NewHandler(c.drainerOver(l), c.asg, []string{"prod"})
	require.NoError(t, err)
	for range 3 {
		_, err := h.Handle(context.Background(), sqsEvent(t, termination(t, c.clock.Now())))
		require.NoError(t, err)
		c.clock.Advance(30 * time.Second)
	}
	assert.Equal(t, "RUNNING", c.ecs.TaskStatus(task))
	assert.Zero(t, c.asg.Calls(lifecycletest.OpComplete), "the hook completed while the task runs")
}

// A describe failure that does not say MISSING (access denied, a failure naming another
// ARN) is not "gone" either: the hook is not completed while the task runs.
func TestDrainTakesOnlyMissingForGone(t *testing.T) {
	for name, failure := range map[string]func(arn string) ecstypes.Failure{
		"access denied": func(arn string) ecstypes.Failure {
			return ecstypes.Failure{Arn: &arn, Reason: ptr("ACCESS_DENIED")}
		},
		"missing, another arn": func(string) ecstypes.Failure {
			return ecstypes.Failure{Arn: ptr("arn:aws:ecs:us-east-1:123456789012:container-instance/prod/ffff"), Reason: ptr("MISSING")}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t)
			task := c.ecs.RunTask(c.arn, "web", 10*time.Minute)
			l := &lyingECS{ECS: c.ecs, describe: func(in *ecs.DescribeContainerInstancesInput, out *ecs.DescribeContainerInstancesOutput) {
				out.ContainerInstances = nil
				out.Failures = []ecstypes.Failure{failure(in.ContainerInstances[0])}
			}}
			d := c.drainerOver(l)
			hook := c.terminating()
			res, err := d.Drain(context.Background(), c.instance(t, d), drain.DrainOptions{AutoScaling: c.asg, Hook: hook, MaxDrain: 20 * time.Minute})
			t.Logf("res %+v err %v", res.Last, err)
			assert.False(t, res.Last.Gone, "gone on a failure that is not MISSING of this instance")
			if c.asg.Calls(lifecycletest.OpComplete) > 0 {
				assert.Equal(t, "STOPPED", c.ecs.TaskStatus(task), "the hook was completed while the task runs")
			}
		})
	}
}

// tasksLeftOut answers DescribeTasks without the tasks asked about, or with a failure for
// them that is not MISSING; every other call goes to the fake.
type tasksLeftOut struct {
	*draintest.ECS
	reason string // "" leaves them out; else a failure with this reason
}

func (l tasksLeftOut) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	out, err := l.ECS.DescribeTasks(ctx, in, optFns...)
	if err != nil {
		return out, err
	}
	out.Tasks = nil
	if l.reason != "" {
		for _, arn := range in.Tasks {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: ptr(arn), Reason: ptr(l.reason)})
		}
	}
	return out, nil
}

// The same rule for tasks: a DescribeTasks answer that leaves a task out, or names it with a
// failure other than MISSING, does not make it stopped. The drain ends with
// ErrIncompleteAnswer, the hook untouched; Replace terminates nothing.
func TestDrainNeverTakesATaskTheDescribeLeftOutForStopped(t *testing.T) {
	for _, reason := range []string{"", "ACCESS_DENIED"} {
		t.Run("reason "+reason, func(t *testing.T) {
			c := newCluster(t)
			task := c.ecs.RunTask(c.arn, "web", 10*time.Minute)
			d := c.drainerOver(tasksLeftOut{c.ecs, reason})
			hook := c.terminating()
			res, err := d.Drain(context.Background(), c.instance(t, d), drain.DrainOptions{AutoScaling: c.asg, Hook: hook, MaxDrain: 20 * time.Minute})
			require.ErrorIs(t, err, drain.ErrIncompleteAnswer)
			var ierr *drain.IncompleteAnswerError
			require.ErrorAs(t, err, &ierr)
			assert.Equal(t, "DescribeTasks", ierr.Op)
			assert.Equal(t, task, ierr.ARN)
			assert.Equal(t, reason, ierr.Reason)
			assert.False(t, res.Last.Done)
			assert.Nil(t, res.Hook, "nothing was decided")
			assert.Zero(t, c.asg.Calls(lifecycletest.OpComplete))
			assert.Equal(t, "RUNNING", c.ecs.TaskStatus(task))
		})
	}
	t.Run("replace", func(t *testing.T) {
		c := newCluster(t)
		task := c.ecs.RunTask(c.arn, "web", 10*time.Minute)
		c.inService(t)
		d := c.drainerOver(tasksLeftOut{ECS: c.ecs})
		res, err := d.Replace(context.Background(), c.asg, c.instance(t, d), drain.ReplaceOptions{MaxDrain: 5 * time.Minute})
		require.ErrorIs(t, err, drain.ErrIncompleteAnswer)
		assert.False(t, res.Terminated)
		assert.Zero(t, c.asg.Calls(lifecycletest.OpTerminate))
		assert.True(t, res.ProtectionRestored)
		assert.True(t, res.LeftDraining)
		assert.Equal(t, "RUNNING", c.ecs.TaskStatus(task))
	})
}

// The omission of the container instance is a typed error that says what was asked and
// what came back, and the drain ends at once (not at MaxDrain).
func TestAnAnswerThatOmitsTheContainerInstanceIsAnIncompleteAnswerError(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 10*time.Minute)
	l := &lyingECS{ECS: c.ecs, describe: func(_ *ecs.DescribeContainerInstancesInput, out *ecs.DescribeContainerInstancesOutput) {
		out.ContainerInstances = nil
		out.Failures = nil
	}}
	d := c.drainerOver(l)
	start := c.clock.Now()
	res, err := d.Drain(context.Background(), c.instance(t, d), drain.DrainOptions{MaxDrain: 20 * time.Minute})
	var ierr *drain.IncompleteAnswerError
	require.ErrorAs(t, err, &ierr)
	assert.Equal(t, "DescribeContainerInstances", ierr.Op)
	assert.Equal(t, c.arn, ierr.ARN)
	assert.Empty(t, ierr.Reason)
	assert.Contains(t, err.Error(), "not taken as gone")
	assert.False(t, res.Last.Gone)
	assert.Less(t, c.clock.Now().Sub(start), time.Minute, "ended at once, not at MaxDrain")
	assert.Zero(t, c.ecs.Calls(draintest.OpUpdateState), "nothing set DRAINING on an answer that did not name it")
}
