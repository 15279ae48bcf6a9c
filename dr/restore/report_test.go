package restore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

const topic = "arn:aws:sns:us-east-1:111111111111:dr-alerts"

func failedReport() dr.Report {
	return dr.Report{Database: "orders-db", Kind: "instance", Region: "eu-west-1", Snapshot: "shipshape-dr-orders-db-202611230300", Instance: "shipshape-verify-x", Run: "x",
		Started: created, Finished: created.Add(30 * time.Minute), Cleanup: "deleted shipshape-verify-x",
		Steps: []dr.StepResult{{Name: "restore", OK: true}, {Name: "wait", OK: true}, {Name: "rows orders", Detail: "5 rows (want at least 10)"}}}
}

// TestIntegrationReportToS3: the report lands in the test bed's real S3 server under
// prefix/region/database/started.json; a failed one is announced through the SNS wire fake.
func TestIntegrationReportToS3(t *testing.T) {
	s3c := testbed.S3Client(t)
	bucket := fmt.Sprintf("dr-reports-%d", time.Now().UnixNano())
	_, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	notices := drtest.NewSNS(topic)
	srv := drtest.NewSNSWireServer(notices)
	t.Cleanup(srv.Close)
	r, err := restore.NewReporter(func(o *restore.ReporterOptions) {
		o.S3, o.Bucket, o.Prefix = s3c, bucket, "/verify/"
		o.SNS, o.TopicARN = srv.Client(), topic
	})
	require.NoError(t, err)
	rep := failedReport()
	loc, err := r.Deliver(context.Background(), rep)
	require.NoError(t, err)
	assert.Equal(t, "s3://"+bucket+"/verify/eu-west-1/orders-db/2026-11-23T03-00-00Z_x.json", loc)
	obj, err := s3c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("verify/eu-west-1/orders-db/2026-11-23T03-00-00Z_x.json")})
	require.NoError(t, err)
	body, err := io.ReadAll(obj.Body)
	require.NoError(t, err)
	var back dr.Report
	require.NoError(t, json.Unmarshal(body, &back))
	assert.Equal(t, loc, back.Location)
	assert.Equal(t, rep.Steps, back.Steps)

	msgs := notices.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "shipshape dr: verification of orders-db FAILED in eu-west-1", msgs[0].Subject)
	assert.Contains(t, msgs[0].Body, "Failed step: rows orders: 5 rows (want at least 10)")
	assert.Contains(t, msgs[0].Body, "Report: "+loc)
	assert.Contains(t, msgs[0].Body, "Snapshot: shipshape-dr-orders-db-202611230300")

	rep.Steps[2].OK = true
	rep.OK = true
	rep.Run = "y"
	_, err = r.Deliver(context.Background(), rep)
	require.NoError(t, err)
	assert.Len(t, notices.Messages(), 1, "a passing report notifies nobody")
}

// failingS3 refuses every upload.
type failingS3 struct{}

func (failingS3) PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return nil, drtest.APIError("AccessDenied", "Access Denied")
}

// GetObject finds nothing: every put here is of a new key.
func (failingS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, &s3types.NoSuchKey{}
}

func TestReportNoticeWhenTheUploadFails(t *testing.T) {
	notices := drtest.NewSNS(topic)
	srv := drtest.NewSNSWireServer(notices)
	t.Cleanup(srv.Close)
	r, err := restore.NewReporter(func(o *restore.ReporterOptions) {
		o.S3, o.Bucket, o.SNS, o.TopicARN = failingS3{}, "reports", srv.Client(), topic
	})
	require.NoError(t, err)
	loc, err := r.Deliver(context.Background(), failedReport())
	require.ErrorContains(t, err, "dr: writing the report to s3://reports/eu-west-1/orders-db/")
	assert.Empty(t, loc)
	msgs := notices.Messages()
	require.Len(t, msgs, 1, "the failure is still announced")
	assert.Contains(t, msgs[0].Body, "Report: not uploaded (writing the report to s3://reports/")

	r, err = restore.NewReporter(func(o *restore.ReporterOptions) {
		o.SNS, o.TopicARN = srv.Client(), "arn:aws:sns:us-east-1:111111111111:gone"
	})
	require.NoError(t, err)
	_, err = r.Deliver(context.Background(), failedReport())
	require.ErrorContains(t, err, "NotFound", "the SNS error code as the real client reads it")

	for _, bad := range []func(*restore.ReporterOptions){
		func(o *restore.ReporterOptions) { o.Bucket = "reports" },
		func(o *restore.ReporterOptions) { o.S3, o.Bucket = failingS3{}, "s3://reports" },
		func(o *restore.ReporterOptions) { o.Prefix = "x" },
		func(o *restore.ReporterOptions) { o.SNS, o.TopicARN = notices, "dr-alerts" },
		func(o *restore.ReporterOptions) { o.TopicARN = topic },
	} {
		_, err := restore.NewReporter(bad)
		require.ErrorIs(t, err, dr.ErrInvalidInput)
	}
	long := failedReport()
	long.Database = strings.Repeat("d", 120)
	subject, _ := restore.Notice(long, "", nil)
	assert.LessOrEqual(t, len(subject), 100, "SNS refuses longer subjects")
}

// TestIntegrationSecretCredentials: the checks connect as a user whose password is only in a
// Secrets Manager secret, read through the real client from the secretsenvtest wire server.
func TestIntegrationSecretCredentials(t *testing.T) {
	host, port, dsn := seeded(t)
	admin, err := sql.Open("pgx", dsn(host, port))
	require.NoError(t, err)
	defer admin.Close()
	role := fmt.Sprintf("verify_%d", time.Now().UnixNano())
	password := "p@ss:w/rd %?&" // every character a URL must escape
	_, err = admin.Exec(fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, role, password))
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = admin.Exec("DROP OWNED BY " + role + "; DROP ROLE IF EXISTS " + role) })
	_, err = admin.Exec("GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role)
	require.NoError(t, err)

	sm := secretsenvtest.NewSecretsManager()
	sm.PutString("rds!db-orders", fmt.Sprintf(`{"username": %q, "password": %q}`, role, password))
	arn := sm.ARN("rds!db-orders")
	srv := secretsenvtest.NewWireServer(sm)
	t.Cleanup(srv.Close)
	client := secretsmanager.New(secretsmanager.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})

	f := verifyBed(t, host, port)
	withCreds := func(host string, port int32) string {
		return strings.Replace(dsn(host, port), "postgres@", "{user}:{password}@", 1)
	}
	v, err := restore.NewVerifier(f, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"},
		dr.Database{Driver: "pgx", DSN: withCreds, Credentials: restore.SecretCredentials(client, arn)},
		func(o *dr.VerifyOptions) {
			o.Clock = f.Clock()
			o.Checks = dr.Checks{MinRows: map[string]int64{"orders": 5}, Queries: []dr.QueryCheck{{Name: "connected as", SQL: "SELECT current_user", Want: role}}}
		})
	require.NoError(t, err)
	rep, err := v.Verify(context.Background())
	require.NoError(t, err)
	assert.True(t, rep.OK, string(rep.JSON()))
	// The test bed trusts local connections, so this proves the user comes from the secret
	// and that the DSN survives the password's characters (URL-escaped), not the password.
	assert.NotContains(t, string(rep.JSON()), password, "the password is never reported")

	sm.PutString("not-json", "hunter2")
	_, _, err = restore.SecretCredentials(client, sm.ARN("not-json"))(context.Background())
	require.ErrorIs(t, err, dr.ErrInvalidInput)
	assert.NotContains(t, err.Error(), "hunter2")
}

// reportS3 is the S3 a reports test runs against: the fake itself, the fake behind its
// wire server through a real SDK client (whose retryer resends a put whose answer was lost),
// or, for the integration run, the test bed's real S3 server (Versity).
type reportS3 struct {
	name   string
	client restore.S3API
	bucket string
	get    func(key string) []byte
	// lose makes the next put's answer get lost after the object was stored (nil: the
	// server can't be made to).
	lose func()
}

func reportBackends(t *testing.T) []reportS3 {
	fake := drtest.NewS3("dr-reports")
	wireFake := drtest.NewS3("dr-reports")
	srv := drtest.NewS3WireServer(wireFake)
	t.Cleanup(srv.Close)
	return []reportS3{
		{name: "fake", client: fake, bucket: "dr-reports", get: func(k string) []byte { return fake.Object("dr-reports", k) },
			lose: func() { fake.LoseAnswers(drtest.OpPutObject, 1) }},
		{name: "wire", client: srv.Client(), bucket: "dr-reports", get: func(k string) []byte { return wireFake.Object("dr-reports", k) },
			lose: func() { wireFake.LoseAnswers(drtest.OpPutObject, 1) }},
	}
}

// versityReports is the test bed's S3 server (Versity S3 Gateway) as a reports backend.
func versityReports(t *testing.T) reportS3 {
	s3c := testbed.S3Client(t)
	bucket := fmt.Sprintf("dr-reports-%d", time.Now().UnixNano())
	_, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	return reportS3{name: "versity", client: s3c, bucket: bucket, get: func(k string) []byte {
		obj, err := s3c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			return nil
		}
		defer obj.Body.Close()
		b, _ := io.ReadAll(obj.Body)
		return b
	}}
}

func reporterOn(t *testing.T, b reportS3) *restore.Reporter {
	r, err := restore.NewReporter(func(o *restore.ReporterOptions) { o.S3, o.Bucket, o.Prefix = b.client, b.bucket, "verify" })
	require.NoError(t, err)
	return r
}

// TestReportsOfTwoRunsInTheSameSecondAreBothKept: two runs of one database that start in the
// same second (a retried schedule, two regions' executions under one prefix) write two
// reports; neither overwrites the other (the key names the run), on the fake, through the
// real SDK client on the wire server, and on Versity.
func TestReportsOfTwoRunsInTheSameSecondAreBothKept(t *testing.T) {
	for _, b := range reportBackends(t) {
		t.Run(b.name, func(t *testing.T) { checkBothKept(t, b) })
	}
}

func checkBothKept(t *testing.T, b reportS3) {
	r := reporterOn(t, b)
	failed, passed := failedReport(), failedReport()
	failed.Run, passed.Run = "exec-a", "exec-b"
	passed.OK, passed.Steps = true, passed.Steps[:2]
	locA, err := r.Deliver(context.Background(), failed)
	require.NoError(t, err)
	locB, err := r.Deliver(context.Background(), passed)
	require.NoError(t, err)
	assert.NotEqual(t, locA, locB)
	for loc, run := range map[string]string{locA: "exec-a", locB: "exec-b"} {
		var back dr.Report
		require.NoError(t, json.Unmarshal(b.get(strings.TrimPrefix(loc, "s3://"+b.bucket+"/")), &back), loc)
		assert.Equal(t, run, back.Run, "the report under %s is its run's", loc)
	}
	noRun := failedReport()
	noRun.Run = ""
	_, err = r.Deliver(context.Background(), noRun)
	require.ErrorIs(t, err, dr.ErrInvalidInput, "a report without a run has no key of its own")
}

// TestReportWrittenOnceAfterALostAnswer: S3 stored the report, then the answer was lost.
// The SDK's retry (wire), or the step delivered again (fake), finds the key taken (412): the
// object there is this very report, so the delivery succeeds and names its location.
func TestReportWrittenOnceAfterALostAnswer(t *testing.T) {
	for _, b := range reportBackends(t) {
		if b.lose == nil {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			r := reporterOn(t, b)
			rep := failedReport()
			b.lose()
			loc, err := r.Deliver(context.Background(), rep)
			if b.name == "fake" { // no retryer in front of the fake: the step is run again
				require.Error(t, err)
				loc, err = r.Deliver(context.Background(), rep)
			}
			require.NoError(t, err)
			assert.Equal(t, "s3://dr-reports/verify/eu-west-1/orders-db/2026-11-23T03-00-00Z_x.json", loc)
		})
	}
}

// TestReportNeverOverwritesAnotherReport: a key that holds another report (a reused run id)
// is never overwritten: the put is conditional (If-None-Match: *), and the 412 with other
// content is an error naming the key. (Versity 1.8.0 honours If-None-Match: * on PutObject
// and answers 412 PreconditionFailed as S3 does: TestIntegrationVersityReportsKeyedByRun.)
func TestReportNeverOverwritesAnotherReport(t *testing.T) {
	for _, b := range reportBackends(t) {
		t.Run(b.name, func(t *testing.T) { checkNeverOverwrites(t, b) })
	}
}

func checkNeverOverwrites(t *testing.T, b reportS3) {
	r := reporterOn(t, b)
	first := failedReport()
	loc, err := r.Deliver(context.Background(), first)
	require.NoError(t, err)
	key := strings.TrimPrefix(loc, "s3://"+b.bucket+"/")
	before := b.get(key)
	second := failedReport()
	second.Steps = second.Steps[:1] // same run, other content
	_, err = r.Deliver(context.Background(), second)
	var exists *restore.ReportExistsError
	require.ErrorAs(t, err, &exists)
	require.ErrorIs(t, err, restore.ErrReportExists)
	assert.Equal(t, loc, exists.Location)
	assert.Contains(t, err.Error(), key, "the error names the key")
	assert.Equal(t, before, b.get(key), "the first report is still there")
}

// TestIntegrationVersityReportsKeyedByRun: the report rules on the test bed's real S3 server
// (Versity S3 Gateway 1.8.0): two runs of one second keep two reports; Versity honours
// If-None-Match: * on PutObject (412 PreconditionFailed when the key exists), so another
// report under a taken key is refused and the first kept; and a report put again with the
// same content (a step retried after its answer was lost) succeeds.
func TestIntegrationVersityReportsKeyedByRun(t *testing.T) {
	b := versityReports(t)
	checkBothKept(t, b)
	checkNeverOverwrites(t, b)
	r := reporterOn(t, b)
	rep := failedReport()
	rep.Run = "exec-again"
	loc, err := r.Deliver(context.Background(), rep)
	require.NoError(t, err)
	again, err := r.Deliver(context.Background(), rep)
	require.NoError(t, err, "the same report delivered twice (a step retried after its answer was lost)")
	assert.Equal(t, loc, again)
}

// TestReportPutIsConditional: every report put carries If-None-Match: *.
func TestReportPutIsConditional(t *testing.T) {
	fake := drtest.NewS3("dr-reports")
	r, err := restore.NewReporter(func(o *restore.ReporterOptions) { o.S3, o.Bucket = fake, "dr-reports" })
	require.NoError(t, err)
	_, err = r.Deliver(context.Background(), failedReport())
	require.NoError(t, err)
	ins := fakeapi.Inputs[*s3.PutObjectInput](fake, drtest.OpPutObject)
	require.Len(t, ins, 1)
	assert.Equal(t, "*", aws.ToString(ins[0].IfNoneMatch))
}

// reportKeys are the reports among keys (not the records of their alerts).
func reportKeys(keys []string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasSuffix(k, ".json") {
			out = append(out, k)
		}
	}
	return out
}

// TestAFailedReportIsAlertedOncePerRun: the report of a failed run delivered again (the step
// retried after its answer was lost) finds its own report and the record of its alert
// (<key>.alerted), and publishes nothing more; an alert whose publish failed is published by
// the next delivery; a record that can't be read (S3 answers 403 for a missing key to a role
// without s3:ListBucket) or written costs a second alert, never the alert. On the fake,
// through the real SDK client on the wire server, and on Versity
// (TestIntegrationVersityAlertsOnce).
func TestAFailedReportIsAlertedOncePerRun(t *testing.T) {
	for _, b := range reportBackends(t) {
		t.Run(b.name, func(t *testing.T) { checkAlertedOnce(t, b) })
	}
}

// recordFaults refuses reads (get) or writes (put) of the alerts' records, as S3 refuses a
// role the permission.
type recordFaults struct {
	restore.S3API
	get, put bool
}

func (r recordFaults) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if r.get && strings.HasSuffix(aws.ToString(in.Key), ".alerted") {
		return nil, drtest.APIError("AccessDenied", "Access Denied")
	}
	return r.S3API.GetObject(ctx, in, o...)
}

func (r recordFaults) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if r.put && strings.HasSuffix(aws.ToString(in.Key), ".alerted") {
		return nil, drtest.APIError("AccessDenied", "Access Denied")
	}
	return r.S3API.PutObject(ctx, in, o...)
}

func checkAlertedOnce(t *testing.T, b reportS3) {
	ctx := context.Background()
	notices := drtest.NewSNS(topic)
	reporter := func(client restore.S3API) *restore.Reporter {
		r, err := restore.NewReporter(func(o *restore.ReporterOptions) {
			o.S3, o.Bucket, o.Prefix, o.SNS, o.TopicARN = client, b.bucket, "verify", notices, topic
		})
		require.NoError(t, err)
		return r
	}
	r := reporter(b.client)
	rep := failedReport()
	rep.Run = "exec-twice"
	loc, err := r.Deliver(ctx, rep)
	require.NoError(t, err)
	again, err := r.Deliver(ctx, rep)
	require.NoError(t, err)
	assert.Equal(t, loc, again)
	require.Len(t, notices.Messages(), 1, "the same run's report delivered twice alerts once")
	key := strings.TrimPrefix(loc, "s3://"+b.bucket+"/")
	assert.Contains(t, string(b.get(strings.TrimSuffix(key, ".json")+".alerted")), "SNS message", "the alert is recorded beside the report")

	// The first delivery's publish failed: the next one publishes.
	rep.Run = "exec-publish-failed"
	notices.Fail(drtest.OpPublish, drtest.APIError("InternalError", "SNS broke"), 1)
	_, err = r.Deliver(ctx, rep)
	require.Error(t, err)
	_, err = r.Deliver(ctx, rep)
	require.NoError(t, err)
	msgs := notices.Messages()
	require.Len(t, msgs, 2, "the alert whose publish failed is published by the next delivery")
	assert.Contains(t, msgs[1].Body, "Run: exec-publish-failed")

	// The record can't be read: alerted again rather than not at all.
	rep.Run = "exec-record-unreadable"
	_, err = r.Deliver(ctx, rep)
	require.NoError(t, err)
	_, err = reporter(recordFaults{S3API: b.client, get: true}).Deliver(ctx, rep)
	require.NoError(t, err)
	require.Len(t, notices.Messages(), 4)
	// The record can't be written: the delivery still succeeds (the alert went out), and a
	// repeated delivery alerts again.
	rep.Run = "exec-record-unwritable"
	unwritable := reporter(recordFaults{S3API: b.client, put: true})
	_, err = unwritable.Deliver(ctx, rep)
	require.NoError(t, err)
	_, err = unwritable.Deliver(ctx, rep)
	require.NoError(t, err)
	require.Len(t, notices.Messages(), 6)
}

// TestIntegrationVersityAlertsOnce: the alert rule on the test bed's real S3 server.
func TestIntegrationVersityAlertsOnce(t *testing.T) {
	checkAlertedOnce(t, versityReports(t))
}

// TestAReportWithoutAStartIsKeyedByItsRun: a report that has no start time (its Start
// failed and its Cleanup never completed) is keyed by its run alone, never by the time it is
// delivered, and no started report's key can equal it; its alert says the start is unknown.
func TestAReportWithoutAStartIsKeyedByItsRun(t *testing.T) {
	r, err := restore.NewReporter(func(o *restore.ReporterOptions) {
		o.S3, o.Bucket, o.Prefix = drtest.NewS3("dr-reports"), "dr-reports", "verify"
	})
	require.NoError(t, err)
	rep := failedReport()
	rep.Started, rep.Run = time.Time{}, "exec-1"
	assert.Equal(t, "verify/eu-west-1/orders-db/started-unknown_exec-1.json", r.Key(rep))
	started := rep
	started.Started = created
	assert.NotEqual(t, r.Key(rep), r.Key(started))
	_, body := restore.Notice(rep, "", nil)
	assert.Contains(t, body, "Run: exec-1, start time unknown")
	assert.NotContains(t, body, "0001")
}
