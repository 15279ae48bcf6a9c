package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

func init() {
	chapters = append(chapters, chapter{order: 4, name: "lifecycle: hold a launch until the app is healthy, abandon one that never is", run: tourLifecycle})
}

func tourLifecycle(ctx context.Context, say func(string, ...any)) error {
	clock := clocktest.New()
	asg := lifecycletest.New(clock)
	asg.CreateGroup("web", lifecycletest.Hook{Name: "wait-for-app", HeartbeatTimeout: 300 * time.Second, DefaultResult: lifecycle.Abandon})
	say("a fake Auto Scaling group \"web\" with launch hook wait-for-app (heartbeat timeout 300 s)")

	var hits atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 30 { // still installing for the first 30 checks (5 minutes of rounds)
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer app.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer broken.Close()

	rounds := 0
	gate, err := lifecycle.New(asg, func(o *lifecycle.Options) {
		o.Clock = clock
		o.Timeout = 10 * time.Minute
		o.OnEvent = func(ev lifecycle.Event) {
			if ev.Kind == lifecycle.EventProbe {
				rounds++
				if rounds%10 != 1 { // one line in ten probe rounds, to keep the tour short
					return
				}
			}
			say("  %s %s", clock.Now().Format("15:04:05"), ev.Message)
		}
	})
	if err != nil {
		return err
	}
	for _, inst := range []struct{ id, url string }{{"i-0aaa", app.URL + "/health"}, {"i-0bbb", broken.URL + "/health"}} {
		rounds = 0
		asg.Launch("web", inst.id)
		target, err := gate.Discover(ctx, nil, lifecycle.DiscoverOptions{InstanceID: inst.id, Group: "web"})
		if err != nil {
			return err
		}
		probe, err := lifecycle.NewHTTPProbe(inst.url, "200", time.Second)
		if err != nil {
			return err
		}
		say("%s launches and waits in %s; gating it on %s (fake clock: minutes pass in microseconds)", inst.id, asg.State(inst.id), probe)
		out, err := gate.Run(ctx, target, probe)
		if err != nil {
			return err
		}
		say("%s: %s after %s and %d heartbeats -> %s", inst.id, out.Result, out.Waited, out.Heartbeats, asg.State(inst.id))
	}
	return tourWarmPool(ctx, say, asg, gate)
}

// tourWarmPool gates an instance resumed from a warm pool, where user data does not run
// again: lifecycle-gate -warm-pool watches IMDS's target lifecycle state instead.
func tourWarmPool(ctx context.Context, say func(string, ...any), asg *lifecycletest.AutoScaling, gate *lifecycle.Gate) error {
	mdClock := clocktest.NewManual()
	srv := imdstest.NewServer(func(o *imdstest.Options) { o.Clock = mdClock })
	defer srv.Close()
	srv.SetInstance("i-00000ddd", "us-east-1", "us-east-1a")
	srv.SetTags(map[string]string{"aws:autoscaling:groupName": "web"})
	srv.SetLifecycleState(imds.LifecycleWarmedStopped)
	md, err := imds.New(func(o *imds.Options) { o.Endpoint, o.Clock = srv.URL, mdClock })
	if err != nil {
		return err
	}
	probe, err := lifecycle.NewCommandProbe("true", time.Second)
	if err != nil {
		return err
	}
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	outcomes := make(chan lifecycle.Outcome, 2)
	done := make(chan error, 1)
	go func() {
		done <- lifecycle.GateOnInService(watchCtx, md, func(ctx context.Context) (lifecycle.Outcome, error) {
			target, err := gate.Discover(ctx, md, lifecycle.DiscoverOptions{})
			if err != nil {
				return lifecycle.Outcome{}, err
			}
			return gate.Run(ctx, target, probe)
		}, func(o lifecycle.Outcome, err error) {
			if err != nil {
				o.Reason = err.Error()
			}
			outcomes <- o
		})
	}()
	say("i-0ddd sits in the warm pool (target lifecycle state %s); lifecycle-gate -warm-pool watches IMDS", imds.LifecycleWarmedStopped)
	if err := mdClock.BlockUntilSleeping(watchCtx, 1); err != nil {
		return err
	}
	asg.Launch("web", "i-00000ddd") // the resume opens the launch hook's action again
	srv.SetLifecycleState(imds.LifecycleInService)
	mdClock.Advance(5 * time.Second)
	o := <-outcomes
	say("resumed: IMDS now says %s, user data does not run again, the watcher gates it: %s (%s) -> %s",
		imds.LifecycleInService, o.Result, o.Reason, asg.State("i-00000ddd"))
	stop()
	if err := <-done; err != context.Canceled {
		return err
	}
	return nil
}
