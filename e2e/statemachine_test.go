package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// The state machines of examples/dr-steps and examples/dr-sanitize, executed by
// aws-local-stepfunctions, each Task served by the real Lambda bootstrap in the Runtime
// Interface Emulator, against moto (through the fault-injecting proxy) and PostgreSQL. Every
// path must reach Cleanup and Report, and leave nothing behind.

const stepsFunction = "arn:aws:lambda:us-east-1:222222222222:function:shipshape-dr-steps"

// drWorld is one recovery account set up for a state machine test: DR copies of db, a
// PostgreSQL database the checks and statements reach, a report bucket and an SNS topic.
type drWorld struct {
	ep     testbed.AWSEndpoint
	cfg    aws.Config
	creds  aws.Credentials
	rds    *rds.Client
	s3     *s3.Client
	proxy  *testbed.AWSProxy
	db     string
	bucket string
	topic  string
	pgDSN  string // a template for DR_DSN
	pgURL  string
	key    string
}

func newDRWorld(t *testing.T, regions ...string) *drWorld {
	t.Helper()
	ep := testbed.AWS(t)
	w := &drWorld{ep: ep, db: unique("orders")}
	w.cfg, w.creds = ep.Account(t, recoveryAccount, "shipshape-recovery", ep.Region)
	w.rds = rds.NewFromConfig(w.cfg)
	w.key = customerKey(t, w.cfg)
	recoveryCopies(t, ep, w.rds, w.key, w.db, testbed.DefaultAccount)
	for _, region := range regions {
		cfg, _ := ep.Account(t, recoveryAccount, "shipshape-recovery", region)
		recoveryCopies(t, ep, rds.NewFromConfig(cfg), customerKey(t, cfg), w.db, testbed.DefaultAccount)
	}
	pg := testbed.PostgresServer(t).Database(t, "steps")
	w.pgURL = pg.String()
	conn := pgConn(t, w.pgURL)
	_, err := conn.Exec(context.Background(), `create table customers (id int primary key, email text); insert into customers values (1, 'ann@example.com'), (2, 'bob@example.com')`)
	require.NoError(t, err)
	w.pgDSN = fmt.Sprintf("postgres://%s@{host}:{port}%s?sslmode=disable&host=%s&port=%s", pg.User.Username(), pg.Path, pg.Hostname(), pg.Port())
	w.s3 = s3.NewFromConfig(w.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	w.bucket = unique("e2e-dr-reports")
	_, err = w.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(w.bucket)})
	require.NoError(t, err)
	topic, err := sns.NewFromConfig(w.cfg).CreateTopic(context.Background(), &sns.CreateTopicInput{Name: aws.String(unique("dr-alerts"))})
	require.NoError(t, err)
	w.topic = aws.ToString(topic.TopicArn)
	w.proxy = testbed.NewAWSProxy(t, ep.URL)
	return w
}

// env is the Lambda's environment: the local AWS through the proxy, as the recovery account.
func (w *drWorld) env(extra ...string) []string {
	return append(append(w.ep.WithURL(w.proxy.URL).Env(w.ep.Region, w.creds),
		"DR_SOURCE_INSTANCE="+w.db, "DR_INSTANCE_CLASS=db.t3.micro", "DR_DSN="+w.pgDSN, "DR_TIMEOUT=20s",
		"DR_REPORT_BUCKET="+w.bucket, "DR_SNS_TOPIC_ARN="+w.topic), extra...)
}

// report reads the one report the run wrote to S3.
func (w *drWorld) report(t *testing.T, run string) map[string]any {
	t.Helper()
	objs, err := w.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(w.bucket)})
	require.NoError(t, err)
	var keys []string
	for _, o := range objs.Contents {
		if k := aws.ToString(o.Key); strings.Contains(k, run) && strings.HasSuffix(k, ".json") { // not the record of its alert (.alerted)
			keys = append(keys, k)
		}
	}
	require.Len(t, keys, 1, "one report, keyed by the run")
	out, err := w.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(keys[0])})
	require.NoError(t, err)
	defer out.Body.Close()
	raw, _ := io.ReadAll(out.Body)
	var rep map[string]any
	require.NoError(t, json.Unmarshal(raw, &rep), "%s", raw)
	return rep
}

// leftovers lists the run's temporary instances and snapshots still on moto (their names
// carry the run).
func (w *drWorld) leftovers(t *testing.T, run string) []string {
	t.Helper()
	var left []string
	insts, err := w.rds.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{})
	require.NoError(t, err)
	for _, i := range insts.DBInstances {
		if id := aws.ToString(i.DBInstanceIdentifier); strings.HasPrefix(id, "shipshape-") && strings.Contains(id, run) {
			left = append(left, id)
		}
	}
	for id, s := range drSnapshots(t, w.rds, "shipshape-sanitized-") {
		if tagsOf(s)["shipshape:dr"] == "sanitize-intermediate" && strings.Contains(id, run) {
			left = append(left, id)
		}
	}
	return left
}

// mustReachCleanupThenReport checks the documented path: Cleanup, then Report, every time.
func mustReachCleanupThenReport(t *testing.T, ex testbed.Execution, run string) {
	t.Helper()
	states := ex.Entered(run)
	ci, ri := index(states, "Cleanup"), index(states, "Report")
	require.GreaterOrEqual(t, ci, 0, "Cleanup never ran: %v", states)
	require.Greater(t, ri, ci, "Report must follow Cleanup: %v", states)
}

func index(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func verifyMachine(t *testing.T) testbed.Machines {
	return testbed.Machines{Definitions: map[string]json.RawMessage{
		verifyArn: testbed.Definition(t, "../examples/dr-steps/statemachine.asl.json", map[string]string{"StepsFunctionArn": stepsFunction}),
		fanoutArn: testbed.Definition(t, "../examples/dr-steps/fanout.asl.json", map[string]string{"VerifyStateMachineArn": verifyArn}),
	}}
}

const (
	verifyArn = "arn:aws:states:us-east-1:222222222222:stateMachine:shipshape-dr-verify"
	fanoutArn = "arn:aws:states:us-east-1:222222222222:stateMachine:shipshape-dr-fanout"
)

func TestVerifyStateMachineAgainstMoto(t *testing.T) {
	for _, tc := range []struct {
		name     string
		checks   string
		faults   func(p *testbed.AWSProxy)
		verified bool
		then     func(t *testing.T, w *drWorld, rep map[string]any)
	}{
		{name: "verified", checks: `{"Queries":[{"name":"customers","sql":"select count(*) from customers","want":"2"}]}`, verified: true},
		{name: "a check fails", checks: `{"Queries":[{"name":"customers","sql":"select count(*) from customers","want":"3"}]}`,
			then: func(t *testing.T, w *drWorld, rep map[string]any) {
				assert.Equal(t, 1, w.proxy.Calls("Publish"), "the failure is told to SNS")
			}},
		{name: "the restore is refused", faults: func(p *testbed.AWSProxy) {
			p.Refuse("RestoreDBInstanceFromDBSnapshot", 0, 400, "StorageQuotaExceeded", "The request would exceed the storage quota")
		}},
		{name: "the restore's answer is lost", checks: `{"MinTables":1}`, verified: true, faults: func(p *testbed.AWSProxy) {
			p.LoseAnswer("RestoreDBInstanceFromDBSnapshot", 1)
		}},
		{name: "the instance never becomes available", faults: func(p *testbed.AWSProxy) {
			p.Rewrite("DescribeDBInstances", func(b []byte) []byte {
				return []byte(strings.ReplaceAll(string(b), "<DBInstanceStatus>available</DBInstanceStatus>", "<DBInstanceStatus>creating</DBInstanceStatus>"))
			})
		}},
		{name: "cleanup keeps failing", checks: `{"MinTables":1}`, faults: func(p *testbed.AWSProxy) {
			p.Refuse("DeleteDBInstance", 0, 400, "InvalidDBInstanceState", "injected: the instance is not in a state to be deleted")
		}, then: func(t *testing.T, w *drWorld, rep map[string]any) {
			assert.NotEmpty(t, rep["cleanup"], "the report says what was left and how to delete it")
			w.proxy.Clear("DeleteDBInstance")
			for _, id := range w.leftovers(t, fmt.Sprint(rep["run"])) { // tidy the shared local AWS by hand, as the report says
				_, err := w.rds.DeleteDBInstance(context.Background(), &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id), SkipFinalSnapshot: aws.Bool(true)})
				require.NoError(t, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newDRWorld(t)
			checks := tc.checks
			if checks == "" {
				checks = `{"MinTables":1}`
			}
			fn := testbed.StartLambda(t, "../examples/dr-steps", w.env("DR_CHECKS="+checks)...)
			m := verifyMachine(t)
			m.Lambdas = map[string]*testbed.Lambda{stepsFunction: fn}
			if tc.faults != nil {
				tc.faults(w.proxy)
			}
			run := unique("exec")
			// One region: the template's schedule names it "" (the function's own).
			ex := testbed.RunStateMachine(t, m, verifyArn, run, map[string]any{"region": ""})
			mustReachCleanupThenReport(t, ex, run)
			rep := w.report(t, run)
			if tc.verified {
				assert.Equal(t, "SUCCEEDED", ex.Status, "%v\n%s", ex.Entered(run), fn.Logs())
				assert.Equal(t, true, rep["ok"])
				assert.Zero(t, w.proxy.Calls("Publish"))
			} else {
				assert.Equal(t, "FAILED", ex.Status, "NotVerified: %v", ex.Entered(run))
				assert.Equal(t, false, rep["ok"])
			}
			if tc.then != nil {
				tc.then(t, w, rep)
			}
			assert.Empty(t, w.leftovers(t, run), "nothing left behind")
		})
	}
}

func TestVerifyFanoutRunsOneExecutionPerRegion(t *testing.T) {
	w := newDRWorld(t, "eu-west-1")
	fn := testbed.StartLambda(t, "../examples/dr-steps", w.env("DR_CHECKS={\"MinTables\":1}",
		fmt.Sprintf(`DR_REGIONS={%q: {}, "eu-west-1": {}}`, w.ep.Region))...)
	m := verifyMachine(t)
	m.Lambdas = map[string]*testbed.Lambda{stepsFunction: fn}
	run := unique("fanout")
	ex := testbed.RunStateMachine(t, m, fanoutArn, run, map[string]any{"regions": []string{w.ep.Region, "eu-west-1"}})
	require.Equal(t, "SUCCEEDED", ex.Status, "%+v\n%s", ex, fn.Logs())
	children := map[string]string{}
	for _, ev := range ex.Events {
		if ev.Type == "ChildExecution" {
			children[ev.Execution] = ev.Status
		}
	}
	assert.Len(t, children, 2, "one verification per region: %+v", children)
	for child, status := range children {
		assert.Equal(t, "SUCCEEDED", status, child)
	}
}

const (
	sanitizeFunction = "arn:aws:lambda:us-east-1:222222222222:function:shipshape-dr-sanitize"
	sanitizeArn      = "arn:aws:states:us-east-1:222222222222:stateMachine:shipshape-dr-sanitize"
)

func TestSanitizeStateMachineAgainstMoto(t *testing.T) {
	for _, tc := range []struct {
		name       string
		statements string
		faults     func(p *testbed.AWSProxy)
		sanitized  bool
		emails     []string // what the statements leave in PostgreSQL
	}{
		{name: "every statement, each its own step, then snapshot, re-encrypt, share",
			statements: `["update customers set email = 'user' || id || '@example.invalid'", "delete from customers where id = 2"]`,
			sanitized:  true, emails: []string{"user1@example.invalid"}},
		{name: "a failing statement: nothing is snapshotted or shared",
			statements: `["update customers set email = 'x'", "update no_such_table set a = 1"]`,
			emails:     []string{"x", "x"}},
		{name: "a failed share: the sanitized snapshot is not left billed behind",
			statements: `["update customers set email = 'y'"]`,
			faults: func(p *testbed.AWSProxy) {
				p.Refuse("ModifyDBSnapshotAttribute", 0, 400, "InvalidParameterValue", "injected: the account can't be shared with")
			},
			emails: []string{"y", "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newDRWorld(t)
			devKey := customerKey(t, w.cfg)
			fn := testbed.StartLambda(t, "../examples/dr-sanitize", w.env("DR_STATEMENTS="+tc.statements, "DR_TARGET_KMS_KEY_ID="+devKey,
				"DR_SHARE_WITH=333333333333")...)
			m := testbed.Machines{Definitions: map[string]json.RawMessage{
				sanitizeArn: testbed.Definition(t, "../examples/dr-sanitize/statemachine.asl.json", map[string]string{"SanitizeFunctionArn": sanitizeFunction}),
			}, Lambdas: map[string]*testbed.Lambda{sanitizeFunction: fn}}
			if tc.faults != nil {
				tc.faults(w.proxy)
			}
			run := unique("sanitize")
			ex := testbed.RunStateMachine(t, m, sanitizeArn, run, map[string]any{"region": ""})
			mustReachCleanupThenReport(t, ex, run)
			rep := w.report(t, run)

			var emails []string
			rows, err := pgConn(t, w.pgURL).Query(context.Background(), "select email from customers order by id")
			require.NoError(t, err)
			for rows.Next() {
				var e string
				require.NoError(t, rows.Scan(&e))
				emails = append(emails, e)
			}
			assert.Equal(t, tc.emails, emails, "the statements that ran, and only they")

			shared := map[string]bool{}
			for id, s := range drSnapshots(t, w.rds, "shipshape-sanitized-"+w.db) {
				if tagsOf(s)["shipshape:dr"] != "sanitized" {
					continue
				}
				attrs, err := w.rds.DescribeDBSnapshotAttributes(context.Background(), &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: aws.String(id)})
				require.NoError(t, err)
				shared[id] = len(attrs.DBSnapshotAttributesResult.DBSnapshotAttributes) > 0 && len(attrs.DBSnapshotAttributesResult.DBSnapshotAttributes[0].AttributeValues) > 0
			}
			if tc.sanitized {
				assert.Equal(t, "SUCCEEDED", ex.Status, "%v\n%s", ex.Entered(run), fn.Logs())
				assert.Equal(t, true, rep["ok"])
				require.Len(t, shared, 1, "one sanitized snapshot")
				for id, ok := range shared {
					assert.True(t, ok, "%s is shared", id)
				}
				assert.Equal(t, 2, count(ex.Entered(run), "Statement"), "each statement its own step")
			} else {
				assert.Equal(t, "FAILED", ex.Status, "%v", ex.Entered(run))
				assert.Equal(t, false, rep["ok"])
				assert.Empty(t, shared, "no sanitized snapshot left, shared or not: %v\n%s", shared, fn.Logs())
			}
			assert.Empty(t, w.leftovers(t, run), "nothing temporary left behind")
		})
	}
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}
