// Command dr-steps is the Lambda function behind the DR verification state machine
// (statemachine.asl.json, started per region by fanout.asl.json; deployed by template.yaml):
// each invocation runs one step of dr.Verifier on the state the machine passes along, with
// the execution's name as the run and the execution input's region.
//
// The temporary instance's (and, for Aurora, cluster's) identifier is derived from the
// execution name (dr.TemporaryInstanceID) and tagged with it, so the Cleanup step finds and
// deletes what the execution made even when an earlier step's answer was lost (RDS created
// the instance, then the restore call or the Lambda failed), and never deletes an instance
// another run made. After cleanup, the "report" step writes the report to S3 and, when the
// verification failed, notifies the SNS topic.
//
// Failures come back with a Lambda error type the state machine routes on (dr.ErrorType):
// NotReady (RDS is busy: Ready retries it every 60 s), TimedOut (DR_TIMEOUT passed since the
// restore started), RestoreFailed (a terminal state such as incompatible-restore),
// ForeignResource, NoSnapshot, Quota, InvalidInput, Throttled, Failed. Every failure path
// leads to the Cleanup step.
//
// Environment (dr.StepSettingsFromEnv): DR_SOURCE_INSTANCE or DR_SOURCE_CLUSTER,
// DR_INSTANCE_CLASS, DR_DSN (with {host}, {port}, {user}, {password} and ${VAR}),
// DR_DB_SECRET_ARN (the secret with username and password, e.g. the RDS-managed master user
// secret), DR_CHECKS (JSON of dr.Checks: ServerVersionPrefix string, MinTables number,
// MinRows object of table name to least rows, Queries list of {name, sql, want}; unknown
// fields are an error), DR_TIMEOUT (default 1h), DR_SUBNET_GROUP and DR_SECURITY_GROUPS, or
// DR_REGIONS (JSON: region to {SubnetGroup, SecurityGroups}) for several regions,
// DR_REPORT_BUCKET, DR_REPORT_PREFIX, DR_SNS_TOPIC_ARN.
//
// Input of each invocation: {"step": "start|ready|check|cleanup|report", "run": "<execution
// name>", "region": "<region or empty>", "state": {...}}. Output: the state, whose "report"
// has the fields of dr.Report: database, kind (instance or cluster), region, snapshot,
// instance, run, started, finished, ok, steps (name, ok, detail), cleanup, location (where the
// report step wrote it).
package main

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/shipshape-dev/shipshape/dr"
)

// newHandler runs a step; a failure is returned with the error type the state machine routes
// on (Lambda reports InvokeResponse_Error's Type as the errorType).
func newHandler(r *dr.StepRunner) func(context.Context, dr.StepRequest) (dr.VerifyState, error) {
	return func(ctx context.Context, req dr.StepRequest) (dr.VerifyState, error) {
		st, err := r.Run(ctx, req)
		if err != nil {
			return st, messages.InvokeResponse_Error{Type: dr.ErrorType(err), Message: err.Error()}
		}
		return st, nil
	}
}

// clientsFrom makes the AWS clients from cfg: RDS per region, Secrets Manager in the
// secret's region.
func clientsFrom(cfg aws.Config, s dr.StepSettings) dr.StepClients {
	c := dr.StepClients{RDS: func(region string) dr.RDSAPI {
		return rds.NewFromConfig(cfg, func(o *rds.Options) {
			if region != "" {
				o.Region = region
			}
		})
	}}
	if s.SecretARN != "" {
		c.SecretsManager = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			if parts := strings.Split(s.SecretARN, ":"); len(parts) > 3 && parts[3] != "" {
				o.Region = parts[3]
			}
		})
	}
	if s.ReportBucket != "" {
		c.S3 = s3.NewFromConfig(cfg)
	}
	if s.TopicARN != "" {
		c.SNS = sns.NewFromConfig(cfg)
	}
	return c
}

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	s, err := dr.StepSettingsFromEnv(os.Getenv)
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	r, err := dr.NewStepRunner(s, clientsFrom(cfg, s), false, func(o *dr.VerifyOptions) {
		o.Logger = logger
		o.Progress = func(line string) { logger.Info(line) }
	})
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	lambda.Start(newHandler(r))
}
