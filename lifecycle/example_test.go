package lifecycle_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

func ExampleGate_Run() {
	clock := clocktest.New()
	asg := lifecycletest.New(clock) // in production: autoscaling.NewFromConfig(cfg)
	asg.CreateGroup("web", lifecycletest.Hook{Name: "wait-for-app", HeartbeatTimeout: 300 * time.Second})
	asg.Launch("web", "i-0abc")

	gate, err := lifecycle.New(asg, func(o *lifecycle.Options) {
		o.Clock = clock // in production: leave it out
		o.OnEvent = func(ev lifecycle.Event) { fmt.Println(ev.Message) }
	})
	if err != nil {
		log.Fatal(err) // options that can't work; New makes no call
	}
	// In production, Discover reads the instance id and group from IMDS.
	target, err := gate.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-0abc", Group: "web"})
	if err != nil {
		log.Fatal(err)
	}
	probe, err := lifecycle.NewCommandProbe("true", time.Second) // or NewHTTPProbe, NewTCPProbe
	if err != nil {
		log.Fatal(err)
	}
	outcome, err := gate.Run(context.Background(), target, probe)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(outcome.Result, asg.State("i-0abc"))
	// Output:
	// round 1: healthy, 1/3
	// round 2: healthy, 2/3
	// round 3: healthy, 3/3
	// hook wait-for-app completed with CONTINUE: ready: command /bin/sh -c true passed 3 times in a row
	// CONTINUE InService
}
