package drain_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// drainBed: a 500-instance cluster; the instance to drain runs 30 tasks that begin stopping
// evenly over 10 minutes; its termination hook has HeartbeatTimeout 300 s.
func drainBed(b *testing.B) (*draintest.ECS, *lifecycletest.AutoScaling, *clocktest.Clock) {
	clock := clocktest.New()
	ecs := draintest.New(clock)
	ecs.CreateCluster("big")
	ecs.AddService("big", "web", false)
	for i := range 499 {
		ecs.AddInstance("big", fmt.Sprintf("i-1%07x", i))
	}
	arn := ecs.AddInstance("big", "i-00000001")
	for i := range 30 {
		ecs.RunTask(arn, "web", time.Duration(i)*20*time.Second)
	}
	asg := lifecycletest.New(clock)
	asg.CreateGroup("ecs", lifecycletest.Hook{Name: "drain", Transition: lifecycle.TerminateTransition, HeartbeatTimeout: 300 * time.Second})
	asg.Launch("ecs", "i-00000001")
	asg.ScaleIn("ecs", "i-00000001")
	return ecs, asg, clock
}

// BenchmarkDrainAPICalls counts calls to drain one instance of a 500-instance cluster whose
// 30 tasks stop over 10 minutes: the blocking driver (CLI, on-instance agent) polling every
// 10 s, and the SQS-driven Lambda with a 30 s visibility timeout. The re-publish design it
// replaces costs, per 5 s hop, 1 Lambda invocation + 1 SNS publish + a cluster scan (10 ECS
// calls for 500 instances: 5 ListContainerInstances pages and 5 DescribeContainerInstances
// of 100), and is stopped by Lambda's recursion detection after 16 hops.
func BenchmarkDrainAPICalls(b *testing.B) {
	b.Run("blocking-10s", func(b *testing.B) {
		var ecsCalls, lookups, polls, asgCalls int
		for b.Loop() {
			ecs, asg, clock := drainBed(b)
			d := newDrainer(b, ecs, clock)
			in, err := d.Find(context.Background(), "i-00000001", "big")
			if err != nil {
				b.Fatal(err)
			}
			lookups = ecs.Total()
			hook := &lifecycle.Target{Group: "ecs", InstanceID: "i-00000001", Hooks: []lifecycle.Hook{{Name: "drain", HeartbeatTimeout: 300 * time.Second, GlobalTimeout: 30000 * time.Second}}}
			res, err := d.Drain(context.Background(), in, drain.DrainOptions{AutoScaling: asg, Hook: hook})
			if err != nil || !res.Last.Done {
				b.Fatal(res, err)
			}
			ecsCalls, polls = ecs.Total(), res.Steps
			asgCalls = asg.Calls(lifecycletest.OpHeartbeat) + asg.Calls(lifecycletest.OpComplete)
		}
		b.ReportMetric(float64(lookups), "lookup-calls")
		b.ReportMetric(float64(ecsCalls), "ECS-calls")
		b.ReportMetric(float64(polls), "polls")
		b.ReportMetric(float64(ecsCalls-lookups)/float64(polls), "ECS-reads/poll")
		b.ReportMetric(float64(asgCalls), "AutoScaling-calls")
		b.ReportMetric(0, "invocations")
	})
	b.Run("lambda-sqs-30s", func(b *testing.B) {
		var ecsCalls, invocations, asgCalls int
		for b.Loop() {
			ecs, asg, clock := drainBed(b)
			h, err := drain.NewHandler(newDrainer(b, ecs, clock), asg, []string{"big"})
			if err != nil {
				b.Fatal(err)
			}
			body, _ := json.Marshal(map[string]string{"Service": "AWS Auto Scaling", "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
				"EC2InstanceId": "i-00000001", "AutoScalingGroupName": "ecs", "LifecycleHookName": "drain", "Time": clock.Now().Format(time.RFC3339)})
			payload, _ := json.Marshal(map[string]any{"Records": []map[string]string{{"messageId": "m", "eventSource": "aws:sqs", "body": string(body)}}})
			invocations = 0
			for {
				invocations++
				resp, err := h.Handle(context.Background(), payload)
				if err != nil {
					b.Fatal(err)
				}
				if len(resp.BatchItemFailures) == 0 {
					break
				}
				clock.Advance(30 * time.Second)
			}
			ecsCalls = ecs.Total()
			asgCalls = asg.Calls(lifecycletest.OpHeartbeat) + asg.Calls(lifecycletest.OpComplete)
		}
		b.ReportMetric(float64(ecsCalls), "ECS-calls")
		b.ReportMetric(float64(invocations), "invocations")
		b.ReportMetric(float64(ecsCalls)/float64(invocations), "ECS-calls/invocation")
		b.ReportMetric(float64(asgCalls), "AutoScaling-calls")
		b.ReportMetric(0, "publishes")
	})
}

func newDrainer(b *testing.B, client drain.ECSAPI, clock clock.Clock) *drain.Drainer {
	d, err := drain.New(client, func(o *drain.Options) { o.Clock = clock })
	if err != nil {
		b.Fatal(err)
	}
	return d
}
