package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// BenchmarkAPICallsPerLaunch counts Auto Scaling calls for one launch whose application
// takes 20 minutes to become ready, with HeartbeatTimeout 300 s, with and without instance
// tags in metadata. Target: 1 DescribeAutoScalingInstances (0 with tags) + 1
// DescribeLifecycleHooks + 1 CompleteLifecycleAction + one heartbeat per 100 s waited.
func BenchmarkAPICallsPerLaunch(b *testing.B) {
	for _, tags := range []bool{true, false} {
		name := "tags-in-metadata"
		if !tags {
			name = "no-tags"
		}
		b.Run(name, func(b *testing.B) {
			srv := imdstest.NewServer()
			defer srv.Close()
			srv.SetInstance("i-1", "us-east-1", "us-east-1a")
			if tags {
				srv.SetTags(map[string]string{"aws:autoscaling:groupName": "web"})
			} else {
				srv.SetTags(nil)
			}
			md, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL })
			if err != nil {
				b.Fatal(err)
			}
			var describeInstances, describeHooks, heartbeats, completes int
			for b.Loop() {
				clock := clocktest.New()
				asg := lifecycletest.New(clock)
				asg.CreateGroup("web", lifecycletest.Hook{Name: "launch", HeartbeatTimeout: 300 * time.Second})
				asg.Launch("web", "i-1")
				g, err := lifecycle.New(asg, func(o *lifecycle.Options) { o.Clock = clock; o.Timeout = time.Hour })
				if err != nil {
					b.Fatal(err)
				}
				tgt, err := g.Discover(context.Background(), md, lifecycle.DiscoverOptions{})
				if err != nil {
					b.Fatal(err)
				}
				out, err := g.Run(context.Background(), tgt, healthyAfter{clock, clock.Now().Add(20 * time.Minute)})
				if err != nil || out.Result != lifecycle.Continue {
					b.Fatal(out, err)
				}
				describeInstances, describeHooks = asg.Calls(lifecycletest.OpDescribeInstance), asg.Calls(lifecycletest.OpDescribeHooks)
				heartbeats, completes = asg.Calls(lifecycletest.OpHeartbeat), asg.Calls(lifecycletest.OpComplete)
			}
			b.ReportMetric(float64(describeInstances), "DescribeAutoScalingInstances")
			b.ReportMetric(float64(describeHooks), "DescribeLifecycleHooks")
			b.ReportMetric(float64(heartbeats), "heartbeats")
			b.ReportMetric(float64(completes), "CompleteLifecycleAction")
			b.ReportMetric(float64(describeInstances+describeHooks+heartbeats+completes), "calls/launch")
		})
	}
}
