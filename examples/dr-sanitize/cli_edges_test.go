package main

// Adversarial tests of dr-sanitize: its command line ("Every binary refuses a bad command
// line with exit 2, one line on stderr naming the flag, and no request",
// docs/RELIABILITY.md) and its state machine ("the temporary instance, cluster and
// intermediate snapshot are deleted on every path", the report and alert of docs/dr.md). A
// failing test is a bug found.

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
	"github.com/shipshape-dev/shipshape/examples/internal/drcli"
	"github.com/shipshape-dev/shipshape/examples/internal/drstep"
)

type atkAWS struct{ secrets, puts int }

func (a *atkAWS) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	a.secrets++
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(`{"username":"u","password":"p"}`)}, nil
}

func (a *atkAWS) PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	a.puts++
	return &s3.PutObjectOutput{}, nil
}

// GetObject finds nothing: every put here is of a new key.
func (*atkAWS) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, &s3types.NoSuchKey{}
}

func TestUsageErrorsOfOddValues(t *testing.T) {
	ok := []string{"-instance", "orders-db", "-class", "db.t4g.medium", "-dsn", "postgres://{user}:{password}@{host}:{port}/db",
		"-statement", "UPDATE customers SET email = 'x'", "-secret-arn", "arn:aws:secretsmanager:us-east-1:111111111111:secret:db"}
	with := func(extra ...string) []string { return append(append([]string(nil), ok...), extra...) }
	for _, c := range []clitest.UsageCase{
		{Args: with("-secret-arn", "arn:aws:s3:::orders-db-master"), Flag: "-secret-arn"},
		{Args: with("-report-bucket", "arn:aws:s3:::dr-reports"), Flag: "-report-bucket"},
		// Not a KMS key in any of the forms RDS takes (key id, key ARN, alias, alias ARN):
		// found only at the re-encryption, after the restore, the statements and the snapshot.
		{Args: with("-kms-key", "arn:aws:s3:::dev-shared"), Flag: "-kms-key"},
	} {
		t.Run(c.Name(), func(t *testing.T) {
			f, _ := bed("127.0.0.1", 1)
			other := &atkAWS{}
			notices := drtest.NewSNS()
			mk := func(context.Context) (drcli.Clients, error) {
				return drcli.Clients{RDS: f, SecretsManager: other, S3: other, SNS: notices}, nil
			}
			code, _, stderr := runCLI(mk, f, c.Args...)
			short := stderr
			if len(short) > 300 {
				short = short[:300] + "..."
			}
			assert.Equal(t, 2, code, "exit code; stderr:\n%s", short)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line on stderr:\n%s", short)
			assert.True(t, strings.Contains(stderr, c.Flag), "the message names %s:\n%s", c.Flag, short)
			assert.Zero(t, f.Total(), "RDS calls made by a usage error")
			assert.Zero(t, other.secrets+other.puts+notices.Total(), "other AWS calls made by a usage error")
		})
	}
}

type atkState struct {
	Type  string `json:"Type"`
	Next  string `json:"Next"`
	Catch []struct {
		ErrorEquals []string `json:"ErrorEquals"`
		Next        string   `json:"Next"`
	} `json:"Catch"`
	Retry []struct {
		ErrorEquals     []string `json:"ErrorEquals"`
		IntervalSeconds int      `json:"IntervalSeconds"`
		BackoffRate     float64  `json:"BackoffRate"`
		MaxAttempts     int      `json:"MaxAttempts"`
	} `json:"Retry"`
}

func atkMachine(t *testing.T) map[string]atkState {
	raw, err := os.ReadFile("statemachine.asl.json")
	require.NoError(t, err)
	var m struct {
		States map[string]atkState `json:"States"`
	}
	require.NoError(t, json.Unmarshal(raw, &m))
	return m.States
}

// TestAFailedCleanupIsStillReported: when Cleanup keeps failing (its retries run out:
// an instance RDS won't delete, a denied call), something temporary is left behind. That is
// exactly when the report must be written and the alert sent; a Cleanup without a Catch ends
// the execution before Report, silently.
func TestAFailedCleanupIsStillReported(t *testing.T) {
	cleanup := atkMachine(t)["Cleanup"]
	caught := false
	for _, c := range cleanup.Catch {
		caught = caught || (c.Next == "Report" && len(c.ErrorEquals) == 1 && c.ErrorEquals[0] == "States.ALL")
	}
	assert.True(t, caught, "Cleanup must catch States.ALL into Report (after its retries), so that a leak is reported and alerted")
}

// TestRestoreWaitLastsUntilDRTimeout: dr.md: "The wait ends at DR_TIMEOUT (default 1
// h)". The template passes RestoreTimeout through, unchecked; the Ready state waits 60 s a
// retry, MaxAttempts times. A DR_TIMEOUT the settings accept must fit in that budget, or the
// wait ends early with NotReady instead of TimedOut (a big database never gets sanitized).
func TestRestoreWaitLastsUntilDRTimeout(t *testing.T) {
	ready := atkMachine(t)["Ready"]
	require.NotEmpty(t, ready.Retry)
	budget := time.Duration(ready.Retry[0].MaxAttempts*ready.Retry[0].IntervalSeconds) * time.Second
	for _, timeout := range []string{"1h", "4h", "12h"} {
		env := map[string]string{"DR_SOURCE_INSTANCE": "orders-db", "DR_INSTANCE_CLASS": "db.t4g.medium", "DR_DSN": "postgres://{host}/db",
			"DR_STATEMENTS": `["SELECT 1"]`, "DR_TIMEOUT": timeout}
		s, err := drstep.SanitizeSettingsFromEnv(func(k string) string { return env[k] })
		if err != nil {
			continue // refused up front: fine
		}
		assert.GreaterOrEqual(t, budget, s.Timeout, "DR_TIMEOUT=%s is accepted but the state machine stops waiting after %s", timeout, budget)
	}
}
