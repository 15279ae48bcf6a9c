package main

// Adversarial tests of the dr-failover command line: "Every binary refuses a bad command
// line with exit 2, one line on stderr naming the flag, and no request" (docs/RELIABILITY.md,
// Bad input). A failing case is a bug found.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/failover"
	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
	"github.com/shipshape-dev/shipshape/examples/internal/drcli"
)

func TestUsageErrorsOfOddValues(t *testing.T) {
	rehearse := []string{"-class", "db.r6g.large", "-rehearse", "-dsn", "postgres://{user}:{password}@{host}:{port}/db"}
	for _, c := range []clitest.UsageCase{
		// A source that is not an RDS identifier must not reach a listing of every snapshot.
		{Args: []string{"-instance", "orders db", "-target-id", "shipshape-orders-db", "-class", "db.r6g.large"}, Flag: "instance"},
		{Args: []string{"-instance", "orders_db", "-target-id", "shipshape-orders-db", "-class", "db.r6g.large", "-dry-run"}, Flag: "instance"},
		{Args: []string{"-cluster", "ledger--prod", "-target-id", "shipshape-ledger", "-class", "db.r6g.large"}, Flag: "cluster"},
		// A secret ARN of another service (StepSettingsFromEnv refuses it; the command must too).
		{Args: append([]string{"-instance", "orders-db", "-secret-arn", "arn:aws:s3:::orders-db-master"}, rehearse...), Flag: "-secret-arn"},
	} {
		t.Run(c.Name(), func(t *testing.T) {
			// The fakes stand in for AWS (clitest.CheckUsage's recorder pays the SDK's real
			// retry backoff on every case); a usage error makes no call to any of them.
			f, dns, _ := bed(t, "", 0)
			sm := &atkSecrets{}
			mk := func(context.Context) (drcli.Clients, error) {
				return drcli.Clients{RDS: f, Route53: dns, SecretsManager: sm}, nil
			}
			rdsBefore, dnsBefore := f.Total(), dns.Total()
			code, _, stderr := runCLI(mk, f, c.Args...)
			assert.Zero(t, sm.calls, "Secrets Manager calls made by a usage error")
			short := stderr
			if len(short) > 300 {
				short = short[:300] + "..."
			}
			assert.Equal(t, 2, code, "exit code; stderr:\n%s", short)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line on stderr:\n%s", short)
			assert.True(t, strings.Contains(stderr, c.Flag), "the message names %s:\n%s", c.Flag, short)
			assert.Equal(t, rdsBefore, f.Total(), "RDS calls made by a usage error")
			assert.Equal(t, dnsBefore, dns.Total(), "Route 53 calls made by a usage error")
		})
	}
}

type atkSecrets struct{ calls int }

func (s *atkSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	s.calls++
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(`{"username":"u","password":"p"}`)}, nil
}

// TestRerunAfterTheDNSWaitPrintsTheRealRollback: the runbook's "DNS failed after the
// restore: rerun", then "Keep the last lines: they print ... the command that switches DNS
// back". The rerun's "to switch back" must name the value before the failover.
func TestRerunAfterTheDNSWaitPrintsTheRealRollback(t *testing.T) {
	f, dns, mk := bed(t, "", 0)
	dns.Fail(drtest.OpGetChange, &r53types.NoSuchChange{Message: aws.String("lost")}, 1)
	args := []string{"-instance", "orders-db", "-target-id", "shipshape-orders-db", "-class", "db.r6g.large", "-zone-id", zone, "-record", record}
	code, _, stderr := runCLI(mk, f, args...)
	require.Equal(t, 1, code, stderr)
	code, stdout, stderr := runCLI(mk, f, args...)
	require.Equal(t, 0, code, stderr)
	var res failover.FailoverResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.Equal(t, oldDB, res.PreviousValue, "what the record pointed at before the failover")
	assert.Contains(t, stderr, `"Value":"`+oldDB+`"`, "the printed rollback puts back the old value")
}

// TestExplicitTTLZeroIsNotSilentlyChanged: "-ttl 0" is a valid Route 53 TTL; it is
// either used or refused, not silently replaced by 60.
func TestExplicitTTLZeroIsNotSilentlyChanged(t *testing.T) {
	f, _, mk := bed(t, "", 0)
	code, stdout, stderr := runCLI(mk, f, "-instance", "orders-db", "-target-id", "shipshape-orders-db", "-class", "db.r6g.large",
		"-zone-id", zone, "-record", record, "-ttl", "0", "-dry-run")
	if code == 2 {
		return
	}
	require.Equal(t, 0, code, stderr)
	var p failover.Plan
	require.NoError(t, json.Unmarshal([]byte(stdout), &p))
	assert.Contains(t, p.DNS, "TTL 0", p.DNS)
}
