package drain_test

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

func completeInput(instanceID string) *autoscaling.CompleteLifecycleActionInput {
	return &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("ecs"), LifecycleHookName: aws.String("drain"),
		LifecycleActionResult: aws.String("CONTINUE"), InstanceId: aws.String(instanceID)}
}
