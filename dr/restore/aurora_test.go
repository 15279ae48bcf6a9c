package restore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

// auroraBed: a fake RDS with two DR cluster snapshots of ledger (and an instance snapshot of
// the same name, which must never be picked), restores answering on host:port.
func auroraBed(host string, port int32) *drtest.RDS {
	f := drtest.New(nil)
	f.AddManualCluster("shipshape-dr-ledger-202611230300", "ledger", created, map[string]string{dr.TagDR: "true"})
	f.AddManualCluster("shipshape-dr-ledger-202611220300", "ledger", created.Add(-24*time.Hour), map[string]string{dr.TagDR: "true"})
	f.AddManual("shipshape-dr-ledger-202611240300", "ledger", created.Add(24*time.Hour), map[string]string{dr.TagDR: "true"})
	f.Endpoint = func(string) (string, int32) { return host, port }
	return f
}

func auroraVerifier(t *testing.T, f *drtest.RDS, dsn func(string, int32) string, checks dr.Checks) *restore.Verifier {
	v, err := restore.NewVerifier(f, dr.VerifyTarget{SourceCluster: "ledger", InstanceClass: "db.r6g.large"}, dr.Database{Driver: "pgx", DSN: dsn},
		func(o *dr.VerifyOptions) { o.Clock, o.Checks, o.SubnetGroup = f.Clock(), checks, "private" })
	require.NoError(t, err)
	return v
}

func TestIntegrationAuroraVerifyAgainstPostgres(t *testing.T) {
	host, port, dsn := seeded(t)
	f := auroraBed(host, port)
	rep, err := auroraVerifier(t, f, dsn, dr.Checks{MinTables: 2, MinRows: map[string]int64{"orders": 5}}).Verify(context.Background())
	require.NoError(t, err)
	assert.True(t, rep.OK, string(rep.JSON()))
	assert.Equal(t, "shipshape-dr-ledger-202611230300", rep.Snapshot, "the newest DR cluster snapshot, not the instance snapshot of the same name")
	assert.Equal(t, "cluster", rep.Kind)
	assert.Equal(t, "ledger", rep.Database)
	assert.Empty(t, f.Instances())
	assert.Empty(t, f.Clusters())
	assert.Contains(t, rep.Cleanup, "deleted shipshape-verify-")
	assert.Contains(t, rep.Cleanup, "; deleted cluster shipshape-verify-")
	deletes := f.Calls(drtest.OpDeleteDB) + f.Calls(drtest.OpDeleteDBCluster)
	assert.Equal(t, 2, deletes, "the instance, then the cluster")
}

func TestAuroraAlwaysCleansUp(t *testing.T) {
	t.Run("terminal state", func(t *testing.T) {
		f := auroraBed("127.0.0.1", 1)
		f.RestoreOutcome = "incompatible-restore"
		_, err := auroraVerifier(t, f, noDB, dr.Checks{}).Verify(context.Background())
		require.ErrorIs(t, err, dr.ErrRestoreFailed)
		assert.Contains(t, err.Error(), "cluster shipshape-verify-")
		assert.Empty(t, f.Instances())
		assert.Empty(t, f.Clusters())
	})
	t.Run("the instance's answer is lost, then cleanup from the run only", func(t *testing.T) {
		f := auroraBed("127.0.0.1", 1)
		v := auroraVerifier(t, f, noDB, dr.Checks{})
		f.LoseAnswers(drtest.OpCreateInstance, 1)
		_, err := v.Step(context.Background(), "start", "exec-a", dr.VerifyState{})
		require.Error(t, err)
		st, err := v.Step(context.Background(), "start", "exec-a", dr.VerifyState{})
		require.NoError(t, err, "a repeated start attaches to the cluster and the instance")
		assert.True(t, st.Cluster)
		assert.Equal(t, []string{"shipshape-verify-exec-a"}, f.Clusters())
		assert.Equal(t, []string{"shipshape-verify-exec-a"}, f.Instances())
		st, err = v.Step(context.Background(), "cleanup", "exec-a", dr.VerifyState{})
		require.NoError(t, err)
		assert.Empty(t, f.Instances())
		assert.Empty(t, f.Clusters(), "the instance is deleting, so the cluster may go")
		assert.Equal(t, "deleted shipshape-verify-exec-a; deleted cluster shipshape-verify-exec-a", st.Report.Cleanup)
	})
	t.Run("the cluster can't go before its instance", func(t *testing.T) {
		f := auroraBed("127.0.0.1", 1)
		v := auroraVerifier(t, f, noDB, dr.Checks{})
		_, err := v.Step(context.Background(), "start", "exec-b", dr.VerifyState{})
		require.NoError(t, err)
		f.Fail(drtest.OpDeleteDB, drtest.APIError("InvalidDBInstanceState", "busy"), 1)
		_, err = v.Step(context.Background(), "cleanup", "exec-b", dr.VerifyState{})
		assert.Equal(t, "NotReady", dr.ErrorType(err), "the state machine retries cleanup")
		assert.Equal(t, []string{"shipshape-verify-exec-b"}, f.Clusters())
		_, err = v.Step(context.Background(), "cleanup", "exec-b", dr.VerifyState{})
		require.NoError(t, err)
		assert.Empty(t, f.Clusters())
	})
	t.Run("a foreign cluster", func(t *testing.T) {
		f := auroraBed("127.0.0.1", 1)
		v := auroraVerifier(t, f, noDB, dr.Checks{})
		_, err := v.Step(context.Background(), "start", "exec-c", dr.VerifyState{})
		require.NoError(t, err)
		_, err = v.Step(context.Background(), "start", "EXEC-C", dr.VerifyState{})
		require.ErrorIs(t, err, dr.ErrForeignResource)
		st, err := v.Step(context.Background(), "cleanup", "EXEC-C", dr.VerifyState{})
		require.NoError(t, err)
		assert.Contains(t, st.Report.Cleanup, "left shipshape-verify-exec-c alone")
		assert.Contains(t, st.Report.Cleanup, "left cluster shipshape-verify-exec-c alone")
		assert.Equal(t, []string{"shipshape-verify-exec-c"}, f.Clusters())
	})
	t.Run("a sanitization's cluster is not a verification's", func(t *testing.T) {
		f := auroraBed("127.0.0.1", 1)
		v := auroraVerifier(t, f, noDB, dr.Checks{})
		s, err := restore.NewSanitizer(f, dr.VerifyTarget{SourceCluster: "ledger", InstanceClass: "db.r6g.large"}, dr.Database{Driver: "pgx", DSN: noDB},
			restore.SanitizeOptions{Statements: []string{"SELECT 1"}}, func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
		require.NoError(t, err)
		_, err = v.Step(context.Background(), "start", "exec-d", dr.VerifyState{})
		require.NoError(t, err)
		sst, err := s.Step(context.Background(), "start", "exec-d", dr.VerifyState{})
		require.NoError(t, err)
		assert.Equal(t, []string{"shipshape-sanitize-exec-d", "shipshape-verify-exec-d"}, f.Clusters())
		assert.Equal(t, []string{"shipshape-sanitize-exec-d", "shipshape-verify-exec-d"}, f.Instances())
		_, err = s.Step(context.Background(), "cleanup", "exec-d", sst)
		require.NoError(t, err)
		assert.Equal(t, []string{"shipshape-verify-exec-d"}, f.Clusters(), "the verification's cluster is left")
		assert.Equal(t, []string{"shipshape-verify-exec-d"}, f.Instances())
	})
}

// TestIntegrationSanitizeSteps: the Step Functions form against PostgreSQL, an Aurora
// cluster, each statement its own step and exactly once even when a step is repeated after
// its answer was lost; the result re-encrypted, shared and tagged, everything temporary
// deleted.
func TestIntegrationSanitizeSteps(t *testing.T) {
	host, port, dsn := seeded(t)
	f := auroraBed(host, port)
	f.SetKMSKey("cluster/shipshape-dr-ledger-202611230300", "arn:aws:kms:us-east-1:111111111111:key/prod")
	s, err := restore.NewSanitizer(f, dr.VerifyTarget{SourceCluster: "ledger", InstanceClass: "db.r6g.large"}, dr.Database{Driver: "pgx", DSN: dsn},
		restore.SanitizeOptions{Statements: []string{`UPDATE customers SET name = name || '!'`, `DELETE FROM orders WHERE total > 30`},
			KMSKeyID: "arn:aws:kms:us-east-1:111111111111:key/dev", ShareWith: []string{"444444444444"}},
		func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	ctx := context.Background()
	const run = "sanitize-1"
	st, err := s.Step(ctx, "start", run, dr.VerifyState{})
	require.NoError(t, err)
	f.Clock().Advance(25 * time.Minute)
	st, err = s.Step(ctx, "ready", run, st)
	require.NoError(t, err)
	for !st.Done {
		before := st
		st, err = s.Step(ctx, "statement", run, st)
		require.NoError(t, err)
		if st.Next == 1 {
			again, err := s.Step(ctx, "statement", run, before) // the first answer was lost: the machine repeats the step
			require.NoError(t, err)
			assert.Equal(t, "had run already (a repeated step)", again.Report.Steps[len(again.Report.Steps)-1].Detail)
		}
	}
	for _, step := range []string{"snapshot", "snapshot-ready", "reencrypt", "reencrypt-ready", "share", "cleanup"} {
		if step == "snapshot-ready" || step == "reencrypt-ready" {
			_, err := s.Step(ctx, step, run, st)
			require.ErrorIs(t, err, dr.ErrNotReady, step)
			f.Clock().Advance(15 * time.Minute)
		}
		st, err = s.Step(ctx, step, run, st)
		require.NoError(t, err, step)
	}
	assert.True(t, st.Report.OK, string(st.Report.JSON()))
	assert.Equal(t, "shipshape-sanitized-ledger-202611230300", st.Report.Result)
	assert.Equal(t, []string{"444444444444"}, f.SharedWith("cluster/shipshape-sanitized-ledger-202611230300"))
	assert.Equal(t, "arn:aws:kms:us-east-1:111111111111:key/dev", f.KMSKey("cluster/shipshape-sanitized-ledger-202611230300"))
	assert.NotContains(t, f.ClusterIDs(), "shipshape-sanitized-ledger-202611230300-raw", "the intermediate is deleted")
	assert.Empty(t, f.Clusters())
	assert.Empty(t, f.Instances())

	db, err := sql.Open("pgx", dsn(host, port))
	require.NoError(t, err)
	defer db.Close()
	var names string
	require.NoError(t, db.QueryRow(`SELECT string_agg(name, ',' ORDER BY id) FROM customers`).Scan(&names))
	assert.Equal(t, "Ada!,Alan!,Grace!", names, "each statement exactly once")
	var progress sql.NullString
	require.NoError(t, db.QueryRow(`SELECT to_regclass('shipshape_sanitize_progress')::text`).Scan(&progress))
	assert.False(t, progress.Valid, "the progress table is dropped before the snapshot")
}

// TestSanitizeStepsAlwaysCleanUp: a failure at any step, then cleanup with only the run.
func TestSanitizeStepsAlwaysCleanUp(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	s := sanitizer(t, f, noDB, restore.SanitizeOptions{Statements: []string{"SELECT 1"}, KMSKeyID: "arn:aws:kms:us-east-1:111111111111:key/dev"})
	ctx := context.Background()
	st, err := s.Step(ctx, "start", "r1", dr.VerifyState{})
	require.NoError(t, err)
	f.Clock().Advance(25 * time.Minute)
	st, err = s.Step(ctx, "ready", "r1", st)
	require.NoError(t, err)
	st.Host = "" // no database to drop the progress table in: skip straight to the snapshot
	// As after the statement step: the snapshot step refuses before every statement ran.
	st.Next, st.Done = 1, true
	f.LoseAnswers(drtest.OpCreateSnapshot, 1)
	_, err = s.Step(ctx, "snapshot", "r1", st)
	require.Error(t, err)
	f.Clock().Advance(15 * time.Minute)
	// The Catch hands cleanup the input of the failed step: the state as before "snapshot".
	out, err := s.Step(ctx, "cleanup", "r1", st)
	require.NoError(t, err)
	assert.Empty(t, f.Instances())
	assert.NotContains(t, f.IDs(), "shipshape-sanitized-orders-db-202611230300-raw", "the snapshot whose answer was lost is found and deleted")
	assert.Contains(t, out.Report.Cleanup, "deleted intermediate snapshot")
	assert.False(t, out.Report.OK)
}
