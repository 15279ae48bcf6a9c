package restore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// verifyBed: a fake RDS with one available DR snapshot of orders-db whose restores answer on
// host:port (a real PostgreSQL in the integration tests).
func verifyBed(t *testing.T, host string, port int32) *drtest.RDS {
	f := drtest.New(nil)
	f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", created, map[string]string{dr.TagDR: "true"})
	f.AddManual("shipshape-dr-orders-db-202611220300", "orders-db", created.Add(-24*time.Hour), map[string]string{dr.TagDR: "true"})
	f.Endpoint = func(string) (string, int32) { return host, port }
	return f
}

func verifier(t *testing.T, f *drtest.RDS, dsn func(string, int32) string, checks dr.Checks, optFns ...func(*dr.VerifyOptions)) *restore.Verifier {
	v, err := restore.NewVerifier(f, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, dr.Database{Driver: "pgx", DSN: dsn},
		append([]func(*dr.VerifyOptions){func(o *dr.VerifyOptions) {
			o.SubnetGroup = "private"
			o.SecurityGroups = []string{"sg-verify"}
			o.Checks = checks
			o.Clock = f.Clock()
		}}, optFns...)...)
	require.NoError(t, err)
	return v
}

// seeded creates a fresh database on the test bed's PostgreSQL with two tables and returns a
// DSN builder for it.
func seeded(t *testing.T) (host string, port int32, dsn func(string, int32) string) {
	pg := testbed.PostgresServer(t)
	u := pg.Database(t, "verify")
	dsn = func(host string, port int32) string {
		d := *u
		d.Host = net.JoinHostPort(host, strconv.Itoa(int(port)))
		return d.String()
	}
	db, err := sql.Open("pgx", u.String())
	require.NoError(t, err)
	defer db.Close()
	for _, stmt := range []string{
		`CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL)`,
		`CREATE TABLE orders (id serial PRIMARY KEY, customer int REFERENCES customers, total numeric)`,
		`INSERT INTO customers (name) VALUES ('Ada'), ('Alan'), ('Grace')`,
		`INSERT INTO orders (customer, total) SELECT 1 + g % 3, g * 10 FROM generate_series(1, 5) g`,
	} {
		_, err := db.Exec(stmt)
		require.NoError(t, err, stmt)
	}
	return pg.Host, pg.Port, dsn
}

func TestIntegrationVerifyAgainstPostgres(t *testing.T) {
	host, port, dsn := seeded(t)
	good := dr.Checks{ServerVersionPrefix: "15.", MinTables: 2, MinRows: map[string]int64{"orders": 5, "customers": 3},
		Queries: []dr.QueryCheck{{Name: "customers named A", SQL: "SELECT count(*) FROM customers WHERE name LIKE 'A%'", Want: "2"}}}

	t.Run("checks pass", func(t *testing.T) {
		f := verifyBed(t, host, port)
		var lines []string
		rep, err := verifier(t, f, dsn, good, func(o *dr.VerifyOptions) { o.Progress = func(s string) { lines = append(lines, s) } }).Verify(context.Background())
		require.NoError(t, err)
		assert.True(t, rep.OK, string(rep.JSON()))
		assert.Equal(t, "shipshape-dr-orders-db-202611230300", rep.Snapshot, "the newest DR snapshot")
		assert.Empty(t, f.Instances(), "the temporary instance is deleted")
		assert.Regexp(t, `^deleted shipshape-verify-20261123-090000-[0-9a-f]{6}$`, rep.Cleanup)
		assert.Contains(t, lines[1], "waiting (round 1, 1h0m0s left)", "progress while RDS restores")
	})
	t.Run("a failing check is reported, the instance still deleted", func(t *testing.T) {
		f := verifyBed(t, host, port)
		bad := good
		bad.MinRows = map[string]int64{"orders": 10, "missing_table": 1}
		rep, err := verifier(t, f, dsn, bad).Verify(context.Background())
		require.NoError(t, err, "failed checks are in the report, not an error")
		assert.False(t, rep.OK)
		assert.Contains(t, string(rep.JSON()), `"detail": "5 rows (want at least 10)"`)
		assert.Contains(t, string(rep.JSON()), "missing_table")
		assert.Empty(t, f.Instances())
	})
}

func TestVerifyAlwaysCleansUp(t *testing.T) {
	t.Run("restore refused", func(t *testing.T) {
		f := verifyBed(t, "127.0.0.1", 1)
		f.Fail(drtest.OpRestore, drtest.APIError("InsufficientDBInstanceCapacity", "no capacity"), 1)
		rep, err := verifier(t, f, func(string, int32) string { return "" }, dr.Checks{}).Verify(context.Background())
		require.ErrorContains(t, err, "InsufficientDBInstanceCapacity")
		assert.False(t, rep.OK)
		assert.Empty(t, f.Instances())
	})
	t.Run("restore never finishes", func(t *testing.T) {
		f := verifyBed(t, "127.0.0.1", 1)
		f.RestoreTime = 3 * time.Hour
		rep, err := verifier(t, f, func(string, int32) string { return "" }, dr.Checks{}, func(o *dr.VerifyOptions) { o.Timeout = time.Hour }).Verify(context.Background())
		require.ErrorIs(t, err, dr.ErrTimedOut)
		assert.False(t, rep.OK)
		assert.Empty(t, f.Instances(), "deleted although the wait failed")
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		f := verifyBed(t, "127.0.0.1", 1)
		ctx, cancel := context.WithCancel(context.Background())
		v := verifier(t, f, func(string, int32) string { return "" }, dr.Checks{}, func(o *dr.VerifyOptions) {
			o.Progress = func(string) { cancel() } // the operator gives up at the first progress line
		})
		_, err := v.Verify(ctx)
		require.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, f.Instances(), "cleanup runs on a context of its own")
	})
	t.Run("database unreachable", func(t *testing.T) {
		f := verifyBed(t, "127.0.0.1", 1)
		rep, err := verifier(t, f, func(h string, p int32) string { return fmt.Sprintf("postgres://x@%s:%d/db?connect_timeout=1", h, p) }, dr.Checks{}).Verify(context.Background())
		require.NoError(t, err)
		assert.False(t, rep.OK)
		assert.Contains(t, string(rep.JSON()), `"name": "connect"`)
		assert.Empty(t, f.Instances())
	})
	t.Run("the temporary instance is private and where it was asked", func(t *testing.T) {
		f := verifyBed(t, "127.0.0.1", 1)
		v := verifier(t, f, func(string, int32) string { return "" }, dr.Checks{})
		st, err := v.Start(context.Background(), "run-1")
		require.NoError(t, err)
		assert.Equal(t, "shipshape-verify-run-1", st.Instance, "derived from the run")
		public, subnet, sgs, ok := f.Instance(st.Instance)
		require.True(t, ok)
		assert.False(t, public)
		assert.Equal(t, "private", subnet)
		assert.Equal(t, []string{"sg-verify"}, sgs)
		again, err := v.Start(context.Background(), "run-1")
		require.NoError(t, err, "a repeated start of the run attaches to its instance")
		assert.Equal(t, st.Instance, again.Instance)
		assert.Equal(t, 1, len(f.Instances()))
		_, _, err = v.Ready(context.Background(), &st)
		require.ErrorIs(t, err, dr.ErrNotReady, "the distinct error Step Functions retries on")
		require.NoError(t, v.Cleanup(context.Background(), &st))
		_, err = v.Start(context.Background(), "run-1")
		require.ErrorIs(t, err, dr.ErrNotReady, "an instance being deleted is never reused")
		require.NoError(t, v.Cleanup(context.Background(), &st), "cleanup twice is fine")
	})
	_, err := restore.NewVerifier(drtest.New(nil), dr.VerifyTarget{}, dr.Database{})
	require.ErrorIs(t, err, dr.ErrInvalidInput)
}

func TestIntegrationSanitizeAgainstPostgres(t *testing.T) {
	host, port, dsn := seeded(t)
	f := verifyBed(t, host, port)
	f.AddAutomated("orders-db", created.Add(24*time.Hour), "arn:aws:kms:us-east-1:111111111111:key/prod")
	src, err := dr.NewSource(f)
	require.NoError(t, err)
	_, err = src.CopyAutomated(context.Background(), "rds:orders-db-2026-11-24-03-00")
	require.NoError(t, err)
	f.Clock().Advance(15 * time.Minute) // the encrypted DR copy is available, and the newest
	id, rep, err := sanitizer(t, f, dsn, restore.SanitizeOptions{
		Statements: []string{`UPDATE customers SET name = 'customer ' || id`, `DELETE FROM orders WHERE total > 30`},
		KMSKeyID:   "arn:aws:kms:us-east-1:111111111111:key/dev-shared",
		ShareWith:  []string{"444444444444"},
	}).Sanitize(context.Background())
	require.NoError(t, err, string(rep.JSON()))
	assert.True(t, rep.OK)
	assert.Equal(t, "shipshape-sanitized-orders-db-202611240300", id)
	assert.Equal(t, []string{"444444444444"}, f.SharedWith(id))
	assert.Equal(t, "arn:aws:kms:us-east-1:111111111111:key/dev-shared", f.KMSKey(id), "re-encrypted with the shareable key")
	assert.NotContains(t, f.IDs(), id+"-raw", "the intermediate snapshot is deleted")
	assert.Empty(t, f.Instances(), "the temporary instance is deleted")

	// The statements really ran on the restored database (the test bed's).
	db, err := sql.Open("pgx", dsn(host, port))
	require.NoError(t, err)
	defer db.Close()
	var names string
	require.NoError(t, db.QueryRow(`SELECT string_agg(name, ',' ORDER BY id) FROM customers`).Scan(&names))
	assert.Equal(t, "customer 1,customer 2,customer 3", names)
	var orders int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM orders`).Scan(&orders))
	assert.Equal(t, 3, orders)

	// A failing statement rolls back, snapshots nothing, and still cleans up.
	f2 := verifyBed(t, host, port)
	_, rep, err = sanitizer(t, f2, dsn, restore.SanitizeOptions{Statements: []string{`UPDATE customers SET name = 'x'`, `UPDATE no_such_table SET x = 1`}}).Sanitize(context.Background())
	require.ErrorContains(t, err, "statement 2")
	assert.False(t, rep.OK)
	assert.Empty(t, f2.Instances())
	require.NoError(t, db.QueryRow(`SELECT string_agg(name, ',' ORDER BY id) FROM customers`).Scan(&names))
	assert.Equal(t, "customer 1,customer 2,customer 3", names, "rolled back")
	assert.Len(t, f2.IDs(), 2, "no snapshot taken")
}

func sanitizer(t *testing.T, f *drtest.RDS, dsn func(string, int32) string, o restore.SanitizeOptions, optFns ...func(*dr.VerifyOptions)) *restore.Sanitizer {
	s, err := restore.NewSanitizer(f, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, dr.Database{Driver: "pgx", DSN: dsn}, o,
		append([]func(*dr.VerifyOptions){func(o *dr.VerifyOptions) { o.SubnetGroup = "private"; o.Clock = f.Clock() }}, optFns...)...)
	require.NoError(t, err)
	return s
}

// TestDSNTemplateEncodesTheUserInformation: a ${VAR} read into a URL's user information is
// percent-encoded where it would not parse as it is (libpq and pgx end the user information
// at the first '@'), so the driver gets the password as it is; a value that parsed before,
// one already percent-encoded, and anything outside the user information are left alone.
func TestDSNTemplateEncodesTheUserInformation(t *testing.T) {
	for _, c := range []struct{ template, value, want, password string }{
		{"postgres://verify:${P}@{host}:{port}/orders", "p@ss%zz/#? x", "postgres://verify:p%40ss%25zz%2F%23%3F%20x@db.example:5432/orders", "p@ss%zz/#? x"},
		{"postgres://verify:${P}@{host}:{port}/orders", "p%40ss", "postgres://verify:p%40ss@db.example:5432/orders", "p@ss"},
		{"postgres://verify:${P}@{host}:{port}/orders", "a:b!$&*", "postgres://verify:a:b!$&*@db.example:5432/orders", "a:b!$&*"},
		{"postgres://${P}@{host}:{port}/orders", "verify:secret", "postgres://verify:secret@db.example:5432/orders", "secret"},
		{"postgresql://verify:$P@{host}/orders?application_name=${P}", "p@ss", "postgresql://verify:p%40ss@db.example/orders?application_name=p@ss", "p@ss"},
		{"host={host} port={port} user=verify password=${P}", "p@ss%zz", "host=db.example port=5432 user=verify password=p@ss%zz", "p@ss%zz"},
	} {
		build, err := restore.DSNTemplate(c.template, func(string) string { return c.value })
		require.NoError(t, err)
		dsn := build("db.example", 5432)
		assert.Equal(t, c.want, dsn, c.template)
		cfg, err := pgconn.ParseConfig(dsn)
		require.NoError(t, err, dsn)
		assert.Equal(t, c.password, cfg.Password, dsn)
		assert.Equal(t, "db.example", cfg.Host, dsn)
	}
}

// TestConnectErrorsNeverCarryThePassword: whatever DSN the caller's function builds, and
// however the driver quotes it in its error, the report and the progress lines hold neither
// the DSN nor the password (nor the parts of it a parser took for a host name).
func TestConnectErrorsNeverCarryThePassword(t *testing.T) {
	const secret = "S3CR3T-V4LU3"
	for _, dsn := range []func(string, int32) string{
		func(h string, p int32) string {
			return fmt.Sprintf("postgres://verify:p@ss%%zz%s@%s:%d/orders?connect_timeout=1", secret, h, p)
		},
		func(h string, p int32) string {
			return fmt.Sprintf("postgres://verify:%s/x@%s:%d/orders?connect_timeout=1", secret, h, p)
		},
		func(h string, p int32) string {
			return fmt.Sprintf("host=%s port=%d user=verify password=%s connect_timeout=1 sslmode=bogus", h, p, secret)
		},
		func(h string, p int32) string {
			return fmt.Sprintf("host=%s port=%d user=verify password='%s x' connect_timeout=1 sslmode=bogus", h, p, secret)
		},
	} {
		f := verifyBed(t, "127.0.0.1", 1)
		var progress []string
		v := verifier(t, f, dsn, dr.Checks{MinTables: 1}, func(o *dr.VerifyOptions) { o.Progress = func(s string) { progress = append(progress, s) } })
		rep, err := v.Verify(context.Background())
		require.NoError(t, err)
		require.NotNil(t, rep.Failed())
		assert.Equal(t, "connect", rep.Failed().Name)
		assert.NotContains(t, string(rep.JSON()), secret, dsn("127.0.0.1", 1))
		assert.NotContains(t, strings.Join(progress, "\n"), secret)
	}
}

// TestIntegrationSanitizeNeverLeaksAfterAFailedShare: the blocking form against the test
// bed's PostgreSQL: the statements run, the sanitized snapshot is made, the share is refused;
// the run fails and leaves no sanitized snapshot (nor the intermediate, nor the instance).
func TestIntegrationSanitizeNeverLeaksAfterAFailedShare(t *testing.T) {
	host, port, dsn := seeded(t)
	f := verifyBed(t, host, port)
	f.SetKMSKey("shipshape-dr-orders-db-202611230300", "arn:aws:kms:us-east-1:111111111111:key/recovery")
	f.Fail(drtest.OpModifyAttribute, drtest.APIError("AccessDenied", "not authorized to perform rds:ModifyDBSnapshotAttribute"), 0)
	id, rep, err := sanitizer(t, f, dsn, restore.SanitizeOptions{Statements: []string{`UPDATE customers SET name = 'customer ' || id`},
		KMSKeyID: "arn:aws:kms:us-east-1:111111111111:key/dev-shared", ShareWith: []string{"444444444444"}}).Sanitize(context.Background())
	require.ErrorContains(t, err, "AccessDenied")
	assert.Empty(t, id)
	assert.False(t, rep.OK)
	for _, left := range f.IDs() {
		assert.False(t, strings.HasPrefix(left, dr.PrefixSanitized), "left behind: %s (cleanup: %s)", left, rep.Cleanup)
	}
	assert.Empty(t, f.Instances())
	assert.Contains(t, rep.Cleanup, "deleted unshared sanitized snapshot")
}
