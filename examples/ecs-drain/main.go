// Command ecs-drain drains one ECS container instance: sets it DRAINING and waits until
// every task on it has stopped (lastStatus STOPPED, not just runningTasksCount 0), printing
// the tasks left by state at every step.
//
//	ecs-drain -cluster prod -instance i-0123456789abcdef0
//	ecs-drain -cluster prod -self        # on the instance (instance id from IMDS)
//
// Exit codes: 0 drained, 1 error (an instance not in the cluster is a one-line error), 2 usage
// error, 3 the -timeout passed with tasks left.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/internal/awsid"
	"github.com/shipshape-dev/shipshape/internal/cli"
)

const usage = `Usage: ecs-drain [-cluster NAME[,NAME...]] (-instance i-... | -self) [flags]

Sets the container instance on that EC2 instance to DRAINING and waits until every task on
it has stopped (tasks that are DEACTIVATING, STOPPING or DEPROVISIONING still count).

Exit codes: 0 drained, 1 error, 2 usage error, 3 -timeout passed with tasks left.
Environment: the standard AWS SDK variables (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_ECS,
...; with -self the region defaults to the instance's) and AWS_EC2_METADATA_SERVICE_ENDPOINT.

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run is main with injectable outputs and clock (nil: the real one).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, optFn func(*drain.Options)) int {
	fs := flag.NewFlagSet("ecs-drain", flag.ContinueOnError)
	clusters := fs.String("cluster", "", "cluster name(s), comma-separated, tried in order (with -self: default from the ECS agent)")
	agentURL := fs.String("agent-metadata", drain.DefaultAgentMetadataURL, "the ECS agent's introspection URL (with -self and no -cluster)")
	instance := fs.String("instance", "", "EC2 instance id to drain")
	self := fs.Bool("self", false, "drain this instance (instance id from IMDS)")
	timeout := fs.Duration("timeout", 30*time.Minute, "maximum drain time")
	interval := fs.Duration("interval", 10*time.Second, "time between steps")
	standalone := fs.String("standalone", "wait", "tasks not in a service: wait, stop (after -standalone-grace) or ignore")
	grace := fs.Duration("standalone-grace", 5*time.Minute, "with -standalone stop: how long to let them finish first")
	daemon := fs.String("daemon", "ignore", "tasks of DAEMON services (ECS stops them last): ignore or wait")
	verbose := fs.Bool("v", false, "debug logs on stderr")
	if code, done := cli.Parse(fs, args, stderr, func(w io.Writer) { fmt.Fprint(w, usage); fs.SetOutput(w); fs.PrintDefaults() }); done {
		return code
	}
	usageErr := func(format string, a ...any) int { return cli.Usage(stderr, "ecs-drain", format, a...) }
	var clusterList []string
	if *clusters != "" || cli.IsSet(fs, "cluster") {
		list, err := drain.CleanClusters([]string{*clusters})
		if err != nil {
			return usageErr("-cluster %q: %v", *clusters, err)
		}
		clusterList = list
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case clusterList == nil && !*self:
		return usageErr("-cluster is required (only -self can find it from the ECS agent)")
	case (*instance == "") == !*self:
		return usageErr("give exactly one of -instance and -self")
	case *instance != "" && awsid.InstanceID(*instance) != nil:
		return usageErr("-instance: %v", awsid.InstanceID(*instance))
	case *grace < 0:
		return usageErr("-standalone-grace %s is negative: want 0 (stop at once) or more", *grace)
	}
	standalonePolicy, err := drain.ParsePolicy(*standalone)
	if err != nil {
		return usageErr("-standalone: %v", err)
	}
	daemonPolicy, err := drain.ParsePolicy(*daemon, drain.Ignore, drain.Wait)
	if err != nil {
		return usageErr("-daemon: %v", err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"timeout", *timeout}, {"interval", *interval}} {
		if err := cli.Duration(d.name, d.v); err != nil {
			return usageErr("%v", err)
		}
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	fail := func(err error) int { return cli.Fail(stderr, "ecs-drain", err) }

	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fail(fmt.Errorf("AWS configuration: %w", err))
	}
	if *self || cfg.Region == "" {
		md, err := imds.New(func(o *imds.Options) { o.Logger = logger })
		if err != nil {
			return fail(err)
		}
		if *self {
			if *instance, err = md.InstanceID(ctx); err != nil {
				return fail(fmt.Errorf("reading this instance's id: %w", err))
			}
		}
		if cfg.Region == "" {
			if cfg.Region, err = md.Region(ctx); err != nil {
				return fail(fmt.Errorf("no AWS_REGION and no region from instance metadata: %w", err))
			}
		}
	}
	if *grace == 0 {
		*grace = time.Nanosecond // the package reads 0 as its default (5 minutes); the flag means "at once"
	}
	d, err := drain.New(ecs.NewFromConfig(cfg), func(o *drain.Options) {
		o.Standalone, o.Daemon, o.StandaloneGrace = standalonePolicy, daemonPolicy, *grace
		o.PollInterval = *interval
		o.Logger = logger
		if optFn != nil {
			optFn(o)
		}
	})
	if err != nil {
		return usageErr("%v", err)
	}
	if clusterList == nil {
		md, err := drain.ReadAgentMetadata(ctx, *agentURL)
		if err != nil {
			return fail(err)
		}
		clusterList = []string{md.Cluster}
	}
	in, err := d.Find(ctx, *instance, clusterList...)
	if err != nil {
		return fail(err)
	}
	say := func(format string, a ...any) {
		fmt.Fprintf(stdout, "%s ecs-drain: %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, a...))
	}
	say("draining %s (%s) in cluster %s, at most %s", *instance, in.ContainerInstanceARN, in.Cluster, *timeout)
	res, err := d.Drain(ctx, in, drain.DrainOptions{MaxDrain: *timeout, OnProgress: func(p drain.Progress) { say("%s", p) }})
	switch {
	case errors.Is(err, drain.ErrTimeout):
		say("timeout: %s", res.Last)
		return 3
	case err != nil:
		return fail(err)
	}
	say("done after %d steps", res.Steps)
	return 0
}
