package dr

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/shipshape-dev/shipshape/clock"
)

// The vocabulary of the restores (dr/restore's Verifier and Sanitizer, dr/failover's
// Restorer), kept here so that both packages, and the state machines' JSON, share one:
// what to restore, the database and its checks, a run's state and its report.

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

// VerifyTarget is what a restore.Verifier (or restore.Sanitizer) restores: the newest available DR snapshot of
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
