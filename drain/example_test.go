package drain_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
)

func ExampleDrainer_Drain() {
	clock := clocktest.New()
	ecs := draintest.New(clock) // in production: ecs.NewFromConfig(cfg)
	ecs.CreateCluster("prod")
	ecs.AddService("prod", "web", false)
	arn := ecs.AddInstance("prod", "i-00000abc")
	ecs.RunTask(arn, "web", 0)
	ecs.RunTask(arn, "web", 20*time.Second)

	d, err := drain.New(ecs, func(o *drain.Options) { o.Clock = clock }) // leave Clock out in production
	if err != nil {
		log.Fatal(err) // options that can't work; New makes no call
	}
	in, err := d.Find(context.Background(), "i-00000abc", "prod")
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Drain(context.Background(), in, drain.DrainOptions{OnProgress: func(p drain.Progress) { fmt.Println(p) }})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Steps, "steps")
	// Output:
	// 2 task(s) left: 1 RUNNING, 1 DEACTIVATING
	// 2 task(s) left: 1 RUNNING, 1 STOPPING
	// 2 task(s) left: 1 DEACTIVATING, 1 DEPROVISIONING
	// 1 task(s) left: 1 STOPPING
	// 1 task(s) left: 1 DEPROVISIONING
	// drained: every task has stopped (0 ignored by policy)
	// 6 steps
}
