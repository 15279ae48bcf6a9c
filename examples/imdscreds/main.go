// Command imdscreds prints the EC2 instance's role credentials from instance metadata
// (IMDSv2), for use as an AWS CLI / SDK credential_process, or as shell exports.
//
//	[profile instance]
//	credential_process = /usr/local/bin/imdscreds
//
// Run it with -h for the flags. Exit codes: 0 ok, 1 IMDS unreachable or refused (a one-line
// reason on stderr), 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/internal/awsid"
)

func main() {
	// A finite job: a signal stops it with nothing printed (130 SIGINT, 143 SIGTERM).
	ctx, sig := cli.WithSignals(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if name := sig.Name(); name != "" {
		fmt.Fprintf(os.Stderr, "imdscreds: stopped by %s: nothing was printed\n", name)
	}
	sig.Stop()
	os.Exit(sig.Code(code))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if cli.AskedVersion("imdscreds", args, stdout) {
		return 0
	}
	fs := flag.NewFlagSet("imdscreds", flag.ContinueOnError)
	format := fs.String("format", "process", "output: process (credential_process JSON) or env (shell export lines)")
	whoami := fs.Bool("whoami", false, "print instance id, region, availability zone and role instead of credentials")
	role := fs.String("role", "", "the instance profile's role (default: read from IMDS)")
	timeout := fs.Duration("timeout", 5*time.Second, "overall time limit")
	allowV1 := fs.Bool("allow-imdsv1", false, "fall back to IMDSv1 when no IMDSv2 token can be had (not recommended)")
	verbose := fs.Bool("v", false, "debug logs on stderr")
	if code, done := cli.Parse(fs, args, stderr, func(w io.Writer) {
		fmt.Fprint(w, `Usage: imdscreds [flags]

Prints this EC2 instance's role credentials from instance metadata (IMDSv2 only by default).
As an AWS config credential_process:  credential_process = /path/to/imdscreds
In a shell:                           eval "$(imdscreds -format env)"

Environment: AWS_EC2_METADATA_SERVICE_ENDPOINT (e.g. http://127.0.0.1:1338),
AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE (IPv4 or IPv6), AWS_EC2_METADATA_DISABLED=true.
Exit codes: 0 ok, 1 IMDS unreachable or refused (one-line reason on stderr), 2 usage error.

Flags:
`)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}); done {
		return code
	}
	usageErr := func(format string, a ...any) int { return cli.Usage(stderr, "imdscreds", format, a...) }
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q; imdscreds takes flags only", fs.Arg(0))
	case *format != "process" && *format != "env":
		return usageErr("-format %q: want process or env", *format)
	case *role != "" && awsid.RoleName(*role) != nil:
		return usageErr("-role: %v", awsid.RoleName(*role))
	case *whoami && (*role != "" || *format != "process"):
		return usageErr("-whoami prints no credentials: leave out -role and -format")
	}
	if err := cli.Duration("timeout", *timeout); err != nil {
		return usageErr("%v", err)
	}

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	client, err := imds.New(func(o *imds.Options) {
		o.AllowIMDSv1 = *allowV1
		o.Logger = logger
	})
	if err != nil {
		return usageErr("%v", err) // the AWS_EC2_METADATA_* environment is wrong
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	if *whoami {
		err = printWhoami(ctx, client, stdout)
	} else {
		err = printCredentials(ctx, client, *role, *format, stdout)
	}
	if err != nil {
		return cli.Fail(stderr, "imdscreds", err)
	}
	return 0
}

func printWhoami(ctx context.Context, c *imds.Client, w io.Writer) error {
	id, err := c.InstanceID(ctx)
	if err != nil {
		return err
	}
	region, err := c.Region(ctx)
	if err != nil {
		return err
	}
	az, err := c.AvailabilityZone(ctx)
	if err != nil {
		return err
	}
	role, err := c.RoleName(ctx)
	if errors.Is(err, imds.ErrNoRole) {
		role, err = "(none)", nil
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "instance-id: %s\nregion: %s\navailability-zone: %s\nrole: %s\n", id, region, az, role)
	return err
}

func printCredentials(ctx context.Context, c *imds.Client, role, format string, w io.Writer) error {
	var err error
	if role == "" {
		if role, err = c.RoleName(ctx); err != nil {
			return err
		}
	}
	creds, err := c.Credentials(ctx, role)
	if err != nil {
		return err
	}
	if !creds.Expiration.After(time.Now()) {
		return fmt.Errorf("%w (Expiration %s)", imds.ErrCredentialsExpired, creds.Expiration.Format(time.RFC3339))
	}
	if format == "env" {
		_, err = io.WriteString(w, creds.ShellExports())
		return err
	}
	out, err := creds.CredentialProcessJSON()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}
