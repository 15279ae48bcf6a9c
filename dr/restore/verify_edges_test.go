package restore_test

// Adversarial tests of Verifier, Sanitizer, Reporter and SecretCredentials against their
// exported docs, docs/dr.md ("Verification", "Credentials", "The report", "Sanitized
// copies") and the RELIABILITY guard table. A failing test is a bug found.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

const atkSecret = "TOPSECRET-9f3b"

// TestDSNPasswordFromTheEnvironmentNeverReported: dr.md: "Neither the DSN nor the
// password is logged or reported"; Database: "The DSN and the password are never logged or
// reported". dr-verify documents ${VAR} for the password ("or ${VAR} reads the
// environment"). A password with characters that are special in a URL (here '@' and '%')
// makes the driver's parse error quote the DSN: the report must not carry the password.
func TestDSNPasswordFromTheEnvironmentNeverReported(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	env := map[string]string{"DB_PASSWORD": "p@ss%zz" + atkSecret}
	dsn, err := restore.DSNTemplate("postgres://verify:${DB_PASSWORD}@{host}:{port}/orders?connect_timeout=1", func(k string) string { return env[k] })
	require.NoError(t, err)
	var progress []string
	v := verifier(t, f, dsn, dr.Checks{MinTables: 1}, func(o *dr.VerifyOptions) {
		o.Progress = func(s string) { progress = append(progress, s) }
	})
	f.Clock().Advance(time.Minute)
	rep, err := v.Verify(context.Background())
	require.NoError(t, err)
	assert.False(t, rep.OK)
	assert.NotContains(t, string(rep.JSON()), atkSecret, "the report carries (part of) the password")
	assert.NotContains(t, strings.Join(progress, "\n"), atkSecret)
	subject, body := restore.Notice(rep, "", nil)
	assert.NotContains(t, subject+body, atkSecret, "the SNS notice carries (part of) the password")
}

type atkSecrets struct{ value string }

func (s atkSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s.value)}, nil
}

// TestSecretCredentialsNeverReported: with {user} and {password} from Secrets Manager,
// a password full of URL-special characters is escaped and never appears in the report, and
// a secret that is not JSON with both fields gives an error without its value.
func TestSecretCredentialsNeverReported(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	dsn, err := restore.DSNTemplate("postgres://{user}:{password}@{host}:{port}/orders?connect_timeout=1", nil)
	require.NoError(t, err)
	v, err := restore.NewVerifier(f, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"},
		dr.Database{Driver: "pgx", DSN: dsn, Credentials: restore.SecretCredentials(atkSecrets{`{"username":"verify","password":"p@ss%zz/:?#` + atkSecret + `"}`}, "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db")},
		func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	rep, err := v.Verify(context.Background())
	require.NoError(t, err)
	assert.NotContains(t, string(rep.JSON()), atkSecret)

	for _, bad := range []string{`{"username":"u","password":"` + atkSecret + `"`, `{"username":"","password":"` + atkSecret + `"}`, `{"user":"u","password":"` + atkSecret + `"}`, atkSecret} {
		_, _, err := restore.SecretCredentials(atkSecrets{bad}, "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db")(context.Background())
		require.ErrorIs(t, err, dr.ErrInvalidInput)
		assert.NotContains(t, err.Error(), atkSecret)
	}
}

// TestCleanupWithoutARunDeletesNothingOfAnotherRun: Cleanup "deletes only an instance
// whose shipshape:run tag names this run"; dr.md: Cleanup "deletes nothing that another
// execution, or a person, made". A state without a run (a hand-made call, a state machine
// that lost $$.Execution.Name) must not delete another run's verify instance.
func TestCleanupWithoutARunDeletesNothingOfAnotherRun(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	v := verifier(t, f, func(string, int32) string { return "" }, dr.Checks{})
	ctx := context.Background()
	other, err := v.Start(ctx, "exec-of-someone-else")
	require.NoError(t, err)
	require.Equal(t, []string{other.Instance}, f.Instances())

	st := dr.VerifyState{Instance: other.Instance}
	require.NoError(t, v.Cleanup(ctx, &st))
	assert.Equal(t, []string{other.Instance}, f.Instances(), "Cleanup without a run deleted another run's instance: %s", st.Report.Cleanup)

	f2 := verifyBed(t, "127.0.0.1", 1)
	v2 := verifier(t, f2, func(string, int32) string { return "" }, dr.Checks{})
	other2, err := v2.Start(ctx, "exec-of-someone-else")
	require.NoError(t, err)
	st2, err := v2.Step(ctx, "cleanup", "", dr.VerifyState{Instance: other2.Instance})
	assert.NoError(t, err)
	assert.Equal(t, []string{other2.Instance}, f2.Instances(), "Step(cleanup) without a run deleted another run's instance: %s", st2.Report.Cleanup)
}

// TestCleanupNeverDeletesAForeignInstanceNamedInTheState: a state whose instance was
// changed to a production instance (or a person's) is left alone: only what carries this
// run's tags is deleted.
func TestCleanupNeverDeletesAForeignInstanceNamedInTheState(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	ctx := context.Background()
	_, err := f.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("orders-db"),
		DBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611230300")})
	require.NoError(t, err)
	_, err = f.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("shipshape-orders-db"),
		DBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611230300"), Tags: atkTags(dr.TagDR, "restored")})
	require.NoError(t, err)
	v := verifier(t, f, func(string, int32) string { return "" }, dr.Checks{})
	for _, id := range []string{"orders-db", "shipshape-orders-db"} {
		_, err := v.Step(ctx, "cleanup", "exec-1", dr.VerifyState{Run: "exec-1", Instance: id})
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"orders-db", "shipshape-orders-db"}, f.Instances())
	assert.Zero(t, f.Calls(drtest.OpDeleteDB))
}

// TestVerifyNeverRestoresACopyInProgressOrOfAnotherDatabase: "the newest DR snapshot
// by original creation time", available, of this database only.
func TestVerifyNeverRestoresACopyInProgressOrOfAnotherDatabase(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	ctx := context.Background()
	later := created.Add(12 * time.Hour)
	f.AddManual("orders-db-src", "orders-db", later, nil)
	_, err := f.CopyDBSnapshot(ctx, &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: aws.String("orders-db-src"),
		TargetDBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611231500"), Tags: atkTags(dr.TagDR, "true")})
	require.NoError(t, err)
	f.AddManual("shipshape-dr-orders-db-2-202611231600", "orders-db-2", later.Add(time.Hour), map[string]string{dr.TagDR: "true"})
	f.AddManual("orders-db-x", "orders-db", later.Add(time.Hour), map[string]string{dr.TagDR: "staging"})
	v := verifier(t, f, func(string, int32) string { return "" }, dr.Checks{})
	st, err := v.Start(ctx, "exec-newest")
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", st.Snapshot)
}

// TestSanitizeSnapshotStepRefusesBeforeEveryStatementRan: Sanitize's steps run "each
// statement exactly once" and the snapshot is of the SANITIZED database: a "snapshot" step
// on a state whose statements have not all run (a hand-driven step, a state machine edited
// wrong) must not take (and later share) a snapshot of unsanitized production data.
func TestSanitizeSnapshotStepRefusesBeforeEveryStatementRan(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	s := sanitizer(t, f, func(string, int32) string { return "" }, restore.SanitizeOptions{
		Statements: []string{"UPDATE customers SET name = 'x'", "DELETE FROM orders"}, ShareWith: []string{"444444444444"}})
	ctx := context.Background()
	st, err := s.Step(ctx, "start", "exec-s", dr.VerifyState{})
	require.NoError(t, err)
	f.Clock().Advance(30 * time.Minute)
	st, err = s.Step(ctx, "ready", "exec-s", st)
	require.NoError(t, err)
	require.False(t, st.Done)
	st.Host = "" // nothing to drop: the test has no database; the point is the guard
	_, err = s.Step(ctx, "snapshot", "exec-s", st)
	require.Error(t, err, "a snapshot before the statements ran")
	assert.Zero(t, f.Calls(drtest.OpCreateSnapshot), "no snapshot of unsanitized data")
	_, err = s.Step(ctx, "share", "exec-s", st)
	require.Error(t, err, "sharing before the statements ran")
	assert.Zero(t, f.Calls(drtest.OpModifyAttribute), "nothing shared")
}

// TestReporterRefusesABucketThatIsNotABucketName: NewReporter refuses "a bucket
// without an S3 client, a topic that is not an SNS ARN" and "settings that can't work";
// a bucket given as an ARN or with characters no bucket name has can't work, and is found
// only after an hour of restore, when the upload fails.
func TestReporterRefusesABucketThatIsNotABucketName(t *testing.T) {
	for _, b := range []string{"arn:aws:s3:::dr-reports", "DR Reports", "dr_reports", "dr-reports?x", strings.Repeat("b", 64)} {
		_, err := restore.NewReporter(func(o *restore.ReporterOptions) { o.S3, o.Bucket = failingS3{}, b })
		assert.ErrorIs(t, err, dr.ErrInvalidInput, "bucket %q", b)
	}
}

// TestNoticeSubjectIsWhatSNSAccepts: the subject is at most 100 printable ASCII
// characters whatever the database and region, or SNS refuses the alert.
func TestNoticeSubjectIsWhatSNSAccepts(t *testing.T) {
	const topic = "arn:aws:sns:eu-west-1:111111111111:dr"
	notices := drtest.NewSNS(topic)
	r, err := restore.NewReporter(func(o *restore.ReporterOptions) { o.SNS, o.TopicARN = notices, topic })
	require.NoError(t, err)
	rep := dr.Report{Database: "o" + strings.Repeat("r", 62), Region: "ap-southeast-4", Result: "shipshape-sanitized-x", Started: created,
		Steps: []dr.StepResult{{Name: "statement 1", Detail: "line one\nline two"}}}
	_, err = r.Deliver(context.Background(), rep)
	require.NoError(t, err)
	require.Len(t, notices.Messages(), 1)
}
