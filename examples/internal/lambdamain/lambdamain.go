// Package lambdamain is the main of every Lambda binary.
package lambdamain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/shipshape-dev/shipshape/examples/internal/awsconfig"
	"github.com/shipshape-dev/shipshape/examples/internal/cli"
)

// Lambda is a Lambda binary, for Main: every one starts the same way.
type Lambda struct {
	// Name is the binary's name (its folder under examples/).
	Name string
	// Usage says what the function does, what invokes it, and its settings: the environment
	// variables with their defaults. `-h` prints it.
	Usage string
	// Handler builds the handler (any function lambda.Start takes) from the AWS
	// configuration, the environment and the JSON logger. Its error is a setting that can't
	// work: the function stops at start (exit 2), with the error logged.
	Handler func(ctx context.Context, cfg aws.Config, getenv func(string) string, logger *slog.Logger) (any, error)
}

// Main runs a Lambda binary: `-h` prints its usage and settings and `-version` its
// version (both exit 0, so that a person can ask the bootstrap what it is); otherwise it logs
// JSON to stdout, starting with its version, loads the AWS configuration (no region: exit 2
// with NoRegion), builds the handler (a bad setting: exit 2) and serves invocations.
func Main(l Lambda) {
	os.Exit(l.run(context.Background(), os.Args[1:], os.Stdout, os.Getenv, func(h any) { lambda.Start(h) }))
}

func (l Lambda) run(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string, start func(any)) int {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stdout, l.Usage)
			return cli.ExitOK
		case "-version", "--version":
			fmt.Fprintln(stdout, cli.Version(l.Name))
			return cli.ExitOK
		}
		fmt.Fprintf(stdout, "%s: unexpected argument %q: a Lambda function takes its settings from the environment (see %s -h)\n", l.Name, args[0], l.Name)
		return cli.ExitUsage
	}
	logger := slog.New(slog.NewJSONHandler(stdout, nil))
	logger.Info(l.Name+": starting", "version", cli.Version(l.Name))
	cfg, err := awsconfig.Load(ctx, logger)
	switch {
	case errors.Is(err, cli.ErrNoRegion):
		logger.Error(l.Name+": configuration", "error", cli.NoRegion)
		return cli.ExitUsage
	case err != nil:
		logger.Error(l.Name+": AWS configuration", "error", err.Error())
		return cli.ExitError
	}
	h, err := l.Handler(ctx, cfg, getenv, logger)
	if err != nil {
		logger.Error(l.Name+": configuration", "error", err.Error())
		return cli.ExitUsage
	}
	start(h)
	return cli.ExitOK
}
