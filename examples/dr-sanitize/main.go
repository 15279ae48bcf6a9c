// Command dr-sanitize makes a sanitized copy of production for development accounts: it
// restores the newest DR snapshot of a DB instance or an Aurora cluster (or a given one) into
// a private temporary instance (for Aurora, a cluster and its instance), runs the sanitizing
// SQL statements, snapshots the result, re-encrypts it with a key the development accounts
// may use, shares it with them, tags it shipshape:dr=sanitized, and always deletes the
// temporary instance, cluster and intermediate snapshot.
//
// As a command, it runs the statements in one transaction and prints progress and the JSON
// report (its "result" is the sanitized snapshot):
//
//	dr-sanitize -instance orders-db -class db.t4g.medium -subnet-group private -security-groups sg-0123 \
//	    -secret-arn arn:aws:secretsmanager:...:secret:rds!db-... -dsn 'postgres://{user}:{password}@{host}:{port}/orders' \
//	    -statement "UPDATE customers SET email = 'user' || id || '@example.com'" \
//	    -kms-key arn:aws:kms:...:key/dev-shared -share-with 444444444444
//
// As a Lambda (when AWS_LAMBDA_RUNTIME_API is set: template.yaml deploys it behind
// statemachine.asl.json), it runs one step per invocation; each statement is its own step,
// in its own transaction, exactly once (a progress table in the restored database records it
// in the same transaction, and is dropped before the snapshot), so the work can take longer
// than a Lambda's 15 minutes as long as each statement fits in one; every failure path
// reaches cleanup. Its environment is dr.SanitizeSettingsFromEnv's (the DR_ variables of
// dr-steps, plus DR_STATEMENTS, DR_SANITIZED_SNAPSHOT_ID, DR_TARGET_KMS_KEY_ID,
// DR_SHARE_WITH).
//
// Exit codes: 0 sanitized (and shared), 3 a sanitizing statement failed (nothing was
// snapshotted or shared), 1 operational error, 2 usage error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
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
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		lambdaMain()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, fromEnvironment, nil))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, mk newClients, optFn func(*dr.VerifyOptions)) int {
	fs := flag.NewFlagSet("dr-sanitize", flag.ContinueOnError)
	instance := fs.String("instance", "", "sanitize the newest DR snapshot of this DB instance")
	cluster := fs.String("cluster", "", "sanitize the newest DR cluster snapshot of this Aurora cluster")
	snapshot := fs.String("snapshot", "", "sanitize this snapshot (a DB cluster snapshot with -cluster-snapshot)")
	clusterSnapshot := fs.Bool("cluster-snapshot", false, "-snapshot names a DB cluster snapshot (Aurora)")
	class := fs.String("class", "", "instance class of the temporary instance, e.g. db.t4g.medium")
	subnet := fs.String("subnet-group", "", "DB subnet group of the temporary instance")
	sgs := fs.String("security-groups", "", "VPC security group ids, comma-separated")
	dsn := fs.String("dsn", "", "connection string template, e.g. postgres://{user}:{password}@{host}:{port}/db")
	secretARN := fs.String("secret-arn", "", "Secrets Manager secret with username and password for {user} and {password} in -dsn")
	var statements multi
	fs.Var(&statements, "statement", "a sanitizing SQL statement (repeatable; run in order, in one transaction)")
	statementsFile := fs.String("statements-file", "", "a JSON list of sanitizing SQL statements")
	snapshotID := fs.String("snapshot-id", "", "id of the sanitized snapshot (default: sanitized-<source snapshot>)")
	kmsKey := fs.String("kms-key", "", "re-encrypt the result with this KMS key (one the development accounts may use)")
	shareWith := fs.String("share-with", "", "development account ids to share the result with, comma-separated")
	timeout := fs.Duration("timeout", time.Hour, "how long each wait (restore, snapshot, copy) may take")
	poll := fs.Duration("poll", 30*time.Second, "time between status checks while waiting")
	reportFile := fs.String("report", "", "also write the JSON report to this file")
	bucket := fs.String("report-bucket", "", "also write the JSON report to this S3 bucket")
	prefix := fs.String("report-prefix", "dr-reports", "key prefix of the report in -report-bucket")
	topic := fs.String("sns-topic", "", "SNS topic ARN told when the sanitization fails")
	if code, done := cli.Parse(fs, args, stderr, func(w io.Writer) {
		fmt.Fprint(w, "Usage: dr-sanitize (-instance NAME | -cluster NAME | -snapshot ID [-cluster-snapshot]) -class CLASS -dsn TEMPLATE\n"+
			"       (-statement SQL ... | -statements-file FILE) [-kms-key KEY] [-share-with ACCOUNTS]\n\n"+
			"Restores a DR snapshot into a private temporary instance (Aurora: a cluster and its instance), runs\n"+
			"the sanitizing statements in one transaction, snapshots the result, re-encrypts it with -kms-key,\n"+
			"shares it with -share-with, tags it shipshape:dr=sanitized, prints a JSON report (\"result\" is the\n"+
			"sanitized snapshot), and always deletes the temporary instance, cluster and intermediate snapshot.\n"+
			"In -dsn, {host} and {port} are the restored endpoint, {user} and {password} come from -secret-arn,\n"+
			"and ${VAR} from the environment.\n"+
			"Exit codes: 0 sanitized, 3 a sanitizing statement failed (nothing shared), 1 operational error,\n"+
			"2 usage error.\n\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}); done {
		return code
	}
	usageErr := func(format string, a ...any) int { return cli.Usage(stderr, "dr-sanitize", format, a...) }
	if *statementsFile != "" {
		raw, err := os.ReadFile(*statementsFile)
		if err != nil {
			return usageErr("-statements-file: %v", err)
		}
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return usageErr("-statements-file %s: want a JSON list of SQL statements: %v", *statementsFile, err)
		}
		statements = append(statements, list...)
	}
	n := 0
	for _, v := range []string{*instance, *cluster, *snapshot} {
		if v != "" {
			n++
		}
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case n != 1:
		return usageErr("give one of -instance, -cluster (its newest DR snapshot) and -snapshot")
	case *clusterSnapshot && *snapshot == "":
		return usageErr("-cluster-snapshot goes with -snapshot")
	case *class == "":
		return usageErr("-class is required, e.g. db.t4g.medium")
	case len(statements) == 0:
		return usageErr("give the sanitizing statements: -statement SQL (repeatable) or -statements-file FILE")
	case *secretARN != "" && !strings.HasPrefix(*secretARN, "arn:"):
		return usageErr("-secret-arn %q: want a Secrets Manager secret ARN", *secretARN)
	case *secretARN == "" && (strings.Contains(*dsn, "{user}") || strings.Contains(*dsn, "{password}")):
		return usageErr("-dsn uses {user} or {password}: give -secret-arn")
	case cli.IsSet(fs, "report-prefix") && *bucket == "":
		return usageErr("-report-prefix goes with -report-bucket")
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
		return cli.Fail(stderr, "dr-sanitize", fmt.Errorf("AWS configuration: %w", err))
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
	s, err := dr.NewSanitizer(c.rds, dr.VerifyTarget{SnapshotID: *snapshot, Cluster: *clusterSnapshot, SourceInstance: *instance, SourceCluster: *cluster, InstanceClass: *class},
		db, dr.SanitizeOptions{Statements: statements, SnapshotID: *snapshotID, KMSKeyID: *kmsKey, ShareWith: dr.SplitList(*shareWith)},
		func(o *dr.VerifyOptions) {
			o.SubnetGroup, o.SecurityGroups = *subnet, dr.SplitList(*sgs)
			o.Timeout, o.Poll = *timeout, *poll
			o.Progress = func(line string) {
				fmt.Fprintf(stderr, "%s dr-sanitize: %s\n", time.Now().UTC().Format(time.RFC3339), line)
			}
			if optFn != nil {
				optFn(o)
			}
		})
	if err != nil {
		return usageErr("%v", err)
	}
	_, rep, err := s.Sanitize(ctx)
	if *bucket != "" || *topic != "" {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		loc, derr := reporter.Deliver(dctx, rep)
		cancel()
		rep.Location = loc
		if derr != nil {
			fmt.Fprintln(stderr, cli.Message("dr-sanitize", derr))
		}
	}
	out := append(rep.JSON(), '\n')
	_, _ = stdout.Write(out)
	if *reportFile != "" {
		if werr := os.WriteFile(*reportFile, out, 0o644); werr != nil {
			fmt.Fprintln(stderr, "dr-sanitize: writing the report:", werr)
		}
	}
	if f := rep.Failed(); f != nil && f.Name == "sanitize" && strings.HasPrefix(f.Detail, "statement ") {
		fmt.Fprintln(stderr, cli.Message("dr-sanitize", err))
		return 3
	}
	if err != nil {
		return cli.Fail(stderr, "dr-sanitize", err)
	}
	if !rep.OK {
		return cli.Fail(stderr, "dr-sanitize", fmt.Errorf("the sanitization did not complete: see the report"))
	}
	fmt.Fprintf(stderr, "dr-sanitize: %s is sanitized and shared with %v\n", rep.Result, dr.SplitList(*shareWith))
	return 0
}

// lambdaMain runs one step of the sanitizing state machine per invocation.
func lambdaMain() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	s, err := dr.SanitizeSettingsFromEnv(os.Getenv)
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	c := dr.StepClients{RDS: func(region string) dr.RDSAPI {
		return rds.NewFromConfig(cfg, func(o *rds.Options) {
			if region != "" {
				o.Region = region
			}
		})
	}, SecretsManager: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if parts := strings.Split(s.SecretARN, ":"); len(parts) > 3 && parts[3] != "" {
			o.Region = parts[3] // the secret's region
		}
	}), S3: s3.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg)}
	r, err := dr.NewStepRunner(s, c, true, func(o *dr.VerifyOptions) {
		o.Logger = logger
		o.Progress = func(line string) { logger.Info(line) }
	})
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	lambda.Start(newHandler(r))
}

// newHandler runs a step; a failure carries the error type the state machine routes on.
func newHandler(r *dr.StepRunner) func(context.Context, dr.StepRequest) (dr.VerifyState, error) {
	return func(ctx context.Context, req dr.StepRequest) (dr.VerifyState, error) {
		st, err := r.Run(ctx, req)
		if err != nil {
			return st, messages.InvokeResponse_Error{Type: dr.ErrorType(err), Message: err.Error()}
		}
		return st, nil
	}
}
