// Command dr-verify proves that a DR snapshot restores: it restores the newest DR snapshot of
// a DB instance or an Aurora cluster (or a given one) into a private temporary instance (for
// Aurora, a cluster and its instance), runs SQL checks, prints progress and a JSON report,
// optionally writes the report to S3 and notifies an SNS topic when it failed, and always
// deletes what it made.
//
//	dr-verify -instance orders-db -class db.t4g.medium -subnet-group private -security-groups sg-0123 \
//	    -secret-arn arn:aws:secretsmanager:eu-west-1:111111111111:secret:rds!db-... \
//	    -dsn 'postgres://{user}:{password}@{host}:{port}/orders?sslmode=require' \
//	    -min-tables 10 -min-rows orders=1000 -report-bucket dr-reports -sns-topic arn:aws:sns:...
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
// The password of a restored database is the snapshot's: keep it in Secrets Manager
// (-secret-arn: the RDS-managed master user secret, or a secret with username and password)
// and use {user} and {password} in -dsn; or ${VAR} reads the environment.
//
// With several source accounts each holding a database of the same name, -source-account
// (12 digits) chooses whose newest DR copy is verified; without it such a name is refused
// before anything is restored.
//
// Exit codes: 0 every check passed, 3 a check failed (see the report), 1 operational error
// (including a restore that failed or timed out), 2 usage error, 4 the name has DR copies
// from several source accounts and -source-account was not given (dr.AmbiguousSourceError;
// nothing was restored).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/examples/internal/drcli"
)

func main() {
	drcli.Main("dr-verify", "the temporary instance it made was deleted (the report above says so); nothing was verified", func(ctx context.Context) int {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr, drcli.FromEnvironment, nil)
	})
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, mk drcli.NewClients, optFn func(*dr.VerifyOptions)) int {
	fs := flag.NewFlagSet("dr-verify", flag.ContinueOnError)
	var f drcli.Restore
	f.Flags(fs, drcli.RestoreHelp{Verb: "verify", Run: "verification",
		DSN:     "connection string template, e.g. postgres://u:${PW}@{host}:{port}/db",
		Timeout: "how long to wait for the restore (the wait ends at this deadline)"})
	var checkFlags drcli.CheckFlags
	checkFlags.Flags(fs, "")
	if code, done := cli.Parse(fs, args, stderr, cli.Help(fs, "Usage: dr-verify (-instance NAME | -cluster NAME | -snapshot ID [-cluster-snapshot]) -class CLASS -dsn TEMPLATE [checks]\n\n"+
		"Restores a DR snapshot into a private temporary instance (Aurora: a cluster and its instance),\n"+
		"runs the checks, prints a JSON report (also to -report FILE and -report-bucket), notifies\n"+
		"-sns-topic when it fails, and always deletes what it made. In -dsn, {host} and {port} are the\n"+
		"restored endpoint, {user} and {password} come from -secret-arn, and ${VAR} from the environment\n"+
		"(keep passwords out of the command line).\n"+
		"The wait ends at -timeout, or at once in a terminal restore state; the instance is deleted on every path.\n"+
		"With several source accounts holding a database of the same name, -source-account chooses whose.\n"+
		"Exit codes: 0 all checks passed, 3 a check failed, 1 operational error (a restore that failed or\n"+
		"timed out included), 2 usage error, 4 the name has DR copies from several source accounts and no\n"+
		"-source-account was given (nothing was restored).\n\nFlags:\n")); done {
		return code
	}
	usageErr := func(format string, a ...any) int { return cli.Usage(stderr, "dr-verify", format, a...) }
	checks, err := checkFlags.Checks()
	if err != nil {
		return usageErr("%v", err)
	}
	secretErr, sourceErr := drcli.CheckSecret(f.SecretARN, f.DSN), drcli.CheckSource(f.Instance, f.Cluster, f.Snapshot)
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case drcli.Count(f.Instance, f.Cluster, f.Snapshot) > 1:
		return usageErr("give one of -instance, -cluster and -snapshot")
	case drcli.Count(f.Instance, f.Cluster, f.Snapshot) == 0:
		return usageErr("give -instance or -cluster (its newest DR snapshot) or -snapshot")
	case sourceErr != nil:
		return usageErr("%v", sourceErr)
	case drcli.CheckSourceAccount(f.SourceAccount, f.Instance, f.Cluster) != nil:
		return usageErr("%v", drcli.CheckSourceAccount(f.SourceAccount, f.Instance, f.Cluster))
	case cli.IsSet(fs, "report-prefix") && f.Report.Bucket == "":
		return usageErr("-report-prefix goes with -report-bucket")
	case f.ClusterSnapshot && f.Snapshot == "":
		return usageErr("-cluster-snapshot goes with -snapshot")
	case secretErr != nil:
		return usageErr("%v", secretErr)
	case f.Class == "":
		return usageErr("-class is required, e.g. db.t4g.medium")
	case f.DSN == "" || !strings.Contains(f.DSN, "{host}"):
		return usageErr("-dsn is required and must contain {host} (and usually {port})")
	}
	p, code, done := f.Prepare(ctx, "dr-verify", stderr, mk)
	if done {
		return code
	}
	v, err := restore.NewVerifier(p.Clients.RDS, f.Target(), p.Database, func(o *dr.VerifyOptions) {
		o.SubnetGroup, o.SecurityGroups = f.SubnetGroup, p.SecurityGroups
		o.Checks = checks
		o.Timeout, o.Poll = f.Timeout, f.Poll
		o.Progress = drcli.Progress(stderr, "dr-verify")
		if optFn != nil {
			optFn(o)
		}
	})
	if err != nil {
		return usageErr("%v", err)
	}
	rep, err := v.Verify(ctx)
	f.Report.Write(ctx, "dr-verify", p.Reporter, &rep, stdout, stderr)
	switch {
	case err != nil:
		return drcli.Fail(stderr, "dr-verify", err)
	case !rep.OK:
		fmt.Fprintln(stderr, "dr-verify: a check failed; see the report")
		return 3
	}
	return 0
}
