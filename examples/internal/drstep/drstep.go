// Package drstep is the main of the dr state machines' Lambda functions (examples/dr-steps
// for the verification, examples/dr-sanitize for the sanitizing one): settings from the
// environment, AWS clients, and a handler that runs one step per invocation. It is apart
// from drcli so that the command-line binaries do not link the Lambda runtime.
package drstep

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/examples/internal/lambdamain"
	"github.com/shipshape-dev/shipshape/internal/awsid"
)

// MaxTimeout is the longest DR_TIMEOUT the state machines wait for a restore: their Ready
// state retries NotReady every 60 s, 750 times (12 h 30 min), so that the Lambda's
// TimedOut, at DR_TIMEOUT, ends the wait rather than the retry count. The templates'
// RestoreTimeout parameter allows no more; tests keep the three in step.
const MaxTimeout = 12 * time.Hour

// Settings reads a state machine's settings with fromEnv (StepSettingsFromEnv or
// SanitizeSettingsFromEnv) and checks what the state machine adds: DR_TIMEOUT at most
// MaxTimeout, and DR_TARGET_KMS_KEY_ID in one of the forms RDS takes. Errors name the
// variable.
func Settings(fromEnv func(getenv func(string) string) (restore.StepSettings, error), getenv func(string) string) (restore.StepSettings, error) {
	s, err := fromEnv(getenv)
	switch {
	case err != nil:
		return s, err
	case s.Timeout > MaxTimeout:
		return s, fmt.Errorf("%w: DR_TIMEOUT %s: at most %s, the longest the state machine waits for a restore", dr.ErrInvalidInput, s.Timeout, MaxTimeout)
	case s.Sanitize.KMSKeyID != "" && awsid.KMSKey(s.Sanitize.KMSKeyID) != nil:
		return s, fmt.Errorf("%w: DR_TARGET_KMS_KEY_ID: %v", dr.ErrInvalidInput, awsid.KMSKey(s.Sanitize.KMSKeyID))
	}
	return s, nil
}

// Handler is the Lambda handler of a state machine's function: it runs a step; a
// failure is returned with the error type the state machine routes on (Lambda reports
// InvokeResponse_Error's Type as the errorType).
func Handler(r *restore.StepRunner) func(context.Context, restore.StepRequest) (dr.VerifyState, error) {
	return func(ctx context.Context, req restore.StepRequest) (dr.VerifyState, error) {
		st, err := r.Run(ctx, req)
		if err != nil {
			return st, messages.InvokeResponse_Error{Type: dr.ErrorType(err), Message: err.Error()}
		}
		return st, nil
	}
}

// Clients makes the AWS clients of a StepRunner from cfg: RDS per region, Secrets
// Manager in the secret's region, S3 and SNS only when the settings name a report bucket or
// a topic.
func Clients(cfg aws.Config, s restore.StepSettings) restore.StepClients {
	c := restore.StepClients{RDS: func(region string) restore.SanitizerAPI {
		return rds.NewFromConfig(cfg, func(o *rds.Options) {
			if region != "" {
				o.Region = region
			}
		})
	}}
	if s.SecretARN != "" {
		c.SecretsManager = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			if a, err := arn.Parse(s.SecretARN); err == nil && a.Region != "" {
				o.Region = a.Region // the secret's own region, whatever the function's
			}
		})
	}
	if s.ReportBucket != "" {
		c.S3 = s3.NewFromConfig(cfg)
	}
	if len(s.Sanitize.ShareWith) > 0 {
		c.KMS = kms.NewFromConfig(cfg)
	}
	if s.TopicARN != "" {
		c.SNS = sns.NewFromConfig(cfg)
	}
	return c
}

// Main is the main of a state machine's Lambda function (cli.LambdaMain: -h, -version, the
// region check): it reads the settings with Settings and fromEnv (exit 2 when they are wrong)
// and serves Handler, logging JSON on stdout. sanitize chooses the sanitizing state
// machine's steps (restore.NewStepRunner).
func Main(name, usage string, fromEnv func(getenv func(string) string) (restore.StepSettings, error), sanitize bool) {
	lambdamain.Main(lambdamain.Lambda{Name: name, Usage: usage,
		Handler: func(_ context.Context, cfg aws.Config, getenv func(string) string, logger *slog.Logger) (any, error) {
			s, err := Settings(fromEnv, getenv)
			if err != nil {
				return nil, err
			}
			r, err := restore.NewStepRunner(s, Clients(cfg, s), sanitize, func(o *dr.VerifyOptions) {
				o.Logger = logger
				o.Progress = func(line string) { logger.Info(line) }
			})
			if err != nil {
				return nil, err
			}
			return Handler(r), nil
		}})
}
