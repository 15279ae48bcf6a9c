package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
	"github.com/shipshape-dev/shipshape/examples/internal/drcli"
	"github.com/shipshape-dev/shipshape/internal/testbed"
)

func fakeRDS(host string, port int32) (*drtest.RDS, drcli.NewClients) {
	f := drtest.New(nil)
	f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), map[string]string{dr.TagDR: "true"})
	f.AddManualCluster("shipshape-dr-ledger-202611230300", "ledger", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), map[string]string{dr.TagDR: "true"})
	f.Endpoint = func(string) (string, int32) { return host, port }
	return f, func(context.Context) (drcli.Clients, error) { return drcli.Clients{RDS: f}, nil }
}

func runCLI(mk drcli.NewClients, clock func(*dr.VerifyOptions), args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, mk, clock)
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	ok := []string{"-instance", "orders-db", "-class", "db.t4g.medium", "-dsn", "postgres://{host}:{port}/db"}
	with := func(extra ...string) []string { return append(append([]string(nil), ok...), extra...) }
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{}, Flag: "-instance"},
		{Args: with("-snapshot", "orders-db-1"), Flag: "-snapshot"},
		{Args: []string{"-instance", "x", "-dsn", "{host}"}, Flag: "-class"},
		{Args: []string{"-instance", "x", "-class", "c"}, Flag: "-dsn"},
		{Args: []string{"-instance", "x", "-class", "c", "-dsn", "postgres://localhost/db"}, Flag: "-dsn"},
		{Args: with("-timeout", "0s"), Flag: "-timeout"},
		{Args: with("-timeout", "-1s"), Flag: "-timeout"},
		{Args: with("-poll", "0s"), Flag: "-poll"},
		{Args: with("-poll", "soon"), Flag: "-poll"},
		{Args: with("-poll", "1ns"), Flag: "-poll"},
		{Args: with("-source-account", "11111111111"), Flag: "-source-account"},
		{Args: with("-source-account", "arn:aws:iam::111111111111:root"), Flag: "-source-account"},
		{Args: []string{"-snapshot", "orders-db-1", "-class", "db.t4g.medium", "-dsn", "{host}", "-source-account", "111111111111"}, Flag: "-source-account"},
		{Args: with("-security-groups", "sg-1,,sg 2"), Flag: "-security-groups"},
		{Args: with("-subnet-group", "bad group!"), Flag: "-subnet-group"},
		{Args: with("-report", "/nonexistent-dir/report.json"), Flag: "-report"},
		{Args: with("-class", "t4g.medium"), Flag: "class"},
		{Args: with("-cluster", "ledger"), Flag: "-cluster"},
		{Args: with("-cluster-snapshot"), Flag: "-cluster-snapshot"},
		{Args: with("-secret-arn", "prod/db"), Flag: "-secret-arn"},
		{Args: []string{"-instance", "x", "-class", "db.t4g.medium", "-dsn", "postgres://{user}:{password}@{host}/db"}, Flag: "-secret-arn"},
		{Args: with("-report-bucket", "s3://reports"), Flag: "-report-bucket"},
		{Args: with("-report-bucket", "DR_Reports"), Flag: "-report-bucket"},
		{Args: []string{"-instance", "orders-", "-class", "db.t4g.medium", "-dsn", "postgres://{host}/db"}, Flag: "-instance"},
		{Args: []string{"-cluster", "ledger--prod", "-class", "db.t4g.medium", "-dsn", "postgres://{host}/db"}, Flag: "-cluster"},
		// RDS stores identifiers in lower case (dr.ValidInputIdentifier).
		{Args: []string{"-instance", "Orders-db", "-class", "db.t4g.medium", "-dsn", "postgres://{host}/db"}, Flag: "-instance"},
		{Args: []string{"-cluster", "LEDGER", "-class", "db.t4g.medium", "-dsn", "postgres://{host}/db"}, Flag: "-cluster"},
		{Args: []string{"-snapshot", "shipshape-DR-orders-db-202611230300", "-class", "db.t4g.medium", "-dsn", "postgres://{host}/db"}, Flag: "-snapshot"},
		{Args: with("-secret-arn", "arn:aws:secretsmanager:eu-west-1:111111111111:orders-db"), Flag: "-secret-arn"},
		{Args: with("-report-prefix", "x"), Flag: "-report-bucket"},
		{Args: with("-sns-topic", "alerts"), Flag: "-sns-topic"},
		{Args: with("-min-rows", "orders=-1"), Flag: "-min-rows"},
		{Args: with("-min-rows", "orders"), Flag: "-min-rows"},
		{Args: with("-min-rows", "orders=1", "-min-rows", "orders=2"), Flag: "-min-rows"},
		{Args: with("-min-tables", "-1"), Flag: "-min-tables"},
		{Args: with("-query", "only-a-name"), Flag: "-query"},
		{Args: with("extra"), Flag: "extra"},
		{Args: []string{"-nope"}, Flag: "-nope"},
	}, func(args []string) (int, string) {
		code, _, stderr := runCLI(drcli.FromEnvironment, nil, args...)
		return code, stderr
	})
}

func TestIntegrationVerifyCLI(t *testing.T) {
	pg := testbed.PostgresServer(t)
	f, mk := fakeRDS(pg.Host, pg.Port)
	fast := func(o *dr.VerifyOptions) { o.Clock = f.Clock() }
	t.Setenv("VERIFY_USER", pg.URL.User.Username())
	dsn := "postgres://${VERIFY_USER}@{host}:{port}/postgres?sslmode=disable"

	code, stdout, stderr := runCLI(mk, fast, "-instance", "orders-db", "-class", "db.t4g.medium", "-dsn", dsn,
		"-version-prefix", "15.", "-query", "answer|SELECT 6*7|42")
	require.Equal(t, 0, code, stderr)
	var rep dr.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), "stdout is the JSON report")
	assert.True(t, rep.OK)
	assert.Contains(t, stderr, "dr-verify: waiting")
	assert.Empty(t, f.Instances())

	code, _, stderr = runCLI(mk, fast, "-instance", "orders-db", "-class", "db.t4g.medium", "-dsn", dsn, "-query", "answer|SELECT 6*7|41")
	assert.Equal(t, 3, code)
	assert.Contains(t, stderr, "a check failed")
	assert.Empty(t, f.Instances())
}

// TestTimeoutAndTerminalState: -timeout bounds the wait (5 s, not the 60 s -poll) and a
// terminal restore state ends it at once; both exit 1 and delete the instance.
func TestTimeoutAndTerminalState(t *testing.T) {
	f, mk := fakeRDS("127.0.0.1", 1)
	fast := func(o *dr.VerifyOptions) { o.Clock = f.Clock() }
	args := []string{"-instance", "orders-db", "-class", "db.t4g.medium", "-dsn", "postgres://x@{host}:{port}/db"}
	start := f.Clock().Now()
	code, stdout, stderr := runCLI(mk, fast, append(args, "-timeout", "5s", "-poll", "60s")...)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "timed out waiting")
	assert.Equal(t, 5*time.Second, f.Clock().Now().Sub(start))
	assert.Contains(t, stdout, `"cleanup": "deleted shipshape-verify-`)
	assert.Empty(t, f.Instances())

	f.RestoreOutcome = "incompatible-parameters"
	code, _, stderr = runCLI(mk, fast, args...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "is incompatible-parameters")
	assert.Equal(t, 1, strings.Count(stderr, "dr: "), "the package named once: %s", stderr)
	assert.Empty(t, f.Instances())
}

type memS3 struct{ keys []string }

func (m *memS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	m.keys = append(m.keys, *in.Bucket+"/"+*in.Key)
	return &s3.PutObjectOutput{}, nil
}

// GetObject finds nothing: every put here is of a new key.
func (*memS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, &s3types.NoSuchKey{}
}

// TestAuroraReportAndNotice: -cluster verifies the newest DR cluster snapshot; a failure is
// written to the bucket and announced on the topic, and the exit code says so.
func TestAuroraReportAndNotice(t *testing.T) {
	f, _ := fakeRDS("127.0.0.1", 1)
	f.RestoreOutcome = "incompatible-network"
	const topic = "arn:aws:sns:us-east-1:111111111111:dr"
	notices, bucket := drtest.NewSNS(topic), &memS3{}
	mk := func(context.Context) (drcli.Clients, error) {
		return drcli.Clients{RDS: f, S3: bucket, SNS: notices}, nil
	}
	code, stdout, stderr := runCLI(mk, func(o *dr.VerifyOptions) { o.Clock = f.Clock() }, "-cluster", "ledger", "-class", "db.r6g.large",
		"-dsn", "postgres://x@{host}:{port}/db", "-report-bucket", "reports", "-sns-topic", topic)
	assert.Equal(t, 1, code, stderr)
	var rep dr.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, "cluster", rep.Kind)
	assert.Equal(t, "shipshape-dr-ledger-202611230300", rep.Snapshot)
	key := "reports/dr-reports/ledger/2026-11-23T09-00-00Z_" + rep.Run
	assert.Equal(t, []string{key + ".json", key + ".alerted"}, bucket.keys, "keyed by the run; then the record of its alert")
	assert.Equal(t, "s3://reports/dr-reports/ledger/2026-11-23T09-00-00Z_"+rep.Run+".json", rep.Location)
	require.Len(t, notices.Messages(), 1)
	assert.Contains(t, notices.Messages()[0].Body, "incompatible-network")
	assert.Empty(t, f.Instances())
	assert.Empty(t, f.Clusters())
}

// TestAmbiguousSourceExitsWithItsOwnCode: two source accounts each have an orders-db here;
// without -source-account the command restores nothing and exits 4 naming both accounts;
// with it, the chosen account's copy is verified.
func TestAmbiguousSourceExitsWithItsOwnCode(t *testing.T) {
	f, mk := fakeRDS("127.0.0.1", 1)
	f.AddManual("shipshape-dr-orders-db-202611230400-333333333333", "orders-db", time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC),
		map[string]string{dr.TagDR: "true", dr.TagSourceAccount: "333333333333"})
	clock := func(o *dr.VerifyOptions) { o.Clock = f.Clock() }
	args := []string{"-instance", "orders-db", "-class", "db.t4g.medium", "-dsn", "postgres://x@{host}:{port}/db?connect_timeout=1"}
	code, _, stderr := runCLI(mk, clock, args...)
	assert.Equal(t, drcli.ExitAmbiguousSource, code, stderr)
	assert.Contains(t, stderr, "111111111111, 333333333333")
	assert.Contains(t, stderr, "-source-account")
	assert.Zero(t, f.Calls(drtest.OpRestore))

	code, stdout, stderr := runCLI(mk, clock, append(args, "-source-account", "333333333333")...)
	assert.Equal(t, 3, code, "restored and checked (the check fails: no database there); stderr:\n%s", stderr)
	var rep dr.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, "shipshape-dr-orders-db-202611230400-333333333333", rep.Snapshot)
}
