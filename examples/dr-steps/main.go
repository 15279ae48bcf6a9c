// Command dr-steps is the Lambda function behind the DR verification state machine
// (statemachine.asl.json, deployed by template.yaml): each invocation runs one step of
// dr.Verifier on the state the machine passes along. While RDS is still restoring, the
// "ready" step fails with the error type NotReady, which the state machine retries every
// 60 s; every failure path leads to the "cleanup" step, so the temporary instance is always
// deleted.
//
// Environment: DR_SOURCE_INSTANCE, DR_INSTANCE_CLASS, DR_SUBNET_GROUP, DR_SECURITY_GROUPS
// (comma-separated), DR_DSN (with {host}, {port} and ${VAR} from the environment, e.g. a
// password injected by the secretsenv layer), DR_CHECKS (JSON of dr.Checks).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/shipshape-dev/shipshape/dr"
)

// NotReady is the error type the state machine retries on (Lambda reports an error's type
// name as its errorType).
type NotReady struct{ Message string }

func (e *NotReady) Error() string { return e.Message }

type request struct {
	Step  string         `json:"step"`
	State dr.VerifyState `json:"state"`
}

func optionsFromEnv(getenv func(string) string) (func(*dr.VerifyOptions), error) {
	var checks dr.Checks
	if c := getenv("DR_CHECKS"); c != "" {
		if err := json.Unmarshal([]byte(c), &checks); err != nil {
			return nil, fmt.Errorf("DR_CHECKS is not JSON of dr.Checks: %v", err)
		}
	}
	dsn := getenv("DR_DSN")
	if !strings.Contains(dsn, "{host}") {
		return nil, fmt.Errorf("DR_DSN must contain {host} (and usually {port})")
	}
	var groups []string
	if g := getenv("DR_SECURITY_GROUPS"); g != "" {
		groups = strings.Split(g, ",")
	}
	return func(o *dr.VerifyOptions) {
		o.SourceInstance = getenv("DR_SOURCE_INSTANCE")
		o.InstanceClass = getenv("DR_INSTANCE_CLASS")
		o.SubnetGroup = getenv("DR_SUBNET_GROUP")
		o.SecurityGroups = groups
		o.Driver = "pgx"
		o.DSN = func(host string, port int32) string {
			s := strings.ReplaceAll(strings.ReplaceAll(dsn, "{host}", host), "{port}", strconv.Itoa(int(port)))
			return os.Expand(s, getenv)
		}
		o.Checks = checks
	}, nil
}

func newHandler(v *dr.Verifier) func(context.Context, request) (dr.VerifyState, error) {
	return func(ctx context.Context, req request) (dr.VerifyState, error) {
		st, err := v.Step(ctx, req.Step, req.State)
		if errors.Is(err, dr.ErrNotReady) {
			return st, &NotReady{Message: err.Error()}
		}
		return st, err
	}
}

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	opts, err := optionsFromEnv(os.Getenv)
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	v, err := dr.NewVerifier(rds.NewFromConfig(cfg), opts, func(o *dr.VerifyOptions) {
		o.Logger = logger
		o.Progress = func(line string) { logger.Info(line) }
	})
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	lambda.Start(newHandler(v))
}
