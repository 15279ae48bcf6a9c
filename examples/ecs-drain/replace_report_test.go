package main

import (
	"context"
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
