package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// childEnv is set when the tour runs itself as the child process of the secretsenv chapter.
const childEnv = "SHIPSHAPE_TOUR_CHILD_PRINT"

func init() {
	chapters = append(chapters, chapter{order: 3, name: "secretsenv: secrets into a child process's environment, byte for byte", run: tourSecretsEnv})
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

	sm.PutString("evil", "/tmp/evil.so")
	if _, err := loader.Load(ctx, []secretsenv.Secret{{ID: "prod/api"}, {ID: "evil", Var: "LD_PRELOAD"}}); err != nil {
		say("a secret aimed at LD_PRELOAD fails the whole load, naming it: %v", err)
	} else {
		return fmt.Errorf("a reserved name was accepted")
	}
	return nil
}
