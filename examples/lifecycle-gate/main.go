// Command lifecycle-gate holds this instance's Auto Scaling launch lifecycle action until the
// application is ready, then completes it: CONTINUE when ready, ABANDON when it never gets
// ready, so the group replaces it at once. Put it at the end of user data:
//
//	lifecycle-gate -health-url http://127.0.0.1:8080/health -timeout 15m
//
// or run it from systemd with -warm-pool, so that instances resumed from a warm pool (where
// user data does not run again) are gated too. Run with -h for the flags and exit codes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/shipshape-dev/shipshape/examples/internal/awsconfig"
	"github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/internal/awsid"
	"github.com/shipshape-dev/shipshape/lifecycle"
)

// Exit codes.
const (
	exitContinue = 0
	exitError    = 1
	exitUsage    = 2
	exitAbandon  = 3
	exitNoAction = 4
)

const usage = `Usage: lifecycle-gate [flags]

Holds this instance's Auto Scaling launch lifecycle action (heartbeating it) until the probes
pass, then completes it with CONTINUE; if they never pass before -timeout, or a probe can never
pass, completes it with -result-on-failure (ABANDON: the group replaces the instance at once).
The group and hooks are discovered from instance metadata and the Auto Scaling API; with
-instance-id, metadata may be disabled or unreachable (the group then comes from Auto
Scaling's DescribeAutoScalingInstances; give AWS_REGION).

Example (end of user data):
  lifecycle-gate -health-url http://127.0.0.1:8080/health -timeout 15m

Exit codes: 0 completed with CONTINUE, 3 completed with ABANDON, 4 no active lifecycle action
(already completed or expired; nothing to do), 1 operational error, 2 usage error.
Environment: the standard AWS SDK variables (AWS_REGION, AWS_ENDPOINT_URL_AUTO_SCALING, ...;
the region defaults to the instance's) and AWS_EC2_METADATA_SERVICE_ENDPOINT(_MODE).

Flags:
`

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	ctx, sig := cli.WithSignals(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if name := sig.Name(); name != "" {
		fmt.Fprintf(os.Stderr, "lifecycle-gate: stopped by %s before a decision: the lifecycle action was not completed; "+
			"Auto Scaling applies the hook's default result at its timeout, or run lifecycle-gate again\n", name)
	}
	sig.Stop()
	os.Exit(sig.Code(code))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if cli.AskedVersion("lifecycle-gate", args, stdout) {
		return 0
	}
	fs := flag.NewFlagSet("lifecycle-gate", flag.ContinueOnError)
	healthURL := fs.String("health-url", "", "HTTP health check URL (like an ALB target group's)")
	healthStatus := fs.String("health-status", "200", "healthy HTTP codes: 200, 200,204 or 200-299")
	var tcps, cmds, hooks multi
	fs.Var(&tcps, "tcp", "host:port that must accept a TCP connection (repeatable)")
	fs.Var(&cmds, "cmd", "shell command that must exit 0 (repeatable; run with /bin/sh -c; exit 126/127, the\nshell's 'cannot run'/'not found', completes with -result-on-failure at once)")
	threshold := fs.Int("healthy-threshold", 3, "consecutive passing rounds needed")
	interval := fs.Duration("interval", 10*time.Second, "time between probe rounds")
	probeTimeout := fs.Duration("probe-timeout", 5*time.Second, "time limit of one probe try")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up (and complete with -result-on-failure) after")
	fs.Var(&hooks, "hook", "lifecycle hook to complete (repeatable; default: every launch hook of the group)")
	group := fs.String("group", "", "Auto Scaling group (default: discovered)")
	instanceID := fs.String("instance-id", "", "instance id (default: from instance metadata)")
	token := fs.String("token", "", "lifecycle action token, when known")
	onFailure := fs.String("result-on-failure", string(lifecycle.Abandon), "ABANDON or CONTINUE")
	warmPool := fs.Bool("warm-pool", false, "keep running; gate each time the instance goes InService (warm pool resume)")
	verbose := fs.Bool("v", false, "debug logs on stderr")
	if code, done := cli.Parse(fs, args, stderr, func(w io.Writer) { fmt.Fprint(w, usage); fs.SetOutput(w); fs.PrintDefaults() }); done {
		return code
	}
	usageErr := func(format string, a ...any) int { return cli.Usage(stderr, "lifecycle-gate", format, a...) }
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", *interval}, {"probe-timeout", *probeTimeout}, {"timeout", *timeout}} {
		if err := cli.Duration(d.name, d.v); err != nil {
			return usageErr("%v", err)
		}
	}
	probes, err := buildProbes(*healthURL, *healthStatus, tcps, cmds, *probeTimeout, cli.IsSet(fs, "health-status"))
	if err != nil {
		return usageErr("%v", err)
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case lifecycle.Result(*onFailure) != lifecycle.Abandon && lifecycle.Result(*onFailure) != lifecycle.Continue:
		return usageErr("-result-on-failure must be ABANDON or CONTINUE, not %q", *onFailure)
	case *threshold < 1:
		return usageErr("-healthy-threshold %d: want 1 or more", *threshold)
	case int64(*threshold-1) > int64(*timeout / *interval):
		return usageErr("-timeout %s can never see -healthy-threshold %d passing rounds -interval %s apart: want at least %s (or a "+
			"lower threshold or a shorter interval); the gate could only ever complete with -result-on-failure",
			*timeout, *threshold, *interval, time.Duration(*threshold-1)**interval)
	case *instanceID != "" && awsid.InstanceID(*instanceID) != nil:
		return usageErr("-instance-id: %v", awsid.InstanceID(*instanceID))
	case cli.IsSet(fs, "group") && strings.TrimSpace(*group) == "":
		return usageErr("-group is empty; leave it out to discover the group")
	case cli.IsSet(fs, "token") && strings.TrimSpace(*token) == "":
		return usageErr("-token is empty; leave it out when the token is not known")
	}
	for _, h := range hooks {
		if strings.TrimSpace(h) == "" {
			return usageErr("-hook is empty (an unset variable?); name a lifecycle hook or leave -hook out")
		}
	}

	logger := cli.Logger("lifecycle-gate", stderr, *verbose, !*verbose)
	md, err := imds.New(func(o *imds.Options) { o.Logger = logger })
	if err != nil {
		return usageErr("%v", err)
	}
	cfg, err := awsconfig.Load(ctx, logger)
	if err != nil && !errors.Is(err, cli.ErrNoRegion) {
		return cli.Fail(stderr, "lifecycle-gate", fmt.Errorf("AWS configuration: %w", err))
	}
	if cfg.Region == "" { // on an instance, its metadata says where it is
		if cfg.Region, err = md.Region(ctx); err != nil {
			logger.Debug("no region from instance metadata", "error", err)
			fmt.Fprintln(stderr, "lifecycle-gate:", cli.NoRegion)
			return cli.ExitUsage
		}
	}
	say := func(format string, a ...any) {
		fmt.Fprintf(stdout, "%s lifecycle-gate: %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, a...))
	}
	gate, err := lifecycle.New(autoscaling.NewFromConfig(cfg), func(o *lifecycle.Options) {
		o.Interval = *interval
		o.HealthyThreshold = *threshold
		o.Timeout = *timeout
		o.ResultOnFailure = lifecycle.Result(*onFailure)
		o.Logger = logger
		o.OnEvent = func(ev lifecycle.Event) { say("%s", ev.Message) }
	})
	if err != nil {
		return usageErr("%v", err)
	}
	once := func(ctx context.Context) (lifecycle.Outcome, error) {
		t, err := gate.Discover(ctx, md, lifecycle.DiscoverOptions{InstanceID: *instanceID, Group: *group, Hooks: hooks})
		if err != nil {
			return lifecycle.Outcome{}, err
		}
		t.Token = *token
		names := make([]string, len(t.Hooks))
		for i, h := range t.Hooks {
			names[i] = fmt.Sprintf("%s (heartbeat timeout %s)", h.Name, h.HeartbeatTimeout)
		}
		say("instance %s in group %s, hooks %s; probing %s every %s", t.InstanceID, t.Group, strings.Join(names, ", "), probes, *interval)
		return gate.Run(ctx, t, probes)
	}
	if *warmPool {
		say("watching the target lifecycle state; gating each time it goes InService")
		err := lifecycle.GateOnInService(ctx, md, once, func(o lifecycle.Outcome, err error) { report(say, stderr, o, err) })
		if errors.Is(err, context.Canceled) {
			return exitContinue
		}
		return cli.Fail(stderr, "lifecycle-gate", err)
	}
	o, err := once(ctx)
	return report(say, stderr, o, err)
}

// buildProbes turns the probe flags into probes, checking every one of them before anything
// touches the lifecycle action.
func buildProbes(healthURL, healthStatus string, tcps, cmds []string, timeout time.Duration, statusSet bool) (lifecycle.All, error) {
	var probes lifecycle.All
	switch {
	case healthURL != "":
		p, err := lifecycle.NewHTTPProbe(healthURL, healthStatus, timeout)
		if err != nil {
			return nil, fmt.Errorf("-health-url/-health-status: %w", err)
		}
		probes = append(probes, p)
	case statusSet:
		return nil, errors.New("-health-status is set but -health-url is not")
	}
	for _, addr := range tcps {
		p, err := lifecycle.NewTCPProbe(addr, timeout)
		if err != nil {
			return nil, fmt.Errorf("-tcp: %w", err)
		}
		probes = append(probes, p)
	}
	for _, c := range cmds {
		p, err := lifecycle.NewCommandProbe(c, timeout)
		if err != nil {
			return nil, fmt.Errorf("-cmd: %w", err)
		}
		probes = append(probes, p)
	}
	if len(probes) == 0 {
		return nil, errors.New("no probe: give -health-url, -tcp or -cmd")
	}
	return probes, nil
}

// report prints the outcome and maps it to the exit code.
func report(say func(string, ...any), stderr io.Writer, o lifecycle.Outcome, err error) int {
	switch {
	case err != nil:
		return cli.Fail(stderr, "lifecycle-gate", err)
	case o.NoActiveAction:
		say("%s (after %d rounds, %d heartbeats)", o.Reason, o.Rounds, o.Heartbeats)
		return exitNoAction
	case o.Result == lifecycle.Abandon:
		say("completed with ABANDON: %s (after %s, %d rounds, %d heartbeats)", o.Reason, o.Waited.Round(time.Second), o.Rounds, o.Heartbeats)
		return exitAbandon
	}
	say("completed with %s: %s (after %s, %d rounds, %d heartbeats)", o.Result, o.Reason, o.Waited.Round(time.Second), o.Rounds, o.Heartbeats)
	return exitContinue
}
