package dr

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// Checks are the SQL checks Verify runs against the restored database. As JSON (DR_CHECKS of
// examples/dr-steps, read by examples/internal/drstep) the fields keep their Go names:
//
//	{"ServerVersionPrefix": "15.", "MinTables": 10, "MinRows": {"orders": 1000},
//	 "Queries": [{"name": "paid orders", "sql": "SELECT count(*) > 0 FROM orders WHERE paid", "want": "true"}]}
type Checks struct {
	// ServerVersionPrefix, when set, must start the server's version (SHOW server_version),
	// e.g. "15.".
	ServerVersionPrefix string
	// MinTables is the least number of base tables in the public schema.
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

// DSNTemplate turns a connection string template into Database.DSN: {host} and {port} are
// the restored endpoint, ${VAR} (or $VAR) is read with getenv when the DSN is built, so a
// password stays out of flags and templates. The template must contain {host}.
//
// In a URL template (postgres://verify:${DB_PASSWORD}@{host}:{port}/orders), a value read
// into the user information (between :// and @{host}) is percent-encoded where it would not
// parse as it is: a password with '@', '%', '/', '#', '?' or a space works as it is, and one
// that is already percent-encoded is left alone.
func DSNTemplate(template string, getenv func(string) string) (func(host string, port int32) string, error) {
	if !strings.Contains(template, "{host}") {
		return nil, fmt.Errorf("%w: the DSN template must contain {host} (and usually {port}), e.g. postgres://verify:${DB_PASSWORD}@{host}:{port}/orders", ErrInvalidInput)
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	// head is the scheme and "://" of a URL template with user information, userinfo that
	// information, rest the "@{host}..." after it; a template of another form is all rest.
	head, userinfo, rest := "", "", template
	if i, j := strings.Index(template, "://"), strings.LastIndex(template, "@{host}"); i > 0 && j > i && validScheme(template[:i]) {
		head, userinfo, rest = template[:i+3], template[i+3:j], template[j:]
	}
	return func(host string, port int32) string {
		s := head + os.Expand(userinfo, func(k string) string { return escapeUserinfo(getenv(k)) }) + os.Expand(rest, getenv)
		s = strings.ReplaceAll(s, "{host}", host)
		return strings.ReplaceAll(s, "{port}", strconv.Itoa(int(port)))
	}, nil
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !snaps.IsLetter(c) && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// escapeUserinfo percent-encodes what can't stand as it is in a URL's user information:
// everything but RFC 3986's unreserved characters, sub-delimiters, ':' and %XX escapes. '@'
// is encoded too: libpq and pgx end the user information at the first '@'. What is encoded
// decodes to the same value, and a value already percent-encoded is left as it is.
func escapeUserinfo(v string) string {
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]):
			b.WriteByte(c)
		case snaps.IsLetter(c) || c >= '0' && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// VerifyTarget is what a Verifier restores: the newest available DR snapshot of
// SourceInstance (a DB instance) or of SourceCluster (an Aurora cluster), or SnapshotID (a DB
// cluster snapshot when Cluster is set); and the class of the temporary instance. Required.
//
// A DB snapshot is restored into a temporary DB instance (RestoreDBInstanceFromDBSnapshot);
// a DB cluster snapshot into a temporary cluster (RestoreDBClusterFromSnapshot) plus one
// instance in it (CreateDBInstance), and cleanup deletes the instance, then the cluster.
type VerifyTarget struct {
	SourceInstance string
	SourceCluster  string
	// SourceAccount is the account whose SourceInstance or SourceCluster is meant (12
	// digits), when several source accounts each have a database of that name. Default:
	// none; then a name whose copies come from more than one account is an
	// *AmbiguousSourceError before anything is restored.
	SourceAccount string
	SnapshotID    string
	Cluster       bool
	InstanceClass string // e.g. db.t4g.medium, db.r6g.large for Aurora
	// Engine of the restored Aurora cluster. Default: the snapshot's (aurora-postgresql).
	Engine string
}

func (t VerifyTarget) cluster() bool { return t.SourceCluster != "" || t.Cluster }

// database is the source instance or cluster, for reports.
func (t VerifyTarget) database() string {
	if t.SourceCluster != "" {
		return t.SourceCluster
	}
	return t.SourceInstance
}

// Database says how the checks connect: Driver is the database/sql driver name the caller
// registered (e.g. "pgx"), DSN builds the connection string from the restored endpoint (see
// DSNTemplate). Both required. When Credentials is set, it is asked for a user and password
// each time the checks connect, and "{user}" and "{password}" in the DSN are replaced by them,
// URL-escaped (a restored instance keeps the snapshot's master password: keep it in Secrets
// Manager and use SecretCredentials). The DSN and the password are never logged or reported.
type Database struct {
	Driver      string
	DSN         func(host string, port int32) string
	Credentials func(ctx context.Context) (user, password string, err error)
}

// VerifyOptions are the optional settings of a Verifier. A zero value means the default.
type VerifyOptions struct {
	// SubnetGroup and SecurityGroups of the temporary instance (the caller's; the instance
	// is never publicly accessible). Default: the account's default subnet group and VPC
	// security group.
	SubnetGroup    string
	SecurityGroups []string
	Checks         Checks
	// Timeout bounds each wait (the restore, a snapshot). Default: 1 hour. The wait ends at
	// the deadline, not at the next poll after it.
	Timeout time.Duration
	// Poll is the time between status checks, clipped to what is left of Timeout.
	// Default: 30 s.
	Poll time.Duration
	// Progress, when set, receives a line per wait round and per step.
	Progress func(string)
	// MaxAttempts is how many times one RDS call is sent in all when it is throttled or fails
	// on the server or the network, by the SDK's standard retryer. Default: 5.
	MaxAttempts int
	// ClientOptions are applied to every RDS call after the package's own (the retryer).
	ClientOptions []func(*rds.Options)
	// Clock waits between polls and times the report. Default: the wall clock.
	Clock clock.Clock
	// Region is where the verifier runs, for the report. Default: none.
	Region string
	// Logger receives Debug lines. Default: discard.
	Logger *slog.Logger
}

// StepResult is one step of a verification: "restore", "wait", "connect", "server
// version", "table count", "rows <table>", each query by name; Sanitize adds "sanitize",
// "snapshot", "re-encrypt", "share".
type StepResult struct {
	Name   string `json:"name"`   // the step
	OK     bool   `json:"ok"`     // whether it passed
	Detail string `json:"detail"` // what was seen, or the error
}

// Report is the outcome of Verify, as JSON for humans and dashboards (the report dr-verify
// prints and dr-steps returns as the execution's output).
type Report struct {
	Database string       `json:"database"`                 // the source DB instance or Aurora cluster
	Account  string       `json:"source_account,omitempty"` // the source account whose database it is, when known
	Kind     string       `json:"kind"`                     // "instance" or "cluster" (Aurora)
	Region   string       `json:"region,omitempty"`         // where it ran, when known
	Snapshot string       `json:"snapshot"`                 // the DR snapshot restored
	Instance string       `json:"instance"`                 // the temporary instance
	Run      string       `json:"run"`                      // the run (execution name) that made it
	Started  time.Time    `json:"started"`                  // RFC 3339, UTC
	Finished time.Time    `json:"finished"`                 // RFC 3339, UTC; zero until cleanup ran
	OK       bool         `json:"ok"`                       // every step passed and cleanup succeeded
	Steps    []StepResult `json:"steps"`                    // in order
	Cleanup  string       `json:"cleanup"`                  // what cleanup did ("deleted verify-..."), or why it failed
	Result   string       `json:"result,omitempty"`         // Sanitize: the sanitized snapshot
	Location string       `json:"location,omitempty"`       // where Reporter.Deliver wrote it (s3://...)
}

// Failed is the first step that did not pass, "" when none.
func (r Report) Failed() *StepResult {
	for i := range r.Steps {
		if !r.Steps[i].OK {
			return &r.Steps[i]
		}
	}
	return nil
}

// JSON returns the report indented.
func (r Report) JSON() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return b
}

// VerifyState is the small serialisable state of a step-wise verification (for Step
// Functions: each step takes it and returns it).
type VerifyState struct {
	Run      string `json:"run"`
	Snapshot string `json:"snapshot"`
	Instance string `json:"instance"`          // the temporary instance, and the temporary cluster's id
	Cluster  bool   `json:"cluster,omitempty"` // an Aurora cluster was restored
	Started  string `json:"started"`
	Host     string `json:"host,omitempty"`
	Port     int32  `json:"port,omitempty"`
	Report   Report `json:"report"`
	// Sanitize's progress: the next statement, whether all ran, the snapshot taken and the
	// final (re-encrypted) one.
	Next int `json:"next,omitempty"`
	// Done is always in the state (never omitted): the sanitize state machine's Choice reads
	// it, and Step Functions fails an execution whose Choice reads a path that is not there.
	Done  bool   `json:"done"`
	Taken string `json:"taken,omitempty"`
	Final string `json:"final,omitempty"`
	// Adopted are the sanitized snapshots of the same DR copy and statements that an earlier
	// run left and this one took over (a rerun finishes them instead of failing on them).
	Adopted []string `json:"adopted,omitempty"`
	// Error is what a state machine's Catch adds (ResultPath "$.error") when a step failed;
	// cleanup records it in the report.
	Error *CaughtError `json:"error,omitempty"`
	// CleanupError is what the Cleanup state's Catch adds (ResultPath "$.cleanupError") when
	// cleanup still failed after its retries; the report step records it in the report's
	// cleanup field (the report is then not OK).
	CleanupError *CaughtError `json:"cleanupError,omitempty"`
}

// CaughtError is a Step Functions error caught by a Catch: the error type and the cause (for
// a Lambda, JSON with errorMessage and errorType).
type CaughtError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// recordCaught moves a caught error into the report as a failed step.
func (st *VerifyState) recordCaught() {
	if st.Error == nil {
		return
	}
	st.Report.Steps = append(st.Report.Steps, StepResult{Name: "error", Detail: st.Error.text()})
	st.Error = nil
}

// text is the caught error as a line: its type and the Lambda's error message.
func (e *CaughtError) text() string {
	msg := e.Cause
	var lambdaErr struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(msg), &lambdaErr) == nil && lambdaErr.ErrorMessage != "" {
		msg = lambdaErr.ErrorMessage
	}
	return e.Error + ": " + errtext.Strip("dr", msg)
}

// finishReport makes the state's report ready to deliver (the state machine's Report step):
// a report the cleanup step never completed (its answers were all failures, so the state is
// cleanup's input) gets its database and run (its start only from the state: without one it
// has none, and is keyed by its run alone), the error an earlier step's Catch
// caught, and, from the Cleanup state's Catch, why cleanup failed in its cleanup field and
// what may be left behind. Such a report is never OK.
func (v *Verifier) finishReport(st *VerifyState) {
	// No start time is made up here: every delivery of the step would make up another one,
	// and the report's key and bytes must be the same each time (Reporter.Key).
	v.completeReport(st, time.Time{})
	st.recordCaught()
	if st.CleanupError == nil {
		return
	}
	left := "what it made may be left behind: delete what is tagged " + TagRun + "=" + st.Run
	if strings.TrimSpace(st.Run) == "" {
		left = "what it made may be left behind"
	}
	st.Report.Cleanup = "FAILED after the state machine's retries: " + st.CleanupError.text() + "; " + left
	st.Report.OK = false
	st.CleanupError = nil
}

// Verifier restores DR snapshots into temporary instances and checks them. It is safe for
// concurrent use.
type Verifier struct {
	// beforeRestore, when set, is asked about the snapshot Start is about to restore, before
	// anything is made (the Sanitizer refuses an AWS managed key when sharing).
	beforeRestore func(ctx context.Context, sn snaps.Snap) error
	rds           snaps.Calls
	target        VerifyTarget
	db            Database
	opts          VerifyOptions
	log           *slog.Logger
	kind          kind // of the temporary instances it makes and deletes; zero: verifying
}

// kind is a kind of temporary instance (and cluster): the prefix of its name and the
// shipshape:dr tag it carries. Each function makes and deletes only its own kind, and its
// IAM policy names only that prefix and tag, so that none may tag or delete another's.
type kind struct{ prefix, tag string }

var (
	verifying  = kind{PrefixVerify, "verify"}
	sanitizing = kind{PrefixSanitize, "sanitize"}
	rehearsing = kind{PrefixRehearsal, "rehearsal"}
)

// own is v's kind: a Verifier's unless it was made for another (a Sanitizer's, a
// rehearsal's cleanup).
func (v *Verifier) own() kind {
	if v.kind == (kind{}) {
		return verifying
	}
	return v.kind
}

// mine checks that a resource found under the run's identifier was made by the run
// (owned) and is of v's kind: an instance another function tagged with the same run is
// another function's.
func (v *Verifier) mine(noun, id, run string, tags []types.Tag) error {
	if err := owned(noun, id, run, tags); err != nil {
		return err
	}
	if got := snaps.TagValue(tags, TagDR); got != v.own().tag {
		return fmt.Errorf("%w: %s %s is tagged %s=%q, not %q: another function's, neither used nor deleted", ErrForeignResource, noun, id, TagDR, got, v.own().tag)
	}
	return nil
}

// instanceID is the identifier of a run's temporary instance (and cluster) of v's kind.
func (v *Verifier) instanceID(run string) string { return runID(v.own().prefix, run) }

// NewVerifier returns a Verifier. The error, wrapping ErrInvalidInput, is for settings that
// can't work; NewVerifier makes no call.
func NewVerifier(client RDSAPI, target VerifyTarget, db Database, optFns ...func(*VerifyOptions)) (*Verifier, error) {
	var o VerifyOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if err := checkSource(client, target.SnapshotID, target.SourceInstance, target.SourceCluster,
		"the snapshot to verify, the source instance or the source cluster whose newest DR snapshot to verify"); err != nil {
		return nil, err
	}
	if err := checkAccount(target.SourceAccount, target.SnapshotID); err != nil {
		return nil, err
	}
	switch {
	case target.InstanceClass == "" || !strings.HasPrefix(target.InstanceClass, "db."):
		return nil, fmt.Errorf("%w: the instance class of the temporary instance is required (e.g. db.t4g.medium), not %q", ErrInvalidInput, target.InstanceClass)
	case db.Driver == "" || db.DSN == nil:
		return nil, fmt.Errorf("%w: the database driver and DSN are required to run the SQL checks", ErrInvalidInput)
	case o.Timeout < 0 || o.Poll < 0 || o.MaxAttempts < 0:
		return nil, fmt.Errorf("%w: Timeout, Poll and MaxAttempts can't be negative", ErrInvalidInput)
	}
	snaps.Defaults(&o.Clock, &o.MaxAttempts, &o.Logger)
	if o.Timeout == 0 {
		o.Timeout = time.Hour
	}
	if o.Poll == 0 {
		o.Poll = 30 * time.Second
	}
	return &Verifier{rds: snaps.NewCalls(client, o.Clock, o.MaxAttempts, o.ClientOptions), target: target, db: db, opts: o, log: o.Logger}, nil
}

// checkSource checks what a restore starts from: a client, and exactly one of a snapshot id, a
// source instance and a source cluster (oneOf lists them for the error), each a valid RDS
// identifier.
func checkSource(client RDSAPI, snapshotID, instance, cluster, oneOf string) error {
	switch {
	case client == nil:
		return fmt.Errorf("%w: no RDS client", ErrInvalidInput)
	case btoi(snapshotID != "")+btoi(instance != "")+btoi(cluster != "") != 1:
		return fmt.Errorf("%w: give one of: %s", ErrInvalidInput, oneOf)
	case snapshotID != "" && ValidInputIdentifier(snapshotID) != nil:
		return ValidInputIdentifier(snapshotID)
	case instance != "" && !snaps.ValidName(instance):
		return fmt.Errorf("%w: source instance %q is not a DB instance identifier (%s)", ErrInvalidInput, instance, nameRule)
	case cluster != "" && !snaps.ValidName(cluster):
		return fmt.Errorf("%w: source cluster %q is not a DB cluster identifier (%s)", ErrInvalidInput, cluster, nameRule)
	}
	return nil
}

// checkAccount checks a source account setting: 12 digits, and only with a source database
// (a snapshot id names one snapshot of one account already).
func checkAccount(account, snapshotID string) error {
	switch {
	case account == "":
		return nil
	case !snaps.ValidAccount(account):
		return fmt.Errorf("%w: source account %q is not a 12-digit AWS account id", ErrInvalidInput, account)
	case snapshotID != "":
		return fmt.Errorf("%w: a source account goes with a source instance or cluster, not with a snapshot id", ErrInvalidInput)
	}
	return nil
}

// nameRule is RDS's rule for DB instance and cluster identifiers, for errors.
const nameRule = "1 to 63 lower-case letters, digits and hyphens (RDS stores identifiers in lower case), starting with a letter, no two hyphens in a row, not ending with a hyphen"

// NewVerifierFromConfig returns a Verifier over rds.NewFromConfig(cfg).
func NewVerifierFromConfig(cfg aws.Config, target VerifyTarget, db Database, optFns ...func(*VerifyOptions)) (*Verifier, error) {
	return NewVerifier(rds.NewFromConfig(cfg), target, db, optFns...)
}

func (v *Verifier) progress(format string, args ...any) {
	if v.opts.Progress != nil {
		v.opts.Progress(fmt.Sprintf(format, args...))
	}
}

// TemporaryInstanceID is the identifier of the temporary instance (and cluster) of a
// verification run: PrefixVerify ("shipshape-verify-") and the run itself when that makes a
// valid identifier of at most 63 characters (a Step Functions execution name is usually a
// UUID), else PrefixVerify and a hash of the run. The same run always gives the same
// instance, so a step whose answer was lost, or a Cleanup that only knows the run, finds it.
func TemporaryInstanceID(run string) string {
	return runID(PrefixVerify, run)
}

// SanitizeInstanceID is TemporaryInstanceID for a sanitization run: PrefixSanitize
// ("shipshape-sanitize-") and the run, or a hash of it.
func SanitizeInstanceID(run string) string {
	return runID(PrefixSanitize, run)
}

// runID is prefix and the run when that makes a valid identifier of at most 63 characters,
// else prefix and a hash of the run.
func runID(prefix, run string) string {
	id := prefix + strings.ToLower(run)
	if len(id) <= 63 && ValidIdentifier(id) == nil {
		return id
	}
	sum := sha256.Sum256([]byte(run))
	return prefix + hex.EncodeToString(sum[:8])
}

// newRun is the run id of a blocking Verify or Sanitize: the time and a random part, so two
// runs never share an instance.
func (v *Verifier) newRun() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return v.opts.Clock.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Start picks the snapshot (the newest available DR snapshot of the source instance by
// original creation time, unless one is given) and starts the restore into the run's
// temporary instance (step 1). Repeating it for the same run attaches to the instance the
// first attempt made, even when that attempt's answer was lost; an instance with that
// identifier that another run (or anybody else) made is refused with ErrForeignResource.
func (v *Verifier) Start(ctx context.Context, run string) (VerifyState, error) {
	now := v.opts.Clock.Now().UTC()
	st := VerifyState{Run: run, Snapshot: v.target.SnapshotID, Started: now.Format(time.RFC3339), Cluster: v.target.cluster()}
	st.Report = v.newReport(run, now)
	if strings.TrimSpace(run) == "" {
		return st, fmt.Errorf("%w: a run id (the Step Functions execution name) is required", ErrInvalidInput)
	}
	st.Instance = v.instanceID(run)
	st.Report.Instance = st.Instance
	fail := func(err error) (VerifyState, error) {
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: "restore", Detail: errtext.Strip("dr", err.Error())})
		return st, err
	}
	if st.Snapshot == "" {
		newest, err := v.newest(ctx, "to verify")
		if err != nil {
			return fail(err)
		}
		st.Snapshot = newest.ID
		st.Report.Account = newest.Origin()
		if v.beforeRestore != nil {
			if err := v.beforeRestore(ctx, newest); err != nil {
				return fail(err)
			}
		}
	} else if v.beforeRestore != nil {
		sn, found, err := v.rds.DescribeSnap(ctx, st.Cluster, st.Snapshot, "")
		switch {
		case err != nil:
			return fail(errtext.Wrap("dr", "describing "+st.Snapshot, err))
		case found:
			if err := v.beforeRestore(ctx, sn); err != nil {
				return fail(err)
			}
		}
	}
	st.Report.Snapshot = st.Snapshot
	if st.Cluster {
		if err := v.startCluster(ctx, &st); err != nil {
			return fail(err)
		}
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: "restore", OK: true, Detail: "restoring " + st.Snapshot + " into cluster " + st.Instance + " with instance " + st.Instance})
		v.progress("restoring %s into temporary cluster %s and its instance", st.Snapshot, st.Instance)
		return st, nil
	}
	_, err := v.rds.Client.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String(st.Instance), DBSnapshotIdentifier: aws.String(st.Snapshot),
		DBInstanceClass: aws.String(v.target.InstanceClass), DBSubnetGroupName: snaps.OptionalString(v.opts.SubnetGroup),
		VpcSecurityGroupIds: v.opts.SecurityGroups, PubliclyAccessible: aws.Bool(false), DeletionProtection: aws.Bool(false),
		Tags: []types.Tag{snaps.Tag(TagDR, v.own().tag), snaps.Tag(TagSource, st.Snapshot), snaps.Tag(TagRun, run)},
	}, v.rds.Opts...)
	if snaps.InstanceExists(err) {
		err = v.attach(ctx, &st, false)
	}
	if err != nil {
		return fail(errtext.Wrap("dr", "restoring "+st.Snapshot+" into "+st.Instance, err))
	}
	st.Report.Steps = append(st.Report.Steps, StepResult{Name: "restore", OK: true, Detail: "restoring " + st.Snapshot + " into " + st.Instance})
	v.progress("restoring %s into temporary instance %s", st.Snapshot, st.Instance)
	return st, nil
}

// newest is the newest available DR snapshot of the source instance or cluster of the
// source account (VerifyTarget.SourceAccount; without it, of the one account whose database
// has that name: copies from several accounts are an *AmbiguousSourceError); why says what
// it is for, and what to check, in the error when there is none.
func (v *Verifier) newest(ctx context.Context, why string) (snaps.Snap, error) {
	m, err := v.rds.ListManual(ctx)
	if err != nil {
		return snaps.Snap{}, err
	}
	var list []snaps.Snap
	accounts := map[string]bool{}
	for _, s := range m.Ours {
		if s.Cluster != v.target.cluster() || s.DB != v.target.database() {
			continue
		}
		accounts[s.Origin()] = true
		if s.Status == "available" && (v.target.SourceAccount == "" || s.Origin() == v.target.SourceAccount) {
			list = append(list, s)
		}
	}
	if v.target.SourceAccount == "" && len(accounts) > 1 {
		return snaps.Snap{}, &AmbiguousSourceError{Database: v.target.database(), Cluster: v.target.cluster(), Accounts: slices.Sorted(maps.Keys(accounts))}
	}
	if len(list) == 0 {
		of := v.target.database()
		if v.target.SourceAccount != "" {
			of += " of account " + v.target.SourceAccount
		}
		return snaps.Snap{}, fmt.Errorf("%w of %s %s", ErrNoSnapshot, of, why)
	}
	snaps.SortNewestFirst(list)
	return list[0], nil
}

func (v *Verifier) describeInstance(ctx context.Context, id string) (types.DBInstance, bool, error) {
	out, err := v.rds.Client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, v.rds.Opts...)
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
type resource struct {
	found  bool
	status string
	tags   []types.Tag
	engine string // of a cluster
}

// lookup describes the DB cluster (cluster) or the DB instance id.
func (v *Verifier) lookup(ctx context.Context, cluster bool, id string) (resource, error) {
	if cluster {
		c, found, err := v.describeCluster(ctx, id)
		return resource{found: found, status: aws.ToString(c.Status), tags: c.TagList, engine: aws.ToString(c.Engine)}, err
	}
	inst, found, err := v.describeInstance(ctx, id)
	return resource{found: found, status: aws.ToString(inst.DBInstanceStatus), tags: inst.TagList}, err
}

// name is how reports and errors call the run's instance or cluster.
func name(cluster bool, id string) string {
	if cluster {
		return "cluster " + id
	}
	return id
}

// attach is a repeated start (the first answer was lost, or the step was retried) that
// found the run's identifier taken: it attaches to the instance or cluster when this run
// made it and it is not being deleted, and records the snapshot the first attempt restored.
func (v *Verifier) attach(ctx context.Context, st *VerifyState, cluster bool) error {
	r, err := v.lookup(ctx, cluster, st.Instance)
	noun := "DB instance"
	if cluster {
		noun = "DB cluster"
	}
	switch {
	case err != nil:
		return err
	case !r.found:
		return fmt.Errorf("%w: %s was being deleted: try again", ErrNotReady, name(cluster, st.Instance))
	case v.mine(noun, st.Instance, st.Run, r.tags) != nil:
		return v.mine(noun, st.Instance, st.Run, r.tags)
	case r.status == "deleting":
		return fmt.Errorf("%w: %s is being deleted: try again in a few minutes", ErrNotReady, name(cluster, st.Instance))
	}
	if s := snaps.TagValue(r.tags, TagSource); s != "" {
		st.Snapshot, st.Report.Snapshot = s, s
	}
	return nil
}

// kept is the report's line when cleanup leaves the run's instance or cluster alone (it
// is gone, it is not this run's, or it is being deleted already), "" when it is to be
// deleted.
func (v *Verifier) kept(st *VerifyState, cluster bool, r resource) string {
	n := name(cluster, st.Instance)
	switch {
	case !r.found:
		return n + " was already gone (or never made)"
	case snaps.TagValue(r.tags, TagDR) != v.own().tag || st.Run == "" || snaps.TagValue(r.tags, TagRun) != st.Run:
		return "left " + n + " alone: not made by this run"
	case r.status == "deleting":
		return n + " is being deleted"
	}
	return ""
}

// Ready checks once whether the instance is available (step 2): ErrNotReady while it is
// still being created, a *RestoreFailedError (ErrRestoreFailed) in a terminal state.
func (v *Verifier) Ready(ctx context.Context, st *VerifyState) (host string, port int32, err error) {
	if st.Cluster {
		return v.readyCluster(ctx, st)
	}
	inst, found, err := v.describeInstance(ctx, st.Instance)
	switch {
	case err != nil:
		return "", 0, err
	case !found:
		return "", 0, fmt.Errorf("dr: the temporary instance %s is gone", st.Instance)
	}
	s := aws.ToString(inst.DBInstanceStatus)
	switch {
	case IsTerminal(s):
		return "", 0, &RestoreFailedError{Instance: st.Instance, State: s}
	case s != "available" || inst.Endpoint == nil:
		return "", 0, fmt.Errorf("%w: %s is %s", ErrNotReady, st.Instance, s)
	}
	return aws.ToString(inst.Endpoint.Address), aws.ToInt32(inst.Endpoint.Port), nil
}

// Check runs the SQL checks against the available instance (step 3) and records them in
// the report.
func (v *Verifier) Check(ctx context.Context, st *VerifyState, host string, port int32) {
	db, err := v.open(ctx, host, port)
	if err != nil {
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: "connect", Detail: errtext.Strip("dr", err.Error())})
		return
	}
	defer db.Close()
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

// Cleanup deletes the run's temporary instance (final step; reached from every failure). It
// needs only the run: when an earlier step's answer was lost and the state holds no
// instance, the instance is found by the identifier the run implies. It deletes only the
// instance named as the run implies (a Verifier's TemporaryInstanceID, a Sanitizer's
// SanitizeInstanceID) whose shipshape:run tag names this run and whose shipshape:dr tag is
// of its kind: a state without a run, or naming another instance, deletes nothing (the
// report's cleanup line says so); an instance already gone is fine; one RDS can't delete yet
// (still creating, modifying) gives ErrNotReady (try again).
func (v *Verifier) Cleanup(ctx context.Context, st *VerifyState) error {
	switch {
	case strings.TrimSpace(st.Run) == "" && st.Instance != "":
		// Without the run, what this run made can't be told from what another run made.
		st.Report.Cleanup = "left " + name(v.target.cluster() || st.Cluster, st.Instance) + " alone: the state names no run (the execution name), so it can't be told from another run's"
		return nil
	case st.Instance == "" && st.Run != "":
		st.Instance = v.instanceID(st.Run)
		st.Report.Instance = st.Instance
	case st.Instance != "" && st.Instance != v.instanceID(st.Run):
		// Not the name this run's instance has: another function's kind (a sanitization
		// started before its instances had a prefix of their own), or a state not of this run.
		st.Report.Cleanup = "left " + name(v.target.cluster() || st.Cluster, st.Instance) + " alone: this run's would be " + v.instanceID(st.Run) +
			" (an execution started before an upgrade may have left it: docs/dr.md, \"Temporary instances named before\")"
		return nil
	}
	if st.Instance == "" {
		st.Report.Cleanup = "nothing to delete"
		return nil
	}
	if v.target.cluster() {
		st.Cluster = true
		return v.cleanupCluster(ctx, st)
	}
	return v.cleanupInstance(ctx, st)
}

// cleanupInstance deletes the run's temporary DB instance.
func (v *Verifier) cleanupInstance(ctx context.Context, st *VerifyState) error {
	r, err := v.lookup(ctx, false, st.Instance)
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
	_, err = v.rds.Client.DeleteDBInstance(ctx, in, v.rds.Opts...)
	switch {
	case err == nil:
		st.Report.Cleanup = "deleted " + st.Instance
	case snaps.InstanceNotFound(err):
		st.Report.Cleanup = st.Instance + " was already gone"
	case snaps.InstanceBusy(err):
		st.Report.Cleanup = "waiting to delete " + st.Instance + " (RDS is busy with it)"
		return fmt.Errorf("%w: deleting temporary instance %s: %w", ErrNotReady, st.Instance, err)
	default:
		st.Report.Cleanup = "FAILED to delete " + st.Instance + ": " + err.Error()
		return errtext.Wrap("dr", "deleting temporary instance "+st.Instance, err)
	}
	v.progress("%s", st.Report.Cleanup)
	return nil
}

// ofRun takes the run of a step: a new state gets it; a state of another run is an error.
func (st *VerifyState) ofRun(run string) error {
	if st.Run == "" {
		st.Run, st.Report.Run = run, run
	}
	if run != "" && st.Run != run {
		return fmt.Errorf("%w: the state is of run %q, not %q", ErrInvalidInput, st.Run, run)
	}
	return nil
}

// Step runs one named step of a verification on a serialisable state, for a state machine
// (AWS Step Functions) that drives the waiting: "start" restores, "ready" answers
// ErrNotReady until the instance is available (ErrRestoreFailed in a terminal state,
// ErrTimedOut once VerifyOptions.Timeout has passed since start), "check" runs the SQL
// checks, "cleanup" deletes the instance and finishes the report. run is the execution's
// name ($$.Execution.Name): every step gets it, so cleanup finds the instance even when
// start's answer was lost. Every failure path of the state machine must lead to "cleanup";
// ErrorType names the errors for its Retry and Catch rules.
func (v *Verifier) Step(ctx context.Context, step, run string, st VerifyState) (VerifyState, error) {
	if err := st.ofRun(run); err != nil {
		return st, err
	}
	switch step {
	case "start":
		return v.Start(ctx, run)
	case "ready":
		host, port, err := v.Ready(ctx, &st)
		if errors.Is(err, ErrNotReady) {
			if started, perr := time.Parse(time.RFC3339, st.Started); perr == nil && v.opts.Clock.Now().Sub(started) >= v.opts.Timeout {
				err = fmt.Errorf("%w: %s not available %s after the restore started: %v", ErrTimedOut, st.Instance, v.opts.Timeout, errtext.Strip("dr", err.Error()))
			}
		}
		if err != nil {
			if !errors.Is(err, ErrNotReady) {
				st.Report.Steps = append(st.Report.Steps, StepResult{Name: "wait", Detail: errtext.Strip("dr", err.Error())})
			}
			return st, err
		}
		st.Host, st.Port = host, port
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: "wait", OK: true, Detail: st.Instance + " available"})
		return st, nil
	case "check":
		v.Check(ctx, &st, st.Host, st.Port)
		return st, nil
	case "cleanup":
		v.completeReport(&st, v.opts.Clock.Now().UTC())
		st.recordCaught()
		err := v.Cleanup(ctx, &st)
		st.Report.Finished = v.opts.Clock.Now().UTC()
		st.Report.OK = err == nil && allOK(st.Report.Steps) && len(st.Report.Steps) >= 3
		return st, err
	}
	return st, fmt.Errorf("%w: unknown step %q (start, ready, check or cleanup)", ErrInvalidInput, step)
}

// finish runs the cleanup that must happen however a blocking run ended (the temporary
// instance, then more, if given), on a context that outlives ctx's cancellation by up to 15
// minutes, waiting while RDS can't delete yet, and completes the report. A cleanup error is
// returned when err is nil.
func (v *Verifier) finish(ctx context.Context, st *VerifyState, err error, more func(context.Context) error) (Report, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Minute)
	defer cancel()
	deadline := v.opts.Clock.Now().Add(15 * time.Minute)
	cerr := v.Cleanup(cctx, st)
	for errors.Is(cerr, ErrNotReady) && v.opts.Clock.Now().Before(deadline) {
		if serr := v.opts.Clock.Sleep(cctx, min(v.opts.Poll, deadline.Sub(v.opts.Clock.Now()))); serr != nil {
			break
		}
		cerr = v.Cleanup(cctx, st)
	}
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

// Verify runs the whole verification blocking: restore, wait (with progress; it ends at
// Timeout, or at once in a terminal state), checks, and ALWAYS the cleanup, also when a step
// failed or ctx was cancelled (cleanup then runs on a context of its own). The report says
// what failed; the error is about operations that could not run, not about failed checks.
func (v *Verifier) Verify(ctx context.Context) (report Report, err error) {
	st, err := v.Start(ctx, v.newRun())
	defer func() { report, err = v.finish(ctx, &st, err, nil) }()
	if err != nil {
		return st.Report, err
	}
	host, port, err := v.waitReady(ctx, &st)
	if err != nil {
		return st.Report, err
	}
	v.Check(ctx, &st, host, port)
	return st.Report, nil
}

// waitReady waits for the temporary instance and records the wait step.
func (v *Verifier) waitReady(ctx context.Context, st *VerifyState) (host string, port int32, err error) {
	err = v.waitFor(ctx, "the restore of "+st.Instance, func() error {
		var rerr error
		host, port, rerr = v.Ready(ctx, st)
		return rerr
	})
	if err != nil {
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: "wait", Detail: errtext.Strip("dr", err.Error())})
		return "", 0, err
	}
	st.Report.Steps = append(st.Report.Steps, StepResult{Name: "wait", OK: true, Detail: st.Instance + " available"})
	return host, port, nil
}

// waitFor polls check until it stops answering ErrNotReady, and never past Timeout: each
// sleep is clipped to what is left, and the last check is at the deadline.
func (v *Verifier) waitFor(ctx context.Context, what string, check func() error) error {
	c := v.opts.Clock
	deadline := c.Now().Add(v.opts.Timeout)
	for round := 1; ; round++ {
		err := check()
		if !errors.Is(err, ErrNotReady) {
			return err
		}
		left := deadline.Sub(c.Now())
		if left <= 0 {
			return fmt.Errorf("%w: %s after %s: %s", ErrTimedOut, what, v.opts.Timeout, errtext.Strip("dr", err.Error()))
		}
		v.progress("waiting (round %d, %s left): %s", round, left.Round(time.Second), errtext.Strip("dr", err.Error()))
		if serr := c.Sleep(ctx, min(v.opts.Poll, left)); serr != nil {
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
func (v *Verifier) completeReport(st *VerifyState, otherwise time.Time) {
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
func (v *Verifier) newReport(run string, now time.Time) Report {
	kind := "instance"
	if v.target.cluster() {
		kind = "cluster"
	}
	return Report{Database: v.target.database(), Account: v.target.SourceAccount, Kind: kind, Region: v.opts.Region, Run: run, Started: now}
}

// open connects to the restored database, with the credentials when Database has them, and
// checks the connection. Its error never holds the DSN or a password: drivers quote the DSN
// in their errors, redacting the password only as far as they can parse it.
func (v *Verifier) open(ctx context.Context, host string, port int32) (*sql.DB, error) {
	dsn := v.db.DSN(host, port)
	secrets := []string{dsn}
	if v.db.Credentials != nil {
		user, password, err := v.db.Credentials(ctx)
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
	db, err := sql.Open(v.db.Driver, dsn)
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

func allOK(steps []StepResult) bool {
	for _, s := range steps {
		if !s.OK {
			return false
		}
	}
	return len(steps) > 0
}
