package restoring

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// Verifier restores DR snapshots into temporary instances and checks them. It is safe for
// concurrent use.
type Verifier struct {
	// BeforeRestore, when set, is asked about the snapshot Start is about to restore, before
	// anything is made (the Sanitizer refuses an AWS managed key when sharing).
	BeforeRestore func(ctx context.Context, sn snaps.Snap) error
	RDS           snaps.Calls[API]
	Target        dr.VerifyTarget
	DB            dr.Database
	Opts          dr.VerifyOptions
	Log           *slog.Logger
	Kind          Kind // of the temporary instances it makes and deletes; zero: verifying
}

// Kind is a kind of temporary instance (and cluster): the prefix of its name and the
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

// New returns a Verifier. The error, wrapping dr.ErrInvalidInput, is for settings that
// can't work; New makes no call.
func New(client API, target dr.VerifyTarget, db dr.Database, optFns ...func(*dr.VerifyOptions)) (*Verifier, error) {
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

// CheckSource checks what a restore starts from: a client, and exactly one of a snapshot id, a
// source instance and a source cluster (oneOf lists them for the error), each a valid RDS
// identifier.
func CheckSource(client API, snapshotID, instance, cluster, oneOf string) error {
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

// CheckAccount checks a source account setting: 12 digits, and only with a source database
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

// NameRule is RDS's rule for DB instance and cluster identifiers, for errors.
const NameRule = "1 to 63 lower-case letters, digits and hyphens (RDS stores identifiers in lower case), starting with a letter, no two hyphens in a row, not ending with a hyphen"

func (v *Verifier) Progress(format string, args ...any) {
	if v.Opts.Progress != nil {
		v.Opts.Progress(fmt.Sprintf(format, args...))
	}
}

// RunID is prefix and the run when that makes a valid identifier of at most 63 characters,
// else prefix and a hash of the run.
func RunID(prefix, run string) string {
	id := prefix + strings.ToLower(run)
	if len(id) <= 63 && dr.ValidIdentifier(id) == nil {
		return id
	}
	sum := sha256.Sum256([]byte(run))
	return prefix + hex.EncodeToString(sum[:8])
}

// NewRun is the run id of a blocking Verify or Sanitize: the time and a random part, so two
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
		sn, found, err := snaps.DescribeSnap(ctx, v.RDS, st.Cluster, st.Snapshot, "")
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

// Newest is the newest available DR snapshot of the source instance or cluster of the
// source account (dr.VerifyTarget.SourceAccount; without it, of the one account whose database
// has that name: copies from several accounts are an *dr.AmbiguousSourceError); why says what
// it is for, and what to check, in the error when there is none.
func (v *Verifier) Newest(ctx context.Context, why string) (snaps.Snap, error) {
	m, err := snaps.ListManual(ctx, v.RDS)
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

// Resource is a DB instance or an Aurora cluster as the steps that restore, attach to and
// delete them see it.
type Resource struct {
	Found  bool
	Status string
	Tags   []types.Tag
	Engine string // of a cluster
}

// Lookup describes the DB cluster (cluster) or the DB instance id.
func (v *Verifier) Lookup(ctx context.Context, cluster bool, id string) (Resource, error) {
	if cluster {
		c, found, err := v.describeCluster(ctx, id)
		return Resource{Found: found, Status: aws.ToString(c.Status), Tags: c.TagList, Engine: aws.ToString(c.Engine)}, err
	}
	inst, found, err := v.DescribeInstance(ctx, id)
	return Resource{Found: found, Status: aws.ToString(inst.DBInstanceStatus), Tags: inst.TagList}, err
}

// Name is how reports and errors call the run's instance or cluster.
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

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
