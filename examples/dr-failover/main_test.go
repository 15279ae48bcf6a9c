package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/failover"
	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
	"github.com/shipshape-dev/shipshape/examples/internal/drcli"
	"github.com/shipshape-dev/shipshape/internal/testbed"
)

const (
	zone   = "Z0RECOVERY"
	record = "orders-db.internal.example.com"
	oldDB  = "orders-db.abc.eu-west-1.rds.amazonaws.com"
)

func bed(t *testing.T, host string, port int32) (*drtest.RDS, *drtest.Route53, drcli.NewClients) {
	f := drtest.New(nil)
	at := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", at, map[string]string{dr.TagDR: "true"})
	f.AddManualCluster("shipshape-dr-ledger-202611230300", "ledger", at, map[string]string{dr.TagDR: "true"})
	if host != "" {
		f.Endpoint = func(string) (string, int32) { return host, port }
	}
	dns := drtest.NewRoute53(f.Clock())
	dns.AddZone(zone, "internal.example.com")
	_, err := dns.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(record), Type: r53types.RRTypeCname, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(oldDB)}}}}}}})
	require.NoError(t, err)
	return f, dns, func(context.Context) (drcli.Clients, error) { return drcli.Clients{RDS: f, Route53: dns}, nil }
}

func runCLI(mk drcli.NewClients, f *drtest.RDS, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, mk, func(o *failover.FailoverOptions) { o.Clock = f.Clock() })
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	ok := []string{"-instance", "orders-db", "-target-id", "shipshape-orders-db", "-class", "db.r6g.large"}
	with := func(extra ...string) []string { return append(append([]string(nil), ok...), extra...) }
	rehearse := []string{"-instance", "orders-db", "-class", "db.r6g.large", "-rehearse", "-dsn", "postgres://{host}:{port}/db"}
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{}, Flag: "-instance"},
		{Args: with("-cluster", "ledger"), Flag: "-cluster"},
		{Args: with("-cluster-snapshot"), Flag: "-cluster-snapshot"},
		{Args: []string{"-instance", "orders-db", "-class", "db.r6g.large"}, Flag: "-target-id"},
		{Args: with("-target-id", "bad--id"), Flag: "target"},
		{Args: []string{"-instance", "orders-db", "-target-id", "shipshape-x"}, Flag: "class"},
		{Args: with("-zone-id", zone), Flag: "-record"},
		{Args: with("-record", record), Flag: "-zone-id"},
		{Args: with("-ttl", "30"), Flag: "-ttl"},
		{Args: with("-zone-id", zone, "-record", record, "-ttl", "-5"), Flag: "TTL"},
		{Args: with("-zone-id", zone, "-record", record, "-ttl", "0"), Flag: "-ttl"},
		{Args: with("-zone-id", zone, "-record", record, "-ttl", "172801"), Flag: "-ttl"},
		{Args: []string{"-instance", "1orders", "-target-id", "shipshape-orders-db", "-class", "db.r6g.large"}, Flag: "-instance"},
		{Args: []string{"-cluster", "ledger/prod", "-target-id", "shipshape-ledger", "-class", "db.r6g.large", "-dry-run"}, Flag: "-cluster"},
		{Args: with("-zone-id", zone, "-record", "db"), Flag: "db"},
		{Args: with("-timeout", "0s"), Flag: "-timeout"},
		{Args: with("-poll", "x"), Flag: "-poll"},
		{Args: with("-poll", "1ns"), Flag: "-poll"},
		// Only names the failover's IAM policy lets it create and tag; never another function's kind.
		{Args: with("-target-id", "orders-db"), Flag: "-target-id"},
		{Args: with("-target-id", "shipshape-verify-orders"), Flag: "-target-id"},
		{Args: with("-target-id", "shipshape-sanitize-orders"), Flag: "-target-id"},
		{Args: with("-target-id", "shipshape-dr-orders-db-202611230300"), Flag: "-target-id"},
		// RDS stores identifiers in lower case (dr.ValidInputIdentifier); more in
		// TestTargetIDNeverNamesAnotherFunctionsKind.
		{Args: with("-target-id", "shipshape-Orders-db"), Flag: "-target-id"},
		{Args: []string{"-instance", "Orders-db", "-target-id", "shipshape-orders-db", "-class", "db.r6g.large"}, Flag: "-instance"},
		{Args: []string{"-snapshot", "shipshape-DR-orders-db-202611230300", "-target-id", "shipshape-orders-db", "-class", "db.r6g.large"}, Flag: "-snapshot"},
		{Args: with("-source-account", "11111111111"), Flag: "-source-account"},
		{Args: with("-source-account", "arn:aws:iam::111111111111:root"), Flag: "-source-account"},
		{Args: []string{"-snapshot", "orders-db-1", "-target-id", "shipshape-x", "-class", "db.r6g.large", "-source-account", "111111111111"}, Flag: "-source-account"},
		{Args: with("-security-groups", "sg-1,,sg 2"), Flag: "-security-groups"},
		{Args: with("-security-groups", "sg-0123456789abcdef0,"), Flag: "-security-groups"},
		{Args: with("-subnet-group", "bad group!"), Flag: "-subnet-group"},
		{Args: with("-dry-run", "-rehearse", "-dsn", "{host}"), Flag: "-rehearse"},
		{Args: with("-rehearse", "-dsn", "{host}"), Flag: "-target-id"},
		{Args: with("-min-tables", "3"), Flag: "-min-tables"},
		{Args: with("-dsn", "{host}"), Flag: "-dsn"},
		{Args: []string{"-instance", "orders-db", "-class", "db.r6g.large", "-rehearse"}, Flag: "-dsn"},
		{Args: append(rehearse, "-min-rows", "orders"), Flag: "-min-rows"},
		{Args: append(rehearse, "-query", "x"), Flag: "-query"},
		{Args: append(rehearse, "-secret-arn", "prod/db"), Flag: "-secret-arn"},
		{Args: append(rehearse, "-secret-arn", "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"), Flag: "-secret-arn"},
		{Args: []string{"-cluster", "ledger", "-class", "db.r6g.large", "-rehearse", "-dsn", "postgres://{user}@{host}/db"}, Flag: "-secret-arn"},
		{Args: with("-cluster", "x", "-multi-az"), Flag: "-cluster"},
		{Args: []string{"-cluster", "ledger", "-target-id", "shipshape-l", "-class", "db.r6g.large", "-multi-az"}, Flag: "Multi-AZ"},
		{Args: with("extra"), Flag: "extra"},
		{Args: []string{"-nope"}, Flag: "-nope"},
	}, func(args []string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut, fromEnvironment, nil)
		return code, errOut.String()
	})
	var errOut bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"-h"}, &bytes.Buffer{}, &errOut, fromEnvironment, nil))
	assert.Contains(t, errOut.String(), "Exit codes: 0 restored and switched")
}

func TestFailoverAndRerun(t *testing.T) {
	f, dns, mk := bed(t, "", 0)
	f.LoseAnswers(drtest.OpRestore, 1)
	args := []string{"-instance", "orders-db", "-target-id", "shipshape-orders-db", "-class", "db.r6g.large", "-zone-id", zone, "-record", record, "-multi-az"}
	code, _, stderr := runCLI(mk, f, args...)
	require.Equal(t, 1, code, "the restore's answer was lost")
	assert.Contains(t, stderr, "InternalFailure")
	assert.Equal(t, oldDB, dns.Record(zone, record), "DNS untouched")
	code, stdout, stderr := runCLI(mk, f, args...)
	require.Equal(t, 0, code, stderr)
	var res failover.FailoverResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.True(t, res.Attached, "the rerun attached to the restore RDS had started")
	assert.Equal(t, "shipshape-orders-db.fake.rds.amazonaws.com", dns.Record(zone, record))
	assert.Contains(t, stderr, "to switch back:")
	assert.Contains(t, stderr, oldDB)
	assert.Equal(t, []string{"shipshape-orders-db"}, f.Instances())
}

// TestDryRunMakesNoChange: the plan comes from reads only.
func TestDryRunMakesNoChange(t *testing.T) {
	f, dns, mk := bed(t, "", 0)
	before := dns.Calls(drtest.OpChangeRecords)
	code, stdout, stderr := runCLI(mk, f, "-cluster", "ledger", "-target-id", "shipshape-ledger", "-class", "db.r6g.large", "-zone-id", zone, "-record", record, "-dry-run")
	require.Equal(t, 0, code, stderr)
	var p failover.Plan
	require.NoError(t, json.Unmarshal([]byte(stdout), &p))
	assert.Equal(t, "shipshape-dr-ledger-202611230300", p.Snapshot)
	assert.Equal(t, "cluster", p.Kind)
	assert.Equal(t, oldDB, p.PreviousValue)
	assert.Len(t, p.Creates, 2, "the cluster and its instance")
	for _, op := range []string{drtest.OpRestore, drtest.OpRestoreCluster, drtest.OpCreateInstance, drtest.OpAddTags} {
		assert.Zero(t, f.Calls(op), op)
	}
	assert.Equal(t, before, dns.Calls(drtest.OpChangeRecords))
	assert.Contains(t, stderr, "nothing was changed")
}

func TestIntegrationRehearsalCLI(t *testing.T) {
	pg := testbed.PostgresServer(t)
	f, dns, mk := bed(t, pg.Host, pg.Port)
	t.Setenv("REHEARSAL_USER", pg.URL.User.Username())
	dsn := "postgres://${REHEARSAL_USER}@{host}:{port}/postgres?sslmode=disable"
	code, stdout, stderr := runCLI(mk, f, "-instance", "orders-db", "-class", "db.r6g.large", "-zone-id", zone, "-record", record,
		"-rehearse", "-dsn", dsn, "-version-prefix", "15.", "-query", "answer|SELECT 6*7|42")
	require.Equal(t, 0, code, stderr)
	var rep failover.Rehearsal
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.True(t, rep.OK)
	assert.Equal(t, 20*time.Minute+30*time.Second, rep.RecoveryTime)
	assert.Contains(t, stderr, "recovery time 20m30s")
	assert.Empty(t, f.Instances())
	assert.Equal(t, []string{record + "."}, dns.Names(zone))

	code, _, stderr = runCLI(mk, f, "-instance", "orders-db", "-class", "db.r6g.large", "-rehearse", "-dsn", dsn, "-query", "answer|SELECT 6*7|41")
	assert.Equal(t, 3, code, stderr)
	assert.True(t, strings.Contains(stderr, "a rehearsal check failed"))
	assert.Empty(t, f.Instances())
}

// A rehearsal that finds no DR copy says nothing was restored, never a recovery point of
// year 1 with 292 years of data loss.
func TestRehearsalWithNothingToRestore(t *testing.T) {
	f, _, mk := bed(t, "", 0)
	code, _, stderr := runCLI(mk, f, "-instance", "billing", "-class", "db.r6g.large", "-rehearse", "-dsn", "postgres://{host}:{port}/db")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "rehearsal: nothing restored")
	assert.NotContains(t, stderr, "0001-01-01")
	assert.Zero(t, f.Calls(drtest.OpRestore))
}

// TestAmbiguousSourceExitsWithItsOwnCode: two source accounts each have an orders-db here;
// without -source-account neither the dry run nor the failover changes anything, and both
// exit 4 naming the accounts; with it, the chosen account's copy is restored.
func TestAmbiguousSourceExitsWithItsOwnCode(t *testing.T) {
	f, dns, mk := bed(t, "", 0)
	f.AddManual("shipshape-dr-orders-db-202611230400-333333333333", "orders-db", time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC),
		map[string]string{dr.TagDR: "true", dr.TagSourceAccount: "333333333333"})
	args := []string{"-instance", "orders-db", "-target-id", "shipshape-orders-db", "-class", "db.r6g.large", "-zone-id", zone, "-record", record}
	for _, extra := range [][]string{{"-dry-run"}, nil} {
		code, _, stderr := runCLI(mk, f, append(args, extra...)...)
		assert.Equal(t, drcli.ExitAmbiguousSource, code, stderr)
		assert.Contains(t, stderr, "111111111111, 333333333333")
	}
	assert.Zero(t, f.Calls(drtest.OpRestore))
	assert.Zero(t, dns.Calls(drtest.OpChangeRecords)-1, "only the bed's record")

	code, stdout, stderr := runCLI(mk, f, append(args, "-source-account", "333333333333")...)
	require.Equal(t, 0, code, stderr)
	var res failover.FailoverResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.Equal(t, "shipshape-dr-orders-db-202611230400-333333333333", res.Snapshot)
	assert.Equal(t, "333333333333", res.SourceAccount)
}
