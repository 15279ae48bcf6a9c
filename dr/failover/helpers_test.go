package failover_test

import (
	"database/sql"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/stretchr/testify/require"
)

// Helpers these tests share with package dr's (a copy each: tests of different packages).

var created = time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)

var noDB = func(string, int32) string { return "" }

// wire is the real SDK client against a WireServer over f. The dr types set their own
// retryer (on f's fake clock, so backoff takes no time) on every call.
func wire(t *testing.T, f *drtest.RDS) (*rds.Client, *drtest.WireServer) {
	srv := drtest.NewWireServer(f)
	t.Cleanup(srv.Close)
	return srv.Client(), srv
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
