// Package drcli is what the dr command-line binaries (dr-verify, dr-sanitize, dr-failover)
// share beyond internal/cli: the AWS clients of a run, the checks of the flags they have in
// common, and the JSON report's flags and delivery. Each binary keeps its own flags, help
// text, order of checks and exit codes; what is here has the same text and behaviour in all
// of them. The state machines' Lambda functions share internal/drstep.
package drcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/failover"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/examples/internal/awsconfig"
	"github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/internal/awsid"
)

// Multi is a repeatable string flag (-statement, -min-rows, -query): each use adds a value.
type Multi []string

func (m *Multi) String() string     { return strings.Join(*m, ",") }
func (m *Multi) Set(v string) error { *m = append(*m, v); return nil }

// Clients are the AWS clients a run may use; a binary's run takes a NewClients, which tests
// replace with one that returns fakes.
type Clients struct {
	RDS            restore.SanitizerAPI
	SecretsManager restore.SecretsManagerAPI
	S3             restore.S3API
	SNS            restore.SNSAPI
	Route53        failover.Route53API
	KMS            dr.KMSAPI // tells an AWS managed key from a customer managed one (dr-sanitize)
}

// NewClients makes the clients of a run, after its flags are checked.
type NewClients func(ctx context.Context) (Clients, error)

// FromEnvironment makes the clients from the standard AWS SDK environment (awsconfig.Load:
// cli.ErrNoRegion without a region). Making a client makes no request.
func FromEnvironment(ctx context.Context) (Clients, error) {
	cfg, err := awsconfig.Load(ctx, nil)
	if err != nil {
		return Clients{}, err
	}
	return ClientsFrom(cfg), nil
}

// ClientsFrom makes the RDS, Secrets Manager, S3, SNS and KMS clients from cfg. A binary that
// needs Route 53 (dr-failover) adds it, so that the others do not link its client.
func ClientsFrom(cfg aws.Config) Clients {
	return Clients{RDS: rds.NewFromConfig(cfg), SecretsManager: secretsmanager.NewFromConfig(cfg), S3: s3.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg),
		KMS: kms.NewFromConfig(cfg)}
}

// Main runs run on a context that ends at Ctrl-C or SIGTERM (so that what the run made is
// still deleted: its cleanup runs on a context of its own) and exits with the code run
// returns, or 130 / 143 when a signal stopped it, after one line saying so and what it
// left (undone). -version is answered before run.
func Main(prog, undone string, run func(ctx context.Context) int) {
	if cli.AskedVersion(prog, os.Args[1:], os.Stdout) {
		os.Exit(cli.ExitOK)
	}
	ctx, sig := cli.WithSignals(context.Background())
	code := run(ctx)
	if name := sig.Name(); name != "" {
		fmt.Fprintf(os.Stderr, "%s: stopped by %s: %s\n", prog, name, undone)
	}
	sig.Stop()
	os.Exit(sig.Code(code))
}

// AWSConfigError turns an error of a NewClients into the binary's exit: the one missing-region
// message and exit 2, else an operational error.
func AWSConfigError(stderr io.Writer, prog string, err error) int {
	if errors.Is(err, cli.ErrNoRegion) {
		fmt.Fprintf(stderr, "%s: %s\n", prog, cli.NoRegion)
		return cli.ExitUsage
	}
	return cli.Fail(stderr, prog, fmt.Errorf("AWS configuration: %w", err))
}

// Count is how many of values are set (for "give one of -instance, -cluster and -snapshot").
func Count(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}

// CheckSource checks -instance, -cluster and -snapshot (any may be empty): each names a DB
// instance, DB cluster or snapshot by its identifier, 1 to 63 (a snapshot: 255) lower-case
// letters, digits and hyphens, starting with a letter, with no two hyphens in a row and no
// hyphen at the end. Upper case is refused, not lowered: RDS stores and answers identifiers
// in lower case, so what is typed is what RDS, the tags and the IAM policy will show
// (dr.ValidInputIdentifier).
func CheckSource(instance, cluster, snapshot string) error {
	for _, f := range []struct {
		flag, id string
		max      int
	}{{"-instance", instance, 63}, {"-cluster", cluster, 63}, {"-snapshot", snapshot, 255}} {
		if f.id == "" {
			continue
		}
		if err := CheckIdentifier(f.flag, f.id, f.max); err != nil {
			return err
		}
	}
	return nil
}

// CheckIdentifier checks an RDS identifier given with flag: at most max characters, RDS's
// rule, and lower case (dr.ValidInputIdentifier). The error names the flag on one line.
func CheckIdentifier(flag, id string, max int) error {
	switch {
	case len(id) > max || dr.ValidIdentifier(id) != nil:
		return fmt.Errorf("%s %q: want 1 to %d lower-case letters, digits and hyphens, starting with a letter; no two hyphens in a row, none at the end", flag, id, max)
	case dr.ValidInputIdentifier(id) != nil:
		return fmt.Errorf("%s %q: write it in lower case (%s): RDS stores identifiers in lower case, and the IAM policies name them so", flag, id, strings.ToLower(id))
	}
	return nil
}

// SourceAccountHelp is the help of -source-account.
const SourceAccountHelp = "the source account (12 digits) whose -instance or -cluster is meant; needed when several source accounts have a database of that name"

// ExitAmbiguousSource is the exit code of the dr binaries when the source database's name
// has DR copies from more than one source account and -source-account was not given
// (dr.ErrAmbiguousSource): found with read calls only, before anything was changed.
const ExitAmbiguousSource = 4

// Fail prints err on one line and returns its exit code: ExitAmbiguousSource for
// dr.ErrAmbiguousSource, else 1 (cli.Fail).
func Fail(stderr io.Writer, prog string, err error) int {
	if errors.Is(err, dr.ErrAmbiguousSource) {
		fmt.Fprintln(stderr, cli.Message(prog, err))
		return ExitAmbiguousSource
	}
	return cli.Fail(stderr, prog, err)
}

// CheckSourceAccount checks -source-account: 12 digits, and only with -instance or -cluster.
func CheckSourceAccount(account, instance, cluster string) error {
	switch {
	case account == "":
		return nil
	case awsid.AccountID(account) != nil:
		return fmt.Errorf("-source-account: %w", awsid.AccountID(account))
	case instance == "" && cluster == "":
		return errors.New("-source-account goes with -instance or -cluster (a -snapshot is of one account already)")
	}
	return nil
}

// CheckSecret checks -secret-arn against the -dsn template: a secret is named by its
// Secrets Manager ARN, and {user} or {password} in the template need one.
func CheckSecret(secretARN, dsn string) error {
	switch {
	case secretARN != "" && awsid.SecretARN(secretARN) != nil:
		return fmt.Errorf("-secret-arn %q: want a Secrets Manager secret ARN", secretARN)
	case secretARN == "" && (strings.Contains(dsn, "{user}") || strings.Contains(dsn, "{password}")):
		return errors.New("-dsn uses {user} or {password}: give -secret-arn")
	}
	return nil
}

// MinPoll is the shortest -poll the binaries take: every poll is an RDS (or Route 53) read,
// and a shorter one would only spend the account's API rate.
const MinPoll = time.Second

// CheckWaits checks -timeout and then -poll: both must be positive, and -poll at least
// MinPoll.
func CheckWaits(timeout, poll time.Duration) error {
	if err := cli.Duration("timeout", timeout); err != nil {
		return err
	}
	if err := cli.Duration("poll", poll); err != nil {
		return err
	}
	if poll < MinPoll {
		return fmt.Errorf("-poll %s: want %s or more (each poll is an API call)", poll, MinPoll)
	}
	return nil
}

// CheckPlacement checks -subnet-group (a DB subnet group name, or empty for the account's
// default) and -security-groups (comma-separated security group ids, or empty), and returns
// the security groups. An empty item ("sg-1,,sg-2") is refused, not dropped: it is a typo
// that may have eaten a group.
func CheckPlacement(subnetGroup, securityGroups string) ([]string, error) {
	if subnetGroup != "" {
		if err := awsid.SubnetGroupName(subnetGroup); err != nil {
			return nil, fmt.Errorf("-subnet-group: %w", err)
		}
	}
	if securityGroups == "" {
		return nil, nil
	}
	var out []string
	for _, sg := range strings.Split(securityGroups, ",") {
		if err := awsid.SecurityGroupID(strings.TrimSpace(sg)); err != nil {
			return nil, fmt.Errorf("-security-groups %q: %w", securityGroups, err)
		}
		out = append(out, strings.TrimSpace(sg))
	}
	return out, nil
}

// Database is the database of a -dsn template (built by restore.DSNTemplate) with the
// credentials of -secret-arn when it is given.
func Database(dsn func(host string, port int32) string, sm restore.SecretsManagerAPI, secretARN string) dr.Database {
	db := dr.Database{Driver: "pgx", DSN: dsn}
	if secretARN != "" {
		db.Credentials = restore.SecretCredentials(sm, secretARN)
	}
	return db
}

// Progress prints each progress line on w as "<UTC time, RFC 3339> prog: line".
func Progress(w io.Writer, prog string) func(line string) {
	return func(line string) {
		fmt.Fprintf(w, "%s %s: %s\n", time.Now().UTC().Format(time.RFC3339), prog, line)
	}
}

// Report holds the flags of a run's JSON report: -report, -report-bucket, -report-prefix
// and -sns-topic.
type Report struct {
	File, Bucket, Prefix, Topic string
}

// Flags defines the report's flags on fs; run names what fails in -sns-topic's help
// ("verification").
func (r *Report) Flags(fs *flag.FlagSet, run string) {
	fs.StringVar(&r.Bucket, "report-bucket", "", "also write the JSON report to this S3 bucket")
	fs.StringVar(&r.Prefix, "report-prefix", "dr-reports", "key prefix of the report in -report-bucket")
	fs.StringVar(&r.Topic, "sns-topic", "", "SNS topic ARN told when the "+run+" fails")
	fs.StringVar(&r.File, "report", "", "also write the JSON report to this file")
}

// Check checks -report-bucket (a bucket name, not an s3:// URL or an ARN) and -report (a
// file in a directory that exists, not a directory), so that a typo is found before the run,
// not when its report is written.
func (r *Report) Check() error {
	if r.Bucket != "" {
		if err := awsid.BucketName(r.Bucket); err != nil {
			return fmt.Errorf("-report-bucket: %w", err)
		}
	}
	if r.File != "" {
		if fi, err := os.Stat(r.File); err == nil && fi.IsDir() {
			return fmt.Errorf("-report %s: is a directory; want a file name", r.File)
		}
		dir := filepath.Dir(r.File)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("-report %s: the directory %s does not exist", r.File, dir)
		}
	}
	return nil
}

// Reporter returns the restore.Reporter of -report-bucket and -sns-topic, with c's S3 and SNS
// clients; its error is a usage error.
func (r *Report) Reporter(c Clients) (*restore.Reporter, error) {
	return restore.NewReporter(func(o *restore.ReporterOptions) {
		if r.Bucket != "" {
			o.S3, o.Bucket, o.Prefix = c.S3, r.Bucket, r.Prefix
		}
		if r.Topic != "" {
			o.SNS, o.TopicARN = c.SNS, r.Topic
		}
	})
}

// Write delivers rep with reporter when -report-bucket or -sns-topic is given (within a
// minute, also when ctx has ended) and records where in rep.Location, then prints rep on
// stdout and writes it to -report FILE. What fails here is said on stderr and does not
// change the run's outcome.
func (r *Report) Write(ctx context.Context, prog string, reporter *restore.Reporter, rep *dr.Report, stdout, stderr io.Writer) {
	if r.Bucket != "" || r.Topic != "" {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		loc, err := reporter.Deliver(dctx, *rep)
		cancel()
		rep.Location = loc
		if err != nil {
			fmt.Fprintln(stderr, cli.Message(prog, err))
		}
	}
	out := append(rep.JSON(), '\n')
	_, _ = stdout.Write(out)
	if r.File != "" {
		if err := os.WriteFile(r.File, out, 0o644); err != nil {
			fmt.Fprintln(stderr, prog+": writing the report:", err)
		}
	}
}

// CheckFlags are the flags of the SQL checks (dr-verify; dr-failover -rehearse):
// -version-prefix, -min-tables, -min-rows and -query.
type CheckFlags struct {
	VersionPrefix    string
	MinTables        int
	MinRows, Queries Multi
}

// Flags defines the flags on fs, each help text after prefix ("-rehearse: " or "").
func (c *CheckFlags) Flags(fs *flag.FlagSet, prefix string) {
	fs.StringVar(&c.VersionPrefix, "version-prefix", "", prefix+"the server version must start with this, e.g. 15.")
	fs.IntVar(&c.MinTables, "min-tables", 0, prefix+"at least this many tables in the public schema")
	fs.Var(&c.MinRows, "min-rows", prefix+"TABLE=N: at least N rows (repeatable)")
	fs.Var(&c.Queries, "query", prefix+"NAME|SQL|WANT: a query whose single value must be WANT (repeatable)")
}

// Checks are the checks the flags ask for (ChecksFromFlags); the error names the flag.
func (c *CheckFlags) Checks() (dr.Checks, error) {
	return ChecksFromFlags(c.VersionPrefix, c.MinTables, c.MinRows, c.Queries)
}
