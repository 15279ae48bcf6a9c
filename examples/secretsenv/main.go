// Command secretsenv runs a program with AWS Secrets Manager secrets in its environment, or
// prints them, exactly: values are passed byte for byte (no shell ever sees them), and any
// failure means nothing runs.
//
//	secretsenv exec  [flags] -- command args...
//	secretsenv exec  -watch [-on-change restart|signal:HUP|exit] [flags] -- command args...
//	secretsenv print [flags] -format dotenv|shell|json
//	secretsenv wrap  -- command args...   (Lambda exec wrapper: configuration from SECRETSENV_*)
//
// Run with -h for the flags, the SECRETSENV_* variables and the exit codes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/secretsenv"
)

const usage = `Usage:
  secretsenv exec  [flags] -- command [args...]   run command with the secrets in its environment
  secretsenv exec  -watch [-on-change restart|signal:NAME|exit] [-interval 5m] [-list] [flags] -- command [args...]
                                                  run it as a child and follow rotation
  secretsenv print [flags] [-format dotenv|shell|json]   print the variables (stdout only)
  secretsenv wrap  -- command [args...]           as exec, configured only by SECRETSENV_* variables:
                                                  for AWS_LAMBDA_EXEC_WRAPPER and bootstrap chains

A secret is NAME-or-ARN[,stage=LABEL][,version=ID][,var=NAME]. A JSON object secret gives one
variable per key; any other secret gives one variable, named with var=.

Every flag has a SECRETSENV_* variable (flags win): SECRETSENV_SECRETS (secrets separated by
spaces, newlines or ';'), SECRETSENV_PREFIX, SECRETSENV_ROLE_ARN, SECRETSENV_EXTERNAL_ID,
SECRETSENV_STRICT, SECRETSENV_ALLOW_OVERRIDE, SECRETSENV_NORMALIZE, SECRETSENV_BINARY (base64),
SECRETSENV_BATCH, SECRETSENV_TIMEOUT (e.g. 10s).
AWS settings come from the standard environment: AWS_REGION, AWS_PROFILE,
AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_STS, ...

exec replaces this process with the command. With -watch, secretsenv stays as the command's
parent: it checks every -interval (with jitter) whether a secret's stage moved to another
version (DescribeSecret per secret, or with -list ListSecrets, ten names a call), reads only
what moved, and then, never with half a change: restarts the command with the new values
(-on-change restart, the default: SIGTERM, SIGKILL after -stop-timeout), sends it a signal
(signal:HUP, USR1, USR2, ...; its environment can't change in place), or stops it and exits 3
(exit: for systemd, ECS or Kubernetes to start it again). While Secrets Manager fails it keeps
the command running with the last good values. Signals (INT, TERM, HUP, QUIT, USR1, USR2) are
forwarded to the command; secretsenv exits with the command's status when it ends. Values are
never written to disk. The -watch flags have no SECRETSENV_* variables.

Exit codes: 0 ok, 1 operational error (nothing was run), 2 usage error; with -watch, the
command's own status (128 + the signal that ended it), or 3 after -on-change exit.
`

// config is what the flags and SECRETSENV_* variables say.
type settings struct {
	secrets       []secretsenv.Secret
	prefix        string
	roleARN       string
	externalID    string
	strict        bool
	allowOverride bool
	normalize     bool
	binary        bool
	batch         bool
	timeout       time.Duration
	format        string
	verbose       bool
	// exec -watch
	watch       bool
	interval    time.Duration
	list        bool
	onChange    secretsenv.OnChange
	signal      syscall.Signal
	stopTimeout time.Duration
}

// loaderOptions are the Loader's options from the settings.
func (st settings) loaderOptions(o *secretsenv.Options) {
	o.Prefix = st.prefix
	o.Strict = st.strict
	o.AllowOverride = st.allowOverride
	o.Normalize = st.normalize
	o.Batch = st.batch
	o.Timeout = st.timeout
	if st.binary {
		o.Binary = secretsenv.BinaryBase64
	}
}

type secretList []string

func (s *secretList) String() string     { return strings.Join(*s, " ") }
func (s *secretList) Set(v string) error { *s = append(*s, v); return nil }

// parse reads the command line and the environment; a usage error says what is wrong.
func parse(args []string, getenv func(string) string, stderr io.Writer) (cmd string, st settings, command []string, err error) {
	if len(args) == 0 {
		return "", st, nil, errors.New("no command: exec, print or wrap")
	}
	cmd = args[0]
	if cmd == "-h" || cmd == "--help" || cmd == "help" {
		return "help", st, nil, nil
	}
	if cmd != "exec" && cmd != "print" && cmd != "wrap" {
		return "", st, nil, fmt.Errorf("unknown command %q: exec, print or wrap", cmd)
	}
	envBool := func(name string) (bool, error) {
		v := getenv(name)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("%s=%q: want true or false", name, v)
		}
		return b, nil
	}
	var envErr error
	boolDefault := func(name string) bool {
		b, err := envBool(name)
		if err != nil && envErr == nil {
			envErr = err
		}
		return b
	}
	timeout := 10 * time.Second
	if v := getenv("SECRETSENV_TIMEOUT"); v != "" {
		if timeout, err = time.ParseDuration(v); err != nil || timeout <= 0 {
			return "", st, nil, fmt.Errorf("SECRETSENV_TIMEOUT=%q: want a positive duration like 10s", v)
		}
	}
	switch v := getenv("SECRETSENV_BINARY"); v {
	case "", "base64":
	default:
		return "", st, nil, fmt.Errorf("SECRETSENV_BINARY=%q: the only mode is base64 (leave it unset to refuse binary secrets)", v)
	}

	fs := flag.NewFlagSet("secretsenv "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var specs secretList
	fs.Var(&specs, "secret", "secret to load, repeatable: NAME-or-ARN[,stage=LABEL][,version=ID][,var=NAME]")
	fs.StringVar(&st.prefix, "prefix", getenv("SECRETSENV_PREFIX"), "prefix for names derived from JSON keys")
	fs.StringVar(&st.roleARN, "role-arn", getenv("SECRETSENV_ROLE_ARN"), "assume this role (STS) before reading secrets")
	fs.StringVar(&st.externalID, "external-id", getenv("SECRETSENV_EXTERNAL_ID"), "external id for -role-arn")
	fs.BoolVar(&st.strict, "strict", boolDefault("SECRETSENV_STRICT"), "invalid names and null values are errors (default: skipped with a warning)")
	fs.BoolVar(&st.allowOverride, "allow-override", boolDefault("SECRETSENV_ALLOW_OVERRIDE"), "let secrets replace variables already set (default: error)")
	fs.BoolVar(&st.normalize, "normalize", boolDefault("SECRETSENV_NORMALIZE"), "upper-case names and turn - . and space into _")
	fs.BoolVar(&st.binary, "binary-base64", getenv("SECRETSENV_BINARY") == "base64", "load binary secrets base64-encoded (default: error)")
	fs.BoolVar(&st.batch, "batch", boolDefault("SECRETSENV_BATCH"), "use BatchGetSecretValue, 20 secrets a call (its quota is only 100 calls/s)")
	fs.DurationVar(&st.timeout, "timeout", timeout, "overall time limit for fetching")
	fs.BoolVar(&st.verbose, "v", false, "debug logs on stderr")
	if cmd == "print" {
		fs.StringVar(&st.format, "format", "dotenv", "dotenv, shell or json")
	}
	var onChange string
	if cmd == "exec" {
		fs.BoolVar(&st.watch, "watch", false, "stay as the command's parent and follow rotation (see -on-change)")
		fs.DurationVar(&st.interval, "interval", 5*time.Minute, "with -watch: how often to check for a new version (at least 1s)")
		fs.BoolVar(&st.list, "list", false, "with -watch: check with ListSecrets, ten names a call (needs secretsmanager:ListSecrets)")
		fs.StringVar(&onChange, "on-change", "restart", "with -watch: restart, signal:NAME (HUP, USR1, USR2, INT, TERM, QUIT) or exit (status 3)")
		fs.DurationVar(&st.stopTimeout, "stop-timeout", 10*time.Second, "with -watch: how long a stopping command has before SIGKILL")
	}
	rest := args[1:]
	if cmd == "wrap" {
		// Lambda passes the runtime's own command line: take it verbatim, parse no flags.
		if len(rest) > 0 && rest[0] == "--" {
			rest = rest[1:]
		}
		command, rest = rest, nil
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usage, "\nFlags of ", cmd, ":\n")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return "help", st, nil, nil
		}
		return "", st, nil, err
	}
	if err := cli.Duration("timeout", st.timeout); err != nil {
		return "", st, nil, err
	}
	if err := parseWatch(fs, &st, onChange); err != nil {
		return "", st, nil, err
	}
	if envErr != nil {
		return "", st, nil, envErr
	}
	if cmd == "exec" {
		command = fs.Args()
	} else if cmd == "print" && fs.NArg() > 0 {
		return "", st, nil, fmt.Errorf("print takes no arguments, got %q", fs.Arg(0))
	}
	if (cmd == "exec" || cmd == "wrap") && len(command) == 0 {
		return "", st, nil, fmt.Errorf("%s needs a command after --", cmd)
	}
	source := "-secret"
	if len(specs) == 0 {
		source = "SECRETSENV_SECRETS"
		specs = strings.FieldsFunc(getenv("SECRETSENV_SECRETS"), func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' || r == ';' })
	}
	if len(specs) == 0 {
		return "", st, nil, errors.New("no secrets: give -secret or SECRETSENV_SECRETS")
	}
	for _, s := range specs {
		spec, err := secretsenv.ParseSecret(s)
		if err != nil {
			return "", st, nil, fmt.Errorf("%s: %w", source, err)
		}
		st.secrets = append(st.secrets, spec)
	}
	if st.format != "" && st.format != secretsenv.FormatDotenv && st.format != secretsenv.FormatShell && st.format != secretsenv.FormatJSON {
		return "", st, nil, fmt.Errorf("-format %q: want dotenv, shell or json", st.format)
	}
	// Everything that would make a variable invalid whatever the secrets hold fails here,
	// before any call.
	if err := secretsenv.Validate(st.secrets, st.loaderOptions); err != nil {
		flagName := source
		if errors.Is(err, secretsenv.ErrInvalidName) || errors.Is(err, secretsenv.ErrReservedName) {
			if strings.Contains(err.Error(), "prefix") {
				flagName = "-prefix"
			}
		}
		return "", st, nil, fmt.Errorf("%s: %w", flagName, err)
	}
	return cmd, st, command, nil
}

func main() {
	if watching(os.Args[1:]) {
		// exec -watch stays as the command's parent: signals go on to the command, and the
		// exit code is the command's.
		signals := make(chan os.Signal, 4)
		signal.Notify(signals, forwarded...)
		os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr, secretsenv.Exec, signals))
	}
	// exec replaces this process with the command (its status is the exit code); print and
	// wrap's loading are finite jobs: a signal ends them with nothing run and nothing printed.
	ctx, sig := cli.WithSignals(context.Background())
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, secretsenv.Exec, nil)
	if name := sig.Name(); name != "" {
		fmt.Fprintf(os.Stderr, "secretsenv: stopped by %s while loading the secrets: nothing was run or printed\n", name)
	}
	sig.Stop()
	os.Exit(sig.Code(code))
}

type execFunc func(command string, args, env []string) error

// watching reports whether the command line is exec -watch (parse checks it again).
func watching(args []string) bool {
	if len(args) == 0 || args[0] != "exec" {
		return false
	}
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if a == "-watch" || a == "--watch" || a == "-watch=true" || a == "--watch=true" {
			return true
		}
	}
	return false
}

// run runs the command line; signals, for exec -watch, are forwarded to the command.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, execute execFunc, signals <-chan os.Signal) int {
	if cli.AskedVersion("secretsenv", args, stdout) {
		return 0
	}
	cmd, st, command, err := parse(args, getenv, stderr)
	if err != nil {
		return cli.Usage(stderr, "secretsenv", "%v", err)
	}
	if cmd == "help" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stderr, usage)
		}
		return 0
	}
	// Warnings and, with -v, debug lines: the program's own output must stay its own.
	logger := cli.Logger("secretsenv", stderr, st.verbose, !st.verbose)
	if st.watch {
		return superviseCommand(ctx, st, command, signals, stderr, logger, func(ctx context.Context) (*secretsenv.Watcher, *secretsenv.Loader, error) {
			ctx, cancel := context.WithTimeout(ctx, st.timeout)
			defer cancel()
			loader, client, err := newLoader(ctx, st, logger)
			if err != nil {
				return nil, nil, err
			}
			w, err := loader.Watch(ctx, client, st.secrets, func(o *secretsenv.WatchOptions) { o.Interval, o.List = st.interval, st.list })
			return w, loader, err
		})
	}

	vars, loader, err := load(ctx, st, logger)
	if errors.Is(err, cli.ErrNoRegion) {
		fmt.Fprintln(stderr, "secretsenv:", cli.NoRegion)
		return cli.ExitUsage
	}
	if err != nil {
		return cli.Fail(stderr, "secretsenv", err)
	}
	if cmd == "print" {
		out, err := secretsenv.Format(vars, st.format)
		if err != nil {
			return cli.Fail(stderr, "secretsenv", err)
		}
		if _, err := stdout.Write(out); err != nil {
			fmt.Fprintln(stderr, "secretsenv: writing the output:", err)
			return 1
		}
		return 0
	}
	err = execute(command[0], command[1:], loader.Environ(vars))
	return cli.Fail(stderr, "secretsenv", err) // exec returns only on failure
}

func load(ctx context.Context, st settings, logger *slog.Logger) (map[string]string, *secretsenv.Loader, error) {
	ctx, cancel := context.WithTimeout(ctx, st.timeout)
	defer cancel()
	loader, _, err := newLoader(ctx, st, logger)
	if err != nil {
		return nil, nil, err
	}
	vars, err := loader.Load(ctx, st.secrets)
	return vars, loader, err
}

// newLoader builds the Secrets Manager client (through the role, with -role-arn) and the
// Loader over it.
func newLoader(ctx context.Context, st settings, logger *slog.Logger) (*secretsenv.Loader, *secretsmanager.Client, error) {
	cfg, err := awsConfig(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, nil, cli.ErrNoRegion
	}
	var smOpts []func(*secretsmanager.Options)
	smOpts = append(smOpts, func(o *secretsmanager.Options) {
		if ep := serviceEndpoint("SECRETS_MANAGER"); ep != nil {
			o.BaseEndpoint = ep
		}
	})
	if st.roleARN != "" {
		stsClient := sts.NewFromConfig(cfg, func(o *sts.Options) {
			if ep := serviceEndpoint("STS"); ep != nil {
				o.BaseEndpoint = ep
			}
		})
		creds, err := secretsenv.AssumeRoleCredentials(stsClient, secretsenv.AssumeRole{RoleARN: st.roleARN, ExternalID: st.externalID})
		if err != nil {
			return nil, nil, err
		}
		smOpts = append(smOpts, func(o *secretsmanager.Options) { o.Credentials = creds })
	}
	client := secretsmanager.NewFromConfig(cfg, smOpts...)
	loader, err := secretsenv.New(client, st.loaderOptions, func(o *secretsenv.Options) { o.Logger = logger })
	if err != nil {
		return nil, nil, err // parse validated the same options: not reached
	}
	return loader, client, nil
}
