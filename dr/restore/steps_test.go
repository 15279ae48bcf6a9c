package restore_test

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

var noDB = func(string, int32) string { return "" }

// TestVerifyPicksNewestByOriginalTime: a copy gets a new SnapshotCreateTime; an older
// snapshot copied late must not win over the newest data.
func TestVerifyPicksNewestByOriginalTime(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	f.AddManual("orders-db-before-upgrade", "orders-db", created.Add(-72*time.Hour), nil)
	_, err := f.CopyDBSnapshot(context.Background(), &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: aws.String("orders-db-before-upgrade"),
		TargetDBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611200300"), Tags: []types.Tag{{Key: aws.String(dr.TagDR), Value: aws.String("true")}}})
	require.NoError(t, err)
	f.Clock().Advance(15 * time.Minute) // copied just now: the newest SnapshotCreateTime of all
	st, err := verifier(t, f, noDB, dr.Checks{}).Start(context.Background(), "run-1")
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", st.Snapshot, "the newest data, by OriginalSnapshotCreateTime")
}

// TestWaitEndsAtTheDeadline: the poll interval is clipped to what is left.
func TestWaitEndsAtTheDeadline(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	v := verifier(t, f, noDB, dr.Checks{}, func(o *dr.VerifyOptions) { o.Timeout, o.Poll = 5*time.Second, time.Minute })
	start := f.Clock().Now()
	rep, err := v.Verify(context.Background())
	require.ErrorIs(t, err, dr.ErrTimedOut)
	assert.Equal(t, 5*time.Second, f.Clock().Now().Sub(start), "5 s of fake time, not the 60 s poll")
	assert.Empty(t, f.Instances(), "cleanup still ran")
	assert.Contains(t, rep.Cleanup, "deleted shipshape-verify-")
}

// TestTerminalStateFailsAtOnce: incompatible-restore and friends never become available.
func TestTerminalStateFailsAtOnce(t *testing.T) {
	for _, state := range []string{"incompatible-restore", "failed", "incompatible-parameters", "storage-full", "inaccessible-encryption-credentials"} {
		t.Run(state, func(t *testing.T) {
			f := verifyBed(t, "127.0.0.1", 1)
			f.RestoreOutcome = state
			start := f.Clock().Now()
			rep, err := verifier(t, f, noDB, dr.Checks{}).Verify(context.Background())
			var failed *dr.RestoreFailedError
			require.ErrorAs(t, err, &failed)
			assert.Equal(t, state, failed.State)
			assert.Equal(t, "RestoreFailed", dr.ErrorType(err))
			assert.LessOrEqual(t, f.Clock().Now().Sub(start), f.RestoreTime+30*time.Second, "at the first look after the restore ended, not at the 1 h timeout")
			assert.Empty(t, f.Instances(), "cleaned up")
			assert.Contains(t, rep.Steps[len(rep.Steps)-1].Detail, state)
		})
	}
}

// TestLostRestoreAnswerIsCleanedUp: RDS made the instance but the start step's answer was
// lost (the Lambda timed out, the connection broke). The state machine's Catch hands cleanup
// only the execution name: the instance is found by the identifier the run implies.
func TestLostRestoreAnswerIsCleanedUp(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	v := verifier(t, f, noDB, dr.Checks{})
	f.LoseAnswers(drtest.OpRestore, 1)
	_, err := v.Step(context.Background(), "start", "0b7c3e1e-5f7b-4d0c-9c1e-3f2a1b0c9d8e", dr.VerifyState{})
	require.Error(t, err)
	require.Len(t, f.Instances(), 1, "RDS did make it")

	st, err := v.Step(context.Background(), "cleanup", "0b7c3e1e-5f7b-4d0c-9c1e-3f2a1b0c9d8e", dr.VerifyState{})
	require.NoError(t, err)
	assert.Equal(t, "deleted shipshape-verify-0b7c3e1e-5f7b-4d0c-9c1e-3f2a1b0c9d8e", st.Report.Cleanup)
	assert.Empty(t, f.Instances())
	assert.False(t, st.Report.OK)

	// A retried start after a lost answer attaches instead of making a second instance.
	f.LoseAnswers(drtest.OpRestore, 1)
	_, err = v.Step(context.Background(), "start", "run-2", dr.VerifyState{})
	require.Error(t, err)
	st, err = v.Step(context.Background(), "start", "run-2", dr.VerifyState{})
	require.NoError(t, err)
	assert.Equal(t, []string{"shipshape-verify-run-2"}, f.Instances())
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", st.Snapshot)
}

// TestForeignInstanceRefused: an instance with the run's identifier that this run did not
// make is neither used nor deleted.
func TestForeignInstanceRefused(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	_, err := f.RestoreDBInstanceFromDBSnapshot(context.Background(), &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("shipshape-verify-run-9"),
		DBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611220300"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("analytics")}}})
	require.NoError(t, err)
	v := verifier(t, f, noDB, dr.Checks{})
	_, err = v.Step(context.Background(), "start", "run-9", dr.VerifyState{})
	require.ErrorIs(t, err, dr.ErrForeignResource)
	assert.Equal(t, "ForeignResource", dr.ErrorType(err))
	st, err := v.Step(context.Background(), "cleanup", "run-9", dr.VerifyState{})
	require.NoError(t, err)
	assert.Equal(t, "left shipshape-verify-run-9 alone: not made by this run", st.Report.Cleanup)
	assert.Equal(t, []string{"shipshape-verify-run-9"}, f.Instances())
	assert.Zero(t, f.Calls(drtest.OpDeleteDB))
}

// TestVerifyAndSanitizeNeverShareAnInstance: a verification and a sanitization of the same
// execution name make two instances, each of its own kind (shipshape-verify-<run> tagged
// shipshape:dr=verify, shipshape-sanitize-<run> tagged sanitize), and each deletes only its
// own: the templates let each function's role tag and delete only its own prefix, and the
// code refuses the other kind too. An instance under the sanitizing name tagged as another
// kind is refused (ForeignResource) and left; a state naming a verification's instance (an
// execution started before the sanitizing instances had a prefix of their own) deletes
// nothing and says why.
func TestVerifyAndSanitizeNeverShareAnInstance(t *testing.T) {
	ctx := context.Background()
	f := verifyBed(t, "127.0.0.1", 1)
	v := verifier(t, f, noDB, dr.Checks{})
	s := sanitizer(t, f, noDB, restore.SanitizeOptions{Statements: []string{"SELECT 1"}})
	vst, err := v.Step(ctx, "start", "exec-1", dr.VerifyState{})
	require.NoError(t, err)
	sst, err := s.Step(ctx, "start", "exec-1", dr.VerifyState{})
	require.NoError(t, err)
	assert.Equal(t, []string{"shipshape-sanitize-exec-1", "shipshape-verify-exec-1"}, f.Instances())
	assert.Equal(t, "verify", instanceTags(t, f, "shipshape-verify-exec-1")[dr.TagDR])
	assert.Equal(t, "sanitize", instanceTags(t, f, "shipshape-sanitize-exec-1")[dr.TagDR])
	f.Clock().Advance(25 * time.Minute)
	sst, err = s.Step(ctx, "cleanup", "exec-1", sst)
	require.NoError(t, err)
	assert.Equal(t, "deleted shipshape-sanitize-exec-1", strings.Split(sst.Report.Cleanup, ";")[0])
	assert.Equal(t, []string{"shipshape-verify-exec-1"}, f.Instances(), "the verification's instance is not the sanitization's to delete")
	_, err = v.Step(ctx, "cleanup", "exec-1", vst)
	require.NoError(t, err)
	assert.Empty(t, f.Instances())

	// Another kind's instance under the sanitizing name: refused, never used nor deleted.
	_, err = f.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("shipshape-sanitize-exec-2"),
		DBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611230300"),
		Tags:                 []types.Tag{{Key: aws.String(dr.TagDR), Value: aws.String("verify")}, {Key: aws.String(dr.TagRun), Value: aws.String("exec-2")}}})
	require.NoError(t, err)
	_, err = s.Step(ctx, "start", "exec-2", dr.VerifyState{})
	require.ErrorIs(t, err, dr.ErrForeignResource)
	st, err := s.Step(ctx, "cleanup", "exec-2", dr.VerifyState{})
	require.NoError(t, err)
	assert.Contains(t, st.Report.Cleanup, "left shipshape-sanitize-exec-2 alone: not made by this run")

	// A sanitization's state from before the upgrade names shipshape-verify-<run>.
	_, err = f.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("shipshape-verify-exec-3"),
		DBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611230300"),
		Tags:                 []types.Tag{{Key: aws.String(dr.TagDR), Value: aws.String("verify")}, {Key: aws.String(dr.TagRun), Value: aws.String("exec-3")}}})
	require.NoError(t, err)
	st, err = s.Step(ctx, "cleanup", "exec-3", dr.VerifyState{Run: "exec-3", Instance: "shipshape-verify-exec-3", Snapshot: "shipshape-dr-orders-db-202611230300"})
	require.NoError(t, err)
	assert.Contains(t, st.Report.Cleanup, "left shipshape-verify-exec-3 alone: this run's would be shipshape-sanitize-exec-3")
	assert.Equal(t, 2, f.Calls(drtest.OpDeleteDB), "only the two runs' own instances were deleted")
	assert.Equal(t, []string{"shipshape-sanitize-exec-2", "shipshape-verify-exec-3"}, f.Instances())
}

// instanceTags are a DB instance's tags as the fake describes them.
func instanceTags(t *testing.T, f *drtest.RDS, id string) map[string]string {
	out, err := f.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	require.NoError(t, err)
	require.Len(t, out.DBInstances, 1)
	tags := map[string]string{}
	for _, tg := range out.DBInstances[0].TagList {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags
}

// TestStepsTimeOutAndTypes: the ready step stops answering NotReady once Timeout has passed
// since the start, so the state machine's retries are bounded by the option too.
func TestStepsTimeOutAndTypes(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	f.RestoreTime = 3 * time.Hour
	v := verifier(t, f, noDB, dr.Checks{}, func(o *dr.VerifyOptions) { o.Timeout = time.Hour })
	st, err := v.Step(context.Background(), "start", "run-3", dr.VerifyState{})
	require.NoError(t, err)
	_, err = v.Step(context.Background(), "ready", "run-3", st)
	assert.Equal(t, "NotReady", dr.ErrorType(err))
	f.Clock().Advance(time.Hour)
	_, err = v.Step(context.Background(), "ready", "run-3", st)
	assert.Equal(t, "TimedOut", dr.ErrorType(err))
	_, err = v.Step(context.Background(), "ready", "another-run", st)
	require.ErrorIs(t, err, dr.ErrInvalidInput, "a state is never used by another run")
	_, err = v.Step(context.Background(), "start", "", dr.VerifyState{})
	require.ErrorIs(t, err, dr.ErrInvalidInput)
	for err, want := range map[error]string{dr.ErrNoSnapshot: "NoSnapshot", dr.ErrQuota: "Quota", errors.New("x"): "Failed", drtest.APIError("Throttling", "slow down"): "Throttled"} {
		assert.Equal(t, want, dr.ErrorType(err))
	}
}

func TestTemporaryInstanceID(t *testing.T) {
	assert.Equal(t, "shipshape-verify-0b7c3e1e-5f7b-4d0c-9c1e-3f2a1b0c9d8e", restore.TemporaryInstanceID("0B7C3E1E-5F7B-4D0C-9C1E-3F2A1B0C9D8E"))
	for _, run := range []string{"nightly_run", "a--b", "run-", "x" + string(make([]byte, 60)), strings.Repeat("e", 80), "0b7c3e1e-5f7b-4d0c-9c1e-3f2a1b0c9d8e-retry"} {
		id := restore.TemporaryInstanceID(run)
		require.NoError(t, dr.ValidIdentifier(id), run)
		assert.LessOrEqual(t, len(id), 63)
		assert.Equal(t, id, restore.TemporaryInstanceID(run), "deterministic")
	}
	assert.NotEqual(t, restore.TemporaryInstanceID("a_b"), restore.TemporaryInstanceID("a-b_"))
	assert.Equal(t, "shipshape-sanitize-0b7c3e1e-5f7b-4d0c-9c1e-3f2a1b0c9d8e", restore.SanitizeInstanceID("0B7C3E1E-5F7B-4D0C-9C1E-3F2A1B0C9D8E"))
	for _, run := range []string{"0b7c3e1e-5f7b-4d0c-9c1e-3f2a1b0c9d8e", strings.Repeat("e", 44), strings.Repeat("e", 45), strings.Repeat("e", 80), "nightly_run"} {
		id := restore.SanitizeInstanceID(run)
		require.NoError(t, dr.ValidInputIdentifier(id), run)
		assert.LessOrEqual(t, len(id), 63, "RDS's limit for instance and cluster identifiers")
		assert.NotEqual(t, restore.TemporaryInstanceID(run), id)
	}
}

// TestEachKindOfNameIsItsOwn: no kind's IAM pattern (<prefix>*) matches a name of another
// kind, so a statement naming one kind never reaches another's resources. The temporary
// instances of Sanitize ("shipshape-sanitize-") in particular are not matched by, and do
// not match, the sanitized snapshots' pattern ("shipshape-sanitized-").
func TestEachKindOfNameIsItsOwn(t *testing.T) {
	kinds := dr.Kinds()
	require.Len(t, kinds, 5)
	for _, a := range kinds {
		assert.True(t, strings.HasPrefix(a, dr.NamePrefix) && strings.HasSuffix(a, "-"), a)
		for _, b := range kinds {
			if a == b {
				continue
			}
			name := a + "orders-db"
			matched, err := path.Match(b+"*", name)
			require.NoError(t, err)
			assert.False(t, matched, "the pattern %s* matches %s", b, name)
		}
	}
	matched, _ := path.Match(dr.PrefixSanitize+"*", "shipshape-sanitized-orders-db-202611230300")
	assert.False(t, matched)
	matched, _ = path.Match(dr.PrefixSanitized+"*", restore.SanitizeInstanceID("exec-1"))
	assert.False(t, matched)
}

func copyInput(source, target string) *rds.CopyDBSnapshotInput {
	return &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: aws.String(source), TargetDBSnapshotIdentifier: aws.String(target)}
}

// TestCleanupWithoutARunDeletesNothing: a state that names no run (a hand-made call, a state
// machine that lost $$.Execution.Name) can't tell this run's instance from another's: Cleanup
// deletes nothing, says why, and does not fail (it is the step every failure leads to).
func TestCleanupWithoutARunDeletesNothing(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	v := verifier(t, f, noDB, dr.Checks{})
	ctx := context.Background()
	mine, err := v.Step(ctx, "start", "run-5", dr.VerifyState{})
	require.NoError(t, err)
	for _, st := range []dr.VerifyState{{Instance: mine.Instance}, {Instance: mine.Instance, Report: dr.Report{Run: "run-5"}}} {
		out, err := v.Step(ctx, "cleanup", "", st)
		require.NoError(t, err)
		assert.Contains(t, out.Report.Cleanup, "left "+mine.Instance+" alone: the state names no run")
		assert.False(t, out.Report.OK)
	}
	assert.Zero(t, f.Calls(drtest.OpDeleteDB))
	out, err := v.Step(ctx, "cleanup", "run-5", mine)
	require.NoError(t, err)
	assert.Equal(t, "deleted "+mine.Instance, out.Report.Cleanup, "with its run it is deleted")

	// The sanitizer's intermediate snapshot: one without a run tag (a person's, by that name)
	// is not taken for the run's when the state names no run.
	f.AddManual("shipshape-sanitized-orders-db-202611230300-raw", "orders-db", created, map[string]string{dr.TagDR: "sanitize-intermediate"})
	s := sanitizer(t, f, noDB, restore.SanitizeOptions{Statements: []string{"SELECT 1"}, KMSKeyID: "arn:aws:kms:us-east-1:111111111111:key/dev"})
	out, err = s.Step(ctx, "cleanup", "", dr.VerifyState{Snapshot: "shipshape-dr-orders-db-202611230300"})
	require.NoError(t, err)
	assert.Contains(t, out.Report.Cleanup, "left snapshot shipshape-sanitized-orders-db-202611230300-raw alone")
	assert.Contains(t, f.IDs(), "shipshape-sanitized-orders-db-202611230300-raw")
	assert.Zero(t, f.Calls(drtest.OpDelete))
}

type keysS3 struct{ keys []string }

func (s *keysS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	s.keys = append(s.keys, aws.ToString(in.Key))
	return &s3.PutObjectOutput{}, nil
}

// GetObject finds nothing: every put here is of a new key.
func (*keysS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, &s3types.NoSuchKey{}
}

// TestReportAfterAFailedStartNamesItsDatabase: after Start failed, a state machine's Catch
// hands Cleanup the execution's input with $.error and no report. The report Cleanup finishes
// still names the database, kind, region, run and a start time, so that the report key of two
// such executions differs and the alert says which database failed.
func TestReportAfterAFailedStartNamesItsDatabase(t *testing.T) {
	f := drtest.New(nil) // no DR copy: start fails with NoSnapshot
	notices := drtest.NewSNS(topic)
	bucket := &keysS3{}
	s := restore.StepSettings{Target: dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, DSN: "postgres://{host}/db",
		Regions: map[string]restore.RegionSettings{"eu-west-1": {}}, ReportBucket: "dr-reports", TopicARN: topic}
	for _, sanitize := range []bool{false, true} {
		if sanitize {
			s.Sanitize.Statements = []string{"UPDATE customers SET email = 'x'"}
		}
		r, err := restore.NewStepRunner(s, restore.StepClients{RDS: func(string) restore.SanitizerAPI { return f }, S3: bucket, SNS: notices}, sanitize,
			func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
		require.NoError(t, err)
		ctx := context.Background()
		for _, run := range []string{"exec-day-1", "exec-day-2"} {
			_, err := r.Run(ctx, restore.StepRequest{Step: "start", Run: run, Region: "eu-west-1"})
			require.ErrorIs(t, err, dr.ErrNoSnapshot)
			caught := dr.VerifyState{Error: &dr.CaughtError{Error: "NoSnapshot", Cause: `{"errorMessage":"no snapshot"}`}}
			st, err := r.Run(ctx, restore.StepRequest{Step: "cleanup", Run: run, Region: "eu-west-1", State: caught})
			require.NoError(t, err)
			assert.Equal(t, "orders-db", st.Report.Database)
			assert.Equal(t, "instance", st.Report.Kind)
			assert.Equal(t, "eu-west-1", st.Report.Region)
			assert.Equal(t, run, st.Report.Run)
			assert.Equal(t, f.Clock().Now().UTC(), st.Report.Started)
			assert.False(t, st.Report.OK)
			_, err = r.Run(ctx, restore.StepRequest{Step: "report", Run: run, Region: "eu-west-1", State: st})
			require.NoError(t, err)
			f.Clock().Advance(24 * time.Hour)
		}
	}
	reports := reportKeys(bucket.keys) // and beside each, the record of its alert
	require.Len(t, reports, 4)
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(reports))), 4, "no report overwrote another: %v", bucket.keys)
	for _, k := range bucket.keys {
		assert.True(t, strings.HasPrefix(k, "eu-west-1/orders-db/"), k)
	}
	require.Len(t, notices.Messages(), 4)
	for _, m := range notices.Messages() {
		assert.Contains(t, m.Subject, "of orders-db FAILED in eu-west-1")
	}
}

// TestReportStepRecordsACleanupThatKeptFailing: when Cleanup fails after the state
// machine's retries, its Catch passes Cleanup's input to Report with the error at
// $.cleanupError. The report the Report step delivers (both state machines) says so in its
// cleanup field, with what to delete, is not OK, and still names its database: the leak is
// in the report and the alert, not only in the execution's history.
func TestReportStepRecordsACleanupThatKeptFailing(t *testing.T) {
	f := drtest.New(nil)
	notices := drtest.NewSNS(topic)
	s := restore.StepSettings{Target: dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, DSN: "postgres://{host}/db",
		Regions: map[string]restore.RegionSettings{"": {}}, TopicARN: topic}
	for _, sanitize := range []bool{false, true} {
		if sanitize {
			s.Sanitize.Statements = []string{"UPDATE customers SET email = 'x'"}
		}
		r, err := restore.NewStepRunner(s, restore.StepClients{RDS: func(string) restore.SanitizerAPI { return f }, SNS: notices}, sanitize,
			func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
		require.NoError(t, err)
		// Start failed (caught at $.error), then Cleanup failed every time (caught at
		// $.cleanupError): the state is still the execution's input plus the two errors.
		st := dr.VerifyState{Error: &dr.CaughtError{Error: "Throttled", Cause: `{"errorMessage":"dr: listing manual DB snapshots: Throttling"}`},
			CleanupError: &dr.CaughtError{Error: "Failed", Cause: `{"errorMessage":"dr: deleting temporary instance shipshape-verify-exec-1: AccessDenied"}`}}
		out, err := r.Run(context.Background(), restore.StepRequest{Step: "report", Run: "exec-1", State: st})
		require.NoError(t, err)
		rep := out.Report
		assert.False(t, rep.OK)
		assert.Contains(t, rep.Cleanup, "FAILED")
		assert.Contains(t, rep.Cleanup, "AccessDenied")
		assert.Contains(t, rep.Cleanup, dr.TagRun+"=exec-1")
		assert.Equal(t, "orders-db", rep.Database)
		assert.Equal(t, "exec-1", rep.Run)
		if assert.NotNil(t, rep.Failed()) {
			assert.Contains(t, rep.Failed().Detail, "Throttling", "the error that sent the execution to Cleanup")
		}
		assert.Nil(t, out.CleanupError, "recorded once")
	}
	require.Len(t, notices.Messages(), 2)
	for _, m := range notices.Messages() {
		assert.Contains(t, m.Body, "AccessDenied")
	}
}

// Two source accounts, each with an orders-db: prodA's copy predates the source-account tag
// (its account is in its shipshape:source ARN), prodB's is newer and carries the tag.
const (
	prodA = "111111111111"
	prodB = "333333333333"
)

func twoAccountsCopies(f *drtest.RDS) {
	f.AddManual("shipshape-dr-orders-db-202611230300-111111111111", "orders-db", created, map[string]string{dr.TagDR: "true",
		dr.TagSource: "arn:aws:rds:us-east-1:" + prodA + ":snapshot:shipshape-dr-orders-db-202611230300"})
	f.AddManual("shipshape-dr-orders-db-202611230400-333333333333", "orders-db", created.Add(time.Hour), map[string]string{dr.TagDR: "true",
		dr.TagSource: "arn:aws:rds:us-east-1:" + prodB + ":snapshot:shipshape-dr-orders-db-202611230400", dr.TagSourceAccount: prodB})
}

// TestVerifyPicksTheChosenAccountsCopy: with two source accounts' orders-db in the recovery
// account, Verify and Sanitize restore the newest copy of the chosen account's database,
// not the newest of the name; without a choice they refuse (AmbiguousSourceError naming both
// accounts, error type AmbiguousSource) before anything is restored.
func TestVerifyPicksTheChosenAccountsCopy(t *testing.T) {
	ctx := context.Background()
	for _, sanitize := range []bool{false, true} {
		f := drtest.New(nil)
		twoAccountsCopies(f)
		start := func(account string) (dr.VerifyState, error) {
			target := dr.VerifyTarget{SourceInstance: "orders-db", SourceAccount: account, InstanceClass: "db.t4g.medium"}
			if sanitize {
				s, err := restore.NewSanitizer(f, target, dr.Database{Driver: "pgx", DSN: noDB}, restore.SanitizeOptions{Statements: []string{"SELECT 1"}},
					func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
				require.NoError(t, err)
				return s.Step(ctx, "start", "run-"+account, dr.VerifyState{})
			}
			v, err := restore.NewVerifier(f, target, dr.Database{Driver: "pgx", DSN: noDB}, func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
			require.NoError(t, err)
			return v.Start(ctx, "run-"+account)
		}
		_, err := start("")
		var ambiguous *dr.AmbiguousSourceError
		require.ErrorAs(t, err, &ambiguous)
		assert.Equal(t, []string{prodA, prodB}, ambiguous.Accounts)
		assert.Equal(t, "AmbiguousSource", dr.ErrorType(err))
		assert.Contains(t, err.Error(), prodA+", "+prodB)
		assert.Zero(t, f.Calls(drtest.OpRestore), "nothing restored")

		st, err := start(prodA)
		require.NoError(t, err)
		assert.Equal(t, "shipshape-dr-orders-db-202611230300-111111111111", st.Snapshot, "the chosen account's newest, not the newest of the name")
		assert.Equal(t, prodA, st.Report.Account)
		st, err = start(prodB)
		require.NoError(t, err)
		assert.Equal(t, "shipshape-dr-orders-db-202611230400-333333333333", st.Snapshot)

		_, err = start("444444444444")
		require.ErrorIs(t, err, dr.ErrNoSnapshot)
		assert.Contains(t, err.Error(), "orders-db of account 444444444444")
	}
	_, err := restore.NewVerifier(drtest.New(nil), dr.VerifyTarget{SourceInstance: "orders-db", SourceAccount: "1234", InstanceClass: "db.t4g.medium"},
		dr.Database{Driver: "pgx", DSN: noDB})
	require.ErrorIs(t, err, dr.ErrInvalidInput)
}
