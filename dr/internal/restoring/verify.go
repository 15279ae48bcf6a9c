package restoring

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// from aurora.go

func (v *Verifier) describeCluster(ctx context.Context, id string) (types.DBCluster, bool, error) {
	out, err := v.RDS.Client.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)}, v.RDS.Opts...)
	return first(out, err, func(o *rds.DescribeDBClustersOutput) []types.DBCluster { return o.DBClusters }, snaps.ClusterNotFound, "describing cluster "+id)
}

// owned checks that a resource found under the run's identifier was made by the run (never
// without a run: an untagged resource would pass).
func OwnedByRun(kind, id, run string, tags []types.Tag) error {
	if strings.TrimSpace(run) == "" || snaps.TagValue(tags, dr.TagRun) != run {
		return fmt.Errorf("%w: %s %s exists and was not made by run %q (its %s tag is %q): it is neither used nor deleted",
			dr.ErrForeignResource, kind, id, run, dr.TagRun, snaps.TagValue(tags, dr.TagRun))
	}
	return nil
}

// startCluster restores the cluster and adds its instance; repeating it for the same run
// attaches to what the first attempt made.
func (v *Verifier) startCluster(ctx context.Context, st *dr.VerifyState) error {
	tags := []types.Tag{snaps.Tag(dr.TagDR, v.own().Tag), snaps.Tag(dr.TagSource, st.Snapshot), snaps.Tag(dr.TagRun, st.Run)}
	engine := v.Target.Engine
	if engine == "" {
		out, err := v.RDS.Client.DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String(st.Snapshot)}, v.RDS.Opts...)
		if err != nil {
			return errtext.Wrap("dr", "describing cluster snapshot "+st.Snapshot, err)
		}
		if len(out.DBClusterSnapshots) == 0 || aws.ToString(out.DBClusterSnapshots[0].Engine) == "" {
			return fmt.Errorf("%w: cluster snapshot %s names no engine: set dr.VerifyTarget.Engine", dr.ErrInvalidInput, st.Snapshot)
		}
		engine = aws.ToString(out.DBClusterSnapshots[0].Engine)
	}
	_, err := v.RDS.Client.RestoreDBClusterFromSnapshot(ctx, &rds.RestoreDBClusterFromSnapshotInput{
		DBClusterIdentifier: aws.String(st.Instance), SnapshotIdentifier: aws.String(st.Snapshot), Engine: aws.String(engine),
		DBSubnetGroupName: snaps.OptionalString(v.Opts.SubnetGroup), VpcSecurityGroupIds: v.Opts.SecurityGroups, DeletionProtection: aws.Bool(false),
		Tags: tags,
	}, v.RDS.Opts...)
	if snaps.ClusterExists(err) {
		err = v.attach(ctx, st, true)
	}
	if err != nil {
		return errtext.Wrap("dr", "restoring "+st.Snapshot+" into cluster "+st.Instance, err)
	}
	_, err = v.RDS.Client.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(st.Instance),
		DBClusterIdentifier: aws.String(st.Instance), DBInstanceClass: aws.String(v.Target.InstanceClass), Engine: aws.String(engine),
		PubliclyAccessible: aws.Bool(false), Tags: tags}, v.RDS.Opts...)
	if snaps.InstanceExists(err) {
		inst, found, derr := v.DescribeInstance(ctx, st.Instance)
		switch {
		case derr != nil:
			err = derr
		case !found:
			err = fmt.Errorf("%w: instance %s was being deleted: try again", dr.ErrNotReady, st.Instance)
		default:
			err = v.mine("DB instance", st.Instance, st.Run, inst.TagList)
		}
	}
	if err != nil {
		return errtext.Wrap("dr", "adding instance "+st.Instance+" to cluster "+st.Instance, err)
	}
	return nil
}

// readyCluster: the cluster and its instance must both be available; the checks connect to
// the cluster endpoint.
func (v *Verifier) readyCluster(ctx context.Context, st *dr.VerifyState) (string, int32, error) {
	c, found, err := v.describeCluster(ctx, st.Instance)
	switch {
	case err != nil:
		return "", 0, err
	case !found:
		return "", 0, fmt.Errorf("dr: the temporary cluster %s is gone", st.Instance)
	}
	cs := aws.ToString(c.Status)
	if dr.IsTerminal(cs) {
		return "", 0, &dr.RestoreFailedError{Instance: "cluster " + st.Instance, State: cs}
	}
	inst, found, err := v.DescribeInstance(ctx, st.Instance)
	switch {
	case err != nil:
		return "", 0, err
	case !found:
		return "", 0, fmt.Errorf("dr: the temporary cluster %s has no instance %s", st.Instance, st.Instance)
	}
	is := aws.ToString(inst.DBInstanceStatus)
	switch {
	case dr.IsTerminal(is):
		return "", 0, &dr.RestoreFailedError{Instance: st.Instance, State: is}
	case cs != "available" || c.Endpoint == nil:
		return "", 0, fmt.Errorf("%w: cluster %s is %s", dr.ErrNotReady, st.Instance, cs)
	case is != "available":
		return "", 0, fmt.Errorf("%w: instance %s of cluster %s is %s", dr.ErrNotReady, st.Instance, st.Instance, is)
	}
	return aws.ToString(c.Endpoint), aws.ToInt32(c.Port), nil
}

// cleanupCluster deletes the run's instance, then its cluster (RDS refuses to delete a
// cluster with an instance not being deleted: dr.ErrNotReady until it is).
func (v *Verifier) cleanupCluster(ctx context.Context, st *dr.VerifyState) error {
	if err := v.cleanupInstance(ctx, st); err != nil {
		return err
	}
	did := st.Report.Cleanup
	r, err := v.Lookup(ctx, true, st.Instance)
	if err != nil {
		st.Report.Cleanup = did + "; FAILED to look up cluster " + st.Instance + ": " + errtext.Strip("dr", err.Error())
		return err
	}
	if line := v.kept(st, true, r); line != "" {
		st.Report.Cleanup = did + "; " + line
		return nil
	}
	_, err = v.RDS.Client.DeleteDBCluster(ctx, &rds.DeleteDBClusterInput{DBClusterIdentifier: aws.String(st.Instance), SkipFinalSnapshot: aws.Bool(true)}, v.RDS.Opts...)
	switch {
	case err == nil:
		st.Report.Cleanup = did + "; deleted cluster " + st.Instance
	case snaps.ClusterNotFound(err):
		st.Report.Cleanup = did + "; cluster " + st.Instance + " was already gone"
	case snaps.ClusterBusy(err):
		st.Report.Cleanup = did + "; waiting to delete cluster " + st.Instance + " (its instance is not deleting yet)"
		return fmt.Errorf("%w: deleting temporary cluster %s: %w", dr.ErrNotReady, st.Instance, err)
	default:
		st.Report.Cleanup = did + "; FAILED to delete cluster " + st.Instance + ": " + err.Error()
		return errtext.Wrap("dr", "deleting temporary cluster "+st.Instance, err)
	}
	v.Progress("%s", st.Report.Cleanup)
	return nil
}

// from verify.go

// finishReport makes the state's report ready to deliver (the state machine's Report step):
// a report the cleanup step never completed (its answers were all failures, so the state is
// cleanup's input) gets its database and run (its start only from the state: without one it
// has none, and is keyed by its run alone), the error an earlier step's Catch
// caught, and, from the Cleanup state's Catch, why cleanup failed in its cleanup field and
// what may be left behind. Such a report is never OK.
func (v *Verifier) FinishReport(st *dr.VerifyState) {
	// No start time is made up here: every delivery of the step would make up another one,
	// and the report's key and bytes must be the same each time (Reporter.Key).
	v.CompleteReport(st, time.Time{})
	RecordCaught(st)
	if st.CleanupError == nil {
		return
	}
	left := "what it made may be left behind: delete what is tagged " + dr.TagRun + "=" + st.Run
	if strings.TrimSpace(st.Run) == "" {
		left = "what it made may be left behind"
	}
	st.Report.Cleanup = "FAILED after the state machine's retries: " + caughtText(st.CleanupError) + "; " + left
	st.Report.OK = false
	st.CleanupError = nil
}

// Verifier restores DR snapshots into temporary instances and checks them. It is safe for
// concurrent use.
type Verifier struct {
	// beforeRestore, when set, is asked about the snapshot Start is about to restore, before
	// anything is made (the Sanitizer refuses an AWS managed key when sharing).
	BeforeRestore func(ctx context.Context, sn snaps.Snap) error
	RDS           snaps.Calls
	Target        dr.VerifyTarget
	DB            dr.Database
	Opts          dr.VerifyOptions
	Log           *slog.Logger
	Kind          Kind // of the temporary instances it makes and deletes; zero: verifying
}

// kind is a kind of temporary instance (and cluster): the prefix of its name and the
// shipshape:dr tag it carries. Each function makes and deletes only its own kind, and its
// IAM policy names only that prefix and tag, so that none may tag or delete another's.
type Kind struct{ Prefix, Tag string }

var (
	Verifying  = Kind{dr.PrefixVerify, "verify"}
	Sanitizing = Kind{dr.PrefixSanitize, "sanitize"}
	Rehearsing = Kind{dr.PrefixRehearsal, "rehearsal"}
)

// own is v's kind: a Verifier's unless it was made for another (a Sanitizer's, a
// rehearsal's cleanup).
func (v *Verifier) own() Kind {
	if v.Kind == (Kind{}) {
		return Verifying
	}
	return v.Kind
}

// mine checks that a resource found under the run's identifier was made by the run
// (owned) and is of v's kind: an instance another function tagged with the same run is
// another function's.
func (v *Verifier) mine(noun, id, run string, tags []types.Tag) error {
	if err := OwnedByRun(noun, id, run, tags); err != nil {
		return err
	}
	if got := snaps.TagValue(tags, dr.TagDR); got != v.own().Tag {
		return fmt.Errorf("%w: %s %s is tagged %s=%q, not %q: another function's, neither used nor deleted", dr.ErrForeignResource, noun, id, dr.TagDR, got, v.own().Tag)
	}
	return nil
}

// instanceID is the identifier of a run's temporary instance (and cluster) of v's kind.
func (v *Verifier) instanceID(run string) string { return RunID(v.own().Prefix, run) }

// NewVerifier returns a Verifier. The error, wrapping dr.ErrInvalidInput, is for settings that
// can't work; NewVerifier makes no call.
func New(client dr.RDSAPI, target dr.VerifyTarget, db dr.Database, optFns ...func(*dr.VerifyOptions)) (*Verifier, error) {
	var o dr.VerifyOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if err := CheckSource(client, target.SnapshotID, target.SourceInstance, target.SourceCluster,
		"the snapshot to verify, the source instance or the source cluster whose newest DR snapshot to verify"); err != nil {
		return nil, err
	}
	if err := CheckAccount(target.SourceAccount, target.SnapshotID); err != nil {
		return nil, err
	}
	switch {
	case target.InstanceClass == "" || !strings.HasPrefix(target.InstanceClass, "db."):
		return nil, fmt.Errorf("%w: the instance class of the temporary instance is required (e.g. db.t4g.medium), not %q", dr.ErrInvalidInput, target.InstanceClass)
	case db.Driver == "" || db.DSN == nil:
		return nil, fmt.Errorf("%w: the database driver and DSN are required to run the SQL checks", dr.ErrInvalidInput)
	case o.Timeout < 0 || o.Poll < 0 || o.MaxAttempts < 0:
		return nil, fmt.Errorf("%w: Timeout, Poll and MaxAttempts can't be negative", dr.ErrInvalidInput)
	}
	snaps.Defaults(&o.Clock, &o.MaxAttempts, &o.Logger)
	if o.Timeout == 0 {
		o.Timeout = time.Hour
	}
	if o.Poll == 0 {
		o.Poll = 30 * time.Second
	}
	return &Verifier{RDS: snaps.NewCalls(client, o.Clock, o.MaxAttempts, o.ClientOptions), Target: target, DB: db, Opts: o, Log: o.Logger}, nil
}

// checkSource checks what a restore starts from: a client, and exactly one of a snapshot id, a
// source instance and a source cluster (oneOf lists them for the error), each a valid RDS
// identifier.
func CheckSource(client dr.RDSAPI, snapshotID, instance, cluster, oneOf string) error {
	switch {
	case client == nil:
		return fmt.Errorf("%w: no RDS client", dr.ErrInvalidInput)
	case btoi(snapshotID != "")+btoi(instance != "")+btoi(cluster != "") != 1:
		return fmt.Errorf("%w: give one of: %s", dr.ErrInvalidInput, oneOf)
	case snapshotID != "" && dr.ValidInputIdentifier(snapshotID) != nil:
		return dr.ValidInputIdentifier(snapshotID)
	case instance != "" && !snaps.ValidName(instance):
		return fmt.Errorf("%w: source instance %q is not a DB instance identifier (%s)", dr.ErrInvalidInput, instance, NameRule)
	case cluster != "" && !snaps.ValidName(cluster):
		return fmt.Errorf("%w: source cluster %q is not a DB cluster identifier (%s)", dr.ErrInvalidInput, cluster, NameRule)
	}
	return nil
}

// checkAccount checks a source account setting: 12 digits, and only with a source database
// (a snapshot id names one snapshot of one account already).
func CheckAccount(account, snapshotID string) error {
	switch {
	case account == "":
		return nil
	case !snaps.ValidAccount(account):
		return fmt.Errorf("%w: source account %q is not a 12-digit AWS account id", dr.ErrInvalidInput, account)
	case snapshotID != "":
		return fmt.Errorf("%w: a source account goes with a source instance or cluster, not with a snapshot id", dr.ErrInvalidInput)
	}
	return nil
}

// nameRule is RDS's rule for DB instance and cluster identifiers, for errors.
const NameRule = "1 to 63 lower-case letters, digits and hyphens (RDS stores identifiers in lower case), starting with a letter, no two hyphens in a row, not ending with a hyphen"

func (v *Verifier) Progress(format string, args ...any) {
	if v.Opts.Progress != nil {
		v.Opts.Progress(fmt.Sprintf(format, args...))
	}
}

// runID is prefix and the run when that makes a valid identifier of at most 63 characters,
// else prefix and a hash of the run.
func RunID(prefix, run string) string {
	id := prefix + strings.ToLower(run)
	if len(id) <= 63 && dr.ValidIdentifier(id) == nil {
		return id
	}
	sum := sha256.Sum256([]byte(run))
	return prefix + hex.EncodeToString(sum[:8])
}

// newRun is the run id of a blocking Verify or Sanitize: the time and a random part, so two
// runs never share an instance.
func (v *Verifier) NewRun() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return v.Opts.Clock.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Start picks the snapshot (the newest available DR snapshot of the source instance by
// original creation time, unless one is given) and starts the restore into the run's
// temporary instance (step 1). Repeating it for the same run attaches to the instance the
// first attempt made, even when that attempt's answer was lost; an instance with that
// identifier that another run (or anybody else) made is refused with dr.ErrForeignResource.
func (v *Verifier) Start(ctx context.Context, run string) (dr.VerifyState, error) {
	now := v.Opts.Clock.Now().UTC()
	st := dr.VerifyState{Run: run, Snapshot: v.Target.SnapshotID, Started: now.Format(time.RFC3339), Cluster: IsCluster(v.Target)}
	st.Report = v.newReport(run, now)
	if strings.TrimSpace(run) == "" {
		return st, fmt.Errorf("%w: a run id (the Step Functions execution name) is required", dr.ErrInvalidInput)
	}
	st.Instance = v.instanceID(run)
	st.Report.Instance = st.Instance
	fail := func(err error) (dr.VerifyState, error) {
		st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "restore", Detail: errtext.Strip("dr", err.Error())})
		return st, err
	}
	if st.Snapshot == "" {
		newest, err := v.Newest(ctx, "to verify")
		if err != nil {
			return fail(err)
		}
		st.Snapshot = newest.ID
		st.Report.Account = newest.Origin()
		if v.BeforeRestore != nil {
			if err := v.BeforeRestore(ctx, newest); err != nil {
				return fail(err)
			}
		}
	} else if v.BeforeRestore != nil {
		sn, found, err := v.RDS.DescribeSnap(ctx, st.Cluster, st.Snapshot, "")
		switch {
		case err != nil:
			return fail(errtext.Wrap("dr", "describing "+st.Snapshot, err))
		case found:
			if err := v.BeforeRestore(ctx, sn); err != nil {
				return fail(err)
			}
		}
	}
	st.Report.Snapshot = st.Snapshot
	if st.Cluster {
		if err := v.startCluster(ctx, &st); err != nil {
			return fail(err)
		}
		st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "restore", OK: true, Detail: "restoring " + st.Snapshot + " into cluster " + st.Instance + " with instance " + st.Instance})
		v.Progress("restoring %s into temporary cluster %s and its instance", st.Snapshot, st.Instance)
		return st, nil
	}
	_, err := v.RDS.Client.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String(st.Instance), DBSnapshotIdentifier: aws.String(st.Snapshot),
		DBInstanceClass: aws.String(v.Target.InstanceClass), DBSubnetGroupName: snaps.OptionalString(v.Opts.SubnetGroup),
		VpcSecurityGroupIds: v.Opts.SecurityGroups, PubliclyAccessible: aws.Bool(false), DeletionProtection: aws.Bool(false),
		Tags: []types.Tag{snaps.Tag(dr.TagDR, v.own().Tag), snaps.Tag(dr.TagSource, st.Snapshot), snaps.Tag(dr.TagRun, run)},
	}, v.RDS.Opts...)
	if snaps.InstanceExists(err) {
		err = v.attach(ctx, &st, false)
	}
	if err != nil {
		return fail(errtext.Wrap("dr", "restoring "+st.Snapshot+" into "+st.Instance, err))
	}
	st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "restore", OK: true, Detail: "restoring " + st.Snapshot + " into " + st.Instance})
	v.Progress("restoring %s into temporary instance %s", st.Snapshot, st.Instance)
	return st, nil
}

// newest is the newest available DR snapshot of the source instance or cluster of the
// source account (dr.VerifyTarget.SourceAccount; without it, of the one account whose database
// has that name: copies from several accounts are an *dr.AmbiguousSourceError); why says what
// it is for, and what to check, in the error when there is none.
func (v *Verifier) Newest(ctx context.Context, why string) (snaps.Snap, error) {
	m, err := v.RDS.ListManual(ctx)
	if err != nil {
		return snaps.Snap{}, err
	}
	var list []snaps.Snap
	accounts := map[string]bool{}
	for _, s := range m.Ours {
		if s.Cluster != IsCluster(v.Target) || s.DB != DatabaseOf(v.Target) {
			continue
		}
		accounts[s.Origin()] = true
		if s.Status == "available" && (v.Target.SourceAccount == "" || s.Origin() == v.Target.SourceAccount) {
			list = append(list, s)
		}
	}
	if v.Target.SourceAccount == "" && len(accounts) > 1 {
		return snaps.Snap{}, &dr.AmbiguousSourceError{Database: DatabaseOf(v.Target), Cluster: IsCluster(v.Target), Accounts: slices.Sorted(maps.Keys(accounts))}
	}
	if len(list) == 0 {
		of := DatabaseOf(v.Target)
		if v.Target.SourceAccount != "" {
			of += " of account " + v.Target.SourceAccount
		}
		return snaps.Snap{}, fmt.Errorf("%w of %s %s", dr.ErrNoSnapshot, of, why)
	}
	snaps.SortNewestFirst(list)
	return list[0], nil
}

func (v *Verifier) DescribeInstance(ctx context.Context, id string) (types.DBInstance, bool, error) {
	out, err := v.RDS.Client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, v.RDS.Opts...)
	return first(out, err, func(o *rds.DescribeDBInstancesOutput) []types.DBInstance { return o.DBInstances }, snaps.InstanceNotFound, "describing "+id)
}

// first is what a Describe call by identifier found: found is false when RDS says there is
// no such resource (notFound) or lists none; doing names the call in the error.
func first[Out, T any](out *Out, err error, list func(*Out) []T, notFound func(error) bool, doing string) (item T, found bool, _ error) {
	switch {
	case notFound(err):
		return item, false, nil
	case err != nil:
		return item, false, errtext.Wrap("dr", doing, err)
	}
	if l := list(out); len(l) > 0 {
		return l[0], true, nil
	}
	return item, false, nil
}

// resource is a DB instance or an Aurora cluster as the steps that restore, attach to and
// delete them see it.
type Resource struct {
	Found  bool
	Status string
	Tags   []types.Tag
	Engine string // of a cluster
}

// lookup describes the DB cluster (cluster) or the DB instance id.
func (v *Verifier) Lookup(ctx context.Context, cluster bool, id string) (Resource, error) {
	if cluster {
		c, found, err := v.describeCluster(ctx, id)
		return Resource{Found: found, Status: aws.ToString(c.Status), Tags: c.TagList, Engine: aws.ToString(c.Engine)}, err
	}
	inst, found, err := v.DescribeInstance(ctx, id)
	return Resource{Found: found, Status: aws.ToString(inst.DBInstanceStatus), Tags: inst.TagList}, err
}

// name is how reports and errors call the run's instance or cluster.
func Name(cluster bool, id string) string {
	if cluster {
		return "cluster " + id
	}
	return id
}

// attach is a repeated start (the first answer was lost, or the step was retried) that
// found the run's identifier taken: it attaches to the instance or cluster when this run
// made it and it is not being deleted, and records the snapshot the first attempt restored.
func (v *Verifier) attach(ctx context.Context, st *dr.VerifyState, cluster bool) error {
	r, err := v.Lookup(ctx, cluster, st.Instance)
	noun := "DB instance"
	if cluster {
		noun = "DB cluster"
	}
	switch {
	case err != nil:
		return err
	case !r.Found:
		return fmt.Errorf("%w: %s was being deleted: try again", dr.ErrNotReady, Name(cluster, st.Instance))
	case v.mine(noun, st.Instance, st.Run, r.Tags) != nil:
		return v.mine(noun, st.Instance, st.Run, r.Tags)
	case r.Status == "deleting":
		return fmt.Errorf("%w: %s is being deleted: try again in a few minutes", dr.ErrNotReady, Name(cluster, st.Instance))
	}
	if s := snaps.TagValue(r.Tags, dr.TagSource); s != "" {
		st.Snapshot, st.Report.Snapshot = s, s
	}
	return nil
}

// kept is the report's line when cleanup leaves the run's instance or cluster alone (it
// is gone, it is not this run's, or it is being deleted already), "" when it is to be
// deleted.
func (v *Verifier) kept(st *dr.VerifyState, cluster bool, r Resource) string {
	n := Name(cluster, st.Instance)
	switch {
	case !r.Found:
		return n + " was already gone (or never made)"
	case snaps.TagValue(r.Tags, dr.TagDR) != v.own().Tag || st.Run == "" || snaps.TagValue(r.Tags, dr.TagRun) != st.Run:
		return "left " + n + " alone: not made by this run"
	case r.Status == "deleting":
		return n + " is being deleted"
	}
	return ""
}

// Ready checks once whether the instance is available (step 2): dr.ErrNotReady while it is
// still being created, a *dr.RestoreFailedError (ErrRestoreFailed) in a terminal state.
func (v *Verifier) Ready(ctx context.Context, st *dr.VerifyState) (host string, port int32, err error) {
	if st.Cluster {
		return v.readyCluster(ctx, st)
	}
	inst, found, err := v.DescribeInstance(ctx, st.Instance)
	switch {
	case err != nil:
		return "", 0, err
	case !found:
		return "", 0, fmt.Errorf("dr: the temporary instance %s is gone", st.Instance)
	}
	s := aws.ToString(inst.DBInstanceStatus)
	switch {
	case dr.IsTerminal(s):
		return "", 0, &dr.RestoreFailedError{Instance: st.Instance, State: s}
	case s != "available" || inst.Endpoint == nil:
		return "", 0, fmt.Errorf("%w: %s is %s", dr.ErrNotReady, st.Instance, s)
	}
	return aws.ToString(inst.Endpoint.Address), aws.ToInt32(inst.Endpoint.Port), nil
}

// Check runs the SQL checks against the available instance (step 3) and records them in
// the report.
func (v *Verifier) Check(ctx context.Context, st *dr.VerifyState, host string, port int32) {
	db, err := v.Open(ctx, host, port)
	if err != nil {
		st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "connect", Detail: errtext.Strip("dr", err.Error())})
		return
	}
	defer db.Close()
	st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "connect", OK: true, Detail: fmt.Sprintf("%s:%d", host, port)})
	add := func(name string, ok bool, format string, args ...any) {
		st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
		v.Progress("check %s: ok=%v %s", name, ok, fmt.Sprintf(format, args...))
	}
	c := v.Opts.Checks
	var version string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&version); err != nil {
		add("server version", false, "%v", err)
	} else {
		add("server version", c.ServerVersionPrefix == "" || strings.HasPrefix(version, c.ServerVersionPrefix), "%s (want prefix %q)", version, c.ServerVersionPrefix)
	}
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'").Scan(&tables); err != nil {
		add("table count", false, "%v", err)
	} else {
		add("table count", tables >= c.MinTables, "%d tables (want at least %d)", tables, c.MinTables)
	}
	names := make([]string, 0, len(c.MinRows))
	for t := range c.MinRows {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		var n int64
		// Table names come from the caller's configuration; quote them as identifiers.
		q := `SELECT count(*) FROM "` + strings.ReplaceAll(t, `"`, `""`) + `"`
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			add("rows "+t, false, "%v", err)
			continue
		}
		add("rows "+t, n >= c.MinRows[t], "%d rows (want at least %d)", n, c.MinRows[t])
	}
	for _, qc := range c.Queries {
		var got sql.NullString
		if err := db.QueryRowContext(ctx, qc.SQL).Scan(&got); err != nil {
			add(qc.Name, false, "%v", err)
			continue
		}
		add(qc.Name, got.String == qc.Want, "got %q, want %q", got.String, qc.Want)
	}
}

// Cleanup deletes the run's temporary instance (final step; reached from every failure). It
// needs only the run: when an earlier step's answer was lost and the state holds no
// instance, the instance is found by the identifier the run implies. It deletes only the
// instance named as the run implies (a Verifier's TemporaryInstanceID, a Sanitizer's
// SanitizeInstanceID) whose shipshape:run tag names this run and whose shipshape:dr tag is
// of its kind: a state without a run, or naming another instance, deletes nothing (the
// report's cleanup line says so); an instance already gone is fine; one RDS can't delete yet
// (still creating, modifying) gives dr.ErrNotReady (try again).
func (v *Verifier) Cleanup(ctx context.Context, st *dr.VerifyState) error {
	switch {
	case strings.TrimSpace(st.Run) == "" && st.Instance != "":
		// Without the run, what this run made can't be told from what another run made.
		st.Report.Cleanup = "left " + Name(IsCluster(v.Target) || st.Cluster, st.Instance) + " alone: the state names no run (the execution name), so it can't be told from another run's"
		return nil
	case st.Instance == "" && st.Run != "":
		st.Instance = v.instanceID(st.Run)
		st.Report.Instance = st.Instance
	case st.Instance != "" && st.Instance != v.instanceID(st.Run):
		// Not the name this run's instance has: another function's kind (a sanitization
		// started before its instances had a prefix of their own), or a state not of this run.
		st.Report.Cleanup = "left " + Name(IsCluster(v.Target) || st.Cluster, st.Instance) + " alone: this run's would be " + v.instanceID(st.Run) +
			" (an execution started before an upgrade may have left it: docs/dr.md, \"Temporary instances named before\")"
		return nil
	}
	if st.Instance == "" {
		st.Report.Cleanup = "nothing to delete"
		return nil
	}
	if IsCluster(v.Target) {
		st.Cluster = true
		return v.cleanupCluster(ctx, st)
	}
	return v.cleanupInstance(ctx, st)
}

// cleanupInstance deletes the run's temporary DB instance.
func (v *Verifier) cleanupInstance(ctx context.Context, st *dr.VerifyState) error {
	r, err := v.Lookup(ctx, false, st.Instance)
	if err != nil {
		st.Report.Cleanup = "FAILED to look up " + st.Instance + ": " + errtext.Strip("dr", err.Error())
		return err
	}
	if line := v.kept(st, false, r); line != "" {
		st.Report.Cleanup = line
		return nil
	}
	in := &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(st.Instance), SkipFinalSnapshot: aws.Bool(true)}
	if !st.Cluster {
		in.DeleteAutomatedBackups = aws.Bool(true) // an Aurora instance has none of its own
	}
	_, err = v.RDS.Client.DeleteDBInstance(ctx, in, v.RDS.Opts...)
	switch {
	case err == nil:
		st.Report.Cleanup = "deleted " + st.Instance
	case snaps.InstanceNotFound(err):
		st.Report.Cleanup = st.Instance + " was already gone"
	case snaps.InstanceBusy(err):
		st.Report.Cleanup = "waiting to delete " + st.Instance + " (RDS is busy with it)"
		return fmt.Errorf("%w: deleting temporary instance %s: %w", dr.ErrNotReady, st.Instance, err)
	default:
		st.Report.Cleanup = "FAILED to delete " + st.Instance + ": " + err.Error()
		return errtext.Wrap("dr", "deleting temporary instance "+st.Instance, err)
	}
	v.Progress("%s", st.Report.Cleanup)
	return nil
}

// Step runs one named step of a verification on a serialisable state, for a state machine
// (AWS Step Functions) that drives the waiting: "start" restores, "ready" answers
// dr.ErrNotReady until the instance is available (ErrRestoreFailed in a terminal state,
// dr.ErrTimedOut once dr.VerifyOptions.Timeout has passed since start), "check" runs the SQL
// checks, "cleanup" deletes the instance and finishes the report. run is the execution's
// name ($$.Execution.Name): every step gets it, so cleanup finds the instance even when
// start's answer was lost. Every failure path of the state machine must lead to "cleanup";
// ErrorType names the errors for its Retry and Catch rules.
func (v *Verifier) Step(ctx context.Context, step, run string, st dr.VerifyState) (dr.VerifyState, error) {
	if err := OfRun(&st, run); err != nil {
		return st, err
	}
	switch step {
	case "start":
		return v.Start(ctx, run)
	case "ready":
		host, port, err := v.Ready(ctx, &st)
		if errors.Is(err, dr.ErrNotReady) {
			if started, perr := time.Parse(time.RFC3339, st.Started); perr == nil && v.Opts.Clock.Now().Sub(started) >= v.Opts.Timeout {
				err = fmt.Errorf("%w: %s not available %s after the restore started: %v", dr.ErrTimedOut, st.Instance, v.Opts.Timeout, errtext.Strip("dr", err.Error()))
			}
		}
		if err != nil {
			if !errors.Is(err, dr.ErrNotReady) {
				st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "wait", Detail: errtext.Strip("dr", err.Error())})
			}
			return st, err
		}
		st.Host, st.Port = host, port
		st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "wait", OK: true, Detail: st.Instance + " available"})
		return st, nil
	case "check":
		v.Check(ctx, &st, st.Host, st.Port)
		return st, nil
	case "cleanup":
		v.CompleteReport(&st, v.Opts.Clock.Now().UTC())
		RecordCaught(&st)
		err := v.Cleanup(ctx, &st)
		st.Report.Finished = v.Opts.Clock.Now().UTC()
		st.Report.OK = err == nil && AllOK(st.Report.Steps) && len(st.Report.Steps) >= 3
		return st, err
	}
	return st, fmt.Errorf("%w: unknown step %q (start, ready, check or cleanup)", dr.ErrInvalidInput, step)
}

// finish runs the cleanup that must happen however a blocking run ended (the temporary
// instance, then more, if given), on a context that outlives ctx's cancellation by up to 15
// minutes, waiting while RDS can't delete yet, and completes the report. A cleanup error is
// returned when err is nil.
func (v *Verifier) Finish(ctx context.Context, st *dr.VerifyState, err error, more func(context.Context) error) (dr.Report, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Minute)
	defer cancel()
	deadline := v.Opts.Clock.Now().Add(15 * time.Minute)
	cerr := v.Cleanup(cctx, st)
	for errors.Is(cerr, dr.ErrNotReady) && v.Opts.Clock.Now().Before(deadline) {
		if serr := v.Opts.Clock.Sleep(cctx, min(v.Opts.Poll, deadline.Sub(v.Opts.Clock.Now()))); serr != nil {
			break
		}
		cerr = v.Cleanup(cctx, st)
	}
	if more != nil {
		cerr = errors.Join(cerr, more(cctx))
	}
	st.Report.Finished = v.Opts.Clock.Now().UTC()
	st.Report.OK = err == nil && cerr == nil && AllOK(st.Report.Steps)
	if err == nil {
		err = cerr
	}
	return st.Report, err
}

// Verify runs the whole verification blocking: restore, wait (with progress; it ends at
// Timeout, or at once in a terminal state), checks, and ALWAYS the cleanup, also when a step
// failed or ctx was cancelled (cleanup then runs on a context of its own). The report says
// what failed; the error is about operations that could not run, not about failed checks.
func (v *Verifier) Verify(ctx context.Context) (report dr.Report, err error) {
	st, err := v.Start(ctx, v.NewRun())
	defer func() { report, err = v.Finish(ctx, &st, err, nil) }()
	if err != nil {
		return st.Report, err
	}
	host, port, err := v.WaitReady(ctx, &st)
	if err != nil {
		return st.Report, err
	}
	v.Check(ctx, &st, host, port)
	return st.Report, nil
}

// waitReady waits for the temporary instance and records the wait step.
func (v *Verifier) WaitReady(ctx context.Context, st *dr.VerifyState) (host string, port int32, err error) {
	err = v.WaitFor(ctx, "the restore of "+st.Instance, func() error {
		var rerr error
		host, port, rerr = v.Ready(ctx, st)
		return rerr
	})
	if err != nil {
		st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "wait", Detail: errtext.Strip("dr", err.Error())})
		return "", 0, err
	}
	st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "wait", OK: true, Detail: st.Instance + " available"})
	return host, port, nil
}

// waitFor polls check until it stops answering dr.ErrNotReady, and never past Timeout: each
// sleep is clipped to what is left, and the last check is at the deadline.
func (v *Verifier) WaitFor(ctx context.Context, what string, check func() error) error {
	c := v.Opts.Clock
	deadline := c.Now().Add(v.Opts.Timeout)
	for round := 1; ; round++ {
		err := check()
		if !errors.Is(err, dr.ErrNotReady) {
			return err
		}
		left := deadline.Sub(c.Now())
		if left <= 0 {
			return fmt.Errorf("%w: %s after %s: %s", dr.ErrTimedOut, what, v.Opts.Timeout, errtext.Strip("dr", err.Error()))
		}
		v.Progress("waiting (round %d, %s left): %s", round, left.Round(time.Second), errtext.Strip("dr", err.Error()))
		if serr := c.Sleep(ctx, min(v.Opts.Poll, left)); serr != nil {
			return serr
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// completeReport fills what a report needs to be delivered and told apart when the state
// holds no report (a Catch after a failed start passes the execution's input): the database,
// kind and region, the run, and the start (the state's, else otherwise: the Cleanup step's
// time, which the state then carries to the Report step; zero for none).
func (v *Verifier) CompleteReport(st *dr.VerifyState, otherwise time.Time) {
	if st.Report.Database != "" {
		return
	}
	started, err := time.Parse(time.RFC3339, st.Started)
	if err != nil {
		started = otherwise
	}
	if !st.Report.Started.IsZero() {
		started = st.Report.Started
	}
	r := v.newReport(st.Run, started)
	st.Report.Database, st.Report.Account, st.Report.Kind, st.Report.Region, st.Report.Started = r.Database, r.Account, r.Kind, r.Region, r.Started
	if st.Report.Run == "" {
		st.Report.Run = st.Run
	}
}

// newReport starts the report of a run.
func (v *Verifier) newReport(run string, now time.Time) dr.Report {
	kind := "instance"
	if IsCluster(v.Target) {
		kind = "cluster"
	}
	return dr.Report{Database: DatabaseOf(v.Target), Account: v.Target.SourceAccount, Kind: kind, Region: v.Opts.Region, Run: run, Started: now}
}

// open connects to the restored database, with the credentials when dr.Database has them, and
// checks the connection. Its error never holds the DSN or a password: drivers quote the DSN
// in their errors, redacting the password only as far as they can parse it.
func (v *Verifier) Open(ctx context.Context, host string, port int32) (*sql.DB, error) {
	dsn := v.DB.DSN(host, port)
	secrets := []string{dsn}
	if v.DB.Credentials != nil {
		user, password, err := v.DB.Credentials(ctx)
		if err != nil {
			return nil, errtext.Wrap("dr", "database credentials", err)
		}
		u := url.UserPassword(user, password).String() // "user:password", each escaped
		name, pass, _ := strings.Cut(u, ":")
		secrets = append(secrets, password, pass)
		dsn = strings.ReplaceAll(strings.ReplaceAll(dsn, "{user}", name), "{password}", pass)
		secrets = append(secrets, dsn)
	}
	secrets = append(secrets, dsnPasswords(dsn, host)...)
	db, err := sql.Open(v.DB.Driver, dsn)
	if err == nil {
		if err = db.PingContext(ctx); err != nil {
			db.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dr: connecting to %s:%d: %s", host, port, redact(err.Error(), secrets))
	}
	return db, nil
}

// kvPassword finds the password of a key=value connection string.
var kvPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s]+)`)

// dsnPasswords are the password of a URL connection string to host (as written, decoded,
// and the parts around each '@' in it that a parser ending the user information at the first
// '@' shows as a host name) and the passwords of a key=value one.
func dsnPasswords(dsn, host string) []string {
	var out []string
	if i, j := strings.Index(dsn, "://"), strings.LastIndex(dsn, "@"+host); i >= 0 && j > i+3 {
		if _, p, ok := strings.Cut(dsn[i+3:j], ":"); ok {
			out = append(out, p)
			if d, err := url.PathUnescape(p); err == nil {
				out = append(out, d)
			}
			for k := 0; k < len(p); k++ {
				if p[k] == '@' {
					for _, piece := range []string{p[:k], p[k+1:]} {
						if len(piece) >= 4 { // shorter ones would garble the message, not hide much
							out = append(out, piece)
						}
					}
				}
			}
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		out = append(out, m[1], strings.Trim(m[1], "'"))
	}
	return out
}

// redact replaces every secret (longest first) in msg.
func redact(msg string, secrets []string) string {
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, s := range sorted {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

func AllOK(steps []dr.StepResult) bool {
	for _, s := range steps {
		if !s.OK {
			return false
		}
	}
	return len(steps) > 0
}
