// Command dr-failover is the failover itself: in the recovery account and region, it restores
// the newest DR copy (by original creation time) of a DB instance or an Aurora cluster under
// the identifier the applications will use, waits for it (bounded; a terminal restore state
// fails at once), and then, only then, switches a Route 53 CNAME to it, printing the command
// that switches it back. Run it again after a failure: it attaches to the restore in progress
// instead of starting a second one, and it refuses a target identifier it did not make.
//
//	dr-failover -instance orders-db -target-id shipshape-orders-db -class db.r6g.large \
//	    -subnet-group private -security-groups sg-0123 -parameter-group orders-pg15 \
//	    -multi-az -zone-id Z0123456789ABC -record orders-db.internal.example.com -ttl 60
//
// -dry-run prints the plan (which snapshot, its age, what will be created, what DNS will
// change) with read-only calls only. -rehearse runs the whole failover under a temporary
// identifier and a temporary record ("rehearsal-<run>.<record>"), runs the checks against it
// (-dsn, -secret-arn and the check flags, as dr-verify), reports the measured recovery point
// and recovery time, and always deletes what it made: the game day, in one command.
//
// Output: the JSON result on stdout (the plan; then endpoint, port, attached,
// recovery_point, data_loss_ns, recovery_time_ns, dns_changed, previous_value, rollback; a
// rehearsal adds run, record, steps, ok, cleanup), progress on stderr. docs/dr.md is the
// runbook, with the IAM policy.
//
// With several source accounts each holding a database of the same name, -source-account
// (12 digits) chooses whose newest DR copy is restored; without it such a name is refused
// with reads only, before anything is restored or switched.
//
// Exit codes: 0 restored and switched (a dry run: planned; a rehearsal: every check passed),
// 3 a rehearsal's checks failed, 1 operational error, 2 usage error, 4 the name has DR
// copies from several source accounts and -source-account was not given
// (dr.AmbiguousSourceError; nothing was changed).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/failover"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/examples/internal/awsconfig"
	"github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/examples/internal/drcli"
)

func main() {
	drcli.Main("dr-failover", "a restore already started goes on in RDS and the DNS was switched only if the lines above say so: run the same command again to attach to it (a rehearsal deleted what it made)", func(ctx context.Context) int {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr, fromEnvironment, nil)
	})
}

// fromEnvironment is drcli's clients and Route 53's, which only this binary uses.
func fromEnvironment(ctx context.Context) (drcli.Clients, error) {
	cfg, err := awsconfig.Load(ctx, nil)
	if err != nil {
		return drcli.Clients{}, err
	}
	c := drcli.ClientsFrom(cfg)
	c.Route53 = route53.NewFromConfig(cfg)
	return c, nil
}

// reserved reports whether id starts, in any case, with the prefix of a kind of name the
// other dr functions make (and may tag and delete).
func reserved(id string) bool {
	for _, p := range dr.Kinds() {
		if strings.HasPrefix(strings.ToLower(id), p) {
			return true
		}
	}
	return false
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, mk drcli.NewClients, optFn func(*failover.FailoverOptions)) int {
	fs := flag.NewFlagSet("dr-failover", flag.ContinueOnError)
	instance := fs.String("instance", "", "restore the newest DR copy of this DB instance")
	cluster := fs.String("cluster", "", "restore the newest DR copy of this Aurora cluster")
	sourceAccount := fs.String("source-account", "", drcli.SourceAccountHelp)
	snapshot := fs.String("snapshot", "", "restore this snapshot (a DB cluster snapshot with -cluster-snapshot)")
	clusterSnapshot := fs.Bool("cluster-snapshot", false, "-snapshot names a DB cluster snapshot (Aurora)")
	targetID := fs.String("target-id", "", "identifier of the restored instance (and cluster), in lower case, starting with shipshape- (e.g. shipshape-orders-db); not with -rehearse")
	class := fs.String("class", "", "instance class, e.g. db.r6g.large")
	subnet := fs.String("subnet-group", "", "DB subnet group")
	sgs := fs.String("security-groups", "", "VPC security group ids, comma-separated")
	paramGroup := fs.String("parameter-group", "", "DB parameter group")
	clusterParamGroup := fs.String("cluster-parameter-group", "", "DB cluster parameter group (Aurora)")
	optionGroup := fs.String("option-group", "", "option group")
	multiAZ := fs.Bool("multi-az", false, "Multi-AZ (DB instances)")
	noProtection := fs.Bool("no-deletion-protection", false, "restore without deletion protection (default: protected)")
	zoneID := fs.String("zone-id", "", "Route 53 hosted zone id of the record to switch")
	recordName := fs.String("record", "", "the CNAME the applications use, e.g. orders-db.internal.example.com")
	ttl := fs.Int64("ttl", 60, "TTL of the switched record, 1 to 172800 seconds (0 is refused)")
	timeout := fs.Duration("timeout", 2*time.Hour, "how long to wait for the restore and the DNS change")
	poll := fs.Duration("poll", 30*time.Second, "time between status checks while waiting (at least 1s)")
	dryRun := fs.Bool("dry-run", false, "print the plan; change nothing")
	rehearse := fs.Bool("rehearse", false, "rehearse under a temporary identifier and record, run the checks, delete everything")
	dsn := fs.String("dsn", "", "-rehearse: connection string template, e.g. postgres://{user}:{password}@{host}:{port}/db")
	secretARN := fs.String("secret-arn", "", "-rehearse: Secrets Manager secret with username and password for {user} and {password}")
	var checkFlags drcli.CheckFlags
	checkFlags.Flags(fs, "-rehearse: ")
	if code, done := cli.Parse(fs, args, stderr, cli.Help(fs, "Usage: dr-failover (-instance NAME | -cluster NAME | -snapshot ID) -target-id ID -class CLASS [-zone-id Z -record NAME] [-dry-run]\n"+
		"       dr-failover (-instance NAME | -cluster NAME) -class CLASS -rehearse -dsn TEMPLATE [checks] [-zone-id Z -record NAME]\n\n"+
		"Restores the newest DR copy in this account and region under -target-id (a name starting with\n"+
		"shipshape-: the only names its IAM policy may create and tag), waits for it, and only then\n"+
		"switches the -record CNAME to it (printing the command that switches it back). Run it again after a\n"+
		"failure: it attaches to the restore in progress. -dry-run prints the plan and changes nothing.\n"+
		"-rehearse does it all under a temporary identifier and record, runs the checks, reports the\n"+
		"recovery point and recovery time, and always deletes what it made. Runbook: docs/dr.md.\n"+
		"With several source accounts holding a database of the same name, -source-account chooses whose.\n"+
		"Exit codes: 0 restored and switched (dry run: planned; rehearsal: checks passed), 3 a rehearsal's\n"+
		"checks failed, 1 operational error, 2 usage error, 4 the name has DR copies from several source\n"+
		"accounts and no -source-account was given (nothing was changed).\n\nFlags:\n")); done {
		return code
	}
	usageErr := func(format string, a ...any) int { return cli.Usage(stderr, "dr-failover", format, a...) }
	checks, cerr := checkFlags.Checks()
	rehearsalOnly := []string{"dsn", "secret-arn", "version-prefix", "min-tables", "min-rows", "query"}
	secretErr, sourceErr := drcli.CheckSecret(*secretARN, *dsn), drcli.CheckSource(*instance, *cluster, *snapshot)
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case drcli.Count(*instance, *cluster, *snapshot) != 1:
		return usageErr("give one of -instance, -cluster (its newest DR copy) and -snapshot")
	case sourceErr != nil:
		return usageErr("%v", sourceErr)
	case drcli.CheckSourceAccount(*sourceAccount, *instance, *cluster) != nil:
		return usageErr("%v", drcli.CheckSourceAccount(*sourceAccount, *instance, *cluster))
	case *clusterSnapshot && *snapshot == "":
		return usageErr("-cluster-snapshot goes with -snapshot")
	case *rehearse && *dryRun:
		return usageErr("-rehearse and -dry-run: choose one")
	case *rehearse && *targetID != "":
		return usageErr("-target-id: a rehearsal uses a temporary identifier of its own")
	case !*rehearse && *targetID == "":
		return usageErr("-target-id is required: the identifier the restored database gets")
	case !*rehearse && drcli.CheckIdentifier("-target-id", *targetID, 63) != nil:
		return usageErr("%v", drcli.CheckIdentifier("-target-id", *targetID, 63))
	case !*rehearse && (!dr.Owned(*targetID) || reserved(*targetID)):
		return usageErr("-target-id %q: want a name that starts with %s (the only names the IAM policy lets a failover create and tag; the applications use the -record CNAME), "+
			"and not with %s (the names of the other functions)", *targetID, dr.NamePrefix, strings.Join(dr.Kinds(), ", "))
	case (*zoneID == "") != (*recordName == ""):
		return usageErr("-zone-id and -record go together")
	case cli.IsSet(fs, "ttl") && *recordName == "":
		return usageErr("-ttl goes with -record")
	case *ttl < 1 || *ttl > 172800:
		return usageErr("-ttl %d: want a TTL of 1 to 172800 seconds", *ttl)
	case *rehearse && *dsn == "":
		return usageErr("-rehearse needs -dsn to run its checks")
	case cerr != nil:
		return usageErr("%v", cerr)
	case secretErr != nil:
		return usageErr("%v", secretErr)
	}
	if !*rehearse {
		for _, name := range rehearsalOnly {
			if cli.IsSet(fs, name) {
				return usageErr("-%s goes with -rehearse", name)
			}
		}
	}
	if err := drcli.CheckWaits(*timeout, *poll); err != nil {
		return usageErr("%v", err)
	}
	securityGroups, err := drcli.CheckPlacement(*subnet, *sgs)
	if err != nil {
		return usageErr("%v", err)
	}
	var buildDSN func(string, int32) string
	if *rehearse {
		if buildDSN, err = restore.DSNTemplate(*dsn, os.Getenv); err != nil {
			return usageErr("-dsn: %v", err)
		}
	}
	c, err := mk(ctx)
	if err != nil {
		return drcli.AWSConfigError(stderr, "dr-failover", err)
	}
	target := failover.FailoverTarget{SourceInstance: *instance, SourceCluster: *cluster, SourceAccount: *sourceAccount, SnapshotID: *snapshot, Cluster: *clusterSnapshot,
		TargetID: *targetID, InstanceClass: *class}
	if *rehearse {
		target.TargetID = "shipshape-rehearsal" // checked for form only; the rehearsal picks its own
	}
	r, err := failover.NewRestorer(c.RDS, target, func(o *failover.FailoverOptions) {
		o.SubnetGroup, o.SecurityGroups = *subnet, securityGroups
		o.ParameterGroup, o.ClusterParameterGroup, o.OptionGroup = *paramGroup, *clusterParamGroup, *optionGroup
		o.MultiAZ, o.NoDeletionProtection = *multiAZ, *noProtection
		if *recordName != "" {
			o.Route53, o.DNS = c.Route53, &failover.DNSRecord{ZoneID: *zoneID, Name: *recordName, TTL: *ttl}
		}
		o.Timeout, o.Poll = *timeout, *poll
		o.Progress = drcli.Progress(stderr, "dr-failover")
		if optFn != nil {
			optFn(o)
		}
	})
	if err != nil {
		return usageErr("%v", err)
	}
	emit := func(v any) {
		b, _ := json.MarshalIndent(v, "", "  ")
		_, _ = stdout.Write(append(b, '\n'))
	}
	switch {
	case *dryRun:
		p, err := r.Plan(ctx)
		if err != nil {
			return drcli.Fail(stderr, "dr-failover", err)
		}
		emit(p)
		fmt.Fprintf(stderr, "dr-failover: dry run: would restore %s (data %s old) into %s; nothing was changed\n", p.Snapshot, p.DataAge.Round(time.Minute), p.Target)
		return 0
	case *rehearse:
		rep, err := r.Rehearse(ctx, drcli.Database(buildDSN, c.SecretsManager, *secretARN), checks)
		emit(rep)
		if rep.RecoveryPoint.IsZero() { // nothing was restored: no recovery point to speak of
			fmt.Fprintf(stderr, "dr-failover: rehearsal: nothing restored; cleanup: %s\n", rep.Cleanup)
		} else {
			fmt.Fprintf(stderr, "dr-failover: rehearsal: recovery point %s (data %s old), recovery time %s; cleanup: %s\n",
				rep.RecoveryPoint.UTC().Format(time.RFC3339), rep.DataLoss.Round(time.Second), rep.RecoveryTime.Round(time.Second), rep.Cleanup)
		}
		switch {
		case err != nil:
			return drcli.Fail(stderr, "dr-failover", err)
		case !rep.OK:
			fmt.Fprintln(stderr, "dr-failover: a rehearsal check failed; see the report")
			return 3
		}
		return 0
	}
	res, err := r.Failover(ctx)
	emit(res)
	if err != nil {
		return drcli.Fail(stderr, "dr-failover", err)
	}
	fmt.Fprintf(stderr, "dr-failover: %s is available at %s:%d (data of %s)\n", res.Target, res.Endpoint, res.Port, res.RecoveryPoint.UTC().Format(time.RFC3339))
	if res.DNSChanged {
		fmt.Fprintf(stderr, "dr-failover: %s now points at it (it pointed at %s); to switch back:\n  %s\n", *recordName, res.PreviousValue, res.Rollback)
	}
	return 0
}
