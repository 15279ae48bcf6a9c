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
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/internal/cli"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// clients are the AWS clients a run needs; newClients builds them, tests replace it.
type clients struct {
	rds dr.RDSAPI
	sm  dr.SecretsManagerAPI
	s3  dr.S3API
	sns dr.SNSAPI
}

type newClients func(ctx context.Context) (clients, error)

func fromEnvironment(ctx context.Context) (clients, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return clients{}, err
	}
	return clients{rds: rds.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg), s3: s3.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg)}, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, fromEnvironment, nil))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, mk newClients, optFn func(*dr.VerifyOptions)) int {
	fs := flag.NewFlagSet("dr-verify", flag.ContinueOnError)
	instance := fs.String("instance", "", "verify the newest DR snapshot of this DB instance")
	cluster := fs.String("cluster", "", "verify the newest DR cluster snapshot of this Aurora cluster")
	snapshot := fs.String("snapshot", "", "verify this snapshot (a DB cluster snapshot with -cluster-snapshot)")
	clusterSnapshot := fs.Bool("cluster-snapshot", false, "-snapshot names a DB cluster snapshot (Aurora)")
	secretARN := fs.String("secret-arn", "", "Secrets Manager secret with username and password for {user} and {password} in -dsn")
	bucket := fs.String("report-bucket", "", "also write the JSON report to this S3 bucket")
	prefix := fs.String("report-prefix", "dr-reports", "key prefix of the report in -report-bucket")
	topic := fs.String("sns-topic", "", "SNS topic ARN told when the verification fails")
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
		fmt.Fprint(w, "Usage: dr-verify (-instance NAME | -cluster NAME | -snapshot ID [-cluster-snapshot]) -class CLASS -dsn TEMPLATE [checks]\n\n"+
			"Restores a DR snapshot into a private temporary instance (Aurora: a cluster and its instance),\n"+
			"runs the checks, prints a JSON report (also to -report FILE and -report-bucket), notifies\n"+
			"-sns-topic when it fails, and always deletes what it made. In -dsn, {host} and {port} are the\n"+
			"restored endpoint, {user} and {password} come from -secret-arn, and ${VAR} from the environment\n"+
			"(keep passwords out of the command line).\n"+
			"The wait ends at -timeout, or at once in a terminal restore state; the instance is deleted on every path.\n"+
			"Exit codes: 0 all checks passed, 3 a check failed, 1 operational error (a restore that failed or\n"+
			"timed out included), 2 usage error.\n\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}); done {
		return code
	}
	usageErr := func(format string, a ...any) int { return cli.Usage(stderr, "dr-verify", format, a...) }
	checks, err := dr.ChecksFromFlags(*versionPrefix, *minTables, minRows, queries)
	if err != nil {
		return usageErr("%v", err)
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case count(*instance, *cluster, *snapshot) > 1:
		return usageErr("give one of -instance, -cluster and -snapshot")
	case count(*instance, *cluster, *snapshot) == 0:
		return usageErr("give -instance or -cluster (its newest DR snapshot) or -snapshot")
	case cli.IsSet(fs, "report-prefix") && *bucket == "":
		return usageErr("-report-prefix goes with -report-bucket")
	case *clusterSnapshot && *snapshot == "":
		return usageErr("-cluster-snapshot goes with -snapshot")
	case *secretARN != "" && !strings.HasPrefix(*secretARN, "arn:"):
		return usageErr("-secret-arn %q: want a Secrets Manager secret ARN", *secretARN)
	case *secretARN == "" && (strings.Contains(*dsn, "{user}") || strings.Contains(*dsn, "{password}")):
		return usageErr("-dsn uses {user} or {password}: give -secret-arn")
	case *class == "":
		return usageErr("-class is required, e.g. db.t4g.medium")
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
	c, err := mk(ctx)
	if err != nil {
		return cli.Fail(stderr, "dr-verify", fmt.Errorf("AWS configuration: %w", err))
	}
	reporter, err := dr.NewReporter(func(o *dr.ReporterOptions) {
		if *bucket != "" {
			o.S3, o.Bucket, o.Prefix = c.s3, *bucket, *prefix
		}
		if *topic != "" {
			o.SNS, o.TopicARN = c.sns, *topic
		}
	})
	if err != nil {
		return usageErr("-report-bucket/-sns-topic: %v", err)
	}
	db := dr.Database{Driver: "pgx", DSN: buildDSN}
	if *secretARN != "" {
		db.Credentials = dr.SecretCredentials(c.sm, *secretARN)
	}
	var groups []string
	if *sgs != "" {
		groups = strings.Split(*sgs, ",")
	}
	v, err := dr.NewVerifier(c.rds, dr.VerifyTarget{SnapshotID: *snapshot, Cluster: *clusterSnapshot, SourceInstance: *instance, SourceCluster: *cluster, InstanceClass: *class},
		db, func(o *dr.VerifyOptions) {
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
	if *bucket != "" || *topic != "" {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		loc, derr := reporter.Deliver(dctx, rep)
		cancel()
		rep.Location = loc
		if derr != nil {
			fmt.Fprintln(stderr, cli.Message("dr-verify", derr))
		}
	}
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

// count is how many of values are set.
func count(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}
