// Command dr-verify proves that a DR snapshot restores: it restores the newest DR snapshot of
// an instance (or a given one) into a private temporary instance, runs SQL checks, prints
// progress and a JSON report, and always deletes the temporary instance.
//
//	DR_DB_PASSWORD=... dr-verify -instance orders-db -class db.t4g.medium -subnet-group private \
//	    -security-groups sg-0123 -dsn 'postgres://verify:${DR_DB_PASSWORD}@{host}:{port}/orders' \
//	    -min-tables 10 -min-rows orders=1000
//
// The wait for the restore ends at -timeout (polling every -poll, the last poll at the
// deadline) or at once when the restore reaches a terminal state (incompatible-restore,
// storage-full, ...); the temporary instance is deleted on every path, also on Ctrl-C.
//
// The JSON report on stdout (and in -report FILE) has the fields: snapshot (the DR snapshot
// restored), instance (the temporary instance), run (this run's id, also the instance's
// shipshape:run tag), started and finished (RFC 3339, UTC), ok (every step passed and the
// cleanup succeeded), steps (each with name, ok and detail: restore, wait, connect, server
// version, table count, rows TABLE, and each -query by name) and cleanup (what was deleted,
// or why not). The DSN is never printed.
//
// Exit codes: 0 every check passed, 3 a check failed (see the report), 1 operational error
// (including a restore that failed or timed out), 2 usage error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/internal/cli"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// newRDS builds the RDS client; tests replace it.
type newRDS func(ctx context.Context) (dr.RDSAPI, error)

func fromEnvironment(ctx context.Context) (dr.RDSAPI, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	return rds.NewFromConfig(cfg), nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, fromEnvironment, nil))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, mk newRDS, optFn func(*dr.VerifyOptions)) int {
	fs := flag.NewFlagSet("dr-verify", flag.ContinueOnError)
	instance := fs.String("instance", "", "verify the newest DR snapshot of this DB instance")
	snapshot := fs.String("snapshot", "", "verify this snapshot")
	class := fs.String("class", "", "instance class of the temporary instance, e.g. db.t4g.medium")
	subnet := fs.String("subnet-group", "", "DB subnet group of the temporary instance")
	sgs := fs.String("security-groups", "", "VPC security group ids, comma-separated")
	dsn := fs.String("dsn", "", "connection string template, e.g. postgres://u:${PW}@{host}:{port}/db")
	versionPrefix := fs.String("version-prefix", "", "the server version must start with this, e.g. 15.")
	minTables := fs.Int("min-tables", 0, "at least this many tables in the public schema")
	var minRows, queries multi
	fs.Var(&minRows, "min-rows", "TABLE=N: at least N rows (repeatable)")
	fs.Var(&queries, "query", "NAME|SQL|WANT: a query whose single value must be WANT (repeatable)")
	timeout := fs.Duration("timeout", time.Hour, "how long to wait for the restore (the wait ends at this deadline)")
	poll := fs.Duration("poll", 30*time.Second, "time between status checks while waiting")
	reportFile := fs.String("report", "", "also write the JSON report to this file")
	if code, done := cli.Parse(fs, args, stderr, func(w io.Writer) {
		fmt.Fprint(w, "Usage: dr-verify (-instance NAME | -snapshot ID) -class CLASS -dsn TEMPLATE [checks]\n\n"+
			"Restores a DR snapshot into a private temporary instance, runs the checks, prints a JSON report,\n"+
			"and always deletes the instance. In -dsn, {host} and {port} are the restored endpoint and\n"+
			"${VAR} is read from the environment (keep passwords out of the command line).\n"+
			"The wait ends at -timeout, or at once in a terminal restore state; the instance is deleted on every path.\n"+
			"Exit codes: 0 all checks passed, 3 a check failed, 1 operational error (a restore that failed or\n"+
			"timed out included), 2 usage error.\n\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}); done {
		return code
	}
	usageErr := func(format string, a ...any) int { return cli.Usage(stderr, "dr-verify", format, a...) }
	checks := dr.Checks{ServerVersionPrefix: *versionPrefix, MinTables: *minTables, MinRows: map[string]int64{}}
	for _, r := range minRows {
		table, n, ok := strings.Cut(r, "=")
		count, err := strconv.ParseInt(n, 10, 64)
		if !ok || strings.TrimSpace(table) == "" || err != nil || count < 0 {
			return usageErr("-min-rows %q: want TABLE=N with N 0 or more", r)
		}
		if _, dup := checks.MinRows[table]; dup {
			return usageErr("-min-rows: table %q is given twice", table)
		}
		checks.MinRows[table] = count
	}
	for _, q := range queries {
		parts := strings.SplitN(q, "|", 3)
		if len(parts) != 3 || strings.TrimSpace(parts[0]) == "" || strings.TrimSpace(parts[1]) == "" {
			return usageErr("-query %q: want NAME|SQL|WANT", q)
		}
		checks.Queries = append(checks.Queries, dr.QueryCheck{Name: parts[0], SQL: parts[1], Want: parts[2]})
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *instance != "" && *snapshot != "":
		return usageErr("give -instance or -snapshot, not both")
	case *instance == "" && *snapshot == "":
		return usageErr("give -instance (its newest DR snapshot) or -snapshot")
	case *class == "":
		return usageErr("-class is required, e.g. db.t4g.medium")
	case *minTables < 0:
		return usageErr("-min-tables %d: want 0 or more", *minTables)
	case *dsn == "" || !strings.Contains(*dsn, "{host}"):
		return usageErr("-dsn is required and must contain {host} (and usually {port})")
	}
	for name, d := range map[string]time.Duration{"timeout": *timeout, "poll": *poll} {
		if err := cli.Duration(name, d); err != nil {
			return usageErr("%v", err)
		}
	}
	buildDSN, err := dr.DSNTemplate(*dsn, os.Getenv)
	if err != nil {
		return usageErr("-dsn: %v", err)
	}
	client, err := mk(ctx)
	if err != nil {
		return cli.Fail(stderr, "dr-verify", fmt.Errorf("AWS configuration: %w", err))
	}
	var groups []string
	if *sgs != "" {
		groups = strings.Split(*sgs, ",")
	}
	v, err := dr.NewVerifier(client, dr.VerifyTarget{SnapshotID: *snapshot, SourceInstance: *instance, InstanceClass: *class},
		dr.Database{Driver: "pgx", DSN: buildDSN}, func(o *dr.VerifyOptions) {
			o.SubnetGroup, o.SecurityGroups = *subnet, groups
			o.Checks = checks
			o.Timeout, o.Poll = *timeout, *poll
			o.Progress = func(line string) {
				fmt.Fprintf(stderr, "%s dr-verify: %s\n", time.Now().UTC().Format(time.RFC3339), line)
			}
			if optFn != nil {
				optFn(o)
			}
		})
	if err != nil {
		return usageErr("%v", err)
	}
	rep, err := v.Verify(ctx)
	out := append(rep.JSON(), '\n')
	_, _ = stdout.Write(out)
	if *reportFile != "" {
		if werr := os.WriteFile(*reportFile, out, 0o644); werr != nil {
			fmt.Fprintln(stderr, "dr-verify: writing the report:", werr)
		}
	}
	switch {
	case err != nil:
		return cli.Fail(stderr, "dr-verify", err)
	case !rep.OK:
		fmt.Fprintln(stderr, "dr-verify: a check failed; see the report")
		return 3
	}
	return 0
}
