package testbed

import (
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresDSN returns a connection string for the test bed's PostgreSQL superuser.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	return need(t, "PostgreSQL", "SHIPSHAPE_PG_DSN")[0]
}

// Postgres is the test bed's PostgreSQL, with its host and port apart, as code that connects
// to a restored RDS endpoint ({host} and {port}) takes them.
type Postgres struct {
	URL  *url.URL // the superuser's connection string
	Host string
	Port int32
}

// PostgresServer returns the test bed's PostgreSQL.
func PostgresServer(t testing.TB) Postgres {
	t.Helper()
	dsn := PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("SHIPSHAPE_PG_DSN: %v", err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatalf("SHIPSHAPE_PG_DSN %s: %v", dsn, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("SHIPSHAPE_PG_DSN %s: port: %v", dsn, err)
	}
	return Postgres{URL: u, Host: host, Port: int32(n)}
}

// Database creates an empty database named prefix_<unique> and returns the superuser's
// connection string for it; it is dropped, connections and all, when the test ends.
func (p Postgres) Database(t testing.TB, prefix string) *url.URL {
	t.Helper()
	admin, err := sql.Open("pgx", p.URL.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if a, err := sql.Open("pgx", p.URL.String()); err == nil {
			_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	u := *p.URL
	u.Path = "/" + name
	return &u
}
