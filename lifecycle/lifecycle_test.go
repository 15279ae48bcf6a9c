package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

// scripted is a probe whose results are given per round; after the script it repeats the
// last result.
type scripted struct {
	results []error
	round   int
}

func (s *scripted) String() string { return "scripted probe" }
func (s *scripted) Check(context.Context) error {
	i := min(s.round, len(s.results)-1)
	s.round++
	return s.results[i]
}

// healthyAfter fails until the fake clock reaches ready.
type healthyAfter struct {
	clock *clocktest.Clock
	ready time.Time
}

func (h healthyAfter) String() string { return "app" }
func (h healthyAfter) Check(context.Context) error {
	if h.clock.Now().Before(h.ready) {
		return errors.New("connection refused")
	}
	return nil
}

var errDown = errors.New("HTTP 503")

// env is a fake Auto Scaling behind its wire server, used through the real SDK client (so
// the SDK's retryer, the only retry layer, takes part), on a fake clock.
type env struct {
	t      *testing.T
	asg    *lifecycletest.AutoScaling
	client *autoscaling.Client
	srv    *lifecycletest.WireServer
	clock  *clocktest.Clock
	events []lifecycle.Event
}

func newEnv(t *testing.T, hooks ...lifecycletest.Hook) *env {
	e := &env{t: t, clock: clocktest.New()}
	e.asg = lifecycletest.New(e.clock)
	e.client, e.srv = wireClient(t, e.asg)
	if len(hooks) == 0 {
		hooks = []lifecycletest.Hook{{Name: "launch", HeartbeatTimeout: 300 * time.Second}}
	}
	e.asg.CreateGroup("web", hooks...)
	e.asg.Launch("web", "i-1")
	return e
}

func (e *env) gate(optFns ...func(*lifecycle.Options)) *lifecycle.Gate {
	base := func(o *lifecycle.Options) {
		o.Clock = e.clock
		o.Interval = 10 * time.Second
		o.OnEvent = func(ev lifecycle.Event) { e.events = append(e.events, ev) }
	}
	g, err := lifecycle.New(e.client, append([]func(*lifecycle.Options){base}, optFns...)...)
	require.NoError(e.t, err)
	return g
}

func (e *env) target(t *testing.T, g *lifecycle.Gate) lifecycle.Target {
	t.Helper()
	tgt, err := g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1", Group: "web"})
	require.NoError(t, err)
	return tgt
}

func TestReadyAtOnce(t *testing.T) {
	e := newEnv(t)
	g := e.gate()
	out, err := g.Run(context.Background(), e.target(t, g), &scripted{results: []error{nil}})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Continue, out.Result)
	assert.Equal(t, 3, out.Rounds, "the default healthy threshold")
	assert.Equal(t, 0, out.Heartbeats)
	assert.Equal(t, "InService", e.asg.State("i-1"))
	res, expired := e.asg.Result("i-1", "launch")
	assert.Equal(t, lifecycle.Continue, res)
	assert.False(t, expired)
}

func TestReadyAfterHeartbeats(t *testing.T) {
	e := newEnv(t)
	g := e.gate(func(o *lifecycle.Options) { o.Timeout = time.Hour })
	out, err := g.Run(context.Background(), e.target(t, g), healthyAfter{e.clock, e.clock.Now().Add(20 * time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Continue, out.Result)
	assert.Equal(t, 12, out.Heartbeats, "one per 100 s (a third of 300 s) over 20 minutes")
	assert.Equal(t, 12, e.asg.Calls(lifecycletest.OpHeartbeat))
	assert.Equal(t, "InService", e.asg.State("i-1"), "the action never lapsed although the boot took 4 heartbeat timeouts")
}

func TestNeverReadyIsAbandoned(t *testing.T) {
	e := newEnv(t)
	g := e.gate(func(o *lifecycle.Options) { o.Timeout = 5 * time.Minute })
	out, err := g.Run(context.Background(), e.target(t, g), &scripted{results: []error{errDown}})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Abandon, out.Result)
	assert.Contains(t, out.Reason, "not ready after 5m0s")
	assert.Equal(t, "Terminating", e.asg.State("i-1"), "replaced at once, not after the heartbeat timeout")
	_, expired := e.asg.Result("i-1", "launch")
	assert.False(t, expired)
	assert.Contains(t, e.events[0].Message, "round 1: not ready (HTTP 503), 0/3 healthy")
}

func TestResultOnFailureContinue(t *testing.T) {
	e := newEnv(t)
	g := e.gate(func(o *lifecycle.Options) { o.Timeout = time.Minute; o.ResultOnFailure = lifecycle.Continue })
	out, err := g.Run(context.Background(), e.target(t, g), &scripted{results: []error{errDown}})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Continue, out.Result)
	assert.Equal(t, "InService", e.asg.State("i-1"))
}

func TestFlappingNeedsConsecutiveSuccesses(t *testing.T) {
	e := newEnv(t)
	g := e.gate()
	probe := &scripted{results: []error{nil, nil, errDown, nil, nil, errDown, nil, nil, nil}}
	out, err := g.Run(context.Background(), e.target(t, g), probe)
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Continue, out.Result)
	assert.Equal(t, 9, out.Rounds)
}

func TestPermanentProbeFailureAbandonsAtOnce(t *testing.T) {
	e := newEnv(t)
	g := e.gate()
	out, err := g.Run(context.Background(), e.target(t, g), &lifecycle.CommandProbe{Argv: []string{"/no/such/health-check"}})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Abandon, out.Result)
	assert.Equal(t, 1, out.Rounds)
	assert.Contains(t, out.Reason, "can never succeed")
}

func TestActionAlreadyCompleted(t *testing.T) {
	e := newEnv(t)
	g := e.gate()
	tgt := e.target(t, g)
	// Someone else (a previous run of the gate) completed it already.
	_, err := e.gate(func(o *lifecycle.Options) { o.HealthyThreshold = 1 }).Run(context.Background(), tgt, &scripted{results: []error{nil}})
	require.NoError(t, err)
	calls := e.asg.Calls(lifecycletest.OpComplete)

	out, err := g.Run(context.Background(), tgt, &scripted{results: []error{nil}})
	require.NoError(t, err, "not an error")
	assert.True(t, out.NoActiveAction)
	assert.Empty(t, out.Result)
	assert.Equal(t, calls+1, e.asg.Calls(lifecycletest.OpComplete), "tried once, never retried")
}

func TestActionExpired(t *testing.T) {
	e := newEnv(t, lifecycletest.Hook{Name: "launch", HeartbeatTimeout: 60 * time.Second, DefaultResult: lifecycle.Continue})
	g := e.gate()
	tgt := e.target(t, g)
	e.clock.Advance(2 * time.Minute) // a slow boot before the gate started
	out, err := g.Run(context.Background(), tgt, &scripted{results: []error{errDown}})
	require.NoError(t, err)
	assert.True(t, out.NoActiveAction)
	assert.Equal(t, 1, e.asg.Calls(lifecycletest.OpHeartbeat), "stopped at the first no-active answer")
	res, expired := e.asg.Result("i-1", "launch")
	assert.Equal(t, lifecycle.Continue, res)
	assert.True(t, expired)
}

func TestThrottlingIsRetried(t *testing.T) {
	e := newEnv(t)
	e.asg.Fail(lifecycletest.OpComplete, lifecycletest.APIError("Throttling", "Rate exceeded"), 2)
	e.asg.Fail(lifecycletest.OpDescribeHooks, lifecycletest.APIError("ServiceUnavailable", "try later"), 1)
	g := e.gate()
	out, err := g.Run(context.Background(), e.target(t, g), &scripted{results: []error{nil}})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Continue, out.Result)
	assert.Equal(t, 3, e.asg.Calls(lifecycletest.OpComplete))
	assert.Equal(t, 2, e.asg.Calls(lifecycletest.OpDescribeHooks))
}

// TestRequestsPerLogicalCallUnderThrottling: the SDK's retryer is the only retry layer, so a
// call that is throttled every time goes out exactly MaxAttempts times (5 by default).
func TestRequestsPerLogicalCallUnderThrottling(t *testing.T) {
	for _, maxAttempts := range []int{0, 2} {
		e := newEnv(t)
		g := e.gate(func(o *lifecycle.Options) { o.MaxAttempts = maxAttempts })
		tgt := e.target(t, g)
		e.asg.Fail(lifecycletest.OpComplete, lifecycletest.APIError("Throttling", "Rate exceeded"), 0)
		start := e.clock.Now()
		_, err := g.Complete(context.Background(), tgt, lifecycle.Continue, "test")
		require.ErrorContains(t, err, "Throttling")
		want := maxAttempts
		if want == 0 {
			want = 5
		}
		assert.Equal(t, want, e.asg.Calls(lifecycletest.OpComplete), "MaxAttempts %d", maxAttempts)
		assert.True(t, e.clock.Now().After(start), "the backoff ran on the fake clock")
	}
}

func TestSeveralLaunchHooks(t *testing.T) {
	e := newEnv(t,
		lifecycletest.Hook{Name: "register-dns", HeartbeatTimeout: 600 * time.Second},
		lifecycletest.Hook{Name: "warm-cache", HeartbeatTimeout: 300 * time.Second},
		lifecycletest.Hook{Name: "drain", Transition: "autoscaling:EC2_INSTANCE_TERMINATING"},
	)
	g := e.gate(func(o *lifecycle.Options) { o.Timeout = time.Hour })
	tgt := e.target(t, g)
	require.Len(t, tgt.Hooks, 2, "launch hooks only")
	out, err := g.Run(context.Background(), tgt, healthyAfter{e.clock, e.clock.Now().Add(4 * time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Continue, out.Result)
	for _, h := range []string{"register-dns", "warm-cache"} {
		res, _ := e.asg.Result("i-1", h)
		assert.Equal(t, lifecycle.Continue, res, h)
	}
	assert.Equal(t, "InService", e.asg.State("i-1"))
	assert.Equal(t, 2*2, e.asg.Calls(lifecycletest.OpHeartbeat), "beats for both hooks every 100 s (the shortest timeout / 3)")

	only, err := g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1", Group: "web", Hooks: []string{"warm-cache"}})
	require.NoError(t, err)
	require.Len(t, only.Hooks, 1, "an explicit name wins")
	assert.Equal(t, "warm-cache", only.Hooks[0].Name)
	_, err = g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1", Group: "web", Hooks: []string{"drain"}})
	require.ErrorIs(t, err, lifecycle.ErrNoLaunchHook)
}

func TestGlobalBudgetIsNeverExceeded(t *testing.T) {
	e := newEnv(t, lifecycletest.Hook{Name: "launch", HeartbeatTimeout: 30 * time.Second})
	g := e.gate(func(o *lifecycle.Options) { o.Timeout = 3 * time.Hour })
	out, err := g.Run(context.Background(), e.target(t, g), &scripted{results: []error{errDown}})
	require.NoError(t, err)
	assert.Equal(t, lifecycle.Abandon, out.Result, "decided before 100 x 30 s ran out")
	assert.Less(t, out.Waited, 50*time.Minute)
	_, expired := e.asg.Result("i-1", "launch")
	assert.False(t, expired, "never a silent lapse to the default result")
}

func TestCancelledContextCompletesNothing(t *testing.T) {
	e := newEnv(t)
	g := e.gate()
	ctx, cancel := context.WithCancel(context.Background())
	tgt := e.target(t, g)
	cancel()
	_, err := g.Run(ctx, tgt, &scripted{results: []error{errDown}})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 0, e.asg.Calls(lifecycletest.OpComplete))
}

func TestTokenIsUsedWhenKnown(t *testing.T) {
	e := newEnv(t)
	e.asg.Launch("web", "i-2")
	tokens := e.asg.Launch("web", "i-3")
	g := e.gate()
	tgt, err := g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-3", Group: "web"})
	require.NoError(t, err)
	tgt.Token = tokens["launch"]
	_, err = g.Run(context.Background(), tgt, &scripted{results: []error{nil}})
	require.NoError(t, err)
	assert.Equal(t, "InService", e.asg.State("i-3"))
	assert.Equal(t, "Pending:Wait", e.asg.State("i-2"))
}

func TestDiscoveryThroughIMDS(t *testing.T) {
	for _, tagsEnabled := range []bool{true, false} {
		t.Run(fmt.Sprintf("tags enabled %v", tagsEnabled), func(t *testing.T) {
			e := newEnv(t)
			srv := imdstest.NewServer()
			defer srv.Close()
			srv.SetInstance("i-1", "us-east-1", "us-east-1a")
			if tagsEnabled {
				srv.SetTags(map[string]string{"aws:autoscaling:groupName": "web", "Name": "web-1"})
			} else {
				srv.SetTags(nil)
			}
			md, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL; o.Getenv = func(string) string { return "" } })
			require.NoError(t, err)
			tgt, err := e.gate().Discover(context.Background(), md, lifecycle.DiscoverOptions{})
			require.NoError(t, err)
			assert.Equal(t, "web", tgt.Group)
			assert.Equal(t, "i-1", tgt.InstanceID)
			assert.Equal(t, []lifecycle.Hook{{Name: "launch", HeartbeatTimeout: 300 * time.Second, GlobalTimeout: 30000 * time.Second, DefaultResult: "ABANDON"}}, tgt.Hooks)
			want := 1
			if tagsEnabled {
				want = 0
			}
			assert.Equal(t, want, e.asg.Calls(lifecycletest.OpDescribeInstance))
			assert.Equal(t, 1, e.asg.Calls(lifecycletest.OpDescribeHooks))
		})
	}
	e := newEnv(t)
	_, err := e.gate().Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-unknown"})
	require.ErrorIs(t, err, lifecycle.ErrNotInGroup)
}

// An instance id given without a group, with instance metadata disabled or unreachable:
// the group comes from Auto Scaling (DescribeAutoScalingInstances), through the fake and
// through the real client over the wire server; an instance in no group is ErrNotInGroup,
// named.
func TestDiscoverFindsTheGroupThroughAutoScalingWithoutMetadata(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there any more
	for _, md := range []struct {
		name string
		opt  func(*imds.Options)
	}{
		{"metadata disabled", func(o *imds.Options) { o.Disabled = true }},
		{"metadata unreachable", func(o *imds.Options) { o.Endpoint = closed.URL }},
	} {
		for _, via := range []string{"fake", "wire"} {
			t.Run(md.name+" "+via, func(t *testing.T) {
				e := newEnv(t)
				client, err := imds.New(md.opt, func(o *imds.Options) { o.Getenv = func(string) string { return "" } })
				require.NoError(t, err)
				var api lifecycle.AutoScalingAPI = e.client
				if via == "fake" {
					api = e.asg
				}
				g, err := lifecycle.New(api, func(o *lifecycle.Options) { o.Clock = e.clock })
				require.NoError(t, err)
				tgt, err := g.Discover(context.Background(), client, lifecycle.DiscoverOptions{InstanceID: "i-1"})
				require.NoError(t, err)
				assert.Equal(t, "web", tgt.Group)
				assert.Equal(t, "launch", tgt.Hooks[0].Name)
				assert.Equal(t, 1, e.asg.Calls(lifecycletest.OpDescribeInstance))

				_, err = g.Discover(context.Background(), client, lifecycle.DiscoverOptions{InstanceID: "i-0fffffffffffffff0"})
				require.ErrorIs(t, err, lifecycle.ErrNotInGroup)
				assert.Contains(t, err.Error(), "no instance i-0fffffffffffffff0 in any group")
			})
		}
	}
}

func TestWarmPoolResume(t *testing.T) {
	e := newEnv(t)
	srv := imdstest.NewServer()
	defer srv.Close()
	srv.SetInstance("i-1", "us-east-1", "us-east-1a")
	srv.SetLifecycleState(imds.LifecycleWarmedStopped)
	mdClock := clocktest.NewManual()
	md, err := imds.New(func(o *imds.Options) {
		o.Endpoint, o.Clock = srv.URL, mdClock
		o.Getenv = func(string) string { return "" }
	})
	require.NoError(t, err)
	g := e.gate()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tick := func() { // wait for the watcher's poll to end, then wake it for the next one
		require.NoError(t, mdClock.BlockUntilSleeping(ctx, 1))
		mdClock.Advance(5 * time.Second)
	}
	var runs atomic.Int32
	outcomes := make(chan lifecycle.Outcome, 4)
	done := make(chan error, 1)
	go func() {
		done <- lifecycle.GateOnInService(ctx, md, func(ctx context.Context) (lifecycle.Outcome, error) {
			runs.Add(1)
			tgt, err := g.Discover(ctx, md, lifecycle.DiscoverOptions{Group: "web"})
			if err != nil {
				return lifecycle.Outcome{}, err
			}
			return g.Run(ctx, tgt, &scripted{results: []error{nil}})
		}, func(o lifecycle.Outcome, err error) {
			require.NoError(t, err)
			outcomes <- o
		})
	}()
	tick() // still in the warm pool: no gate
	tick()
	assert.Equal(t, int32(0), runs.Load())
	srv.SetLifecycleState(imds.LifecycleInService) // resumed: user data does not run again
	tick()
	o := <-outcomes
	assert.Equal(t, lifecycle.Continue, o.Result)
	assert.Equal(t, "InService", e.asg.State("i-1"))
	tick() // still InService: not gated twice
	tick()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, int32(1), runs.Load())
}

func TestProbes(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	ctx := context.Background()
	p, err := lifecycle.NewHTTPProbe(srv.URL+"/health", "200,204", time.Second)
	require.NoError(t, err)
	require.ErrorContains(t, p.Check(ctx), "HTTP 503")
	require.Error(t, p.Check(ctx))
	require.NoError(t, p.Check(ctx))
	strict, err := lifecycle.NewHTTPProbe(srv.URL, "200", time.Second)
	require.NoError(t, err)
	require.ErrorContains(t, strict.Check(ctx), "HTTP 204")

	for _, bad := range []struct{ url, statuses string }{{"127.0.0.1:8080/health", ""}, {"ftp://x/", ""}, {"http://x/", "2xx"}, {"http://x/", "300-200"}} {
		_, err := lifecycle.NewHTTPProbe(bad.url, bad.statuses, 0)
		require.ErrorIs(t, err, lifecycle.ErrInvalidInput, bad)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, (&lifecycle.TCPProbe{Addr: addr}).Check(ctx))
	l.Close()
	require.Error(t, (&lifecycle.TCPProbe{Addr: addr}).Check(ctx))
	require.ErrorIs(t, (&lifecycle.TCPProbe{Addr: "nonsense"}).Check(ctx), lifecycle.ErrPermanent)

	require.NoError(t, (&lifecycle.CommandProbe{Argv: []string{"true"}}).Check(ctx))
	require.ErrorContains(t, (&lifecycle.CommandProbe{Argv: []string{"sh", "-c", "echo not yet; exit 1"}}).Check(ctx), "not yet")
	all := lifecycle.All{&lifecycle.CommandProbe{Argv: []string{"true"}}, &lifecycle.TCPProbe{Addr: addr}}
	require.Error(t, all.Check(ctx), "all must pass")
	assert.Equal(t, "command true and TCP "+addr, all.String())
}

func TestProbeConstructorsRefuseTypos(t *testing.T) {
	for _, addr := range []string{"localhost8080", "localhost:", "localhost:http", "localhost:70000", "a b:80", ""} {
		_, err := lifecycle.NewTCPProbe(addr, time.Second)
		assert.ErrorIs(t, err, lifecycle.ErrInvalidInput, "%q", addr)
	}
	for _, addr := range []string{"127.0.0.1:8080", "[::1]:443", ":8080", "localhost:1"} {
		_, err := lifecycle.NewTCPProbe(addr, time.Second)
		assert.NoError(t, err, "%q", addr)
	}
	for _, cmd := range []string{"", "  \t", "/no/such/binary --flag", "/etc"} {
		_, err := lifecycle.NewCommandProbe(cmd, time.Second)
		assert.ErrorIs(t, err, lifecycle.ErrInvalidInput, "%q", cmd)
	}
	_, err := lifecycle.NewHTTPProbe("http://127.0.0.1/", "200", -time.Second)
	assert.ErrorIs(t, err, lifecycle.ErrInvalidInput)
}

// A health URL that can never be fetched is refused before anything touches the lifecycle
// action (it used to be probed for the whole timeout, then ABANDON: the instance terminated
// for a typo); an HTTPProbe built by hand with one fails for good at once.
func TestHealthURLsThatCanNeverWorkAreRefused(t *testing.T) {
	for url, why := range map[string]string{
		"http://127.0.0.1:99999/health": `port "99999" is not a number from 1 to 65535`,
		"http://127.0.0.1:65536/health": `port "65536" is not a number from 1 to 65535`,
		"http://127.0.0.1:0/health":     `port "0" is not a number from 1 to 65535`,
		"http://:8080/health":           "has no host",
		"http:///health":                "has no host",
		"http://user@:80/":              "has no host",
		"ftp://127.0.0.1/health":        "is not an http(s) URL",
		"127.0.0.1:8080/health":         "is not",
		"localhost:8080":                "is not an http(s) URL",
		"http://127.0.0.1:-1/":          "is not a URL",
		"http://local host/":            "is not a URL",
		"":                              "is not an http(s) URL",
	} {
		_, err := lifecycle.NewHTTPProbe(url, "200", time.Second)
		require.ErrorIs(t, err, lifecycle.ErrInvalidInput, "%q", url)
		assert.Contains(t, err.Error(), why, "%q", url)
		err = (&lifecycle.HTTPProbe{URL: url}).Check(context.Background())
		assert.ErrorIs(t, err, lifecycle.ErrPermanent, "%q", url)
	}
	for _, url := range []string{"http://127.0.0.1:8080/health", "https://[::1]:443/", "http://localhost/", "http://127.0.0.1:65535/", "HTTP://app.internal:1/"} {
		_, err := lifecycle.NewHTTPProbe(url, "200", time.Second)
		assert.NoError(t, err, "%q", url)
	}
}

func TestCommandProbeThatCannotStartIsPermanent(t *testing.T) {
	ctx := context.Background()
	notFound, err := lifecycle.NewCommandProbe("no-such-command-anywhere", time.Second)
	require.NoError(t, err, "a relative command is looked up when it runs")
	assert.ErrorIs(t, notFound.Check(ctx), lifecycle.ErrPermanent)

	failing, err := lifecycle.NewCommandProbe("exit 1", time.Second)
	require.NoError(t, err)
	err = failing.Check(ctx)
	require.Error(t, err)
	assert.NotErrorIs(t, err, lifecycle.ErrPermanent, "a failing check may pass later")

	passing, err := lifecycle.NewCommandProbe("true", time.Second)
	require.NoError(t, err)
	assert.NoError(t, passing.Check(ctx))
}

func TestDiscoverTerminationHooks(t *testing.T) {
	e := newEnv(t, lifecycletest.Hook{Name: "launch", HeartbeatTimeout: 300 * time.Second},
		lifecycletest.Hook{Name: "drain", Transition: lifecycle.TerminateTransition, HeartbeatTimeout: 120 * time.Second})
	g := e.gate()
	tgt, err := g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1", Group: "web", Transition: lifecycle.TerminateTransition})
	require.NoError(t, err)
	require.Len(t, tgt.Hooks, 1)
	assert.Equal(t, "drain", tgt.Hooks[0].Name)
	assert.Equal(t, 12000*time.Second, tgt.Hooks[0].GlobalTimeout)

	_, err = g.Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1", Group: "web", Transition: "autoscaling:EC2_INSTANCE_REBOOTING"})
	require.ErrorIs(t, err, lifecycle.ErrInvalidInput)

	e = newEnv(t)
	_, err = e.gate().Discover(context.Background(), nil, lifecycle.DiscoverOptions{InstanceID: "i-1", Group: "web", Transition: lifecycle.TerminateTransition})
	require.ErrorIs(t, err, lifecycle.ErrNoHook)
	assert.Contains(t, err.Error(), "no termination hook")
}

// A Timeout that can never see HealthyThreshold passing rounds Interval apart could only
// ever complete with ResultOnFailure (ABANDON: the instance replaced on a typo): New refuses
// it; one that just fits is accepted.
func TestNewRefusesATimeoutThatCanNeverSeeTheThreshold(t *testing.T) {
	e := newEnv(t)
	_, err := lifecycle.New(e.asg, func(o *lifecycle.Options) {
		o.Timeout, o.Interval, o.HealthyThreshold = 10*time.Second, 10*time.Second, 3
	})
	require.ErrorIs(t, err, lifecycle.ErrInvalidInput)
	assert.Contains(t, err.Error(), "want at least 20s")
	_, err = lifecycle.New(e.asg, func(o *lifecycle.Options) {
		o.Timeout, o.Interval, o.HealthyThreshold = 20*time.Second, 10*time.Second, 3
	})
	require.NoError(t, err)
	_, err = lifecycle.New(e.asg, func(o *lifecycle.Options) { o.Timeout, o.HealthyThreshold = time.Second, 1 })
	require.NoError(t, err, "one round needs no time")
}
