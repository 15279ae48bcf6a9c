package restore_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

// TestIntegrationStatementDeliveriesAtOnceAllSucceed: a state machine's step delivered several
// times at once (a Lambda retried while the first attempt still runs) runs the statement once,
// and every delivery succeeds: the ones that lose the race on the progress table (also while
// it is being created) find the statement committed and report it as run, instead of failing
// the execution into Cleanup.
func TestIntegrationStatementDeliveriesAtOnceAllSucceed(t *testing.T) {
	host, port, dsn := seeded(t)
	f := verifyBed(t, host, port)
	s := sanitizer(t, f, dsn, restore.SanitizeOptions{Statements: []string{
		`UPDATE customers SET name = name || '!'`,     // row locks: the later deliveries wait
		`INSERT INTO customers (name) VALUES ('Eve')`, // no lock to wait on but the progress row's
	}})
	ctx := context.Background()
	const run = "all-at-once"
	st, err := s.Step(ctx, "start", run, dr.VerifyState{})
	require.NoError(t, err)
	f.Clock().Advance(25 * time.Minute)
	st, err = s.Step(ctx, "ready", run, st)
	require.NoError(t, err)
	const deliveries = 4
	for !st.Done {
		var wg sync.WaitGroup
		outs := make([]dr.VerifyState, deliveries)
		errs := make([]error, deliveries)
		for i := range deliveries {
			wg.Add(1)
			in := st // each delivery has its own copy of the state, as Lambda gives it
			in.Report.Steps = slices.Clone(st.Report.Steps)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = s.Step(ctx, "statement", run, in)
			}()
		}
		wg.Wait()
		ran := 0
		for i := range deliveries {
			require.NoError(t, errs[i], "delivery %d of statement %d", i+1, st.Next+1)
			last := outs[i].Report.Steps[len(outs[i].Report.Steps)-1]
			assert.True(t, last.OK)
			if last.Detail == "ran" {
				ran++
			}
			assert.Equal(t, st.Next+1, outs[i].Next)
		}
		assert.Equal(t, 1, ran, "exactly one delivery ran statement %d", st.Next+1)
		st = outs[0]
	}
	db, err := sql.Open("pgx", dsn(host, port))
	require.NoError(t, err)
	defer db.Close()
	var names string
	require.NoError(t, db.QueryRow(`SELECT string_agg(name, ',' ORDER BY id) FROM customers`).Scan(&names))
	assert.Equal(t, "Ada!,Alan!,Grace!,Eve", names, "each statement exactly once")
	_, err = s.Step(ctx, "cleanup", run, st)
	require.NoError(t, err)
	assert.Empty(t, f.Instances())
}

// TestSanitizeStepsRefuseToSnapshotOrShareUnsanitizedData: snapshot, reencrypt and share
// refuse a state whose statements have not all run, before any call, and say what to do.
func TestSanitizeStepsRefuseToSnapshotOrShareUnsanitizedData(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	s := sanitizer(t, f, noDB, restore.SanitizeOptions{Statements: []string{"UPDATE a SET b = 1", "UPDATE c SET d = 1"},
		KMSKeyID: "arn:aws:kms:us-east-1:111111111111:key/dev", ShareWith: []string{"444444444444"}})
	for _, st := range []dr.VerifyState{
		{Run: "r1", Instance: "shipshape-sanitize-r1", Snapshot: "shipshape-dr-orders-db-202611230300", Next: 1},
		{Run: "r1", Instance: "shipshape-sanitize-r1", Snapshot: "shipshape-dr-orders-db-202611230300", Next: 0, Done: true}, // a hand-edited state
	} {
		for _, step := range []string{"snapshot", "reencrypt", "share"} {
			before := f.Total()
			out, err := s.Step(context.Background(), step, "r1", st)
			require.ErrorIs(t, err, dr.ErrInvalidInput, step)
			assert.Equal(t, "InvalidInput", dr.ErrorType(err))
			assert.Contains(t, err.Error(), "before every sanitizing statement ran")
			assert.Equal(t, before, f.Total(), "%s: no call", step)
			require.NotNil(t, out.Report.Failed(), "the refusal is in the report")
		}
	}
	assert.Zero(t, f.Calls(drtest.OpCreateSnapshot)+f.Calls(drtest.OpCopy)+f.Calls(drtest.OpModifyAttribute))
}

// sanitizeSteps drives a sanitization through its steps as the state machine does, up to
// (not including) the step named stop, and returns the state stop gets; every statement is
// taken to have run (no database: the fake's restores answer nowhere).
func sanitizeSteps(t *testing.T, s *restore.Sanitizer, f *drtest.RDS, run, stop string) dr.VerifyState {
	ctx := context.Background()
	if f.KMSKey("shipshape-dr-orders-db-202611230300") == "" { // DR copies are encrypted
		f.SetKMSKey("shipshape-dr-orders-db-202611230300", "arn:aws:kms:us-east-1:111111111111:key/recovery")
	}
	st, err := s.Step(ctx, "start", run, dr.VerifyState{})
	require.NoError(t, err)
	f.Clock().Advance(25 * time.Minute)
	st, err = s.Step(ctx, "ready", run, st)
	require.NoError(t, err)
	st.Host = "" // no database: as after the statement steps
	st.Next, st.Done = 1, true
	for _, step := range []string{"snapshot", "snapshot-ready", "reencrypt", "reencrypt-ready", "share"} {
		if step == stop {
			return st
		}
		st, err = s.Step(ctx, step, run, st)
		require.NoError(t, err, step)
		f.Clock().Advance(15 * time.Minute)
	}
	return st
}

var devKey = "arn:aws:kms:us-east-1:111111111111:key/dev"

func sanitizedIDs(f *drtest.RDS) []string {
	var out []string
	for _, id := range f.IDs() {
		if strings.HasPrefix(id, dr.PrefixSanitized) {
			out = append(out, id)
		}
	}
	return out
}

// TestSanitizeNeverLeaksTheSnapshotAfterAFailedShare: the share fails (the development
// account's id is wrong, a denied call) after the sanitized snapshot exists. The state
// machine's Catch goes to Cleanup, which deletes the sanitized snapshot this run made and did
// not share, besides the intermediate and the temporary instance: nothing billed is left.
func TestSanitizeNeverLeaksTheSnapshotAfterAFailedShare(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	s := sanitizer(t, f, noDB, restore.SanitizeOptions{Statements: []string{"SELECT 1"}, KMSKeyID: devKey, ShareWith: []string{"444444444444"}})
	st := sanitizeSteps(t, s, f, "r1", "share")
	require.Equal(t, []string{"shipshape-sanitized-orders-db-202611230300", "shipshape-sanitized-orders-db-202611230300-raw"}, sanitizedIDs(f))
	f.Fail(drtest.OpModifyAttribute, drtest.APIError("AccessDenied", "not authorized to perform rds:ModifyDBSnapshotAttribute"), 0)
	_, err := s.Step(context.Background(), "share", "r1", st)
	require.Error(t, err)
	st.Error = &dr.CaughtError{Error: "Failed", Cause: `{"errorMessage":"AccessDenied"}`} // the Catch's input: the state before share
	out, err := s.Step(context.Background(), "cleanup", "r1", st)
	require.NoError(t, err)
	assert.Empty(t, sanitizedIDs(f), "no sanitized snapshot is left")
	assert.Empty(t, f.Instances())
	assert.Contains(t, out.Report.Cleanup, "deleted unshared sanitized snapshot shipshape-sanitized-orders-db-202611230300")
	assert.False(t, out.Report.OK)
}

// TestSanitizeRerunForTheSameCopyAdoptsWhatTheLastRunLeft: a run of the sanitization died
// after its snapshots were made (its cleanup never ran). The next run for the same DR copy
// and statements finds them under the names it would use, adopts them instead of failing
// with "not made by run", shares the result, and its cleanup deletes the adopted
// intermediate: it succeeds, and what the first run left is finished, not leaked. A leftover
// made with other statements is replaced, never shared.
func TestSanitizeRerunForTheSameCopyAdoptsWhatTheLastRunLeft(t *testing.T) {
	ctx := context.Background()
	f := verifyBed(t, "127.0.0.1", 1)
	opts := restore.SanitizeOptions{Statements: []string{"SELECT 1"}, KMSKeyID: devKey, ShareWith: []string{"444444444444"}}
	sanitizeSteps(t, sanitizer(t, f, noDB, opts), f, "r1", "share") // r1 dies here: nothing cleaned up
	_, err := f.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("shipshape-sanitize-r1"), SkipFinalSnapshot: aws.Bool(true)})
	require.NoError(t, err)

	s := sanitizer(t, f, noDB, opts)
	st := sanitizeSteps(t, s, f, "r2", "")
	assert.Equal(t, []string{"shipshape-sanitized-orders-db-202611230300-raw", "shipshape-sanitized-orders-db-202611230300"}, st.Adopted)
	assert.Equal(t, "shipshape-sanitized-orders-db-202611230300", st.Report.Result)
	out, err := s.Step(ctx, "cleanup", "r2", st)
	require.NoError(t, err)
	assert.True(t, out.Report.OK, out.Report.Cleanup)
	assert.Equal(t, []string{"shipshape-sanitized-orders-db-202611230300"}, sanitizedIDs(f), "the adopted intermediate is deleted")
	assert.Equal(t, []string{"444444444444"}, f.SharedWith("shipshape-sanitized-orders-db-202611230300"))

	// Run 3 with other statements: the result of run 2 was sanitized otherwise, so it is
	// deleted and made anew (NotReady meanwhile), never adopted.
	opts.Statements = []string{"SELECT 1", "UPDATE customers SET email = 'x'"}
	s3 := sanitizer(t, f, noDB, opts)
	st, err = s3.Step(ctx, "start", "r3", dr.VerifyState{})
	require.NoError(t, err)
	f.Clock().Advance(25 * time.Minute)
	st, err = s3.Step(ctx, "ready", "r3", st)
	require.NoError(t, err)
	st.Host, st.Next, st.Done = "", 2, true
	st, err = s3.Step(ctx, "snapshot", "r3", st)
	require.NoError(t, err, "the intermediate of run 2 is gone: a new one is taken")
	f.Clock().Advance(15 * time.Minute)
	st, err = s3.Step(ctx, "snapshot-ready", "r3", st)
	require.NoError(t, err)
	_, err = s3.Step(ctx, "reencrypt", "r3", st)
	require.ErrorIs(t, err, dr.ErrNotReady, "run 2's result, made with other statements, is being replaced")
	assert.NotContains(t, sanitizedIDs(f), "shipshape-sanitized-orders-db-202611230300")
	st, err = s3.Step(ctx, "reencrypt", "r3", st)
	require.NoError(t, err)
	assert.Empty(t, st.Adopted)
	assert.Equal(t, "r3", f.Tags("shipshape-sanitized-orders-db-202611230300")[dr.TagRun])
}

// TestSanitizedSnapshotsKeepTheNewestPerSourceDatabase: once a run has shared its result,
// sanitized snapshots beyond SanitizeOptions.Keep are deleted per source database and source
// account, newest data first: never another account's, never one without the sanitized tag
// or the prefix, never the newest.
func TestSanitizedSnapshotsKeepTheNewestPerSourceDatabase(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	sanitized := func(id, db, account string, dataTime time.Time) {
		f.AddManual(id, "shipshape-sanitize-x", dataTime, map[string]string{dr.TagDR: "sanitized", dr.TagSourceDatabase: db,
			dr.TagSourceAccount: account, dr.TagSourceCreated: dataTime.Format(time.RFC3339)})
	}
	for i := 1; i <= 3; i++ {
		sanitized(fmt.Sprintf("shipshape-sanitized-orders-db-2026111%d0300", i), "orders-db", f.Account, created.AddDate(0, 0, -10+i))
	}
	sanitized("shipshape-sanitized-orders-db-202611010300-333333333333", "orders-db", "333333333333", created.AddDate(0, 0, -30))
	f.AddManual("sanitized-orders-db-by-hand", "x", created.AddDate(0, 0, -40), map[string]string{dr.TagDR: "sanitized", dr.TagSourceDatabase: "orders-db"})
	f.AddManual("shipshape-sanitized-not-tagged", "x", created.AddDate(0, 0, -40), map[string]string{dr.TagSourceDatabase: "orders-db"})

	s := sanitizer(t, f, noDB, restore.SanitizeOptions{Statements: []string{"SELECT 1"}, KMSKeyID: devKey, ShareWith: []string{"444444444444"}, Keep: 2})
	st := sanitizeSteps(t, s, f, "r1", "")
	out, err := s.Step(context.Background(), "cleanup", "r1", st)
	require.NoError(t, err)
	assert.True(t, out.Report.OK, out.Report.Cleanup)
	assert.ElementsMatch(t, []string{"sanitized-orders-db-by-hand", "shipshape-sanitized-not-tagged",
		"shipshape-sanitized-orders-db-202611010300-333333333333", // another account's database: its own group, its newest
		"shipshape-sanitized-orders-db-202611130300",              // the second newest of this account's orders-db
		"shipshape-sanitized-orders-db-202611230300",              // this run's, the newest
	}, filterIDs(f.IDs(), "sanitized"))
	assert.Contains(t, out.Report.Cleanup, "deleted 2 sanitized snapshot(s) beyond the newest 2")
}

func filterIDs(ids []string, part string) []string {
	var out []string
	for _, id := range ids {
		if strings.Contains(id, part) {
			out = append(out, id)
		}
	}
	return out
}

// TestSanitizeRefusesTheAWSManagedKeyWhenSharing: a sanitized copy to be shared under the
// AWS managed aws/rds key (RDS never shares one) is refused before anything is restored: the
// alias at once (NewSanitizer), a key KMS says is AWS managed at the start step.
func TestSanitizeRefusesTheAWSManagedKeyWhenSharing(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	for _, key := range []string{"alias/aws/rds", "arn:aws:kms:us-east-1:111111111111:alias/aws/rds"} {
		_, err := restore.NewSanitizer(f, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, dr.Database{Driver: "pgx", DSN: noDB},
			restore.SanitizeOptions{Statements: []string{"SELECT 1"}, KMSKeyID: key, ShareWith: []string{"444444444444"}})
		require.ErrorIs(t, err, dr.ErrNeedsCustomerKey, key)
	}
	k := drtest.NewKMS(f)
	k.AddKey(devKey, kmstypes.KeyManagerTypeCustomer)
	for _, c := range []struct {
		key     string
		refused bool
	}{{f.DefaultKey, true}, {devKey, false}} {
		key, refused := c.key, c.refused
		s := sanitizer(t, f, noDB, restore.SanitizeOptions{Statements: []string{"SELECT 1"}, KMSKeyID: key, ShareWith: []string{"444444444444"}, KMS: k})
		_, err := s.Step(context.Background(), "start", "run-"+strconv.FormatBool(refused), dr.VerifyState{})
		if refused {
			require.ErrorIs(t, err, dr.ErrNeedsCustomerKey)
			assert.Equal(t, "NeedsCustomerKey", dr.ErrorType(err))
			assert.Zero(t, f.Calls(drtest.OpRestore), "nothing restored")
		} else {
			require.NoError(t, err)
		}
	}
	// Without a key of its own the copy keeps the DR copy's key: that one is checked.
	f2 := verifyBed(t, "127.0.0.1", 1)
	f2.SetKMSKey("shipshape-dr-orders-db-202611230300", f2.DefaultKey)
	s := sanitizer(t, f2, noDB, restore.SanitizeOptions{Statements: []string{"SELECT 1"}, ShareWith: []string{"444444444444"}, KMS: drtest.NewKMS(f2)})
	_, err := s.Step(context.Background(), "start", "r1", dr.VerifyState{})
	require.ErrorIs(t, err, dr.ErrNeedsCustomerKey)
	assert.Zero(t, f2.Calls(drtest.OpRestore))
}
