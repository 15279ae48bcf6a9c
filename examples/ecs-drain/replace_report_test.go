package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/stretchr/testify/assert"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// Turning the protection back on is refused and the group can't be read back: exit 4 with
// the command, never a word that it is on again.
func TestReplaceWhoseRestoreAndReadBackFailExits4(t *testing.T) {
	fake, arn, clockOpt := bed(t)
	fake.RunTask(arn, "", 0) // standalone: the drain never finishes
	var o drain.Options
	clockOpt(&o)
	_, asg, _ := onInstance(t, o.Clock)
	_, _ = asg.SetInstanceProtection(context.Background(), &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: aws.String("ecs"),
		InstanceIds: []string{"i-0123456789abcdef0"}, ProtectedFromScaleIn: aws.Bool(true)})
	asg.Fail(lifecycletest.OpProtect, nil, 1)
	asg.Fail(lifecycletest.OpProtect, lifecycletest.APIError("AccessDenied", "not authorized to perform autoscaling:SetInstanceProtection"), 0)
	asg.Fail(lifecycletest.OpDescribeInstance, nil, 1) // the lookup of the group works, every later read is refused
	asg.Fail(lifecycletest.OpDescribeInstance, lifecycletest.APIError("AccessDenied", "not authorized to perform autoscaling:DescribeAutoScalingInstances"), 0)
	code, stdout, stderr := drainCmd(clockOpt, "-replace", "-cluster", "prod", "-instance", "i-0123456789abcdef0", "-timeout", "2m")
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Equal(t, 4, code)
	assert.False(t, asg.Protected("i-0123456789abcdef0"))
	assert.NotContains(t, stdout+stderr, "on again")
	assert.Contains(t, stderr, "do it by hand: aws autoscaling set-instance-protection --auto-scaling-group-name ecs --instance-ids i-0123456789abcdef0 --protected-from-scale-in --region us-east-1")
	assert.Contains(t, stderr, "left DRAINING")
}

// An instance that was not protected: the timeout exit (3) does not claim a protection was
// put back, and the instance stays unprotected.
func TestReplaceOfAnUnprotectedInstanceClaimsNoProtection(t *testing.T) {
	fake, arn, clockOpt := bed(t)
	fake.RunTask(arn, "", 0)
	var o drain.Options
	clockOpt(&o)
	_, asg, _ := onInstance(t, o.Clock)
	code, stdout, stderr := drainCmd(clockOpt, "-replace", "-cluster", "prod", "-instance", "i-0123456789abcdef0", "-timeout", "2m")
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Equal(t, 3, code)
	assert.False(t, asg.Protected("i-0123456789abcdef0"))
	assert.NotContains(t, stdout+stderr, "on again")
	assert.NotContains(t, stdout+stderr, "restored")
}

// A termination whose outcome is unknown (its answer lost, the group unreadable): exit 1,
// the command that reads the group, what to do if it is terminating and if it is not; never
// "not terminated", "on again" or "left DRAINING" as facts.
func TestReplaceWhoseTerminationOutcomeIsUnknownSaysWhatToCheck(t *testing.T) {
	res := drain.ReplaceResult{Instance: drain.Instance{Cluster: "prod", ContainerInstanceARN: "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/abc",
		EC2InstanceID: "i-0123456789abcdef0"}, Group: "ecs", WasProtected: true, TerminationUnknown: true}
	for name, tc := range map[string]struct {
		perr error
		want string
	}{
		"protection back on": {nil, "ecs-drain: its scale-in protection was turned back on\n"},
		"protection refused": {errors.New("AccessDenied"), "do it by hand: aws autoscaling set-instance-protection --auto-scaling-group-name ecs --instance-ids i-0123456789abcdef0 --protected-from-scale-in --region us-east-1"},
	} {
		t.Run(name, func(t *testing.T) {
			err := &drain.TerminationUnknownError{Group: "ecs", InstanceID: "i-0123456789abcdef0", WasProtected: true, ProtectionErr: tc.perr,
				Err: errors.New("connection reset by peer")}
			var stdout, stderr bytes.Buffer
			say := func(format string, a ...any) { fmt.Fprintf(&stdout, format+"\n", a...) }
			code := reportReplace(say, &stderr, "us-east-1", res, err)
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr.String(), "whether i-0123456789abcdef0 was terminated is UNKNOWN")
			assert.Contains(t, stderr.String(), "check it: aws autoscaling describe-auto-scaling-instances --instance-ids i-0123456789abcdef0 --region us-east-1")
			assert.Contains(t, stderr.String(), "if it is InService: it was not terminated")
			assert.Contains(t, stderr.String(), tc.want)
			assert.Empty(t, stdout.String())
			assert.NotContains(t, stderr.String(), "NOT terminated")
			assert.NotContains(t, stderr.String(), "is left DRAINING")
		})
	}
}
