package restore_test

// Adversarial tests of the sanitizer's "each statement exactly once" against a real
// PostgreSQL (the test bed): the same statement step delivered twice at the same time, and a
// step repeated after the answer of its commit was lost, run the statement once.

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

func TestIntegrationStatementStepDeliveredTwiceAtOnce(t *testing.T) {
	host, port, dsn := seeded(t)
	f := verifyBed(t, host, port)
	s := sanitizer(t, f, dsn, restore.SanitizeOptions{Statements: []string{
		`UPDATE customers SET name = name || '!'`,     // row locks: the second waits for the first
		`INSERT INTO customers (name) VALUES ('Eve')`, // no lock to wait on
	}})
	ctx := context.Background()
	const run = "twice-at-once"
	st, err := s.Step(ctx, "start", run, dr.VerifyState{})
	require.NoError(t, err)
	f.Clock().Advance(25 * time.Minute)
	st, err = s.Step(ctx, "ready", run, st)
	require.NoError(t, err)
	for !st.Done {
		var wg sync.WaitGroup
		outs := make([]dr.VerifyState, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = s.Step(ctx, "statement", run, st)
			}()
		}
		wg.Wait()
		progressed := false
		for i := range 2 {
			if errs[i] == nil {
				st, progressed = outs[i], true
			}
		}
		t.Logf("deliveries: %v", errs)
		require.True(t, progressed, "neither delivery went through: %v", errs)
	}
	db, err := sql.Open("pgx", dsn(host, port))
	require.NoError(t, err)
	defer db.Close()
	var names string
	require.NoError(t, db.QueryRow(`SELECT string_agg(name, ',' ORDER BY id) FROM customers`).Scan(&names))
	assert.Equal(t, "Ada!,Alan!,Grace!,Eve", names, "each statement exactly once")
	st, err = s.Step(ctx, "cleanup", run, st)
	require.NoError(t, err)
	assert.Empty(t, f.Instances())
}
