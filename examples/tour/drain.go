package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

func init() {
	chapters = append(chapters, chapter{order: 5, name: "drain: empty an ECS instance on scale-in (CLI and Lambda), on a Spot notice and ahead of maintenance", run: tourDrain})
}

func tourDrain(ctx context.Context, say func(string, ...any)) error {
	clock := clocktest.New()
	ecs := draintest.New(clock)
	ecs.CreateCluster("prod")
	ecs.AddService("prod", "web", false)
	ecs.AddService("prod", "log-agent", true)
	var victim, first string
	for i, id := range []string{"i-00000aaa", "i-00000bbb", "i-00000ccc"} {
		arn := ecs.AddInstance("prod", id)
		if i == 0 {
			first = arn
		}
		for j := range 4 {
			ecs.RunTask(arn, "web", time.Duration(j)*45*time.Second)
		}
		ecs.RunTask(arn, "log-agent", 0)
		if i == 2 {
			victim = arn
		}
	}
	say("a fake ECS cluster \"prod\": three instances, each with 4 web tasks and a log-agent daemon task")

	asg := lifecycletest.New(clock)
	asg.CreateGroup("ecs-prod", lifecycletest.Hook{Name: "drain", Transition: lifecycle.TerminateTransition, HeartbeatTimeout: 120 * time.Second, DefaultResult: lifecycle.Continue})
	asg.Launch("ecs-prod", "i-00000ccc")
	asg.ScaleIn("ecs-prod", "i-00000ccc") // the termination hook's action: the scale-in of i-0ccc waits in it
	say("the group scales in: i-0ccc waits in termination hook \"drain\" (heartbeat timeout 120 s)")

	d, err := drain.New(ecs, func(o *drain.Options) { o.Clock = clock; o.PollInterval = 15 * time.Second })
	if err != nil {
		return err
	}
	in, err := d.Find(ctx, "i-00000ccc", "prod")
	if err != nil {
		return err
	}
	say("found its container instance with one filtered ListContainerInstances call (%d ECS calls so far)", ecs.Total())
	hook := &lifecycle.Target{Group: "ecs-prod", InstanceID: "i-00000ccc", Hooks: []lifecycle.Hook{{Name: "drain", HeartbeatTimeout: 120 * time.Second, GlobalTimeout: 12000 * time.Second}}}
	start := clock.Now()
	res, err := d.Drain(ctx, in, drain.DrainOptions{AutoScaling: asg, Hook: hook,
		OnProgress: func(p drain.Progress) { say("  +%-5s %s", clock.Now().Sub(start), p) },
		OnEvent: func(ev lifecycle.Event) {
			if ev.Kind != lifecycle.EventProbe {
				say("  +%-5s %s", clock.Now().Sub(start), ev.Message)
			}
		}})
	if err != nil {
		return err
	}
	say("drained in %d steps, %d heartbeats; the daemon task (stopped last by ECS) did not hold the drain; %s is %s, the hook: %s",
		res.Steps, res.Hook.Heartbeats, in.EC2InstanceID, ecs.InstanceStatus(victim), res.Hook.Result)
	if err := tourDrainLambda(ctx, say, clock, ecs, asg); err != nil {
		return err
	}
	if err := tourDrainSpot(ctx, say, clock, ecs, first); err != nil {
		return err
	}
	return tourDrainMaintenance(ctx, say, clock, ecs)
}

// tourDrainLambda: the same scale-in handled by the drain Lambda, re-driven by its SQS queue.
func tourDrainLambda(ctx context.Context, say func(string, ...any), clock *clocktest.Clock, ecs *draintest.ECS, asg *lifecycletest.AutoScaling) error {
	asg.Launch("ecs-prod", "i-00000bbb")
	asg.ScaleIn("ecs-prod", "i-00000bbb")
	d, err := drain.New(ecs, func(o *drain.Options) { o.Clock = clock })
	if err != nil {
		return err
	}
	h, err := drain.NewHandler(d, asg, []string{"prod"})
	if err != nil {
		return err
	}
	body, err := json.Marshal(events.CloudWatchEvent{Version: "0", ID: "ev", DetailType: "EC2 Instance-terminate Lifecycle Action",
		Source: "aws.autoscaling", Time: clock.Now(), Region: "us-east-1", Detail: json.RawMessage(`{"LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING",` +
			`"EC2InstanceId":"i-00000bbb","AutoScalingGroupName":"ecs-prod","LifecycleHookName":"drain"}`)})
	if err != nil {
		return err
	}
	payload, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-1", Body: string(body), EventSource: "aws:sqs"}}})
	if err != nil {
		return err
	}
	say("the Lambda path: EventBridge puts i-0bbb's termination in the drain queue; each invocation does one step")
	before := ecs.Total()
	for n := 1; n <= 100; n++ {
		resp, err := h.Handle(ctx, payload)
		if err != nil {
			return err
		}
		if len(resp.BatchItemFailures) == 0 {
			res, _ := asg.Result("i-00000bbb", "drain")
			say("done after %d invocations, one per 30 s visibility timeout, %d ECS calls, nothing re-published; the hook: %s; i-0bbb is %s",
				n, ecs.Total()-before, res, asg.State("i-00000bbb"))
			return nil
		}
		clock.Advance(30 * time.Second) // the queue's visibility timeout
	}
	return fmt.Errorf("the Lambda drain never finished")
}

// tourDrainSpot: a Spot interruption notice on i-0aaa, seen by ecs-drain -watch on the instance.
func tourDrainSpot(ctx context.Context, say func(string, ...any), clock *clocktest.Clock, ecs *draintest.ECS, stale string) error {
	mdClock := clocktest.NewManual()
	srv := imdstest.NewServer(func(o *imdstest.Options) { o.Clock = mdClock })
	defer srv.Close()
	srv.SetInstance("i-00000aaa", "us-east-1", "us-east-1a")
	md, err := imds.New(func(o *imds.Options) { o.Endpoint, o.Clock = srv.URL, mdClock })
	if err != nil {
		return err
	}
	arn := ecs.AddInstance("prod", "i-00000aaa") // registered again (its agent lost its state): a fresh container instance
	ecs.SetAgentConnected(stale, false)          // the old registration's agent is gone; the drain takes the connected one
	ecs.RunTask(arn, "web", 20*time.Second)
	slow := ecs.RunTask(arn, "web", 5*time.Minute) // will not make it
	d, err := drain.New(ecs, func(o *drain.Options) { o.Clock = clock })
	if err != nil {
		return err
	}
	watching, stop := context.WithCancel(ctx)
	defer stop()
	var res drain.Result
	var werr error
	go func() {
		defer stop()
		res, werr = d.Watch(ctx, md, []string{"prod"}, drain.WatchOptions{
			OnTrigger: func(t drain.Trigger) { say("ecs-drain -watch on i-0aaa: %s", t.Reason) },
		})
	}()
	say("ecs-drain -watch runs on i-0aaa, reading instance metadata every 5 s")
	if err := mdClock.BlockUntilSleeping(watching, 2); err != nil {
		return err
	}
	srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: clock.Now().Add(2 * time.Minute)})
	for mdClock.BlockUntilSleeping(watching, 1) == nil {
		mdClock.Advance(5 * time.Second)
	}
	if !errors.Is(werr, drain.ErrSpotDeadline) {
		return fmt.Errorf("want the Spot deadline, got %v", werr)
	}
	say("two minutes later EC2 reclaims it: %s; task %s was still %s (its stop takes longer than a Spot warning leaves)",
		res.Last, slow[len(slow)-8:], ecs.TaskStatus(slow))
	return nil
}

// tourDrainMaintenance: a scheduled reboot of i-0eee, drained ahead by ecs-drain -watch
// -on-maintenance; a canceled one beside it changes nothing.
func tourDrainMaintenance(ctx context.Context, say func(string, ...any), clock *clocktest.Clock, ecs *draintest.ECS) error {
	mdClock := clocktest.NewManual()
	srv := imdstest.NewServer(func(o *imdstest.Options) { o.Clock = mdClock })
	defer srv.Close()
	srv.SetInstance("i-00000eee", "us-east-1", "us-east-1a")
	md, err := imds.New(func(o *imds.Options) { o.Endpoint, o.Clock = srv.URL, mdClock })
	if err != nil {
		return err
	}
	arn := ecs.AddInstance("prod", "i-00000eee")
	ecs.RunTask(arn, "web", time.Minute)
	at := clock.Now().UTC().Truncate(time.Second)
	srv.SetMaintenance(
		imds.MaintenanceEvent{EventID: "instance-event-0aa1", Code: imds.MaintenanceInstanceStop, State: imds.MaintenanceCanceled,
			NotBefore: at.Add(10 * time.Minute)},
		imds.MaintenanceEvent{EventID: "instance-event-0bb2", Code: imds.MaintenanceSystemReboot, State: imds.MaintenanceActive,
			NotBefore: at.Add(45 * time.Minute), NotAfter: at.Add(3 * time.Hour)})
	d, err := drain.New(ecs, func(o *drain.Options) { o.Clock = clock })
	if err != nil {
		return err
	}
	watching, stop := context.WithCancel(ctx)
	defer stop()
	var res drain.Result
	var werr error
	go func() {
		defer stop()
		res, werr = d.Watch(ctx, md, []string{"prod"}, drain.WatchOptions{OnMaintenance: true, MaintenanceLead: time.Hour,
			OnTrigger: func(t drain.Trigger) { say("ecs-drain -watch -on-maintenance on i-0eee: %s", t.Reason) },
		})
	}()
	say("i-0eee has two maintenance events: an instance-stop, canceled (never drained for), and a system reboot in 45 minutes")
	for mdClock.BlockUntilSleeping(watching, 1) == nil {
		mdClock.Advance(5 * time.Second)
	}
	if werr != nil {
		return werr
	}
	say("drained ahead of the reboot in %d steps: %s; i-0eee stays %s until someone sets it ACTIVE after the reboot",
		res.Steps, res.Last, ecs.InstanceStatus(arn))
	return nil
}
