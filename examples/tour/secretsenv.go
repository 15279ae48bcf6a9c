package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// childEnv is set when the tour runs itself as the child process of the secretsenv chapter.
const childEnv = "SHIPSHAPE_TOUR_CHILD_PRINT"

// wrapperEnv is set when the tour runs itself as a Lambda exec wrapper: it loads
// SECRETSENV_SECRETS from the Secrets Manager at AWS_ENDPOINT_URL_SECRETS_MANAGER and execs
// itself again as the "runtime" (childEnv), as /opt/secretsenv-wrapper execs the runtime.
const wrapperEnv = "SHIPSHAPE_TOUR_WRAPPER"

// runWrapper is the wrapper's side. It returns only on failure.
func runWrapper() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := secretsmanager.New(secretsmanager.Options{Region: "us-east-1",
		BaseEndpoint: aws.String(os.Getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER")),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTOUR", "tour", "")})
	loader, err := secretsenv.New(client)
	if err != nil {
		return err
	}
	var secrets []secretsenv.Secret
	for _, spec := range strings.Fields(os.Getenv("SECRETSENV_SECRETS")) {
		s, err := secretsenv.ParseSecret(spec)
		if err != nil {
			return err
		}
		secrets = append(secrets, s)
	}
	vars, err := loader.Load(ctx, secrets)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	env := append(loader.Environ(vars), childEnv+"=DB_PASSWORD")
	var kept []string
	for _, kv := range env { // the runtime does not need to be a wrapper again
		if !strings.HasPrefix(kv, wrapperEnv+"=") {
			kept = append(kept, kv)
		}
	}
	return secretsenv.Exec(self, nil, kept)
}

func init() {
	chapters = append(chapters, chapter{order: 3, name: "secretsenv: secrets into a child process's environment, byte for byte, and following rotation", run: tourSecretsEnv})
}

// printChildEnv is the child's side: print the named variables as Go-quoted strings.
func printChildEnv() {
	for _, name := range strings.Split(os.Getenv(childEnv), ",") {
		fmt.Printf("child sees %s=%q\n", name, os.Getenv(name))
	}
}

func tourSecretsEnv(ctx context.Context, say func(string, ...any)) error {
	sm := secretsenvtest.NewSecretsManager()
	sm.PutString("prod/api", `{"db-host": "db.internal", "db-port": 5432, "api-token": "t0k$(rm -rf ~)`+"`id`"+`|*\"'", "pem": "-----BEGIN KEY-----\nMIIB\n-----END KEY-----\n"}`)
	say("a fake Secrets Manager (secretsenvtest) holding prod/api: a JSON object with a $(...), backticks, quotes and a PEM key")

	loader, err := secretsenv.New(sm, func(o *secretsenv.Options) { o.Prefix = "APP_"; o.Normalize = true })
	if err != nil {
		return err
	}
	vars, err := loader.Load(ctx, []secretsenv.Secret{{ID: "prod/api"}})
	if err != nil {
		return err
	}
	say("loaded %d variables with prefix APP_ and name normalisation (db-host -> APP_DB_HOST)", len(vars))

	names := []string{"APP_DB_HOST", "APP_DB_PORT", "APP_API_TOKEN", "APP_PEM"}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(loader.Environ(vars), childEnv+"="+strings.Join(names, ","))
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("child process: %w", err)
	}
	say("a child process started with that environment (secretsenv exec does the same with syscall.Exec):")
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		say("  %s", line)
	}

	var many []secretsenv.Secret
	for i := range 45 {
		sm.PutString(fmt.Sprintf("svc/%02d", i), fmt.Sprintf(`{"SVC_%02d_TOKEN": "t%d"}`, i, i))
		many = append(many, secretsenv.Secret{ID: fmt.Sprintf("svc/%02d", i)})
	}
	batched, err := secretsenv.New(sm, func(o *secretsenv.Options) { o.Batch = true })
	if err != nil {
		return err
	}
	batchBefore, getBefore := sm.Calls(secretsenvtest.OpBatchGetSecretValue), sm.Calls(secretsenvtest.OpGetSecretValue)
	if _, err := batched.Load(ctx, many); err != nil {
		return err
	}
	say("45 secrets with batching: %d BatchGetSecretValue calls of up to 20, %d GetSecretValue (without: 45 GetSecretValue)",
		sm.Calls(secretsenvtest.OpBatchGetSecretValue)-batchBefore, sm.Calls(secretsenvtest.OpGetSecretValue)-getBefore)

	// The Lambda layer: Lambda starts the runtime through AWS_LAMBDA_EXEC_WRAPPER; the
	// wrapper loads the secrets and execs the runtime with them in its environment.
	sm.PutString("prod/db", `{"DB_PASSWORD": "pa$$ w0rd'\"\n"}`)
	srv := secretsenvtest.NewWireServer(sm)
	defer srv.Close()
	wrapper := exec.CommandContext(ctx, self)
	wrapper.Env = append(os.Environ(), wrapperEnv+"=1", "SECRETSENV_SECRETS=prod/db", "AWS_ENDPOINT_URL_SECRETS_MANAGER="+srv.URL)
	out, err = wrapper.Output()
	if err != nil {
		return fmt.Errorf("wrapper chain: %w: %s", err, out)
	}
	say("Lambda exec wrapper chain (AWS_LAMBDA_EXEC_WRAPPER=/opt/secretsenv-wrapper, SECRETSENV_SECRETS=prod/db):")
	say("  the wrapper read prod/db over the Secrets Manager wire protocol (%d request) and exec'd the runtime, which prints:", len(srv.Targets()))
	say("  %s", strings.TrimSpace(string(out)))

	// A long-running service follows a rotation without a restart.
	plain, err := secretsenv.New(sm, func(o *secretsenv.Options) { o.Environ = []string{} })
	if err != nil {
		return err
	}
	sm.PutString("prod/orders-db", `{"DB_USER": "orders", "DB_PASSWORD": "first"}`)
	w, err := plain.Watch(ctx, sm, []secretsenv.Secret{{ID: "prod/orders-db"}})
	if err != nil {
		return err
	}
	gets := sm.Calls(secretsenvtest.OpGetSecretValue)
	sm.StartRotation("prod/orders-db", `{"DB_USER": "orders", "DB_PASSWORD": "second"}`)
	if _, moved, err := w.Check(ctx); err != nil || moved {
		return fmt.Errorf("a pending version was taken for the current one (moved %t, %v)", moved, err)
	}
	say("a Watcher on prod/orders-db: the rotation has made an AWSPENDING version; the check sees AWSCURRENT unmoved, reads no value")
	sm.FinishRotation("prod/orders-db")
	ch, moved, err := w.Check(ctx)
	if err != nil || !moved {
		return fmt.Errorf("the finished rotation was not seen (moved %t, %v)", moved, err)
	}
	say("the rotation finishes (AWSCURRENT moves): the next check reports %v changed, after %d DescribeSecret and %d GetSecretValue calls",
		ch.Changed, sm.Calls(secretsenvtest.OpDescribeSecret), sm.Calls(secretsenvtest.OpGetSecretValue)-gets)

	sm.PutString("evil", "/tmp/evil.so")
	if _, err := loader.Load(ctx, []secretsenv.Secret{{ID: "prod/api"}, {ID: "evil", Var: "LD_PRELOAD"}}); err != nil {
		say("a secret aimed at LD_PRELOAD fails the whole load, naming it: %v", err)
	} else {
		return fmt.Errorf("a reserved name was accepted")
	}
	return nil
}
