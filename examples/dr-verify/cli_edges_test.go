package main

// Adversarial tests of the dr-verify command line: "Every binary refuses a bad command line
// with exit 2, one line on stderr naming the flag, and no request" (docs/RELIABILITY.md, Bad
// input). A failing case is a bug found.

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
	"github.com/shipshape-dev/shipshape/examples/internal/drcli"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

// atkAWS counts the calls a run makes to the AWS clients other than RDS.
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

// atkRefused runs the command against fakes and asserts a usage error: exit 2, one line
// naming flag, no call to any of them.
func atkRefused(t *testing.T, c clitest.UsageCase) {
	f, _ := fakeRDS("127.0.0.1", 1)
	other := &atkAWS{}
	notices := drtest.NewSNS("arn:aws:sns:us-east-1:111111111111:dr")
	mk := func(context.Context) (drcli.Clients, error) {
		return drcli.Clients{RDS: f, SecretsManager: other, S3: other, SNS: notices}, nil
	}
	code, _, stderr := runCLI(mk, func(o *dr.VerifyOptions) { o.Clock = f.Clock() }, c.Args...)
	short := stderr
	if len(short) > 300 {
		short = short[:300] + "..."
	}
	assert.Equal(t, 2, code, "exit code; stderr:\n%s", short)
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line on stderr:\n%s", short)
	assert.True(t, strings.Contains(stderr, c.Flag), "the message names %s:\n%s", c.Flag, short)
	assert.Zero(t, f.Total(), "RDS calls made by a usage error")
	assert.Zero(t, other.secrets+other.puts+notices.Total(), "Secrets Manager, S3 or SNS calls made by a usage error")
}

func TestUsageErrorsOfOddValues(t *testing.T) {
	ok := []string{"-instance", "orders-db", "-class", "db.t4g.medium", "-dsn", "postgres://{user}:{password}@{host}:{port}/db"}
	with := func(extra ...string) []string { return append(append([]string(nil), ok...), extra...) }
	for _, c := range []clitest.UsageCase{
		// Held: the source instance is checked as an identifier.
		{Args: []string{"-instance", "orders db", "-class", "db.t4g.medium", "-dsn", "postgres://{host}/db"}, Flag: "instance"},
		// A secret ARN of another service (drstep.StepSettingsFromEnv refuses it; the command must too).
		{Args: with("-secret-arn", "arn:aws:s3:::orders-db-master"), Flag: "-secret-arn"},
		// A bucket given as an ARN: found only when the report is uploaded, after the run.
		{Args: with("-secret-arn", "arn:aws:secretsmanager:us-east-1:111111111111:secret:db", "-report-bucket", "arn:aws:s3:::dr-reports"), Flag: "-report-bucket"},
	} {
		t.Run(c.Name(), func(t *testing.T) { atkRefused(t, c) })
	}
}

// TestEmptySecurityGroupIsNeverSent: "-security-groups sg-1,,sg-2" (a stray comma)
// either is a usage error or sends the two groups; it must not send an empty security group
// id to RDS (dr-failover and dr-sanitize drop empty items; dr-verify does not).
func TestEmptySecurityGroupIsNeverSent(t *testing.T) {
	f, mk := fakeRDS("127.0.0.1", 1)
	code, _, stderr := runCLI(mk, func(o *dr.VerifyOptions) { o.Clock = f.Clock() }, "-instance", "orders-db", "-class", "db.t4g.medium",
		"-dsn", "postgres://x@{host}:{port}/db?connect_timeout=1", "-security-groups", "sg-1,,sg-2")
	if code == 2 {
		assert.Zero(t, f.Total())
		return
	}
	ins := fakeapi.Inputs[*rds.RestoreDBInstanceFromDBSnapshotInput](f, drtest.OpRestore)
	if assert.Len(t, ins, 1, stderr) {
		assert.Equal(t, []string{"sg-1", "sg-2"}, ins[0].VpcSecurityGroupIds)
	}
}
