package drain_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// A MISSING failure that does not name the very ARN asked for (no ARN at all, the same id in
// another cluster's ARN, the ARN in other letters) is not ECS's word about that container
// instance: never gone, the hook untouched while its task runs, *IncompleteAnswerError.
func TestDrainTakesOnlyAMissingNamingTheVeryARNForGone(t *testing.T) {
	for name, failure := range map[string]func(arn string) ecstypes.Failure{
		"missing without an arn": func(string) ecstypes.Failure { return ecstypes.Failure{Reason: ptr("MISSING")} },
		"missing, empty arn":     func(string) ecstypes.Failure { return ecstypes.Failure{Arn: ptr(""), Reason: ptr("MISSING")} },
		"missing, same id in another cluster": func(arn string) ecstypes.Failure {
			return ecstypes.Failure{Arn: ptr(strings.Replace(arn, "/prod/", "/staging/", 1)), Reason: ptr("MISSING")}
		},
		"missing, the arn upper-cased": func(arn string) ecstypes.Failure {
			return ecstypes.Failure{Arn: ptr(strings.ToUpper(arn)), Reason: ptr("MISSING")}
		},
		"missing, the bare id": func(arn string) ecstypes.Failure {
			return ecstypes.Failure{Arn: ptr(arn[strings.LastIndex(arn, "/")+1:] + "x"), Reason: ptr("MISSING")}
		},
		"missing, reason in lower case": func(arn string) ecstypes.Failure {
			return ecstypes.Failure{Arn: ptr(arn), Reason: ptr("missing")}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t)
			task := c.ecs.RunTask(c.arn, "web", 10*time.Minute)
			l := &lyingECS{ECS: c.ecs, lieFrom: 2, describe: func(in *ecs.DescribeContainerInstancesInput, out *ecs.DescribeContainerInstancesOutput) {
				out.ContainerInstances = nil
				out.Failures = []ecstypes.Failure{failure(in.ContainerInstances[0])}
			}}
			stepTwiceThenLambda(t, c, l, task, drain.ErrIncompleteAnswer)
		})
	}
}

// A describe, mid-drain, that answers the ARN as INACTIVE (deregistered: "gone") but on
// another EC2 instance, or on none: the answer is not about i-1's container instance, so it
// is refused as the wrong instance, never taken for "i-1 is gone" (hook completed, tasks
// running).
func TestDrainNeverTakesAnInactiveAnswerAboutAnotherEC2InstanceForGone(t *testing.T) {
	for name, ec2 := range map[string]*string{"another instance": ptr("i-00000002"), "no instance": nil} {
		for _, status := range []string{"INACTIVE", "DEREGISTERING"} {
			t.Run(name+" "+status, func(t *testing.T) {
				c := newCluster(t)
				task := c.ecs.RunTask(c.arn, "web", 10*time.Minute)
				l := &lyingECS{ECS: c.ecs, lieFrom: 2, describe: func(_ *ecs.DescribeContainerInstancesInput, out *ecs.DescribeContainerInstancesOutput) {
					for i := range out.ContainerInstances {
						out.ContainerInstances[i].Ec2InstanceId = ec2
						out.ContainerInstances[i].Status = ptr(status)
					}
				}}
				stepTwiceThenLambda(t, c, l, task, drain.ErrWrongInstance)
			})
		}
	}
}

// tasksAnswered rewrites each DescribeTasks answer; every other call goes to the fake.
type tasksAnswered struct {
	*draintest.ECS
	rewrite func(in *ecs.DescribeTasksInput, out *ecs.DescribeTasksOutput)
}

func (l tasksAnswered) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	out, err := l.ECS.DescribeTasks(ctx, in, optFns...)
	if err == nil {
		l.rewrite(in, out)
	}
	return out, err
}

// A DescribeTasks answer that says STOPPED about something else than the task asked (another
// task's ARN, no ARN), or MISSING without naming the very task ARN, never makes that task
// stopped: the drain ends with *IncompleteAnswerError, the hook untouched.
func TestDrainNeverTakesAnAnswerAboutAnotherTaskForStopped(t *testing.T) {
	other := "arn:aws:ecs:us-east-1:123456789012:task/prod/0000000000000000000000000000ffff"
	for name, rewrite := range map[string]func(in *ecs.DescribeTasksInput, out *ecs.DescribeTasksOutput){
		"stopped entry for another task": func(_ *ecs.DescribeTasksInput, out *ecs.DescribeTasksOutput) {
			for i := range out.Tasks {
				out.Tasks[i].TaskArn = ptr(other)
				out.Tasks[i].LastStatus = ptr("STOPPED")
				out.Tasks[i].DesiredStatus = ptr("STOPPED")
			}
		},
		"stopped entry without an arn": func(_ *ecs.DescribeTasksInput, out *ecs.DescribeTasksOutput) {
			for i := range out.Tasks {
				out.Tasks[i].TaskArn = nil
				out.Tasks[i].LastStatus = ptr("STOPPED")
				out.Tasks[i].DesiredStatus = ptr("STOPPED")
			}
		},
		"missing without an arn": func(in *ecs.DescribeTasksInput, out *ecs.DescribeTasksOutput) {
			out.Tasks = nil
			for range in.Tasks {
				out.Failures = append(out.Failures, ecstypes.Failure{Reason: ptr("MISSING")})
			}
		},
		"missing, the arn upper-cased": func(in *ecs.DescribeTasksInput, out *ecs.DescribeTasksOutput) {
			out.Tasks = nil
			for _, arn := range in.Tasks {
				out.Failures = append(out.Failures, ecstypes.Failure{Arn: ptr(strings.ToUpper(arn)), Reason: ptr("MISSING")})
			}
		},
		"missing, same id in another cluster": func(in *ecs.DescribeTasksInput, out *ecs.DescribeTasksOutput) {
			out.Tasks = nil
			for _, arn := range in.Tasks {
				out.Failures = append(out.Failures, ecstypes.Failure{Arn: ptr(strings.Replace(arn, "/prod/", "/staging/", 1)), Reason: ptr("MISSING")})
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t)
			task := c.ecs.RunTask(c.arn, "web", 10*time.Minute)
			d := c.drainerOver(tasksAnswered{c.ecs, rewrite})
			hook := c.terminating()
			res, err := d.Drain(context.Background(), c.instance(t, d), drain.DrainOptions{AutoScaling: c.asg, Hook: hook, MaxDrain: 20 * time.Minute})
			t.Logf("res %+v err %v", res.Last, err)
			assert.ErrorIs(t, err, drain.ErrIncompleteAnswer)
			assert.False(t, res.Last.Done, "done while %s is %s", task, c.ecs.TaskStatus(task))
			assert.Zero(t, c.asg.Calls(lifecycletest.OpComplete), "the hook was completed while the task runs")
		})
	}
}

// stepTwiceThenLambda: a first Step (an honest describe: i-1's container instance set
// DRAINING), then a second fresh Step, which describes the container instance again and gets
// the lie: it must fail with want, neither Done nor Gone. Then the Lambda, which steps with a
// fresh State per message, must not complete the termination hook while the task runs.
func stepTwiceThenLambda(t *testing.T, c *cluster, l *lyingECS, task string, want error) {
	t.Helper()
	d := c.drainerOver(l)
	in := c.instance(t, d)
	p, err := d.Step(context.Background(), in, nil)
	require.NoError(t, err)
	require.False(t, p.Done)
	require.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn))
	p, err = d.Step(context.Background(), in, nil)
	t.Logf("second step: %+v err %v", p, err)
	assert.ErrorIs(t, err, want)
	assert.False(t, p.Gone, "gone on an answer that is not ECS's word about %s", c.arn)
	assert.False(t, p.Done)

	c.terminating()
	h, err := drain.NewHandler(d, c.asg, []string{"prod"})
	require.NoError(t, err)
	for range 3 {
		_, _ = h.Handle(context.Background(), sqsEvent(t, termination(t, c.clock.Now())))
		c.clock.Advance(30 * time.Second)
	}
	require.Equal(t, "RUNNING", c.ecs.TaskStatus(task))
	assert.Zero(t, c.asg.Calls(lifecycletest.OpComplete), "the Lambda completed the hook while the task runs")
}
