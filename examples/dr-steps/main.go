// Command dr-steps is the Lambda function behind the DR verification state machine
// (statemachine.asl.json, started per region by fanout.asl.json; deployed by template.yaml):
// each invocation runs one step of restore.Verifier on the state the machine passes along, with
// the execution's name as the run and the execution input's region.
//
// The temporary instance's (and, for Aurora, cluster's) identifier is derived from the
// execution name (restore.TemporaryInstanceID) and tagged with it, so the Cleanup step finds and
// deletes what the execution made even when an earlier step's answer was lost (RDS created
// the instance, then the restore call or the Lambda failed), and never deletes an instance
// another run made. After cleanup, the "report" step writes the report to S3 and, when the
// verification failed, notifies the SNS topic.
//
// Failures come back with a Lambda error type the state machine routes on (dr.ErrorType):
// NotReady (RDS is busy: Ready retries it every 60 s), TimedOut (DR_TIMEOUT passed since the
// restore started), RestoreFailed (a terminal state such as incompatible-restore),
// ForeignResource, NoSnapshot, Quota, InvalidInput, Throttled, Failed. Every failure path
// leads to the Cleanup step, and Cleanup to Report, also when it still fails after its
// retries (its error at $.cleanupError; the report is not OK).
//
// Environment (drstep.StepSettingsFromEnv): DR_SOURCE_INSTANCE or DR_SOURCE_CLUSTER,
// DR_INSTANCE_CLASS, DR_DSN (with {host}, {port}, {user}, {password} and ${VAR}),
// DR_DB_SECRET_ARN (the secret with username and password, e.g. the RDS-managed master user
// secret), DR_CHECKS (JSON of dr.Checks: ServerVersionPrefix string, MinTables number,
// MinRows object of table name to least rows, Queries list of {name, sql, want}; unknown
// fields are an error), DR_TIMEOUT (default 1h, at most 12h: the Ready state's retries last
// 12 h 30 min, so DR_TIMEOUT ends the wait; a longer one is refused), DR_SUBNET_GROUP and
// DR_SECURITY_GROUPS, or DR_REGIONS (JSON: region to {SubnetGroup, SecurityGroups}) for
// several regions, DR_REPORT_BUCKET, DR_REPORT_PREFIX, DR_SNS_TOPIC_ARN.
//
// Input of each invocation: {"step": "start|ready|check|cleanup|report", "run": "<execution
// name>", "region": "<region or empty>", "state": {...}}. Output: the state, whose "report"
// has the fields of dr.Report: database, kind (instance or cluster), region, snapshot,
// instance, run, started, finished, ok, steps (name, ok, detail), cleanup, location (where the
// report step wrote it).
package main

import (
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/shipshape-dev/shipshape/examples/internal/drstep"
)

// usage is what -h prints.
const usage = `dr-steps: the Lambda function behind the DR verification state machine (provided.al2023;
statemachine.asl.json, started per region by fanout.asl.json; template.yaml). Each invocation runs
one step (start, ready, check, cleanup, report) of restoring the newest DR copy into a temporary
instance named after the execution, checking it with SQL, deleting it, and reporting to S3 and
SNS. Input: {"step": ..., "run": <execution name>, "region": <region or "">, "state": {...}}.
Failures come back with an error type the state machine routes on: NotReady, TimedOut,
RestoreFailed, ForeignResource, NoSnapshot, AmbiguousSource, Quota, InvalidInput, Throttled, Failed.

Environment:
  DR_SOURCE_INSTANCE or DR_SOURCE_CLUSTER  what to verify: the newest DR copy of it (one is required)
  DR_SOURCE_ACCOUNT   whose database of that name, 12 digits (needed when several source accounts have one)
  DR_INSTANCE_CLASS   class of the temporary instance (required)
  DR_DSN              connection string template with {host}, {port}, {user}, {password}, ${VAR} (required)
  DR_DB_SECRET_ARN    secret with username and password for {user} and {password} (default: none)
  DR_CHECKS           JSON of the checks: ServerVersionPrefix, MinTables, MinRows, Queries (default: none)
  DR_TIMEOUT          how long a restore may take, at most 12h (default 1h)
  DR_SUBNET_GROUP, DR_SECURITY_GROUPS  where the temporary instance goes (default: the default VPC)
  DR_REGIONS          JSON {"eu-west-1": {"SubnetGroup": ..., "SecurityGroups": [...]}} to verify in
                      several regions instead (default: this region only, input "region": "")
  DR_REPORT_BUCKET, DR_REPORT_PREFIX   where reports go (default: none; prefix "dr-reports")
  DR_SNS_TOPIC_ARN    who hears of failures (default: none)
  AWS_REGION and the standard AWS SDK environment (Lambda sets them)
`

func main() {
	drstep.Main("dr-steps", usage, drstep.StepSettingsFromEnv, false)
}
