// Command ecs-drain drains ECS container instances: one instance now, this instance when it
// is about to go (a long-running watcher for a systemd unit or a daemon task), or one
// instance for a planned replacement.
//
//	ecs-drain -cluster prod -instance i-0123456789abcdef0      # drain now
//	ecs-drain -self                                            # this instance, now
//	ecs-drain -watch [-on-rebalance] [-on-maintenance]         # on the instance: wait, then drain
//	ecs-drain -replace -cluster prod -instance i-0123...       # drain, then let the group replace it
//
// Run with -h for the flags and exit codes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/examples/internal/awsconfig"
	"github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/internal/awsid"
	"github.com/shipshape-dev/shipshape/lifecycle"
)

// minInterval is the shortest -interval and -poll.
const minInterval = time.Second

// minWatchTimeout is the shortest -timeout of -watch: shorter, every drain would end at its
// first step and complete the termination hook with the tasks still running (drain-lambda's
// MAX_DRAIN has the same floor).
const minWatchTimeout = time.Minute

// Exit codes (2, a usage error, is cli.Usage's).
const (
	exitOK            = 0
	exitError         = 1
	exitTimeout       = 3
	exitProtectionOff = 4
)

const usage = `Usage:
  ecs-drain [-cluster NAME[,NAME...]] (-instance i-... | -self) [flags]   drain one instance now
  ecs-drain -watch [-on-rebalance] [-on-maintenance] [flags]           on the instance: drain it when it is leaving
  ecs-drain -replace [-cluster ...] (-instance i-... | -self) [flags]    planned replacement

Draining sets the container instance on that EC2 instance to DRAINING and waits until every
task on it has stopped (tasks that are DEACTIVATING, STOPPING or DEPROVISIONING still count).
A container instance that ECS says runs on another EC2 instance (an ECS endpoint that ignores
the lookup's filter) is never touched: exit 1, naming both.

-watch runs until instance metadata says this instance is leaving, then drains it and exits:
  a Spot interruption notice: the drain lasts until the notice's instance-action time (two
    minutes) or -timeout, whichever comes first; what could not stop by then is logged
    (exit 3). A time more than 15 minutes ahead is not what Spot sends: it is logged as
    SUSPICIOUS and the drain lasts at most -timeout and at most 15 minutes;
  the Auto Scaling target lifecycle state Terminated: the group's termination hooks are
    heartbeated and completed with CONTINUE when the drain ends or -timeout passes;
  with -on-rebalance, an EC2 rebalance recommendation (advisory, earlier than Spot's);
  with -on-maintenance, a scheduled reboot, stop or retirement of the instance, from
    -maintenance-lead (default: -timeout) before the event may start. Canceled and completed
    events never drain; system-maintenance (the host's network or power) is logged only.
    After a rebalance or maintenance drain the instance stays DRAINING: set it ACTIVE
    again (aws ecs update-container-instances-state --status ACTIVE) when it is back.
  The cluster comes from the ECS agent unless -cluster is given. ECS_CONTAINER_STOP_TIMEOUT
  is read from -ecs-config: a warning says when it is too long for a Spot interruption.

-replace turns the instance's scale-in protection off, drains it, then calls
  TerminateInstanceInAutoScalingGroup with ShouldDecrementDesiredCapacity=false (the group
  launches a replacement) and completes its termination hooks. Nothing is terminated unless
  the drain finished; the protection is put back then. What a replacement that did not
  terminate left is printed with the command that undoes it: a protection it could not
  turn back on (exit 4), a container instance left DRAINING (takes no new tasks: run
  -replace again, or set it ACTIVE). A termination whose answer was lost is settled by
  reading the group; when the group can't be read either, the outcome is UNKNOWN (exit 1):
  the command to check it is printed, with what to do if it is Terminating or InService.

Exit codes: 0 drained (and, with -replace, terminated), 1 error, 2 usage error, 3 -timeout
or the Spot interruption time passed with tasks left (-replace: not terminated, protection
back on), 4 -replace did not terminate and could not turn the scale-in protection back on
(do it by hand: the command is printed).
Environment: the standard AWS SDK variables (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_ECS,
AWS_ENDPOINT_URL_AUTO_SCALING, ...; on the instance the region defaults to the instance's)
and AWS_EC2_METADATA_SERVICE_ENDPOINT.

Flags:
`

func main() {
	ctx, sig := cli.WithSignals(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	sig.Stop()
	if watching(os.Args[1:]) && sig.Name() == "SIGTERM" {
		os.Exit(code) // a watcher that is told to stop stops cleanly: 0 (systemd counts 143 as a failure)
	}
	os.Exit(sig.Code(code))
}

// watching reports whether the command line asks for -watch (checked again by parse).
func watching(args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-watch" || a == "--watch" || a == "-watch=true" || a == "--watch=true" {
			return true
		}
	}
	return false
}

// flags is the command line.
type flags struct {
	agentURL, instance, ecsConfig     string
	self, watch, onRebalance, replace bool
	onMaintenance                     bool
	maintenanceLead                   time.Duration
	completeHooks                     bool
	timeout, interval, grace, poll    time.Duration
	standalone, daemon                drain.Policy
	verbose                           bool
}

// run is main with injectable outputs and drain options (the tests' fake clock).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, optFn func(*drain.Options)) int {
	if cli.AskedVersion("ecs-drain", args, stdout) {
		return exitOK
	}
	f, clusterList, code, done := parse(args, stderr)
	if done {
		return code
	}
	logger := cli.Logger("ecs-drain", stderr, f.verbose, !f.verbose)
	fail := func(err error) int { return cli.Fail(stderr, "ecs-drain", err) }
	say := func(format string, a ...any) {
		fmt.Fprintf(stdout, "%s ecs-drain: %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, a...))
	}

	cfg, err := awsconfig.Load(ctx, logger)
	if err != nil && !errors.Is(err, cli.ErrNoRegion) {
		return fail(fmt.Errorf("AWS configuration: %w", err))
	}
	var md *imds.Client
	if f.self || f.watch || cfg.Region == "" {
		if md, err = imds.New(func(o *imds.Options) { o.Logger = logger }); err != nil {
			return fail(err)
		}
		if cfg.Region == "" { // on an instance, its metadata says where it is
			if cfg.Region, err = md.Region(ctx); err != nil {
				logger.Debug("no region from instance metadata", "error", err)
				fmt.Fprintln(stderr, "ecs-drain:", cli.NoRegion)
				return cli.ExitUsage
			}
		}
	}
	d, err := drain.New(ecs.NewFromConfig(cfg), func(o *drain.Options) {
		o.Standalone, o.Daemon, o.StandaloneGrace = f.standalone, f.daemon, f.grace
		o.PollInterval = f.interval
		o.Logger = logger
		if optFn != nil {
			optFn(o)
		}
	})
	if err != nil {
		return cli.Usage(stderr, "ecs-drain", "%v", err)
	}
	if clusterList == nil {
		md, err := drain.ReadAgentMetadata(ctx, f.agentURL)
		if err != nil {
			return fail(err)
		}
		clusterList = []string{md.Cluster}
	}
	progress := func(p drain.Progress) { say("%s", p) }
	events := func(ev lifecycle.Event) {
		if ev.Kind != lifecycle.EventProbe {
			say("%s", ev.Message)
		}
	}

	if f.watch {
		return watch(ctx, f, d, md, autoscaling.NewFromConfig(cfg), clusterList, say, progress, events, stderr)
	}
	if f.self {
		if f.instance, err = md.InstanceID(ctx); err != nil {
			return fail(fmt.Errorf("reading this instance's id: %w", err))
		}
	}
	in, err := d.Find(ctx, f.instance, clusterList...)
	if err != nil {
		return fail(err)
	}
	if f.replace {
		say("replacing %s (%s) in cluster %s: drain at most %s, then terminate with a replacement", f.instance, in.ContainerInstanceARN, in.Cluster, f.timeout)
		res, err := d.Replace(ctx, autoscaling.NewFromConfig(cfg), in, drain.ReplaceOptions{MaxDrain: f.timeout, OnProgress: progress, OnEvent: events})
		return reportReplace(say, stderr, cfg.Region, res, err)
	}
	say("draining %s (%s) in cluster %s, at most %s", f.instance, in.ContainerInstanceARN, in.Cluster, f.timeout)
	res, err := d.Drain(ctx, in, drain.DrainOptions{MaxDrain: f.timeout, OnProgress: progress})
	switch {
	case errors.Is(err, drain.ErrTimeout):
		say("timeout: %s", res.Last)
		return exitTimeout
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "ecs-drain: stopped before the drain finished: container instance %s stays DRAINING and its tasks go on stopping; "+
			"run the same command again to wait for them, or put it back in service: aws ecs update-container-instances-state --cluster %s "+
			"--container-instances %s --status ACTIVE --region %s\n", in.ContainerInstanceARN, in.Cluster, in.ContainerInstanceARN, cfg.Region)
		return exitError
	case err != nil:
		return fail(err)
	}
	say("done after %d steps", res.Steps)
	return exitOK
}

// reportReplace prints what -replace did and, when it did not terminate, what it left (the
// scale-in protection, a container instance DRAINING) with the commands that undo it; it
// returns the exit code.
func reportReplace(say func(string, ...any), stderr io.Writer, region string, res drain.ReplaceResult, err error) int {
	var perr *drain.ProtectionError
	switch {
	case res.Terminated && err != nil:
		return cli.Fail(stderr, "ecs-drain", err) // terminated, but the hooks were not completed: the error says so
	case res.Terminated:
		activity := res.Activity
		if activity == "" {
			activity = "unknown: the termination's answer was lost, the group shows it terminating"
		}
		say("drained in %d steps; terminated in group %s (activity %s), a replacement is launching; %d termination hook(s) completed",
			res.Drain.Steps, res.Group, activity, res.HooksCompleted)
		return exitOK
	}
	var unknown *drain.TerminationUnknownError
	if errors.As(err, &unknown) {
		reportUnknown(stderr, region, res, unknown)
		return exitError
	}
	code := exitError
	errors.As(err, &perr)
	switch rest := withoutProtection(err); {
	case errors.Is(rest, drain.ErrTimeout):
		say("timeout: %s; NOT terminated", res.Drain.Last)
		code = exitTimeout
	case rest != nil:
		cli.Fail(stderr, "ecs-drain", rest)
	}
	switch {
	case perr != nil:
		code = exitProtectionOff
		fmt.Fprintf(stderr, "ecs-drain: the scale-in protection of %s in group %s is OFF (or may be): turning it back on failed: %v\n",
			perr.InstanceID, perr.Group, perr.Err)
		fmt.Fprintf(stderr, "ecs-drain: do it by hand: %s\n", perr.Command(region))
	case res.ProtectionRestored:
		say("the scale-in protection of %s is on again", res.Instance.EC2InstanceID)
	}
	if res.LeftDraining {
		fmt.Fprintf(stderr, "ecs-drain: container instance %s of %s in cluster %s is left DRAINING: it takes no new tasks. Run ecs-drain -replace again "+
			"to finish the replacement, or put it back in service: %s\n", res.Instance.ContainerInstanceARN, res.Instance.EC2InstanceID,
			res.Instance.Cluster, res.ActivateCommand(region))
	}
	return code
}

// reportUnknown says that whether the instance was terminated is not known, what to check,
// and what to do in each case; never "not terminated" or "protection restored".
func reportUnknown(stderr io.Writer, region string, res drain.ReplaceResult, e *drain.TerminationUnknownError) {
	p := func(format string, a ...any) { fmt.Fprintf(stderr, "ecs-drain: "+format+"\n", a...) }
	p("whether %s was terminated is UNKNOWN: the termination call failed and group %s could not be read after it: %v",
		e.InstanceID, e.Group, e.Err)
	p("check it: %s", e.CheckCommand(region))
	p("if it is Terminating (or not listed): the group replaces it; its termination hooks were not completed and end at their heartbeat timeout")
	p("if it is InService: it was not terminated; container instance %s in cluster %s is DRAINING (it takes no new tasks): run ecs-drain "+
		"-replace again, or put it back in service: %s", res.Instance.ContainerInstanceARN, res.Instance.Cluster, res.ActivateCommand(region))
	switch {
	case e.WasProtected && e.ProtectionErr == nil:
		p("its scale-in protection was turned back on")
	case e.WasProtected:
		p("turning its scale-in protection back on failed: %v; if it is InService, do it by hand: %s", e.ProtectionErr, e.ProtectCommand(region))
	}
}

// withoutProtection is err without the *drain.ProtectionError that Replace joins to the error
// that stopped it (nil when that is all there is).
func withoutProtection(err error) error {
	if _, ok := err.(*drain.ProtectionError); ok {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	var rest []error
	for _, e := range j.Unwrap() {
		if _, isP := e.(*drain.ProtectionError); !isP {
			rest = append(rest, e)
		}
	}
	if len(rest) == len(j.Unwrap()) {
		return err // not the join Replace made
	}
	return errors.Join(rest...)
}

// watch is -watch: wait for the instance to be leaving, drain it, exit.
func watch(ctx context.Context, f flags, d *drain.Drainer, md *imds.Client, asg *autoscaling.Client, clusters []string,
	say func(string, ...any), progress func(drain.Progress), events func(lifecycle.Event), stderr io.Writer) int {
	if f.ecsConfig != "" {
		switch cfg, err := drain.ReadAgentConfig(f.ecsConfig); {
		case err != nil:
			say("cannot check ECS_CONTAINER_STOP_TIMEOUT: %v", err)
		case drain.SpotStopWarning(cfg.StopTimeout) != "":
			say("WARNING: %s", drain.SpotStopWarning(cfg.StopTimeout))
		}
	}
	o := drain.WatchOptions{OnRebalance: f.onRebalance, OnMaintenance: f.onMaintenance, MaintenanceLead: f.maintenanceLead,
		MaxDrain: f.timeout, OnProgress: progress, OnEvent: events,
		OnTrigger: func(t drain.Trigger) { say("%s: draining this instance", t.Reason) },
		IMDS:      []func(*imds.WatchOptions){func(o *imds.WatchOptions) { o.Interval = f.poll }}}
	if f.completeHooks {
		o.AutoScaling = asg
	}
	what := "a Spot interruption notice or the Auto Scaling target lifecycle state Terminated"
	if f.onRebalance {
		what += " (or a rebalance recommendation)"
	}
	if f.onMaintenance {
		lead := f.maintenanceLead
		if lead == 0 {
			lead = f.timeout
		}
		what += fmt.Sprintf(" (or a scheduled reboot, stop or retirement within %s)", lead)
	}
	say("watching instance metadata every %s for %s; clusters %v", f.poll, what, clusters)
	res, err := d.Watch(ctx, md, clusters, o)
	switch {
	case errors.Is(err, drain.ErrSpotDeadline):
		say("Spot interruption time reached: %s could not be stopped in time", res.Last)
		return exitTimeout
	case errors.Is(err, drain.ErrTimeout):
		say("timeout: %s", res.Last)
		return exitTimeout
	case errors.Is(err, context.Canceled):
		say("stopped before the instance was leaving; nothing was changed")
		return exitOK
	case err != nil:
		return cli.Fail(stderr, "ecs-drain", err)
	}
	if res.Hook != nil && res.Hook.Result != "" {
		say("drained in %d steps; the termination hook completed with %s", res.Steps, res.Hook.Result)
	} else {
		say("drained in %d steps", res.Steps)
	}
	return exitOK
}

// parse reads and checks the command line; done means exit with code.
func parse(args []string, stderr io.Writer) (f flags, clusterList []string, code int, done bool) {
	fs := flag.NewFlagSet("ecs-drain", flag.ContinueOnError)
	clusters := fs.String("cluster", "", "cluster name(s), comma-separated, tried in order (on the instance: default from the ECS agent)")
	fs.StringVar(&f.agentURL, "agent-metadata", drain.DefaultAgentMetadataURL, "the ECS agent's introspection URL (on the instance, without -cluster)")
	fs.StringVar(&f.instance, "instance", "", "EC2 instance id to drain")
	fs.BoolVar(&f.self, "self", false, "drain this instance (instance id from IMDS)")
	fs.BoolVar(&f.watch, "watch", false, "keep running on the instance; drain it when it is leaving (Spot, scale-in)")
	fs.BoolVar(&f.onRebalance, "on-rebalance", false, "with -watch: drain on an EC2 rebalance recommendation too")
	fs.BoolVar(&f.onMaintenance, "on-maintenance", false, "with -watch: drain ahead of a scheduled reboot, stop or retirement of the instance")
	fs.DurationVar(&f.maintenanceLead, "maintenance-lead", 0, "with -on-maintenance: how long before the event may start to drain (default: -timeout)")
	fs.BoolVar(&f.completeHooks, "complete-hooks", true, "with -watch: heartbeat and complete the termination hooks (needs Auto Scaling permissions;\n-replace always completes them)")
	fs.StringVar(&f.ecsConfig, "ecs-config", drain.DefaultAgentConfigPath, "with -watch: the ECS agent's config, to check ECS_CONTAINER_STOP_TIMEOUT (\"\" to skip)")
	fs.DurationVar(&f.poll, "poll", 5*time.Second, "with -watch: how often to read instance metadata (at least 1s)")
	fs.BoolVar(&f.replace, "replace", false, "planned replacement: protection off, drain, terminate with a replacement")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "maximum drain time (a Spot drain ends at the notice's time when that comes first; with -watch, at least 1m)")
	fs.DurationVar(&f.interval, "interval", 10*time.Second, "time between steps (at least 1s)")
	standalone := fs.String("standalone", "wait", "tasks not in a service: wait, stop (after -standalone-grace) or ignore")
	fs.DurationVar(&f.grace, "standalone-grace", 5*time.Minute, "with -standalone stop: how long to let them finish first (0: at once)")
	daemon := fs.String("daemon", "ignore", "tasks of DAEMON services (ECS stops them last): ignore or wait")
	fs.BoolVar(&f.verbose, "v", false, "debug logs on stderr")
	if code, done := cli.Parse(fs, args, stderr, func(w io.Writer) { fmt.Fprint(w, usage); fs.SetOutput(w); fs.PrintDefaults() }); done {
		return f, nil, code, true
	}
	usageErr := func(format string, a ...any) (flags, []string, int, bool) {
		return f, nil, cli.Usage(stderr, "ecs-drain", format, a...), true
	}
	if *clusters != "" || cli.IsSet(fs, "cluster") {
		list, err := drain.CleanClusters([]string{*clusters})
		if err != nil {
			return usageErr("-cluster %q: %v", *clusters, err)
		}
		clusterList = list
	}
	onInstance := f.self || f.watch
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case f.onRebalance && !f.watch:
		return usageErr("-on-rebalance is for -watch")
	case f.onMaintenance && !f.watch:
		return usageErr("-on-maintenance is for -watch")
	case cli.IsSet(fs, "maintenance-lead") && !f.onMaintenance:
		return usageErr("-maintenance-lead is for -watch -on-maintenance")
	case f.maintenanceLead < 0:
		return usageErr("-maintenance-lead %s is negative: want how long before the event to start draining (e.g. 45m)", f.maintenanceLead)
	case f.watch && f.replace:
		return usageErr("-watch and -replace are different modes: give one")
	case f.watch && (f.instance != "" || f.self):
		return usageErr("-watch drains this instance: leave out -instance and -self")
	case !f.watch && (f.instance == "") == !f.self:
		return usageErr("give exactly one of -instance and -self (or -watch)")
	case clusterList == nil && !onInstance:
		return usageErr("-cluster is required (only on the instance, -self or -watch, can it come from the ECS agent)")
	case f.instance != "" && awsid.InstanceID(f.instance) != nil:
		return usageErr("-instance: %v", awsid.InstanceID(f.instance))
	case f.grace < 0:
		return usageErr("-standalone-grace %s is negative: want 0 (stop at once) or more", f.grace)
	// Flags of another mode would be silently ignored: refused instead.
	case f.replace && cli.IsSet(fs, "complete-hooks") && !f.completeHooks:
		return usageErr("-complete-hooks=false can't be used with -replace: a replacement completes the termination hooks once the " +
			"instance is empty (leave the flag out)")
	case !f.watch && !f.replace && cli.IsSet(fs, "complete-hooks"):
		return usageErr("-complete-hooks is for -watch: a drain of one instance completes no hook")
	case !f.watch && cli.IsSet(fs, "poll"):
		return usageErr("-poll is for -watch (how often instance metadata is read)")
	case !f.watch && cli.IsSet(fs, "ecs-config"):
		return usageErr("-ecs-config is for -watch (it checks ECS_CONTAINER_STOP_TIMEOUT against a Spot interruption)")
	case clusterList != nil && cli.IsSet(fs, "agent-metadata"):
		return usageErr("-agent-metadata is read only to find the cluster when -cluster is not given: leave one of them out")
	case *standalone != string(drain.Stop) && cli.IsSet(fs, "standalone-grace"):
		return usageErr("-standalone-grace is for -standalone stop (other policies never stop a task)")
	}
	var err error
	if f.standalone, err = drain.ParsePolicy(*standalone); err != nil {
		return usageErr("-standalone: %v", err)
	}
	if f.daemon, err = drain.ParsePolicy(*daemon, drain.Ignore, drain.Wait); err != nil {
		return usageErr("-daemon: %v", err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"timeout", f.timeout}, {"interval", f.interval}, {"poll", f.poll}} {
		if err := cli.Duration(d.name, d.v); err != nil {
			return usageErr("%v", err)
		}
	}
	if err := drain.CheckAgentMetadataURL(f.agentURL); err != nil {
		return usageErr("-agent-metadata: %v", err)
	}
	switch {
	case f.watch && f.timeout < minWatchTimeout:
		return usageErr("-timeout %s is too short for -watch: want at least %s (shorter, every drain would end at its first step and "+
			"complete the termination hook with tasks still running)", f.timeout, minWatchTimeout)
	case f.interval < minInterval:
		return usageErr("-interval %s is too short: want at least %s (each step makes 2 to 4 ECS calls, and DescribeContainerInstances "+
			"and DescribeTasks share a rate limit of about 20 per second)", f.interval, minInterval)
	case f.poll < minInterval:
		return usageErr("-poll %s is too short: want at least %s (a Spot notice comes two minutes ahead; every 5 s is plenty)", f.poll, minInterval)
	}
	if f.grace == 0 {
		f.grace = time.Nanosecond // the package reads 0 as its default (5 minutes); the flag means "at once"
	}
	return f, clusterList, 0, false
}
