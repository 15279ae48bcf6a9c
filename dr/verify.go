package dr

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// Checks are the SQL checks Verify runs against the restored database.
type Checks struct {
	// ServerVersionPrefix, when set, must start the server's version (SHOW server_version),
	// e.g. "15.".
	ServerVersionPrefix string
	// MinTables is the least number of tables in the public schema.
	MinTables int
	// MinRows maps table names to the least number of rows each must hold.
	MinRows map[string]int64
	// Queries run and compare their single value (as text) with Want.
	Queries []QueryCheck
}

// QueryCheck is a custom query with an expected single result.
type QueryCheck struct {
	Name string `json:"name"`
	SQL  string `json:"sql"`
	Want string `json:"want"`
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// SnapshotID to restore. Default: the newest available DR snapshot of SourceInstance.
	SnapshotID     string
	SourceInstance string
	// The temporary instance: class (required), subnet group and security groups (the
	// caller's; the instance is never publicly accessible).
	InstanceClass  string
	SubnetGroup    string
	SecurityGroups []string
	// Driver is the database/sql driver name the caller registered (e.g. "pgx"), and DSN
	// builds the connection string from the restored instance's endpoint.
	Driver string
	DSN    func(host string, port int32) string
	Checks Checks
	// Timeout bounds the wait for the restore. Default: 1 hour.
	Timeout time.Duration
	// Poll between status checks. Default: 60 s.
	Poll time.Duration
	// Progress, when set, receives a line per wait round and per step.
	Progress func(string)
	// Clock waits between polls. Default: real time.
	Clock interface {
		Now() time.Time
		Sleep(ctx context.Context, d time.Duration) error
	}
	Logger *slog.Logger
}

// StepResult is one step of a verification.
type StepResult struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Report is the outcome of Verify, as JSON for humans and dashboards.
type Report struct {
	Snapshot string       `json:"snapshot"`
	Instance string       `json:"instance"`
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	OK       bool         `json:"ok"`
	Steps    []StepResult `json:"steps"`
	Cleanup  string       `json:"cleanup"`
}

// JSON returns the report indented.
func (r Report) JSON() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return b
}

// VerifyState is the small serialisable state of a step-wise verification (for Step
// Functions: each step takes it and returns it).
type VerifyState struct {
	Snapshot string `json:"snapshot"`
	Instance string `json:"instance"`
	Started  string `json:"started"`
	Host     string `json:"host,omitempty"`
	Port     int32  `json:"port,omitempty"`
	Report   Report `json:"report"`
}

// Step runs one named step of a verification on a serialisable state, for a state machine
// (AWS Step Functions) that drives the waiting: "start" restores, "ready" answers
// ErrNotReady until the instance is available (retry it every 60 s), "check" runs the SQL
// checks, "cleanup" deletes the instance and finishes the report. Every failure path of the
// state machine must lead to "cleanup".
func (v *Verifier) Step(ctx context.Context, step string, st VerifyState) (VerifyState, error) {
	switch step {
	case "start":
		return v.Start(ctx)
	case "ready":
		host, port, err := v.Ready(ctx, &st)
		if err != nil {
			return st, err
		}
		st.Host, st.Port = host, port
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: "wait", OK: true, Detail: st.Instance + " available"})
		return st, nil
	case "check":
		v.Check(ctx, &st, st.Host, st.Port)
		return st, nil
	case "cleanup":
		err := v.Cleanup(ctx, &st)
		st.Report.Finished = v.opts.Clock.Now().UTC()
		st.Report.OK = err == nil && allOK(st.Report.Steps) && len(st.Report.Steps) >= 3
		return st, err
	}
	return st, fmt.Errorf("%w: unknown step %q (start, ready, check or cleanup)", ErrInvalidInput, step)
}

// Verifier restores DR snapshots into temporary instances and checks them.
type Verifier struct {
	rds  RDSAPI
	opts VerifyOptions
	log  *slog.Logger
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
func (wallClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NewVerifier checks the options.
func NewVerifier(client RDSAPI, optFns ...func(*VerifyOptions)) (*Verifier, error) {
	var o VerifyOptions
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case o.SnapshotID == "" && o.SourceInstance == "":
		return nil, fmt.Errorf("%w: give SnapshotID or SourceInstance", ErrInvalidInput)
	case o.InstanceClass == "":
		return nil, fmt.Errorf("%w: InstanceClass is required (e.g. db.t4g.medium)", ErrInvalidInput)
	case o.Driver == "" || o.DSN == nil:
		return nil, fmt.Errorf("%w: Driver and DSN are required to run the SQL checks", ErrInvalidInput)
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = time.Minute
	}
	if o.Clock == nil {
		o.Clock = wallClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Verifier{rds: client, opts: o, log: o.Logger}, nil
}

func (v *Verifier) progress(format string, args ...any) {
	if v.opts.Progress != nil {
		v.opts.Progress(fmt.Sprintf(format, args...))
	}
}

// Start picks the snapshot and starts the restore (step 1). Repeating it is harmless.
func (v *Verifier) Start(ctx context.Context) (VerifyState, error) {
	now := v.opts.Clock.Now().UTC()
	st := VerifyState{Snapshot: v.opts.SnapshotID, Started: now.Format(time.RFC3339)}
	if st.Snapshot == "" {
		snaps, err := ours(ctx, v.rds)
		if err != nil {
			return st, err
		}
		var newest *types.DBSnapshot
		for i := range snaps {
			s := &snaps[i]
			if aws.ToString(s.DBInstanceIdentifier) == v.opts.SourceInstance && aws.ToString(s.Status) == "available" &&
				(newest == nil || aws.ToTime(s.SnapshotCreateTime).After(aws.ToTime(newest.SnapshotCreateTime))) {
				newest = s
			}
		}
		if newest == nil {
			return st, fmt.Errorf("dr: no available DR snapshot of %s to verify", v.opts.SourceInstance)
		}
		st.Snapshot = aws.ToString(newest.DBSnapshotIdentifier)
	}
	// Unique per start (a previous run's instance may still be deleting); the state carries it
	// to the later steps. Instance identifiers are at most 63 characters.
	name := "verify-" + now.Format("20060102150405") + "-" + st.Snapshot
	st.Instance = strings.TrimRight(name[:min(63, len(name))], "-")
	if err := ValidIdentifier(st.Instance); err != nil {
		return st, err
	}
	st.Report = Report{Snapshot: st.Snapshot, Instance: st.Instance, Started: now}
	_, err := v.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String(st.Instance), DBSnapshotIdentifier: aws.String(st.Snapshot),
		DBInstanceClass: aws.String(v.opts.InstanceClass), DBSubnetGroupName: optionalString(v.opts.SubnetGroup),
		VpcSecurityGroupIds: v.opts.SecurityGroups, PubliclyAccessible: aws.Bool(false), DeletionProtection: aws.Bool(false),
		Tags: []types.Tag{{Key: aws.String(TagDR), Value: aws.String("verify")}, {Key: aws.String(TagSource), Value: aws.String(st.Snapshot)}},
	})
	if code(err) == "DBInstanceAlreadyExists" {
		// A repeated start: fine while that instance is ours and not on its way out.
		out, derr := v.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(st.Instance)})
		if derr == nil && len(out.DBInstances) > 0 && aws.ToString(out.DBInstances[0].DBInstanceStatus) == "deleting" {
			err = fmt.Errorf("instance %s exists and is being deleted (a previous run): try again in a few minutes", st.Instance)
		} else {
			err = nil
		}
	}
	if err != nil {
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: "restore", Detail: err.Error()})
		return st, fmt.Errorf("dr: restoring %s into %s: %w", st.Snapshot, st.Instance, err)
	}
	st.Report.Steps = append(st.Report.Steps, StepResult{Name: "restore", OK: true, Detail: "restoring " + st.Snapshot + " into " + st.Instance})
	v.progress("restoring %s into temporary instance %s", st.Snapshot, st.Instance)
	return st, nil
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// Ready checks once whether the instance is available (step 2): ErrNotReady while it is
// still being created.
func (v *Verifier) Ready(ctx context.Context, st *VerifyState) (host string, port int32, err error) {
	out, err := v.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(st.Instance)})
	if err != nil {
		return "", 0, fmt.Errorf("dr: describing %s: %w", st.Instance, err)
	}
	inst := out.DBInstances[0]
	if s := aws.ToString(inst.DBInstanceStatus); s != "available" || inst.Endpoint == nil {
		return "", 0, fmt.Errorf("%w: %s is %s", ErrNotReady, st.Instance, s)
	}
	return aws.ToString(inst.Endpoint.Address), aws.ToInt32(inst.Endpoint.Port), nil
}

// Check runs the SQL checks against the available instance (step 3) and records them in
// the report.
func (v *Verifier) Check(ctx context.Context, st *VerifyState, host string, port int32) {
	db, err := sql.Open(v.opts.Driver, v.opts.DSN(host, port))
	if err != nil {
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: "connect", Detail: err.Error()})
		return
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: "connect", Detail: err.Error()})
		return
	}
	st.Report.Steps = append(st.Report.Steps, StepResult{Name: "connect", OK: true, Detail: fmt.Sprintf("%s:%d", host, port)})
	add := func(name string, ok bool, format string, args ...any) {
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
		v.progress("check %s: ok=%v %s", name, ok, fmt.Sprintf(format, args...))
	}
	c := v.opts.Checks
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

// Cleanup deletes the temporary instance (final step; reached from every failure). It
// skips the final snapshot; an instance already gone is fine.
func (v *Verifier) Cleanup(ctx context.Context, st *VerifyState) error {
	if st.Instance == "" {
		st.Report.Cleanup = "nothing to delete"
		return nil
	}
	_, err := v.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(st.Instance), SkipFinalSnapshot: aws.Bool(true)})
	switch {
	case err == nil:
		st.Report.Cleanup = "deleted " + st.Instance
	case code(err) == "DBInstanceNotFound":
		st.Report.Cleanup = st.Instance + " was already gone"
	default:
		st.Report.Cleanup = "FAILED to delete " + st.Instance + ": " + err.Error()
		return fmt.Errorf("dr: deleting temporary instance %s: %w", st.Instance, err)
	}
	v.progress("%s", st.Report.Cleanup)
	return nil
}

// finish runs the cleanup that must happen however a blocking run ended (the temporary
// instance, then more, if given), on a context that outlives ctx's cancellation by up to 5
// minutes, and completes the report. A cleanup error is returned when err is nil.
func (v *Verifier) finish(ctx context.Context, st *VerifyState, err error, more func(context.Context) error) (Report, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	cerr := v.Cleanup(cctx, st)
	if more != nil {
		cerr = errors.Join(cerr, more(cctx))
	}
	st.Report.Finished = v.opts.Clock.Now().UTC()
	st.Report.OK = err == nil && cerr == nil && allOK(st.Report.Steps)
	if err == nil {
		err = cerr
	}
	return st.Report, err
}

// Verify runs the whole verification blocking: restore, wait (with progress), checks, and
// ALWAYS the cleanup, also when a step failed or ctx was cancelled (cleanup then runs on a
// context of its own, bounded to 5 minutes). The report says what failed; the error is
// about operations that could not run, not about failed checks.
func (v *Verifier) Verify(ctx context.Context) (report Report, err error) {
	st, err := v.Start(ctx)
	defer func() { report, err = v.finish(ctx, &st, err, nil) }()
	if err != nil {
		return st.Report, err
	}
	host, port, werr := v.waitFor(ctx, func() (string, int32, error) { return v.Ready(ctx, &st) })
	if werr != nil {
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: "wait", Detail: werr.Error()})
		return st.Report, werr
	}
	st.Report.Steps = append(st.Report.Steps, StepResult{Name: "wait", OK: true, Detail: st.Instance + " available"})
	v.Check(ctx, &st, host, port)
	return st.Report, nil
}

func allOK(steps []StepResult) bool {
	for _, s := range steps {
		if !s.OK {
			return false
		}
	}
	return len(steps) > 0
}
