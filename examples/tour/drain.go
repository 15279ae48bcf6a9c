package main

import (
	"context"
	"time"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

func init() {
	chapters = append(chapters, chapter{order: 5, name: "drain: empty an ECS instance on scale-in, then let Auto Scaling terminate it", run: tourDrain})
}

func tourDrain(ctx context.Context, say func(string, ...any)) error {
	clock := lifecycletest.NewClock()
	ecs := draintest.New(clock)
	ecs.CreateCluster("prod")
	ecs.AddService("prod", "web", false)
	ecs.AddService("prod", "log-agent", true)
	var victim string
	for i, id := range []string{"i-00000aaa", "i-00000bbb", "i-00000ccc"} {
		arn := ecs.AddInstance("prod", id)
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
	return nil
}
