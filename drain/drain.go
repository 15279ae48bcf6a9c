package drain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/internal/awsid"
	"github.com/shipshape-dev/shipshape/internal/awsretry"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// Policy says what to do with tasks that draining does not move.
type Policy string

// Policies for standalone and daemon tasks.
const (
	// Wait for the task to stop by itself.
	Wait Policy = "wait"
	// Stop the task (StopTask) once the grace period has passed.
	Stop Policy = "stop"
	// Ignore the task: it does not hold the drain.
	Ignore Policy = "ignore"
)

// Options are the optional settings of a Drainer. A zero value means the default.
type Options struct {
	// Standalone is the policy for tasks not started by a service, which DRAINING never
	// stops. Default: Wait.
	Standalone Policy
	// StandaloneGrace is how long after the drain started Stop waits. Default (0): 5
	// minutes; to stop standalone tasks at once, set a tiny duration such as 1ns.
	StandaloneGrace time.Duration
	// Daemon is the policy for tasks of DAEMON services, which ECS stops after every other
	// task. Default: Ignore.
	Daemon Policy
	// PollInterval is the wait Step suggests while tasks remain. Default: 10 s.
	PollInterval time.Duration
	// Clock is the time source of the waits and of the SDK retryer's backoff. Default: the
	// wall clock.
	Clock clock.Clock
	// MaxAttempts is how many times one ECS call is sent in all when it is throttled or
	// fails on the server or the network, by the SDK's standard retryer; nothing else
	// retries it. Default: 5.
	MaxAttempts int
	// ClientOptions are applied to every ECS call after the package's own (the retryer).
	ClientOptions []func(*ecs.Options)
	// Logger receives Debug and Warn lines. Default: discard.
	Logger *slog.Logger
}

// ParsePolicy reads a policy as written in flags and environment variables ("wait", "stop"
// or "ignore"); allowed limits which ones the caller accepts (none: all three).
func ParsePolicy(s string, allowed ...Policy) (Policy, error) {
	if len(allowed) == 0 {
		allowed = []Policy{Wait, Stop, Ignore}
	}
	for _, p := range allowed {
		if Policy(s) == p {
			return p, nil
		}
	}
	names := make([]string, len(allowed))
	for i, p := range allowed {
		names[i] = string(p)
	}
	return "", fmt.Errorf("%w: policy %q is not one of %s", ErrInvalidInput, s, strings.Join(names, ", "))
}

// Drainer drains ECS container instances. It is safe for concurrent use.
type Drainer struct {
	ecs      ECSAPI
	opts     Options
	log      *slog.Logger
	callOpts []func(*ecs.Options)
}

// New returns a Drainer over an ECS client (*ecs.Client, or draintest.ECS). The error,
// wrapping ErrInvalidInput, is for options that can't work; New makes no call.
func New(client ECSAPI, optFns ...func(*Options)) (*Drainer, error) {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if client == nil {
		return nil, fmt.Errorf("%w: no ECS client", ErrInvalidInput)
	}
	if o.StandaloneGrace < 0 || o.PollInterval < 0 || o.MaxAttempts < 0 {
		return nil, fmt.Errorf("%w: StandaloneGrace, PollInterval and MaxAttempts can't be negative", ErrInvalidInput)
	}
	if o.Standalone == "" {
		o.Standalone = Wait
	}
	if o.Daemon == "" {
		o.Daemon = Ignore
	}
	if _, err := ParsePolicy(string(o.Standalone)); err != nil {
		return nil, errtext.Wrap("drain", "Options.Standalone", err)
	}
	if _, err := ParsePolicy(string(o.Daemon), Ignore, Wait); err != nil {
		return nil, errtext.Wrap("drain", "Options.Daemon", err)
	}
	if o.StandaloneGrace == 0 {
		o.StandaloneGrace = 5 * time.Minute
	}
	if o.PollInterval == 0 {
		o.PollInterval = 10 * time.Second
	}
	o.Clock = clock.Or(o.Clock)
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 5
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	retryer := awsretry.New(awsretry.Options{Clock: o.Clock, MaxAttempts: o.MaxAttempts, Codes: []string{"ServerException"}})
	callOpts := append([]func(*ecs.Options){func(eo *ecs.Options) { eo.Retryer = retryer }}, o.ClientOptions...)
	return &Drainer{ecs: client, opts: o, log: o.Logger, callOpts: callOpts}, nil
}

// asgCallOpts are the per-call options of the Auto Scaling calls the Drainer makes itself
// (the lifecycle gate sets its own): the SDK's retryer with MaxAttempts.
func (d *Drainer) asgCallOpts() []func(*autoscaling.Options) {
	retryer := awsretry.New(awsretry.Options{Clock: d.opts.Clock, MaxAttempts: d.opts.MaxAttempts})
	return []func(*autoscaling.Options){func(o *autoscaling.Options) { o.Retryer = retryer }}
}

// NewFromConfig returns a Drainer over ecs.NewFromConfig(cfg).
func NewFromConfig(cfg aws.Config, optFns ...func(*Options)) (*Drainer, error) {
	return New(ecs.NewFromConfig(cfg), optFns...)
}

// Instance is one container instance to drain.
type Instance struct {
	Cluster              string
	ContainerInstanceARN string
	EC2InstanceID        string
}

// Find looks up the container instance running on an EC2 instance with one filtered
// ListContainerInstances call per cluster tried (never a cluster scan). With several
// clusters (a short configured list), they are tried in order.
//
// The answer is not taken on trust. One container instance listed is checked by Step, which
// describes it before anything changes it: one that runs on another EC2 instance is refused
// there (*WrongInstanceError). Several listed (ECS can register one EC2 instance twice; an
// ECS implementation that ignores the filter lists the whole cluster) are described, in one
// call of at most 100, and the one on ec2InstanceID is taken; of several on it, the only one
// whose agent is connected. None on it is a *WrongInstanceError, several without a single
// connected one an *AmbiguousInstanceError: nothing is drained then, and the next cluster
// is not tried (an endpoint that ignores the filter can't be trusted to say "not here").
func (d *Drainer) Find(ctx context.Context, ec2InstanceID string, clusters ...string) (Instance, error) {
	if err := awsid.InstanceID(ec2InstanceID); err != nil {
		return Instance{}, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	clusters, err := CleanClusters(clusters)
	if err != nil {
		return Instance{}, err
	}
	var missing []string
	for _, cluster := range clusters {
		out, err := d.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{
			Cluster: aws.String(cluster), Filter: aws.String("ec2InstanceId == " + ec2InstanceID)}, d.callOpts...)
		var notFound *types.ClusterNotFoundException
		if errors.As(err, &notFound) {
			// A cluster that no longer exists (or not in this region) holds no instance;
			// the next one may.
			d.log.Warn("drain: cluster not found; trying the next one", "cluster", cluster, "instance", ec2InstanceID)
			missing = append(missing, cluster)
			continue
		}
		if err != nil {
			return Instance{}, fmt.Errorf("drain: looking up %s in cluster %s: %w", ec2InstanceID, cluster, err)
		}
		switch arns := out.ContainerInstanceArns; {
		case len(arns) == 1 && out.NextToken == nil:
			return Instance{Cluster: cluster, ContainerInstanceARN: arns[0], EC2InstanceID: ec2InstanceID}, nil
		case len(arns) > 0:
			return d.pick(ctx, cluster, ec2InstanceID, arns)
		}
	}
	msg := fmt.Sprintf("%s in %s", ec2InstanceID, strings.Join(clusters, ", "))
	if len(missing) > 0 {
		msg += fmt.Sprintf(" (cluster(s) not found: %s)", strings.Join(missing, ", "))
	}
	return Instance{}, fmt.Errorf("%w: %s", ErrNotInCluster, msg)
}

// maxDescribe is how many container instances one DescribeContainerInstances call takes.
const maxDescribe = 100

// pick chooses, among the container instances a filtered listing returned, the one on
// ec2InstanceID (see Find).
func (d *Drainer) pick(ctx context.Context, cluster, ec2InstanceID string, listedARNs []string) (Instance, error) {
	var arns []string // without repeats: an ARN listed twice is one container instance
	listed := make(map[string]bool, len(listedARNs))
	for _, a := range listedARNs {
		if !listed[a] {
			listed[a] = true
			arns = append(arns, a)
		}
	}
	if len(arns) == 1 {
		return Instance{Cluster: cluster, ContainerInstanceARN: arns[0], EC2InstanceID: ec2InstanceID}, nil // Step checks it
	}
	if len(arns) > maxDescribe {
		arns = arns[:maxDescribe] // a listing this long was not filtered: the check below refuses it unless the instance is among them
	}
	asked := make(map[string]bool, len(arns))
	for _, a := range arns {
		asked[a] = true
	}
	d.log.Warn("drain: the lookup of one EC2 instance listed several container instances; checking which runs on it",
		"instance", ec2InstanceID, "cluster", cluster, "listed", len(arns))
	desc, err := d.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: arns}, d.callOpts...)
	if err != nil {
		return Instance{}, fmt.Errorf("drain: describing the %d container instances listed for %s in cluster %s: %w", len(arns), ec2InstanceID, cluster, err)
	}
	var on, connected []string
	var others []string
	seen := map[string]bool{}
	for _, ci := range desc.ContainerInstances {
		arn := aws.ToString(ci.ContainerInstanceArn)
		if !asked[arn] {
			continue // not asked about: an answer about it proves nothing
		}
		if id := aws.ToString(ci.Ec2InstanceId); id != ec2InstanceID {
			if !seen[id] {
				seen[id] = true
				others = append(others, id)
			}
			continue
		}
		on = append(on, arn)
		if ci.AgentConnected && aws.ToString(ci.Status) != "INACTIVE" {
			connected = append(connected, arn)
		}
	}
	switch {
	case len(on) == 0:
		return Instance{}, &WrongInstanceError{Cluster: cluster, Asked: ec2InstanceID, Found: others}
	case len(others) > 0:
		d.log.Warn("drain: ECS ignored the ec2InstanceId filter of ListContainerInstances; kept only the container instance on the EC2 instance",
			"instance", ec2InstanceID, "cluster", cluster, "others", len(others))
	}
	switch {
	case len(on) == 1:
		return Instance{Cluster: cluster, ContainerInstanceARN: on[0], EC2InstanceID: ec2InstanceID}, nil
	case len(connected) == 1:
		d.log.Warn("drain: several container instances run on the EC2 instance; draining the one whose agent is connected",
			"instance", ec2InstanceID, "cluster", cluster, "container_instance", connected[0], "registrations", len(on))
		return Instance{Cluster: cluster, ContainerInstanceARN: connected[0], EC2InstanceID: ec2InstanceID}, nil
	}
	return Instance{}, &AmbiguousInstanceError{Cluster: cluster, EC2InstanceID: ec2InstanceID, ContainerInstanceARNs: on}
}

// clusterName is what ECS allows in a cluster name (up to 255 letters, digits, hyphens and
// underscores), and clusterARN a cluster's ARN.
var (
	clusterName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	clusterARN  = regexp.MustCompile(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]{1,255}$`)
)

// CleanClusters reads a list of cluster names as users write it ("prod, staging", trailing
// commas): names are trimmed, empty ones dropped, duplicates removed, order kept. No name at
// all is ErrInvalidInput, and so is a name that ECS can never have (anything but letters,
// digits, hyphens and underscores, e.g. "prod;rm" or "prod/eu"), unless it is a cluster ARN.
// A list given as one comma-separated string can be passed through strings.Split first.
func CleanClusters(names []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			part = strings.TrimSpace(part)
			if part == "" || seen[part] {
				continue
			}
			if strings.ContainsAny(part, " \t\n") {
				return nil, fmt.Errorf("%w: cluster name %q contains white space", ErrInvalidInput, part)
			}
			if !clusterName.MatchString(part) && !clusterARN.MatchString(part) {
				return nil, fmt.Errorf("%w: cluster name %q can never exist: ECS cluster names are up to 255 letters, digits, "+
					"hyphens and underscores (or give the cluster's ARN)", ErrInvalidInput, part)
			}
			seen[part] = true
			out = append(out, part)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no cluster to look in", ErrInvalidInput)
	}
	return out, nil
}

// State carries what a blocking drain learns between steps: the tasks seen on the instance
// (so that tasks whose desired status turned STOPPED are still followed without a second
// listing), the daemon services, and when the drain started. A Lambda step passes a fresh
// State and pays one more ListTasks per step instead.
type State struct {
	Started  time.Time
	draining bool // the instance was seen DRAINING: no need to describe it again
	known    map[string]bool
	daemons  map[string]bool // service name -> is DAEMON
	stopSent map[string]bool
}

// Progress is what one Step saw.
type Progress struct {
	// Done: every task that holds the drain has stopped (lastStatus STOPPED), or the
	// container instance is gone.
	Done bool
	// Gone: the container instance no longer exists or is INACTIVE (instance terminated).
	Gone bool
	// ByStatus counts the tasks still holding the drain by lastStatus (RUNNING, DEACTIVATING,
	// STOPPING, DEPROVISIONING, ...).
	ByStatus map[string]int
	// Ignored counts tasks that don't hold the drain under the policies (daemon, standalone).
	Ignored int
	// Stopped lists the standalone tasks this step sent StopTask for.
	Stopped []string
	// Wait is the suggested time before the next step.
	Wait time.Duration
}

// Remaining is the number of tasks still holding the drain.
func (p Progress) Remaining() int {
	n := 0
	for _, c := range p.ByStatus {
		n += c
	}
	return n
}

func (p Progress) String() string {
	switch {
	case p.Gone:
		return "container instance gone (terminated or deregistered): nothing left to drain"
	case p.Done:
		return fmt.Sprintf("drained: every task has stopped (%d ignored by policy)", p.Ignored)
	}
	var parts []string
	for _, s := range []string{"PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING"} {
		if c := p.ByStatus[s]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, s))
		}
	}
	return fmt.Sprintf("%d task(s) left: %s", p.Remaining(), strings.Join(parts, ", "))
}

// Step is one reconcile step: it sets the instance DRAINING if it is not yet, lists the
// instance's tasks and describes them (100 per call), applies the policies, and says whether
// the drain is done. It never sleeps. st may be nil (then the drain is taken to start now
// and no earlier knowledge is used).
func (d *Drainer) Step(ctx context.Context, in Instance, st *State) (Progress, error) {
	if st == nil {
		st = &State{}
	}
	now := d.opts.Clock.Now()
	if st.Started.IsZero() {
		st.Started = now
	}
	if st.known == nil {
		st.known, st.daemons, st.stopSent = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	prog := Progress{ByStatus: map[string]int{}, Wait: d.opts.PollInterval}

	if !st.draining {
		gone, err := d.ensureDraining(ctx, in)
		if err != nil || gone {
			prog.Done, prog.Gone = gone, gone
			return prog, err
		}
		st.draining = true
	}

	// Tasks desired RUNNING, plus (without earlier knowledge) those desired STOPPED, which
	// ListTasks leaves out by default although they may still be stopping.
	desired := []types.DesiredStatus{types.DesiredStatusRunning}
	if len(st.known) == 0 {
		desired = append(desired, types.DesiredStatusStopped)
	}
	for _, ds := range desired {
		arns, err := d.listTasks(ctx, in, ds)
		if err != nil {
			// The instance may have gone since it was seen DRAINING: look once more.
			if gone, gerr := d.ensureDraining(ctx, in); gerr == nil && gone {
				prog.Done, prog.Gone = true, true
				return prog, nil
			}
			return prog, err
		}
		for _, a := range arns {
			st.known[a] = true
		}
	}
	arns := make([]string, 0, len(st.known))
	for a := range st.known {
		arns = append(arns, a)
	}
	sort.Strings(arns)
	tasks, err := d.describeTasks(ctx, in.Cluster, arns)
	if err != nil {
		return prog, err
	}
	if err := d.learnDaemons(ctx, in.Cluster, tasks, st); err != nil {
		return prog, err
	}
	for _, t := range tasks {
		arn, status := aws.ToString(t.TaskArn), aws.ToString(t.LastStatus)
		if status == "STOPPED" {
			delete(st.known, arn)
			continue
		}
		service, isService := strings.CutPrefix(aws.ToString(t.Group), "service:")
		policy := Wait
		switch {
		case isService && st.daemons[service]:
			policy = d.opts.Daemon
		case !isService:
			policy = d.opts.Standalone
		}
		switch policy {
		case Ignore:
			prog.Ignored++
			continue
		case Stop:
			if !st.stopSent[arn] && now.Sub(st.Started) >= d.opts.StandaloneGrace && aws.ToString(t.DesiredStatus) != "STOPPED" {
				if _, err := d.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(in.Cluster), Task: aws.String(arn),
					Reason: aws.String("drain: instance " + in.EC2InstanceID + " is being terminated")}, d.callOpts...); err != nil {
					return prog, fmt.Errorf("drain: stopping standalone task %s: %w", arn, err)
				}
				st.stopSent[arn] = true
				prog.Stopped = append(prog.Stopped, arn)
			}
		}
		prog.ByStatus[status]++
	}
	prog.Done = prog.Remaining() == 0
	return prog, nil
}

// ensureDraining describes the container instance and sets it DRAINING unless it already
// is; gone is true when it no longer exists or is INACTIVE (terminated, deregistered). A
// container instance that ECS says runs on another EC2 instance than in.EC2InstanceID is
// never touched: *WrongInstanceError. An answer that does not say what became of it is an
// *IncompleteAnswerError, never "gone".
func (d *Drainer) ensureDraining(ctx context.Context, in Instance) (gone bool, err error) {
	if in.EC2InstanceID == "" || in.ContainerInstanceARN == "" {
		return false, fmt.Errorf("%w: the Instance needs its ContainerInstanceARN and its EC2InstanceID (Find fills both): "+
			"the EC2 instance is checked before anything is drained", ErrInvalidInput)
	}
	ci, err := d.describeInstance(ctx, in)
	if err != nil || ci == nil {
		return ci == nil && err == nil, err
	}
	if got := aws.ToString(ci.Ec2InstanceId); got != in.EC2InstanceID {
		return false, &WrongInstanceError{Cluster: in.Cluster, Asked: in.EC2InstanceID, Found: []string{got}, ContainerInstanceARN: in.ContainerInstanceARN}
	}
	switch status := aws.ToString(ci.Status); status {
	case "INACTIVE", "DEREGISTERING":
		return true, nil
	case "DRAINING":
		return false, nil
	default:
		if _, err := d.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String(in.Cluster),
			ContainerInstances: []string{in.ContainerInstanceARN}, Status: types.ContainerInstanceStatusDraining}, d.callOpts...); err != nil {
			return false, fmt.Errorf("drain: setting %s to DRAINING: %w", in.ContainerInstanceARN, err)
		}
		d.log.Debug("drain: set DRAINING", "container_instance", in.ContainerInstanceARN, "was", status)
		return false, nil
	}
}

// describeInstance describes the container instance. It returns its entry; nil and no error
// when ECS says it is gone: a MISSING failure naming the very ARN asked for, or a cluster
// that no longer exists (ECS deletes no cluster that still has container instances
// registered). Anything else that lacks its entry is an error: entries of other container
// instances only, a *WrongInstanceError; no entry and no MISSING of it (nothing, a failure
// such as ACCESS_DENIED, a MISSING naming another ARN), an *IncompleteAnswerError.
func (d *Drainer) describeInstance(ctx context.Context, in Instance) (*types.ContainerInstance, error) {
	desc, err := d.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(in.Cluster), ContainerInstances: []string{in.ContainerInstanceARN}}, d.callOpts...)
	if err != nil {
		if errors.As(err, new(*types.ClusterNotFoundException)) {
			return nil, nil
		}
		return nil, fmt.Errorf("drain: describing container instance %s: %w", in.ContainerInstanceARN, err)
	}
	var named []string
	for i := range desc.ContainerInstances {
		c := &desc.ContainerInstances[i]
		if sameARN(aws.ToString(c.ContainerInstanceArn), in.ContainerInstanceARN) {
			return c, nil
		}
		named = append(named, aws.ToString(c.Ec2InstanceId))
	}
	missing, reason := failureOf(desc.Failures, in.ContainerInstanceARN)
	switch {
	case missing:
		return nil, nil
	case len(named) > 0:
		return nil, &WrongInstanceError{Cluster: in.Cluster, Asked: in.EC2InstanceID, Found: named, ContainerInstanceARN: in.ContainerInstanceARN}
	}
	return nil, &IncompleteAnswerError{Op: "DescribeContainerInstances", Cluster: in.Cluster, ARN: in.ContainerInstanceARN, Reason: reason}
}

// sameARN reports whether an ARN in an answer is the one asked for, given as an ARN or as
// the id it ends with.
func sameARN(got, asked string) bool {
	return got != "" && asked != "" && (got == asked || strings.HasSuffix(got, "/"+asked) || strings.HasSuffix(asked, "/"+got))
}

// failureOf reads the failures of a describe answer for one ARN: missing is true when one
// names it with the reason MISSING; otherwise reason is the reason of a failure naming it
// ("" when none does).
func failureOf(failures []types.Failure, arn string) (missing bool, reason string) {
	for _, f := range failures {
		if !sameARN(aws.ToString(f.Arn), arn) {
			continue
		}
		if r := aws.ToString(f.Reason); r == "MISSING" {
			return true, ""
		} else if reason == "" {
			reason = r
			if reason == "" {
				reason = "(no reason)"
			}
		}
	}
	return false, reason
}

func (d *Drainer) listTasks(ctx context.Context, in Instance, ds types.DesiredStatus) ([]string, error) {
	var arns []string
	p := ecs.NewListTasksPaginator(d.ecs, &ecs.ListTasksInput{Cluster: aws.String(in.Cluster), ContainerInstance: aws.String(in.ContainerInstanceARN), DesiredStatus: ds})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx, d.callOpts...)
		if err != nil {
			return nil, fmt.Errorf("drain: listing tasks (%s) on %s: %w", ds, in.ContainerInstanceARN, err)
		}
		arns = append(arns, page.TaskArns...)
	}
	return arns, nil
}

// describeTasks describes tasks 100 at a time; tasks ECS no longer knows (a MISSING failure
// naming them) count as stopped. A task the answer does not account for (no entry, no
// MISSING of it) is an *IncompleteAnswerError: it may be running.
func (d *Drainer) describeTasks(ctx context.Context, cluster string, arns []string) ([]types.Task, error) {
	var tasks []types.Task
	for start := 0; start < len(arns); start += 100 {
		batch := arns[start:min(start+100, len(arns))]
		out, err := d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: batch}, d.callOpts...)
		if err != nil {
			return nil, fmt.Errorf("drain: describing %d tasks: %w", len(batch), err)
		}
		tasks = append(tasks, out.Tasks...)
	asked:
		for _, arn := range batch {
			for _, t := range out.Tasks {
				if sameARN(aws.ToString(t.TaskArn), arn) {
					continue asked
				}
			}
			missing, reason := failureOf(out.Failures, arn)
			if !missing {
				return nil, &IncompleteAnswerError{Op: "DescribeTasks", Cluster: cluster, ARN: arn, Reason: reason}
			}
			tasks = append(tasks, types.Task{TaskArn: aws.String(arn), LastStatus: aws.String("STOPPED")})
		}
	}
	return tasks, nil
}

// learnDaemons finds out, once per service, whether it is a DAEMON service.
func (d *Drainer) learnDaemons(ctx context.Context, cluster string, tasks []types.Task, st *State) error {
	if d.opts.Daemon == Wait {
		return nil // no difference between daemon and replica tasks then
	}
	var unknown []string
	seen := map[string]bool{}
	for _, t := range tasks {
		if s, ok := strings.CutPrefix(aws.ToString(t.Group), "service:"); ok && aws.ToString(t.LastStatus) != "STOPPED" {
			if _, known := st.daemons[s]; !known && !seen[s] {
				seen[s] = true
				unknown = append(unknown, s)
			}
		}
	}
	for start := 0; start < len(unknown); start += 10 {
		batch := unknown[start:min(start+10, len(unknown))]
		out, err := d.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch}, d.callOpts...)
		if err != nil {
			return fmt.Errorf("drain: describing services %v: %w", batch, err)
		}
		for _, s := range batch {
			st.daemons[s] = false
		}
		for _, s := range out.Services {
			st.daemons[aws.ToString(s.ServiceName)] = s.SchedulingStrategy == types.SchedulingStrategyDaemon
		}
	}
	return nil
}
