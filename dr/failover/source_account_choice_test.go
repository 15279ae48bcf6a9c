package failover_test

// Which copy is "the newest copy of the chosen source account's database" when the tags are
// malformed, missing or conflicting, and when one database's name starts another's
// (docs/dr.md, "Several source accounts: a database is a name of an account"). Whatever the
// shape, the copy restored is one the chosen account's database made, and a name whose
// copies can't all be attributed to one account is not quietly resolved to one of them.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/failover"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

// picks returns the snapshot Verifier.Start and Restorer.Plan choose for instance and
// account, with the error of each.
func picks(t *testing.T, f *drtest.RDS, instance, account string) (verify string, verr error, plan string, perr error) {
	t.Helper()
	ctx := context.Background()
	v, err := restore.NewVerifier(f, dr.VerifyTarget{SourceInstance: instance, SourceAccount: account, InstanceClass: "db.t4g.medium"},
		dr.Database{Driver: "pgx", DSN: noDB}, func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	st, verr := v.Start(ctx, "run-pick-"+account)
	p, perr := restorer(t, f, nil, failover.FailoverTarget{SourceInstance: instance, SourceAccount: account}).Plan(ctx)
	return st.Snapshot, verr, p.Snapshot, perr
}

func arnOf(account, id string) string { return "arn:aws:rds:us-east-1:" + account + ":snapshot:" + id }

// TestAMalformedAccountTagNeverMakesACopyTheChosenAccounts: the newest copy of orders-db
// carries a source-account tag that is not an account (11 digits, empty, an ARN) and a
// shipshape:source of account B. Chosen A: A's own (older) copy. Not chosen: never that copy
// quietly, since it is not known to be A's.
func TestAMalformedAccountTagNeverMakesACopyTheChosenAccounts(t *testing.T) {
	for _, bad := range []string{"11111111111", "", "arn:aws:iam::111111111111:root", "111111111111 ", "1111111111111"} {
		t.Run(bad, func(t *testing.T) {
			f := drtest.New(nil)
			f.AddManual("shipshape-dr-orders-db-202611230300-111111111111", "orders-db", created, map[string]string{dr.TagDR: "true",
				dr.TagSource: arnOf(prodA, "shipshape-dr-orders-db-202611230300"), dr.TagSourceAccount: prodA})
			f.AddManual("shipshape-dr-orders-db-202611230400-x", "orders-db", created.Add(time.Hour), map[string]string{dr.TagDR: "true",
				dr.TagSource: arnOf(prodB, "shipshape-dr-orders-db-202611230400"), dr.TagSourceAccount: bad})
			vs, verr, ps, perr := picks(t, f, "orders-db", prodA)
			require.NoError(t, verr)
			require.NoError(t, perr)
			assert.Equal(t, "shipshape-dr-orders-db-202611230300-111111111111", vs, "verify restores account A's copy")
			assert.Equal(t, "shipshape-dr-orders-db-202611230300-111111111111", ps, "failover restores account A's copy")

			vs, verr, ps, perr = picks(t, f, "orders-db", "")
			if verr == nil {
				assert.NotEqual(t, "shipshape-dr-orders-db-202611230400-x", vs, "a copy of no known account is not chosen for an unchosen name with A's copies")
			}
			if perr == nil {
				assert.NotEqual(t, "shipshape-dr-orders-db-202611230400-x", ps)
			}
		})
	}
}

// TestAPrefixOfAnotherDatabasesNameIsNotThatDatabase: orders and orders-db are two
// databases; the copies of orders-db (newer) are never the newest copy of orders, with or
// without the account.
func TestAPrefixOfAnotherDatabasesNameIsNotThatDatabase(t *testing.T) {
	for _, account := range []string{"", prodA} {
		f := drtest.New(nil)
		f.AddManual("shipshape-dr-orders-202611230300-111111111111", "orders", created, map[string]string{dr.TagDR: "true",
			dr.TagSource: arnOf(prodA, "shipshape-dr-orders-202611230300"), dr.TagSourceAccount: prodA})
		f.AddManual("shipshape-dr-orders-db-202611230400-111111111111", "orders-db", created.Add(time.Hour), map[string]string{dr.TagDR: "true",
			dr.TagSource: arnOf(prodA, "shipshape-dr-orders-db-202611230400"), dr.TagSourceAccount: prodA})
		f.AddManual("shipshape-dr-orders-db-202611230500-333333333333", "orders-db", created.Add(2*time.Hour), map[string]string{dr.TagDR: "true",
			dr.TagSource: arnOf(prodB, "shipshape-dr-orders-db-202611230500"), dr.TagSourceAccount: prodB})
		vs, verr, ps, perr := picks(t, f, "orders", account)
		require.NoError(t, verr, "account %q", account)
		require.NoError(t, perr, "account %q", account)
		assert.Equal(t, "shipshape-dr-orders-202611230300-111111111111", vs)
		assert.Equal(t, "shipshape-dr-orders-202611230300-111111111111", ps)
	}
}

// TestAnOperatorsSnapshotIsNotTheChosenAccountsCopy: the newest snapshot of orders-db in the
// recovery account is an operator's own manual snapshot (no shipshape tags): it holds no
// known source account's data, so it is not "the newest copy of account A's orders-db".
func TestAnOperatorsSnapshotIsNotTheChosenAccountsCopy(t *testing.T) {
	f := drtest.New(nil)
	twoAccountsCopies(f)
	f.AddManual("orders-db-before-migration", "orders-db", created.Add(3*time.Hour), nil)
	for _, account := range []string{prodA, prodB} {
		vs, verr, ps, perr := picks(t, f, "orders-db", account)
		require.NoError(t, verr)
		require.NoError(t, perr)
		assert.NotEqual(t, "orders-db-before-migration", vs, "verify for %s", account)
		assert.NotEqual(t, "orders-db-before-migration", ps, "failover for %s", account)
	}
}
