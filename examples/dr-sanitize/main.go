// Command dr-sanitize makes a sanitized copy of production for development accounts: it
// restores the newest DR snapshot of a DB instance or an Aurora cluster (or a given one) into
// a private temporary instance (shipshape-sanitize-<run>; for Aurora, a cluster and its
// instance, tagged shipshape:dr=sanitize: never a name the verification uses), runs the sanitizing
// SQL statements, snapshots the result, re-encrypts it with a key the development accounts
// may use, shares it with them, tags it shipshape:dr=sanitized, and always deletes the
// temporary instance, cluster and intermediate snapshot.
//
// The sanitized snapshot is named shipshape-sanitized-<database>-<time> of the DR copy (or
// -snapshot-id, which must start with shipshape-sanitized-: the only snapshots its IAM policy
// may tag, share and delete). A run that fails after making it deletes it; a run for the
// same DR copy and statements adopts what an earlier run left; after sharing, sanitized
// snapshots beyond -keep (default 4) per source database and account are deleted.
//
// As a command, it runs the statements in one transaction and prints progress and the JSON
// report (its "result" is the sanitized snapshot):
//
//	dr-sanitize -instance orders-db -class db.t4g.medium -subnet-group private -security-groups sg-0123 \
//	    -secret-arn arn:aws:secretsmanager:...:secret:rds!db-... -dsn 'postgres://{user}:{password}@{host}:{port}/orders' \
//	    -statement "UPDATE customers SET email = 'user' || id || '@example.com'" \
//	    -kms-key alias/dev-shared -share-with 444444444444
//
// As a Lambda (when AWS_LAMBDA_RUNTIME_API is set: template.yaml deploys it behind
// statemachine.asl.json), it runs one step per invocation; each statement is its own step,
// in its own transaction, exactly once (a progress table in the restored database records it
// in the same transaction, and is dropped before the snapshot), so the work can take longer
// than a Lambda's 15 minutes as long as each statement fits in one; every failure path
// reaches cleanup, and cleanup reaches the report, also when it still fails. Its
// environment is drstep.SanitizeSettingsFromEnv's (the DR_ variables of dr-steps, DR_TIMEOUT at
// most 12h, plus DR_STATEMENTS, DR_SANITIZED_SNAPSHOT_ID, DR_TARGET_KMS_KEY_ID (a key id, key
// ARN, alias/NAME or alias ARN), DR_SHARE_WITH, DR_SANITIZED_KEEP, DR_SOURCE_ACCOUNT).
//
// With several source accounts each holding a database of the same name, -source-account
// (DR_SOURCE_ACCOUNT in the Lambda) chooses whose newest DR copy is sanitized; without it
// such a name is refused before anything is restored (the Lambda: error type
// AmbiguousSource).
//
// Exit codes: 0 sanitized (and shared), 3 a sanitizing statement failed (nothing was
// snapshotted or shared), 1 operational error, 2 usage error, 4 the name has DR copies from
// several source accounts and -source-account was not given (nothing was restored).
package main

import (
	"context"
	"encoding/json"
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
	"github.com/shipshape-dev/shipshape/examples/internal/drstep"
	"github.com/shipshape-dev/shipshape/internal/awsid"
)

// withLambda adds the Lambda's settings after the CLI's flags.
func withLambda(help func(io.Writer)) func(io.Writer) {
	return func(w io.Writer) {
		help(w)
		fmt.Fprint(w, lambdaUsage)
	}
}

// lambdaUsage is what -h prints and what the Lambda's settings are: run outside Lambda,
// the binary is the CLI, whose -h ends with it too.
const lambdaUsage = `
As the Lambda function of the sanitizing state machine (statemachine.asl.json, template.yaml:
AWS_LAMBDA_RUNTIME_API set), each invocation runs one step ("start", "ready", "statement" (once
per statement), "snapshot", "snapshot-ready", "reencrypt", "reencrypt-ready", "share", "cleanup",
"report"), with the settings of dr-steps (dr-steps -h: DR_SOURCE_INSTANCE or DR_SOURCE_CLUSTER,
DR_SOURCE_ACCOUNT, DR_INSTANCE_CLASS, DR_DSN, DR_DB_SECRET_ARN, DR_TIMEOUT, DR_SUBNET_GROUP,
DR_SECURITY_GROUPS, DR_REGIONS, DR_REPORT_BUCKET, DR_REPORT_PREFIX, DR_SNS_TOPIC_ARN) and:
  DR_STATEMENTS             JSON list of the sanitizing SQL statements (required)
  DR_SANITIZED_SNAPSHOT_ID  id of the result, starting with shipshape-sanitized- (default: derived)
  DR_TARGET_KMS_KEY_ID      the key the development accounts may use (default: the copy's key)
  DR_SHARE_WITH             development account ids, comma-separated (default: none)
  DR_SANITIZED_KEEP         sanitized snapshots kept per source database and account (default 4)
`

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		drstep.Main("dr-sanitize", lambdaUsage, drstep.SanitizeSettingsFromEnv, true) // one step of the sanitizing state machine per invocation
		return
	}
	drcli.Main("dr-sanitize", "the temporary instance it made was deleted and nothing was shared (the report above says so)", func(ctx context.Context) int {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr, drcli.FromEnvironment, nil)
	})
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, mk drcli.NewClients, optFn func(*dr.VerifyOptions)) int {
	fs := flag.NewFlagSet("dr-sanitize", flag.ContinueOnError)
	var f drcli.Restore
	f.Flags(fs, drcli.RestoreHelp{Verb: "sanitize", Run: "sanitization",
		DSN:     "connection string template, e.g. postgres://{user}:{password}@{host}:{port}/db",
		Timeout: "how long each wait (restore, snapshot, copy) may take"})
	var statements drcli.Multi
	fs.Var(&statements, "statement", "a sanitizing SQL statement (repeatable; run in order, in one transaction)")
	statementsFile := fs.String("statements-file", "", "a JSON list of sanitizing SQL statements")
	snapshotID := fs.String("snapshot-id", "", "id of the sanitized snapshot, in lower case, starting with shipshape-sanitized- (default: shipshape-sanitized-<the DR copy's database and time>)")
	kmsKey := fs.String("kms-key", "", "re-encrypt the result with this KMS key (one the development accounts may use): key id, key ARN, alias/NAME or alias ARN")
	shareWith := fs.String("share-with", "", "development account ids to share the result with, comma-separated")
	keep := fs.Int("keep", restore.DefaultSanitizedKeep, "sanitized snapshots to keep per source database and account (the newest always stays; only shipshape-sanitized-* snapshots tagged shipshape:dr=sanitized are deleted)")
	if code, done := cli.Parse(fs, args, stderr, withLambda(cli.Help(fs, "Usage: dr-sanitize (-instance NAME | -cluster NAME | -snapshot ID [-cluster-snapshot]) -class CLASS -dsn TEMPLATE\n"+
		"       (-statement SQL ... | -statements-file FILE) [-kms-key KEY] [-share-with ACCOUNTS]\n\n"+
		"Restores a DR snapshot into a private temporary instance (Aurora: a cluster and its instance), runs\n"+
		"the sanitizing statements in one transaction, snapshots the result, re-encrypts it with -kms-key,\n"+
		"shares it with -share-with, tags it shipshape:dr=sanitized, prints a JSON report (\"result\" is the\n"+
		"sanitized snapshot), and always deletes the temporary instance, cluster and intermediate snapshot.\n"+
		"In -dsn, {host} and {port} are the restored endpoint, {user} and {password} come from -secret-arn,\n"+
		"and ${VAR} from the environment.\n"+
		"With several source accounts holding a database of the same name, -source-account chooses whose.\n"+
		"Exit codes: 0 sanitized, 3 a sanitizing statement failed (nothing shared), 1 operational error,\n"+
		"2 usage error, 4 the name has DR copies from several source accounts and no -source-account was\n"+
		"given (nothing was restored).\n\nFlags:\n"))); done {
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
	secretErr, sourceErr := drcli.CheckSecret(f.SecretARN, f.DSN), drcli.CheckSource(f.Instance, f.Cluster, f.Snapshot)
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case drcli.Count(f.Instance, f.Cluster, f.Snapshot) != 1:
		return usageErr("give one of -instance, -cluster (its newest DR snapshot) and -snapshot")
	case sourceErr != nil:
		return usageErr("%v", sourceErr)
	case drcli.CheckSourceAccount(f.SourceAccount, f.Instance, f.Cluster) != nil:
		return usageErr("%v", drcli.CheckSourceAccount(f.SourceAccount, f.Instance, f.Cluster))
	case f.ClusterSnapshot && f.Snapshot == "":
		return usageErr("-cluster-snapshot goes with -snapshot")
	case f.Class == "":
		return usageErr("-class is required, e.g. db.t4g.medium")
	case len(statements) == 0:
		return usageErr("give the sanitizing statements: -statement SQL (repeatable) or -statements-file FILE")
	case secretErr != nil:
		return usageErr("%v", secretErr)
	case *snapshotID != "" && drcli.CheckIdentifier("-snapshot-id", *snapshotID, 251) != nil:
		return usageErr("%v", drcli.CheckIdentifier("-snapshot-id", *snapshotID, 251))
	case *snapshotID != "" && !strings.HasPrefix(*snapshotID, dr.PrefixSanitized):
		return usageErr("-snapshot-id %q: want an RDS snapshot identifier of at most 251 characters that starts with %s (the only snapshots the sanitizing function may tag, share and delete)",
			*snapshotID, dr.PrefixSanitized)
	case *kmsKey != "" && awsid.KMSKey(*kmsKey) != nil:
		return usageErr("-kms-key: %v", awsid.KMSKey(*kmsKey))
	case cli.IsSet(fs, "report-prefix") && f.Report.Bucket == "":
		return usageErr("-report-prefix goes with -report-bucket")
	case *keep < 1:
		return usageErr("-keep %d: want 1 or more", *keep)
	case *kmsKey == "alias/aws/rds" || strings.HasSuffix(*kmsKey, ":alias/aws/rds"):
		if *shareWith != "" {
			return usageErr("-kms-key %s: the AWS managed key can't be shared (RDS never shares a snapshot under it): give a customer managed key the development accounts may use", *kmsKey)
		}
	}
	p, code, done := f.Prepare(ctx, "dr-sanitize", stderr, mk)
	if done {
		return code
	}
	s, err := restore.NewSanitizer(p.Clients.RDS, f.Target(), p.Database,
		restore.SanitizeOptions{Statements: statements, SnapshotID: *snapshotID, KMSKeyID: *kmsKey, ShareWith: cli.SplitList(*shareWith), Keep: *keep, KMS: p.Clients.KMS},
		func(o *dr.VerifyOptions) {
			o.SubnetGroup, o.SecurityGroups = f.SubnetGroup, p.SecurityGroups
			o.Timeout, o.Poll = f.Timeout, f.Poll
			o.Progress = drcli.Progress(stderr, "dr-sanitize")
			if optFn != nil {
				optFn(o)
			}
		})
	if err != nil {
		return usageErr("%v", err)
	}
	_, rep, err := s.Sanitize(ctx)
	f.Report.Write(ctx, "dr-sanitize", p.Reporter, &rep, stdout, stderr)
	if failed := rep.Failed(); failed != nil && failed.Name == "sanitize" && strings.HasPrefix(failed.Detail, "statement ") {
		fmt.Fprintln(stderr, cli.Message("dr-sanitize", err))
		return 3
	}
	if err != nil {
		return drcli.Fail(stderr, "dr-sanitize", err)
	}
	if !rep.OK {
		return cli.Fail(stderr, "dr-sanitize", fmt.Errorf("the sanitization did not complete: see the report"))
	}
	fmt.Fprintf(stderr, "dr-sanitize: %s is sanitized and shared with %v\n", rep.Result, cli.SplitList(*shareWith))
	return 0
}
