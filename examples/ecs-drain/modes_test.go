package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// onInstance adds this instance's metadata (imdstest, the instance of bed), the ECS agent's
// introspection endpoint (cluster prod) and a fake Auto Scaling group "ecs" with a
// termination hook, all through the standard environment.
func onInstance(t *testing.T, clock clock.Clock) (*imdstest.Server, *lifecycletest.AutoScaling, string) {
	md := imdstest.NewServer()
	t.Cleanup(md.Close)
	md.SetInstance("i-0123456789abcdef0", "us-east-1", "us-east-1a")
	asg := lifecycletest.New(clock.(*clocktest.Clock))
	asg.CreateGroup("ecs", lifecycletest.Hook{Name: "drain", Transition: lifecycle.TerminateTransition, HeartbeatTimeout: 300 * time.Second})
	asg.Launch("ecs", "i-0123456789abcdef0")
	wire := lifecycletest.NewWireServer(asg)
	t.Cleanup(wire.Close)
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"Cluster":"prod"}`))
	}))
	t.Cleanup(agent.Close)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", md.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	t.Setenv("AWS_ENDPOINT_URL_AUTO_SCALING", wire.URL)
	return md, asg, agent.URL
}

func TestWatchDrainsOnASpotNotice(t *testing.T) {
	fake, arn, clockOpt := bed(t)
	var o drain.Options
	clockOpt(&o)
	task := fake.RunTask(arn, "web", 30*time.Second)
	md, _, agent := onInstance(t, o.Clock)
	md.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: o.Clock.Now().Add(2 * time.Minute)})
	config := filepath.Join(t.TempDir(), "ecs.config")
	require.NoError(t, os.WriteFile(config, []byte("ECS_CONTAINER_STOP_TIMEOUT=5m\n"), 0o644))

	code, stdout, stderr := drainCmd(clockOpt, "-watch", "-poll", "1s", "-agent-metadata", agent, "-ecs-config", config)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "WARNING: ECS_CONTAINER_STOP_TIMEOUT is 5m0s")
	assert.Contains(t, stdout, "Spot interruption notice: terminate at")
	assert.Equal(t, "STOPPED", fake.TaskStatus(task))
	assert.Equal(t, "DRAINING", fake.InstanceStatus(arn))
}

func TestWatchDrainsAheadOfAScheduledReboot(t *testing.T) {
	fake, arn, clockOpt := bed(t)
	var o drain.Options
	clockOpt(&o)
	task := fake.RunTask(arn, "web", 30*time.Second)
	md, asg, agent := onInstance(t, o.Clock)
	md.SetMaintenance(imds.MaintenanceEvent{EventID: "instance-event-0123", Code: imds.MaintenanceSystemReboot, State: imds.MaintenanceActive,
		NotBefore: o.Clock.Now().Add(40 * time.Minute), NotAfter: o.Clock.Now().Add(3 * time.Hour)})

	code, stdout, stderr := drainCmd(clockOpt, "-watch", "-on-maintenance", "-maintenance-lead", "1h", "-poll", "1s", "-agent-metadata", agent, "-ecs-config", "")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "or a scheduled reboot, stop or retirement within 1h0m0s")
	assert.Contains(t, stdout, "scheduled maintenance system-reboot (instance-event-0123) not before")
	assert.Equal(t, "STOPPED", fake.TaskStatus(task))
	assert.Equal(t, "DRAINING", fake.InstanceStatus(arn), "the instance stays: it is left DRAINING, as the usage says")
	assert.Zero(t, asg.Calls("DescribeAutoScalingInstances"), "no termination hook is looked for")
}

func TestWatchReportsWhatTheSpotDeadlineLeft(t *testing.T) {
	fake, arn, clockOpt := bed(t)
	var o drain.Options
	clockOpt(&o)
	fake.RunTask(arn, "web", 10*time.Minute)
	md, _, agent := onInstance(t, o.Clock)
	md.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: o.Clock.Now().Add(2 * time.Minute)})
	code, stdout, _ := drainCmd(clockOpt, "-watch", "-poll", "1s", "-agent-metadata", agent, "-ecs-config", "")
	assert.Equal(t, 3, code)
	assert.Contains(t, stdout, "Spot interruption time reached: 1 task(s) left: 1 RUNNING could not be stopped in time")
}

// -watch: the drain ends at the earlier of the Spot instance-action time and -timeout, and a
// time more than 15 minutes ahead is called suspicious and bounded.
func TestWatchSpotDeadlineIsTheEarlierOfTheNoticeAndTimeout(t *testing.T) {
	for _, tc := range []struct {
		name, timeout string
		notice        time.Duration
		want          []string
		took          time.Duration
	}{
		{"-timeout first", "1m", 2 * time.Minute, []string{"timeout: 1 task(s) left: 1 RUNNING"}, time.Minute}, // 1m: the shortest -watch allows
		{"suspicious", "30m", 2 * time.Hour, []string{"SUSPICIOUS: 2h0m0s ahead where Spot gives 2 minutes; draining at most 15m0s",
			"timeout: 1 task(s) left: 1 RUNNING"}, 15 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, arn, clockOpt := bed(t)
			var o drain.Options
			clockOpt(&o)
			fake.RunTask(arn, "web", 3*time.Hour)
			md, _, agent := onInstance(t, o.Clock)
			start := o.Clock.Now()
			md.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: start.Add(tc.notice)})
			code, stdout, stderr := drainCmd(clockOpt, "-watch", "-poll", "1s", "-timeout", tc.timeout, "-agent-metadata", agent, "-ecs-config", "")
			assert.Equal(t, 3, code, stderr)
			for _, w := range tc.want {
				assert.Contains(t, stdout, w)
			}
			assert.NotContains(t, stdout, "Spot interruption time reached", "the Spot time did not come")
			took := o.Clock.Now().Sub(start)
			assert.LessOrEqual(t, took, tc.took)
			assert.Greater(t, took, tc.took-20*time.Second)
		})
	}
}

func TestWatchCompletesTheTerminationHook(t *testing.T) {
	fake, arn, clockOpt := bed(t)
	var o drain.Options
	clockOpt(&o)
	fake.RunTask(arn, "web", time.Minute)
	md, asg, agent := onInstance(t, o.Clock)
	asg.ScaleIn("ecs", "i-0123456789abcdef0")
	md.SetLifecycleState(imds.LifecycleTerminated)
	code, stdout, stderr := drainCmd(clockOpt, "-watch", "-poll", "1s", "-agent-metadata", agent, "-ecs-config", "")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "the termination hook completed with CONTINUE")
	assert.Equal(t, "Terminated", asg.State("i-0123456789abcdef0"))
}

func TestReplaceDrainsThenTerminates(t *testing.T) {
	fake, arn, clockOpt := bed(t)
	var o drain.Options
	clockOpt(&o)
	task := fake.RunTask(arn, "web", time.Minute)
	_, asg, _ := onInstance(t, o.Clock)
	desired := asg.Desired("ecs")
	code, stdout, stderr := drainCmd(clockOpt, "-replace", "-cluster", "prod", "-instance", "i-0123456789abcdef0")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "STOPPED", fake.TaskStatus(task))
	assert.Equal(t, "Terminated", asg.State("i-0123456789abcdef0"))
	assert.Equal(t, desired, asg.Desired("ecs"), "a replacement is launching")
	assert.Contains(t, stdout, "a replacement is launching; 1 termination hook(s) completed")

	fake2, arn2, clockOpt2 := bed(t)
	fake2.RunTask(arn2, "", 0) // standalone: the drain never finishes
	var o2 drain.Options
	clockOpt2(&o2)
	_, asg2, _ := onInstance(t, o2.Clock)
	code, stdout, stderr = drainCmd(clockOpt2, "-replace", "-cluster", "prod", "-instance", "i-0123456789abcdef0", "-timeout", "2m")
	assert.Equal(t, 3, code)
	assert.Contains(t, stdout, "NOT terminated")
	assert.Equal(t, "InService", asg2.State("i-0123456789abcdef0"))
	assert.Contains(t, stderr, "container instance "+arn2+" of i-0123456789abcdef0 in cluster prod is left DRAINING")
	assert.Contains(t, stderr, "aws ecs update-container-instances-state --cluster prod --container-instances "+arn2+" --status ACTIVE --region us-east-1")
}

// A replacement that did not terminate and could not turn the scale-in protection back on
// says so, with the command to run by hand, and exits 4: never "restored".
func TestReplaceThatCannotRestoreTheProtectionSaysSoAndExits4(t *testing.T) {
	fake, arn, clockOpt := bed(t)
	fake.RunTask(arn, "", 0) // standalone: the drain never finishes
	var o drain.Options
	clockOpt(&o)
	_, asg, _ := onInstance(t, o.Clock)
	_, err := asg.SetInstanceProtection(context.Background(), &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("ecs"),
		InstanceIds: []string{"i-0123456789abcdef0"}, ProtectedFromScaleIn: aws.Bool(true)})
	require.NoError(t, err)
	asg.Fail(lifecycletest.OpProtect, nil, 1)                                                                                                   // turning it off works...
	asg.Fail(lifecycletest.OpProtect, lifecycletest.APIError("AccessDenied", "not authorized to perform autoscaling:SetInstanceProtection"), 0) // ...back on does not

	code, stdout, stderr := drainCmd(clockOpt, "-replace", "-cluster", "prod", "-instance", "i-0123456789abcdef0", "-timeout", "2m")
	assert.Equal(t, 4, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.False(t, asg.Protected("i-0123456789abcdef0"))
	assert.Contains(t, stdout, "NOT terminated")
	assert.NotContains(t, stdout+stderr, "restored: true")
	assert.NotContains(t, stdout, "on again")
	assert.Contains(t, stderr, "the scale-in protection of i-0123456789abcdef0 in group ecs is OFF (or may be): turning it back on failed:")
	assert.Contains(t, stderr, "AccessDenied")
	assert.Contains(t, stderr, "ecs-drain: do it by hand: aws autoscaling set-instance-protection --auto-scaling-group-name ecs "+
		"--instance-ids i-0123456789abcdef0 --protected-from-scale-in --region us-east-1\n")
	assert.Contains(t, stderr, "container instance "+arn+" of i-0123456789abcdef0 in cluster prod is left DRAINING")

	_, stderr = drainCmdHelp(t)
	assert.Contains(t, stderr, "4 -replace did not terminate and could not turn the scale-in protection back on")
}

// drainCmdHelp is ecs-drain -h.
func drainCmdHelp(t *testing.T) (int, string) {
	code, _, stderr := drainCmd(nil, "-h")
	require.Equal(t, 0, code)
	return code, stderr
}
