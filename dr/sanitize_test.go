package dr_test

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

// TestIntegrationStatementDeliveriesAtOnceAllSucceed: a state machine's step delivered several
// times at once (a Lambda retried while the first attempt still runs) runs the statement once,
// and every delivery succeeds: the ones that lose the race on the progress table (also while
// it is being created) find the statement committed and report it as run, instead of failing
// the execution into Cleanup.
func TestIntegrationStatementDeliveriesAtOnceAllSucceed(t *testing.T) {
	host, port, dsn := seeded(t)
	f := verifyBed(t, host, port)
	s := sanitizer(t, f, dsn, dr.SanitizeOptions{Statements: []string{
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
	s := sanitizer(t, f, noDB, dr.SanitizeOptions{Statements: []string{"UPDATE a SET b = 1", "UPDATE c SET d = 1"},
		KMSKeyID: "arn:aws:kms:us-east-1:111111111111:key/dev", ShareWith: []string{"444444444444"}})
	for _, st := range []dr.VerifyState{
		{Run: "r1", Instance: "shipshape-verify-r1", Snapshot: "shipshape-dr-orders-db-202611230300", Next: 1},
		{Run: "r1", Instance: "shipshape-verify-r1", Snapshot: "shipshape-dr-orders-db-202611230300", Next: 0, Done: true}, // a hand-edited state
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
