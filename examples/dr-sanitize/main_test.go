package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
	"github.com/shipshape-dev/shipshape/examples/internal/drcli"
	"github.com/shipshape-dev/shipshape/examples/internal/drstep"
	"github.com/shipshape-dev/shipshape/examples/internal/drsteptest"
	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// devKey is a key the development accounts may use, in the shape -kms-key checks.
const devKey = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func bed(host string, port int32) (*drtest.RDS, drcli.NewClients) {
	f := drtest.New(nil)
	at := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", at, map[string]string{dr.TagDR: "true"})
	f.SetKMSKey("shipshape-dr-orders-db-202611230300", "arn:aws:kms:us-east-1:111111111111:key/prod")
	f.AddManualCluster("shipshape-dr-ledger-202611230300", "ledger", at, map[string]string{dr.TagDR: "true"})
	f.SetKMSKey("cluster/shipshape-dr-ledger-202611230300", "arn:aws:kms:us-east-1:111111111111:key/prod")
	f.Endpoint = func(string) (string, int32) { return host, port }
	return f, func(context.Context) (drcli.Clients, error) { return drcli.Clients{RDS: f}, nil }
}

func runCLI(mk drcli.NewClients, f *drtest.RDS, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, mk, func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	ok := []string{"-instance", "orders-db", "-class", "db.t4g.medium", "-dsn", "postgres://{host}:{port}/db", "-statement", "SELECT 1"}
	with := func(extra ...string) []string { return append(append([]string(nil), ok...), extra...) }
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{}, Flag: "-instance"},
		{Args: with("-cluster", "ledger"), Flag: "-cluster"},
		{Args: with("-cluster-snapshot"), Flag: "-cluster-snapshot"},
		{Args: []string{"-instance", "x", "-dsn", "{host}", "-statement", "x"}, Flag: "-class"},
		{Args: []string{"-instance", "x", "-class", "db.t4g.medium", "-dsn", "{host}"}, Flag: "-statement"},
		{Args: with("-statements-file", "/nonexistent.json"), Flag: "-statements-file"},
		{Args: []string{"-instance", "x", "-class", "db.t4g.medium", "-statement", "x"}, Flag: "-dsn"},
		{Args: with("-timeout", "0s"), Flag: "-timeout"},
		{Args: with("-poll", "-1s"), Flag: "-poll"},
		{Args: with("-share-with", "12345"), Flag: "12345"},
		{Args: with("-snapshot-id", "bad--id"), Flag: "bad--id"},
		{Args: with("-secret-arn", "prod/db"), Flag: "-secret-arn"},
		{Args: []string{"-instance", "x", "-class", "db.t4g.medium", "-dsn", "postgres://{user}@{host}/db", "-statement", "x"}, Flag: "-secret-arn"},
		{Args: with("-report-prefix", "x"), Flag: "-report-bucket"},
		{Args: with("-report-bucket", "dr reports"), Flag: "-report-bucket"},
		{Args: with("-kms-key", "dev-shared"), Flag: "-kms-key"},
		{Args: with("-kms-key", "arn:aws:kms:us-east-1:111111111111:key/dev shared"), Flag: "-kms-key"},
		{Args: []string{"-instance", "orders_db", "-class", "db.t4g.medium", "-dsn", "postgres://{host}/db", "-statement", "x"}, Flag: "-instance"},
		{Args: with("-sns-topic", "alerts"), Flag: "-sns-topic"},
		// Found before the restore, not after the whole run.
		{Args: with("-report", "/nonexistent-dir/report.json"), Flag: "-report"},
		{Args: with("-report", os.TempDir()), Flag: "-report"},
		{Args: with("-poll", "1ns"), Flag: "-poll"},
		// Only names the sanitizing function may touch (its IAM grant is by name).
		{Args: with("-snapshot-id", "payroll-drill"), Flag: "-snapshot-id"},
		{Args: with("-keep", "0"), Flag: "-keep"},
		{Args: with("-kms-key", "alias/aws/rds", "-share-with", "444444444444"), Flag: "-kms-key"},
		{Args: with("-snapshot-id", "shipshape-dr-orders-db-202611230300"), Flag: "-snapshot-id"},
		// RDS stores identifiers in lower case: upper case would name what RDS, the IAM policy
		// and the comparisons with RDS's answers call otherwise.
		{Args: with("-snapshot-id", "shipshape-sanitized-Orders"), Flag: "-snapshot-id"},
		{Args: with("-snapshot-id", "shipshape-DR-orders-db-202611230300"), Flag: "-snapshot-id"},
		{Args: []string{"-instance", "Orders-db", "-class", "db.t4g.medium", "-dsn", "postgres://{host}/db", "-statement", "x"}, Flag: "-instance"},
		{Args: []string{"-snapshot", "shipshape-DR-orders-db-202611230300", "-class", "db.t4g.medium", "-dsn", "postgres://{host}/db", "-statement", "x"}, Flag: "-snapshot"},
		{Args: with("-source-account", "11111111111"), Flag: "-source-account"},
		{Args: with("-source-account", "arn:aws:iam::111111111111:root"), Flag: "-source-account"},
		{Args: []string{"-snapshot", "orders-db-1", "-class", "db.t4g.medium", "-dsn", "{host}", "-statement", "x", "-source-account", "111111111111"}, Flag: "-source-account"},
		{Args: with("-security-groups", "sg-1,,sg 2"), Flag: "-security-groups"},
		{Args: with("-subnet-group", "bad group!"), Flag: "-subnet-group"},
		{Args: with("extra"), Flag: "extra"},
		{Args: []string{"-nope"}, Flag: "-nope"},
	}, func(args []string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut, drcli.FromEnvironment, nil)
		return code, errOut.String()
	})
	var errOut bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"-h"}, &bytes.Buffer{}, &errOut, drcli.FromEnvironment, nil))
	assert.Contains(t, errOut.String(), "Exit codes: 0 sanitized, 3 a sanitizing statement failed")
}

func pg(t *testing.T) (host string, port int32, dsn string) {
	pg := testbed.PostgresServer(t)
	u := pg.Database(t, "sanitize")
	db, err := sql.Open("pgx", u.String())
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE customers (id serial PRIMARY KEY, email text); INSERT INTO customers (email) VALUES ('ada@real.example'), ('alan@real.example')`)
	require.NoError(t, err)
	u.Host = "HOSTPORT"
	return pg.Host, pg.Port, strings.Replace(u.String(), "HOSTPORT", "{host}:{port}", 1)
}

func TestIntegrationSanitizeCLI(t *testing.T) {
	host, port, dsn := pg(t)
	f, mk := bed(host, port)
	stmts := filepath.Join(t.TempDir(), "stmts.json")
	require.NoError(t, os.WriteFile(stmts, []byte(`["UPDATE customers SET email = 'user' || id || '@example.com'"]`), 0o600))
	code, stdout, stderr := runCLI(mk, f, "-instance", "orders-db", "-class", "db.t4g.medium", "-dsn", dsn, "-statements-file", stmts,
		"-kms-key", devKey, "-share-with", "444444444444")
	require.Equal(t, 0, code, stderr)
	var rep dr.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, "shipshape-sanitized-orders-db-202611230300", rep.Result)
	assert.Equal(t, []string{"444444444444"}, f.SharedWith(rep.Result))
	assert.Equal(t, devKey, f.KMSKey(rep.Result))
	assert.NotContains(t, f.IDs(), rep.Result+"-raw")
	assert.Empty(t, f.Instances())

	code, _, stderr = runCLI(mk, f, "-cluster", "ledger", "-class", "db.r6g.large", "-dsn", dsn, "-statement", "UPDATE nowhere SET x = 1", "-kms-key", devKey)
	assert.Equal(t, 3, code, stderr)
	assert.Contains(t, stderr, "statement 1")
	assert.Empty(t, f.Clusters(), "cleaned up")
	assert.NotContains(t, f.ClusterIDs(), "shipshape-sanitized-ledger-202611230300", "nothing snapshotted")
}

// TestUnreachableDatabaseIsAnError: exit 1, not 3 (no statement ran), and cleanup ran.
func TestUnreachableDatabaseIsAnError(t *testing.T) {
	f, mk := bed("127.0.0.1", 1)
	code, _, stderr := runCLI(mk, f, "-instance", "orders-db", "-class", "db.t4g.medium", "-dsn", "postgres://x@{host}:{port}/db?connect_timeout=1", "-statement", "SELECT 1")
	assert.Equal(t, 1, code, stderr)
	assert.Empty(t, f.Instances())
}

type state struct {
	Type     string `json:"Type"`
	Next     string `json:"Next"`
	Default  string `json:"Default"`
	Resource string `json:"Resource"`
	Catch    []struct {
		ErrorEquals []string
		ResultPath  string
		Next        string
	} `json:"Catch"`
	Choices []struct {
		Variable, Next string
		And            []struct {
			Variable  string
			IsPresent *bool
		}
	} `json:"Choices"`
	Parameters map[string]any `json:"Parameters"`
}

// TestStateMachineEveryPathReachesCleanup: every task before Cleanup catches States.ALL into
// it; the statement loop ends only on $.done; each task gets the execution name.
func TestStateMachineEveryPathReachesCleanup(t *testing.T) {
	raw, err := os.ReadFile("statemachine.asl.json")
	require.NoError(t, err)
	var m struct {
		StartAt string           `json:"StartAt"`
		States  map[string]state `json:"States"`
	}
	require.NoError(t, json.Unmarshal(raw, &m))
	after := map[string]bool{"Cleanup": true, "Report": true, "Outcome": true, "Sanitized": true, "NotSanitized": true}
	seen := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		s, ok := m.States[name]
		require.True(t, ok, "missing state %s", name)
		if s.Type == "Task" && !after[name] {
			require.Len(t, s.Catch, 1, name)
			assert.Equal(t, []string{"States.ALL"}, s.Catch[0].ErrorEquals, name)
			assert.Equal(t, "Cleanup", s.Catch[0].Next, name)
		}
		if s.Type == "Task" {
			assert.Equal(t, "$$.Execution.Name", s.Parameters["run.$"], name)
		}
		for _, n := range []string{s.Next, s.Default} {
			if n != "" {
				walk(n)
			}
		}
		for _, c := range s.Catch {
			walk(c.Next)
		}
		for _, c := range s.Choices {
			walk(c.Next)
		}
	}
	walk(m.StartAt)
	assert.Len(t, seen, len(m.States), "every state is reachable")
	loop := m.States["MoreStatements"]
	assert.Equal(t, "Statement", loop.Default)
	// A Choice on a path that is not there fails the execution with States.Runtime (before
	// Cleanup can run): the rule asks IsPresent first.
	require.Len(t, loop.Choices[0].And, 2)
	assert.Equal(t, "$.done", loop.Choices[0].And[0].Variable)
	assert.True(t, *loop.Choices[0].And[0].IsPresent)
	assert.Equal(t, "Snapshot", loop.Choices[0].Next)
	assert.Equal(t, "Report", m.States["Cleanup"].Next)
	// A cleanup that still fails after its retries is reported too (not OK), its error in a
	// field of its own: the state, and an earlier step's $.error, stay as they were.
	require.Len(t, m.States["Cleanup"].Catch, 1)
	assert.Equal(t, []string{"States.ALL"}, m.States["Cleanup"].Catch[0].ErrorEquals)
	assert.Equal(t, "$.cleanupError", m.States["Cleanup"].Catch[0].ResultPath)
	assert.Equal(t, "Report", m.States["Cleanup"].Catch[0].Next)
}

// TestRestoreTimeoutFitsTheWait: Ready retries NotReady for longer than the longest
// DR_TIMEOUT the Lambda accepts (drstep.MaxTimeout), so that the Lambda's TimedOut ends the
// wait, not the retry count; a longer DR_TIMEOUT is refused when the Lambda starts; and the
// template's RestoreTimeout allows only what the Lambda accepts.
func TestRestoreTimeoutFitsTheWait(t *testing.T) {
	settings := func(timeout string) error {
		env := map[string]string{"DR_SOURCE_INSTANCE": "orders-db", "DR_INSTANCE_CLASS": "db.t4g.medium", "DR_DSN": "postgres://{host}/db",
			"DR_STATEMENTS": `["SELECT 1"]`, "DR_TIMEOUT": timeout}
		_, err := drstep.Settings(drstep.SanitizeSettingsFromEnv, func(k string) string { return env[k] })
		return err
	}
	require.NoError(t, drsteptest.CheckTimeouts("statemachine.asl.json", "template.yaml", settings))
	assert.Error(t, drsteptest.CheckTimeouts("statemachine.asl.json", "template.yaml", func(string) error { return nil }),
		"a Lambda that took any DR_TIMEOUT would be caught")
}

// TestIntegrationStepsThroughTheHandler drives the Lambda as the state machine does, on an
// Aurora cluster: every statement a step, then snapshot, re-encrypt, share, cleanup, report.
func TestIntegrationStepsThroughTheHandler(t *testing.T) {
	host, port, dsn := pg(t)
	f, _ := bed(host, port)
	env := map[string]string{"DR_SOURCE_CLUSTER": "ledger", "DR_INSTANCE_CLASS": "db.r6g.large", "DR_DSN": dsn,
		"DR_STATEMENTS":        `["UPDATE customers SET email = 'user' || id || '@example.com'", "DELETE FROM customers WHERE id > 1"]`,
		"DR_TARGET_KMS_KEY_ID": devKey, "DR_SHARE_WITH": "444444444444"}
	s, err := drstep.SanitizeSettingsFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	r, err := restore.NewStepRunner(s, restore.StepClients{RDS: func(string) restore.SanitizerAPI { return f }}, true, func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	h := drstep.Handler(r)
	ctx := context.Background()
	st, err := h(ctx, restore.StepRequest{Step: "start", Run: "weekly-1"})
	require.NoError(t, err)
	wait := func(step string) {
		for range 100 {
			next, err := h(ctx, restore.StepRequest{Step: step, Run: "weekly-1", State: st})
			if err == nil {
				st = next
				return
			}
			require.Contains(t, err.Error(), "not ready", step)
			f.Clock().Advance(time.Minute)
		}
		t.Fatalf("%s never ready", step)
	}
	wait("ready")
	for !st.Done {
		st, err = h(ctx, restore.StepRequest{Step: "statement", Run: "weekly-1", State: st})
		require.NoError(t, err)
	}
	for _, step := range []string{"snapshot", "snapshot-ready", "reencrypt", "reencrypt-ready", "share", "cleanup", "report"} {
		wait(step)
	}
	assert.True(t, st.Report.OK, string(st.Report.JSON()))
	assert.Equal(t, []string{"444444444444"}, f.SharedWith("cluster/shipshape-sanitized-ledger-202611230300"))
	assert.Empty(t, f.Clusters())
	assert.Empty(t, f.Instances())
	assert.Equal(t, []string{"shipshape-dr-ledger-202611230300", "shipshape-sanitized-ledger-202611230300"}, f.ClusterIDs(), "the intermediate is gone")
}

// TestTemplatesGrantKMSNarrowly: in every dr template, kms:CreateGrant is allowed only for
// grants to AWS resources (RDS), and the sanitize template names its keys and its secret.
func TestTemplatesGrantKMSNarrowly(t *testing.T) {
	files, err := filepath.Glob("../dr-*/template.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 4)
	for _, file := range files {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		lines := strings.Split(string(raw), "\n")
		for i, l := range lines {
			if !strings.Contains(l, "kms:CreateGrant") {
				continue
			}
			block := strings.Join(lines[i:min(i+8, len(lines))], "\n")
			assert.Contains(t, block, `kms:GrantIsForAWSResource: "true"`, "%s:%d", file, i+1)
			assert.NotContains(t, block, `Resource: "*"`, "%s:%d", file, i+1)
		}
	}
	raw, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	tmpl := string(raw)
	assert.Contains(t, tmpl, "Resource: !Ref DbSecretArn", "GetSecretValue on that one secret only")
	assert.Contains(t, tmpl, "NoEcho: true")
	assert.Contains(t, tmpl, "aws:ResourceTag/shipshape:dr: [sanitize-intermediate, sanitized]", "only its intermediate and sanitized snapshots may be deleted")
}

// TestAmbiguousSourceExitsWithItsOwnCode: two source accounts each have an orders-db here;
// without -source-account nothing is restored and the command exits 4 naming both accounts.
func TestAmbiguousSourceExitsWithItsOwnCode(t *testing.T) {
	f, mk := bed("127.0.0.1", 1)
	f.AddManual("shipshape-dr-orders-db-202611230400-333333333333", "orders-db", time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC),
		map[string]string{dr.TagDR: "true", dr.TagSourceAccount: "333333333333"})
	code, _, stderr := runCLI(mk, f, "-instance", "orders-db", "-class", "db.t4g.medium", "-dsn", "postgres://x@{host}:{port}/db?connect_timeout=1",
		"-statement", "UPDATE customers SET email = 'x'")
	assert.Equal(t, drcli.ExitAmbiguousSource, code, stderr)
	assert.Contains(t, stderr, "111111111111, 333333333333")
	assert.Zero(t, f.Calls(drtest.OpRestore))
}
