// Command dr-steps is the Lambda function behind the DR verification state machine
// (statemachine.asl.json, deployed by template.yaml): each invocation runs one step of
// dr.Verifier on the state the machine passes along, with the execution's name as the run.
//
// The temporary instance's identifier is derived from the execution name
// (dr.TemporaryInstanceID) and tagged with it, so the Cleanup step finds and deletes what the
// execution made even when an earlier step's answer was lost (RDS created the instance, then
// the restore call or the Lambda failed), and never deletes an instance another run made.
//
// Failures come back with a Lambda error type the state machine routes on (dr.ErrorType):
// NotReady (RDS is busy: Ready retries it every 60 s), TimedOut (DR_TIMEOUT passed since the
// restore started), RestoreFailed (a terminal state such as incompatible-restore),
// ForeignResource, NoSnapshot, Quota, InvalidInput, Throttled, Failed. Every failure path
// leads to the Cleanup step.
//
// Environment: DR_SOURCE_INSTANCE, DR_INSTANCE_CLASS, DR_SUBNET_GROUP, DR_SECURITY_GROUPS
// (comma-separated), DR_DSN (with {host}, {port} and ${VAR} from the environment, e.g. a
// password injected by the secretsenv layer), DR_CHECKS (JSON of dr.Checks: ServerVersionPrefix
// string, MinTables number, MinRows object of table name to least rows, Queries list of
// {name, sql, want}; unknown fields are an error), DR_TIMEOUT (how long a restore may take,
// default 1h).
//
// Input of each invocation: {"step": "start|ready|check|cleanup", "run": "<execution name>",
// "state": {...}}. Output: the state, whose "report" has the fields of dr.Report (snapshot,
// instance, run, started, finished, ok, steps with name/ok/detail, cleanup).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/shipshape-dev/shipshape/dr"
)

type request struct {
	Step  string         `json:"step"`
	Run   string         `json:"run"`
	State dr.VerifyState `json:"state"`
}

// settings are what the environment configures.
type settings struct {
	target dr.VerifyTarget
	db     dr.Database
	opts   func(*dr.VerifyOptions)
}

func fromEnv(getenv func(string) string) (settings, error) {
	checks, err := dr.ParseChecks(getenv("DR_CHECKS"))
	if err != nil {
		return settings{}, fmt.Errorf("DR_CHECKS: %w", err)
	}
	dsn, err := dr.DSNTemplate(getenv("DR_DSN"), getenv)
	if err != nil {
		return settings{}, fmt.Errorf("DR_DSN: %w", err)
	}
	timeout := time.Duration(0)
	if t := getenv("DR_TIMEOUT"); t != "" {
		if timeout, err = time.ParseDuration(t); err != nil || timeout <= 0 {
			return settings{}, fmt.Errorf("DR_TIMEOUT %q: want a positive duration such as 1h", t)
		}
	}
	var groups []string
	for _, g := range strings.Split(getenv("DR_SECURITY_GROUPS"), ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	return settings{
		target: dr.VerifyTarget{SourceInstance: getenv("DR_SOURCE_INSTANCE"), InstanceClass: getenv("DR_INSTANCE_CLASS")},
		db:     dr.Database{Driver: "pgx", DSN: dsn},
		opts: func(o *dr.VerifyOptions) {
			o.SubnetGroup, o.SecurityGroups, o.Checks, o.Timeout = getenv("DR_SUBNET_GROUP"), groups, checks, timeout
		},
	}, nil
}

// newHandler runs a step; a failure is returned with the error type the state machine routes
// on (Lambda reports InvokeResponse_Error's Type as the errorType).
func newHandler(v *dr.Verifier) func(context.Context, request) (dr.VerifyState, error) {
	return func(ctx context.Context, req request) (dr.VerifyState, error) {
		st, err := v.Step(ctx, req.Step, req.Run, req.State)
		if err != nil {
			return st, messages.InvokeResponse_Error{Type: dr.ErrorType(err), Message: err.Error()}
		}
		return st, nil
	}
}

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	s, err := fromEnv(os.Getenv)
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	v, err := dr.NewVerifierFromConfig(cfg, s.target, s.db, s.opts, func(o *dr.VerifyOptions) {
		o.Logger = logger
		o.Progress = func(line string) { logger.Info(line) }
	})
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	lambda.Start(newHandler(v))
}
