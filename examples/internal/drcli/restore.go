package drcli

import (
	"context"
	"flag"
	"io"
	"os"
	"time"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/examples/internal/cli"
)

// Restore holds the flags of the binaries that restore a DR snapshot into a temporary
// instance and work on it (dr-verify, dr-sanitize): what to restore (-instance, -cluster,
// -snapshot, -cluster-snapshot), the temporary instance (-class, -subnet-group,
// -security-groups), the database (-dsn, -secret-arn), the waits (-timeout, -poll) and the
// report (Report). Each binary checks them in its own order; Prepare does the checks that
// come last in both.
type Restore struct {
	Instance, Cluster, Snapshot        string
	SourceAccount                      string
	ClusterSnapshot                    bool
	Class, SubnetGroup, SecurityGroups string
	DSN, SecretARN                     string
	Timeout, Poll                      time.Duration
	Report                             Report
}

// RestoreHelp is what the help of the Restore flags says differently per binary.
type RestoreHelp struct {
	Verb    string // "verify": "verify the newest DR snapshot of this DB instance"
	Run     string // "verification": "SNS topic ARN told when the verification fails"
	DSN     string // the help of -dsn
	Timeout string // the help of -timeout (default 1h)
}

// Flags defines the flags on fs.
func (f *Restore) Flags(fs *flag.FlagSet, h RestoreHelp) {
	fs.StringVar(&f.Instance, "instance", "", h.Verb+" the newest DR snapshot of this DB instance")
	fs.StringVar(&f.Cluster, "cluster", "", h.Verb+" the newest DR cluster snapshot of this Aurora cluster")
	fs.StringVar(&f.Snapshot, "snapshot", "", h.Verb+" this snapshot (a DB cluster snapshot with -cluster-snapshot)")
	fs.StringVar(&f.SourceAccount, "source-account", "", SourceAccountHelp)
	fs.BoolVar(&f.ClusterSnapshot, "cluster-snapshot", false, "-snapshot names a DB cluster snapshot (Aurora)")
	fs.StringVar(&f.Class, "class", "", "instance class of the temporary instance, e.g. db.t4g.medium")
	fs.StringVar(&f.SubnetGroup, "subnet-group", "", "DB subnet group of the temporary instance")
	fs.StringVar(&f.SecurityGroups, "security-groups", "", "VPC security group ids, comma-separated")
	fs.StringVar(&f.DSN, "dsn", "", h.DSN)
	fs.StringVar(&f.SecretARN, "secret-arn", "", "Secrets Manager secret with username and password for {user} and {password} in -dsn")
	fs.DurationVar(&f.Timeout, "timeout", time.Hour, h.Timeout)
	fs.DurationVar(&f.Poll, "poll", 30*time.Second, "time between status checks while waiting (at least 1s)")
	f.Report.Flags(fs, h.Run)
}

// Target is what the flags name to restore.
func (f *Restore) Target() dr.VerifyTarget {
	return dr.VerifyTarget{SnapshotID: f.Snapshot, Cluster: f.ClusterSnapshot, SourceInstance: f.Instance, SourceCluster: f.Cluster,
		SourceAccount: f.SourceAccount, InstanceClass: f.Class}
}

// Prepared is what a run has once its flags are checked.
type Prepared struct {
	Clients        Clients
	SecurityGroups []string    // of -security-groups, checked
	Database       dr.Database // of -dsn and -secret-arn
	Reporter       *restore.Reporter
}

// Prepare does what follows a binary's own checks, in this order: it checks -timeout and
// -poll, -subnet-group and -security-groups, the -dsn template, -report-bucket and -report
// (usage errors, before any client exists),
// makes the clients with mk, and the reporter of the report's flags (a usage error too; it
// makes no request). When one fails, it prints the one line (cli.Usage; cli.Fail for the
// AWS configuration) and returns done with the exit code.
func (f *Restore) Prepare(ctx context.Context, prog string, stderr io.Writer, mk NewClients) (p Prepared, code int, done bool) {
	if err := CheckWaits(f.Timeout, f.Poll); err != nil {
		return p, cli.Usage(stderr, prog, "%v", err), true
	}
	sgs, err := CheckPlacement(f.SubnetGroup, f.SecurityGroups)
	if err != nil {
		return p, cli.Usage(stderr, prog, "%v", err), true
	}
	p.SecurityGroups = sgs
	dsn, err := restore.DSNTemplate(f.DSN, os.Getenv)
	if err != nil {
		return p, cli.Usage(stderr, prog, "-dsn: %v", err), true
	}
	if err := f.Report.Check(); err != nil {
		return p, cli.Usage(stderr, prog, "%v", err), true
	}
	if p.Clients, err = mk(ctx); err != nil {
		return p, AWSConfigError(stderr, prog, err), true
	}
	if p.Reporter, err = f.Report.Reporter(p.Clients); err != nil {
		return p, cli.Usage(stderr, prog, "-report-bucket/-sns-topic: %v", err), true
	}
	p.Database = Database(dsn, p.Clients.SecretsManager, f.SecretARN)
	return p, 0, false
}
