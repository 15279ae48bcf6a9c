package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// The test binary doubles as the child program: with EXECTEST_PRINTENV=1 it prints its
// environment as JSON and, with EXECTEST_MARKER, creates that file (proof that it ran).
var builtBinary string

func TestMain(m *testing.M) {
	if os.Getenv("EXECTEST_PRINTENV") == "1" {
		if f := os.Getenv("EXECTEST_MARKER"); f != "" {
			_ = os.WriteFile(f, nil, 0o600)
		}
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"args": os.Args[1:], "env": env})
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "secretsenv-exec")
	if err != nil {
		panic(err)
	}
	builtBinary = filepath.Join(dir, "bin", "secretsenv")
	// The layer's build: lean configuration, static, stripped.
	build := exec.Command("go", "build", "-tags", "lean,nethttpomithttp2", "-trimpath", "-ldflags=-s -w", "-o", builtBinary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building secretsenv: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type execBed struct {
	fake   *secretsenvtest.SecretsManager
	srv    *secretsenvtest.WireServer
	marker string
	env    []string
}

func newExecBed(t *testing.T) *execBed {
	fake := secretsenvtest.NewSecretsManager()
	srv := secretsenvtest.NewWireServer(fake)
	t.Cleanup(srv.Close)
	marker := filepath.Join(t.TempDir(), "child-ran")
	return &execBed{fake: fake, srv: srv, marker: marker, env: []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDEXEC", "AWS_SECRET_ACCESS_KEY=exec-secret",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + srv.URL,
		"EXECTEST_PRINTENV=1", "EXECTEST_MARKER=" + marker,
	}}
}

// run runs the built binary and returns its exit code, stdout and stderr.
func (b *execBed) run(t *testing.T, extraEnv []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, builtBinary, args...)
	cmd.Env = append(append([]string(nil), b.env...), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, stdout.String(), stderr.String()
}

func (b *execBed) childRan() bool {
	_, err := os.Stat(b.marker)
	return err == nil
}

var trickyValues = map[string]string{
	"NEWLINES": "line1\nline2\r\nline3\n",
	"QUOTES":   `both "double" and 'single'`,
	"SUBST":    "$(touch /tmp/secretsenv-pwned) ${HOME} $HOME",
	"BACKTICK": "`touch /tmp/secretsenv-pwned`",
	"PIPE":     "a|b || c; d & e",
	"GLOB":     "* ? [a-z] ~",
	"UNICODE":  "ünïcödé 🚀 日本語",
	"BIG":      strings.Repeat("0123456789abcdef", 60<<10/16),
	"EMPTY":    "",
}

func TestExecPassesValuesByteExact(t *testing.T) {
	b := newExecBed(t)
	doc, err := json.Marshal(trickyValues)
	require.NoError(t, err)
	b.fake.PutString("app/config", string(doc))
	b.fake.PutString("pem", "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n")

	code, stdout, stderr := b.run(t, nil, "exec", "-secret", "app/config", "-secret", "pem,var=TLS_KEY", "--", os.Args[0], "child-arg with space")
	require.Equal(t, 0, code, stderr)
	var got struct {
		Args []string
		Env  map[string]string
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &got))
	for k, v := range trickyValues {
		assert.Equal(t, v, got.Env[k], k)
	}
	assert.Equal(t, "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n", got.Env["TLS_KEY"])
	assert.Equal(t, []string{"child-arg with space"}, got.Args)
	assert.Equal(t, "us-east-1", got.Env["AWS_REGION"], "the rest of the environment is kept")
	_, err = os.Stat("/tmp/secretsenv-pwned")
	assert.True(t, os.IsNotExist(err), "nothing in a value was executed")
}

func TestPrintFormatsRoundTrip(t *testing.T) {
	b := newExecBed(t)
	doc, err := json.Marshal(trickyValues)
	require.NoError(t, err)
	b.fake.PutString("app/config", string(doc))
	for _, format := range []string{"json", "shell"} {
		code, stdout, stderr := b.run(t, nil, "print", "-format", format, "-secret", "app/config")
		require.Equal(t, 0, code, stderr)
		assert.Empty(t, stderr, "messages only on failure")
		switch format {
		case "json":
			var back map[string]string
			require.NoError(t, json.Unmarshal([]byte(stdout), &back))
			assert.Equal(t, trickyValues, back)
		case "shell":
			// eval in sh, then print each variable NUL-separated.
			script := stdout
			for _, k := range []string{"NEWLINES", "QUOTES", "SUBST", "BACKTICK", "PIPE", "GLOB", "UNICODE", "BIG", "EMPTY"} {
				script += `printf '%s\0' "$` + k + `"` + "\n"
			}
			out, err := exec.Command("sh", "-c", script).Output()
			require.NoError(t, err)
			parts := strings.Split(string(out), "\x00")
			for i, k := range []string{"NEWLINES", "QUOTES", "SUBST", "BACKTICK", "PIPE", "GLOB", "UNICODE", "BIG", "EMPTY"} {
				assert.Equal(t, trickyValues[k], parts[i], k)
			}
		}
	}

	// dotenv refuses what its readers can't read back exactly (a carriage return, ${HOME}),
	// prints nothing, and names the variable without its value.
	code, stdout, stderr := b.run(t, nil, "print", "-format", "dotenv", "-secret", "app/config")
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout, "nothing printed: never a partial file")
	assert.Contains(t, stderr, "NEWLINES can't be written as dotenv")
	for k, v := range trickyValues {
		if len(v) > 3 {
			assert.NotContains(t, stderr, v, k)
		}
	}
	// What it can carry comes back exactly.
	carried := map[string]string{"NEWLINES": "line1\nline2\n", "QUOTES": `"double" only`, "SUBST": "$(touch /tmp/secretsenv-pwned) $HOME",
		"BACKTICK": trickyValues["BACKTICK"], "PIPE": trickyValues["PIPE"], "GLOB": trickyValues["GLOB"], "UNICODE": trickyValues["UNICODE"], "EMPTY": ""}
	doc, err = json.Marshal(carried)
	require.NoError(t, err)
	b.fake.PutString("app/dotenv", string(doc))
	code, stdout, stderr = b.run(t, nil, "print", "-format", "dotenv", "-secret", "app/dotenv")
	require.Equal(t, 0, code, stderr)
	back, err := secretsenv.ParseDotenv([]byte(stdout))
	require.NoError(t, err)
	assert.Equal(t, carried, back)
}

func TestFailuresRunNothing(t *testing.T) {
	cases := []struct {
		name     string
		setup    func(*secretsenvtest.SecretsManager)
		args     []string
		extraEnv []string
		code     int
		msg      string
	}{
		{"missing secret", nil, []string{"exec", "-secret", "nope", "--"}, nil, 1, `secret "nope"`},
		{"access denied", func(f *secretsenvtest.SecretsManager) { f.PutString("s", `{"A":"TOPSECRET"}`); f.Deny("s") }, []string{"exec", "-secret", "s", "--"}, nil, 1, "access denied"},
		{"reserved name", func(f *secretsenvtest.SecretsManager) { f.PutString("s", `{"LD_PRELOAD":"/evil.so"}`) }, []string{"exec", "-secret", "s", "--"}, nil, 1, "LD_PRELOAD"},
		{"overwrites the wrapper's own config", func(f *secretsenvtest.SecretsManager) { f.PutString("s", `{"SECRETSENV_SECRETS":"x"}`) }, []string{"exec", "-allow-override", "-secret", "s", "--"}, nil, 1, "reserved"},
		{"conflict", func(f *secretsenvtest.SecretsManager) {
			f.PutString("a", `{"TOKEN":"TOPSECRET1"}`)
			f.PutString("b", `{"TOKEN":"TOPSECRET2"}`)
		}, []string{"exec", "-secret", "a", "-secret", "b", "--"}, nil, 1, "TOKEN comes from"},
		{"already set", func(f *secretsenvtest.SecretsManager) { f.PutString("s", `{"EXISTING":"TOPSECRET"}`) }, []string{"exec", "-secret", "s", "--"}, []string{"EXISTING=1"}, 1, "already set"},
		{"throttled throughout", func(f *secretsenvtest.SecretsManager) {
			f.PutString("s", `{"A":"TOPSECRET"}`)
			f.Fail(secretsenvtest.OpGetSecretValue, secretsenvtest.APIError("ThrottlingException", "Rate exceeded"), 0)
		}, []string{"exec", "-timeout", "2s", "-secret", "s", "--"}, nil, 1, "throttled"},
		{"no region", func(f *secretsenvtest.SecretsManager) { f.PutString("s", `{"A":"TOPSECRET"}`) }, []string{"exec", "-secret", "s", "--"}, []string{"AWS_REGION="}, 2, "set AWS_REGION (or use a profile with a region)"},
		{"binary without the option", func(f *secretsenvtest.SecretsManager) { f.PutBinary("bin", []byte("TOPSECRET")) }, []string{"exec", "-secret", "bin,var=B", "--"}, nil, 1, "binary"},
		{"unknown flag", nil, []string{"exec", "-nope", "--"}, nil, 2, "flag provided but not defined"},
		{"no command", func(f *secretsenvtest.SecretsManager) { f.PutString("s", `{"A":"x"}`) }, []string{"exec", "-secret", "s"}, nil, 2, "needs a command"},
		{"bad secret spec", nil, []string{"exec", "-secret", "s,colour=red", "--"}, nil, 2, "unknown option"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newExecBed(t)
			if tc.setup != nil {
				tc.setup(b.fake)
			}
			args := tc.args
			if args[len(args)-1] == "--" {
				args = append(args, os.Args[0])
			}
			code, stdout, stderr := b.run(t, tc.extraEnv, args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.msg)
			assert.False(t, b.childRan(), "the command must not run")
			assert.Empty(t, stdout)
			assert.NotContains(t, stderr, "TOPSECRET", "no value in any message")
		})
	}
	b := newExecBed(t)
	b.fake.PutString("s", `{"A":"x"}`)
	code, _, stderr := b.run(t, nil, "exec", "-secret", "s", "--", "/no/such/program")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "/no/such/program")
}

// TestLambdaWrapperAndBootstrapChain runs the layer as Lambda would: the wrapper script
// from the layer layout (/opt/secretsenv-wrapper, /opt/bin/secretsenv), configured only
// by SECRETSENV_* variables; once as AWS_LAMBDA_EXEC_WRAPPER of a managed runtime (called
// with the runtime's command line), once through a provided.al2023 bootstrap script.
func TestLambdaWrapperAndBootstrapChain(t *testing.T) {
	b := newExecBed(t)
	b.fake.PutString("prod/api", `{"API_KEY":"k$(x)\n","DB_PORT":5432}`)
	opt := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(opt, "bin"), 0o755))
	require.NoError(t, os.Symlink(builtBinary, filepath.Join(opt, "bin", "secretsenv")))
	wrapper, err := os.ReadFile("layer/secretsenv-wrapper")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(opt, "secretsenv-wrapper"), wrapper, 0o755))
	config := []string{"SECRETSENV_SECRETS=prod/api"}

	t.Run("managed runtime", func(t *testing.T) {
		cmd := exec.Command(filepath.Join(opt, "secretsenv-wrapper"), os.Args[0], "--runtime-flag", "handler.main")
		cmd.Env = append(append([]string(nil), b.env...), config...)
		out, err := cmd.Output()
		require.NoError(t, err)
		var got struct {
			Args []string
			Env  map[string]string
		}
		require.NoError(t, json.Unmarshal(out, &got))
		assert.Equal(t, "k$(x)\n", got.Env["API_KEY"])
		assert.Equal(t, "5432", got.Env["DB_PORT"])
		assert.Equal(t, []string{"--runtime-flag", "handler.main"}, got.Args, "the runtime's arguments pass through untouched")
	})

	t.Run("provided.al2023 bootstrap chain", func(t *testing.T) {
		task := t.TempDir()
		require.NoError(t, os.Symlink(os.Args[0], filepath.Join(task, "app")))
		bootstrap := "#!/bin/sh\nexec " + filepath.Join(opt, "secretsenv-wrapper") + " \"$LAMBDA_TASK_ROOT/app\" \"$@\"\n"
		require.NoError(t, os.WriteFile(filepath.Join(task, "bootstrap"), []byte(bootstrap), 0o755))
		cmd := exec.Command(filepath.Join(task, "bootstrap"))
		cmd.Env = append(append([]string(nil), b.env...), append(config, "LAMBDA_TASK_ROOT="+task)...)
		out, err := cmd.Output()
		require.NoError(t, err)
		assert.Contains(t, string(out), `"API_KEY":"k$(x)\n"`)
	})

	t.Run("a failing wrapper starts nothing", func(t *testing.T) {
		require.NoError(t, os.Remove(b.marker)) // left by the runs above
		cmd := exec.Command(filepath.Join(opt, "secretsenv-wrapper"), os.Args[0])
		cmd.Env = append(append([]string(nil), b.env...), "SECRETSENV_SECRETS=missing")
		out, err := cmd.CombinedOutput()
		require.Error(t, err)
		assert.Contains(t, string(out), `secret "missing"`)
		assert.False(t, b.childRan())
	})
}

func TestParseFromEnvironment(t *testing.T) {
	env := map[string]string{"SECRETSENV_SECRETS": "a;b,var=B\nc", "SECRETSENV_STRICT": "true", "SECRETSENV_TIMEOUT": "3s", "SECRETSENV_BINARY": "base64"}
	cmd, st, command, err := parse([]string{"wrap", "--", "/var/runtime/bootstrap", "-x"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "wrap", cmd)
	assert.Len(t, st.secrets, 3)
	assert.Equal(t, "B", st.secrets[1].Var)
	assert.True(t, st.strict)
	assert.True(t, st.binary)
	assert.Equal(t, 3*time.Second, st.timeout)
	assert.Equal(t, []string{"/var/runtime/bootstrap", "-x"}, command)

	_, _, _, err = parse([]string{"exec", "--", "x"}, func(k string) string {
		return map[string]string{"SECRETSENV_SECRETS": "a", "SECRETSENV_STRICT": "maybe"}[k]
	}, &bytes.Buffer{})
	require.ErrorContains(t, err, "SECRETSENV_STRICT")
}

// TestTemplateIsLeastPrivilege checks the sample template: GetSecretValue on the named
// secret only, sts:AssumeRole only under the condition that a role is set, nothing else.
func TestTemplateIsLeastPrivilege(t *testing.T) {
	raw, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	actions := map[string]string{} // action -> resource reference
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			var acts []string
			res := ""
			for i := 0; i+1 < len(n.Content); i += 2 {
				switch n.Content[i].Value {
				case "Action":
					for _, a := range n.Content[i+1].Content {
						acts = append(acts, a.Value)
					}
				case "Resource":
					res = n.Content[i+1].Tag + " " + n.Content[i+1].Value
				}
			}
			for _, a := range acts {
				actions[a] = res
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	assert.Equal(t, map[string]string{
		"secretsmanager:GetSecretValue": "!Ref SecretArn",
		"sts:AssumeRole":                "!Ref SecretsRoleArn",
	}, actions)
	assert.Contains(t, string(raw), "- !If\n              - AssumesRole", "AssumeRole is granted only when a role is set")
	assert.Contains(t, string(raw), "AWS_LAMBDA_EXEC_WRAPPER: /opt/secretsenv-wrapper")
}
