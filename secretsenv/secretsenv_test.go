package secretsenv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/internal/testbed"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// marker is in every secret value of the leak checks: it must never show up in an error
// or a log line.
const marker = "TOPSECRET-7f3a"

// bed is a Secrets Manager fake behind its wire server, read by the real SDK client (so
// the SDK's retryer, the only retry layer, is part of every test), on a fake clock.
type bed struct {
	t      testing.TB
	sm     *secretsenvtest.SecretsManager
	srv    *secretsenvtest.WireServer
	client *secretsmanager.Client
	clock  *clocktest.Clock
	logs   *testbed.SyncBuffer
}

func newBed(t testing.TB) *bed {
	sm := secretsenvtest.NewSecretsManager()
	client, srv := realClient(t, sm)
	return &bed{t: t, sm: sm, srv: srv, client: client, clock: clocktest.New(), logs: &testbed.SyncBuffer{}}
}

func (b *bed) loader(optFns ...func(*secretsenv.Options)) *secretsenv.Loader {
	base := func(o *secretsenv.Options) {
		o.Environ = []string{"PATH=/usr/bin", "EXISTING=1"}
		o.Clock = b.clock
		o.Logger = slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	l, err := secretsenv.New(b.client, append([]func(*secretsenv.Options){base}, optFns...)...)
	require.NoError(b.t, err)
	return l
}

// throttled is the error Secrets Manager answers when a caller is over its rate.
var throttled = secretsenvtest.APIError("ThrottlingException", "Rate exceeded")

func load(t *testing.T, l *secretsenv.Loader, secrets ...string) (map[string]string, error) {
	t.Helper()
	var specs []secretsenv.Secret
	for _, s := range secrets {
		spec, err := secretsenv.ParseSecret(s)
		require.NoError(t, err)
		specs = append(specs, spec)
	}
	return l.Load(context.Background(), specs)
}

func TestJSONObjectConversion(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{
		"plain": "hunter2",
		"tricky": "a\"b'c $(id) `+"`id`"+` | * ; \\ ${HOME}\nline2\r\n\ttab ünïcödé 🚀",
		"pem": "-----BEGIN KEY-----\nMIIB\n-----END KEY-----\n",
		"int": 123, "big": 12345678901234567890, "float": 1.50, "exp": 1e6, "neg": -0.0,
		"yes": true, "no": false,
		"nested": {"b": [1, 2.0, {"c": null}], "a": "x"},
		"list": [ "x" , 1 ],
		"nothing": null
	}`)
	vars, err := load(t, b.loader(), "app/db")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"plain":   "hunter2",
		"tricky":  "a\"b'c $(id) `id` | * ; \\ ${HOME}\nline2\r\n\ttab ünïcödé 🚀",
		"pem":     "-----BEGIN KEY-----\nMIIB\n-----END KEY-----\n",
		"int":     "123",
		"big":     "12345678901234567890",
		"float":   "1.50",
		"exp":     "1e6",
		"neg":     "-0.0",
		"yes":     "true",
		"no":      "false",
		"nested":  `{"b":[1,2.0,{"c":null}],"a":"x"}`,
		"list":    `["x",1]`,
		"nothing": "",
	}, vars)
}

func TestStrictAndLenient(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("s", `{"db-host": "h", "ok": "v", "n": null}`)
	vars, err := load(t, b.loader(), "s")
	require.NoError(t, err, "lenient: bad names skipped")
	assert.Equal(t, map[string]string{"ok": "v", "n": ""}, vars)
	assert.Contains(t, b.logs.String(), "skipped a key")

	_, err = load(t, b.loader(func(o *secretsenv.Options) { o.Strict = true }), "s")
	require.ErrorIs(t, err, secretsenv.ErrInvalidName)
	assert.Contains(t, err.Error(), `"db-host"`)

	vars, err = load(t, b.loader(func(o *secretsenv.Options) { o.Normalize = true; o.Prefix = "APP_" }), "s")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"APP_DB_HOST": "h", "APP_OK": "v", "APP_N": ""}, vars)

	b.sm.PutString("n", `{"x": null}`)
	_, err = load(t, b.loader(func(o *secretsenv.Options) { o.Strict = true }), "n")
	require.ErrorIs(t, err, secretsenv.ErrInvalidSecret)
	assert.Contains(t, err.Error(), "null")
}

func TestRenames(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("s", `{"db-host": "h", "port": 5432}`)
	vars, err := load(t, b.loader(func(o *secretsenv.Options) {
		o.Renames = map[string]string{"db-host": "DATABASE_HOST"}
		o.Prefix = "P_"
	}), "s")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"DATABASE_HOST": "h", "P_port": "5432"}, vars)

	_, err = secretsenv.New(b.client, func(o *secretsenv.Options) { o.Renames = map[string]string{"port": "not-valid"} })
	require.ErrorIs(t, err, secretsenv.ErrInvalidName, "a bad rename is an error even when lenient, before any call")
}

func TestNonObjectSecrets(t *testing.T) {
	b := newBed(t)
	for name, value := range map[string]string{"plain": "just text\nwith a newline", "number": "42", "array": `[1, 2]`, "jsonstring": `"quoted"`, "broken": `{"a": `} {
		b.sm.PutString(name, value)
		vars, err := load(t, b.loader(), name+",var=V")
		require.NoError(t, err, name)
		assert.Equal(t, map[string]string{"V": value}, vars, "%s: the secret string as stored", name)
	}
	_, err := load(t, b.loader(), "plain")
	require.ErrorIs(t, err, secretsenv.ErrInvalidSecret)
	assert.Contains(t, err.Error(), "var=NAME")

	b.sm.PutString("obj", `{"a":"b"}`)
	_, err = load(t, b.loader(), "obj,var=X")
	require.ErrorContains(t, err, "one variable per key")

	b.sm.PutString("dups", `{"a":"1","a":"2"}`)
	_, err = load(t, b.loader(), "dups")
	require.ErrorContains(t, err, `key "a" appears twice`)
}

func TestBinarySecrets(t *testing.T) {
	b := newBed(t)
	b.sm.PutBinary("cert", []byte{0, 1, 2, 0xff})
	_, err := load(t, b.loader(), "cert,var=CERT")
	require.ErrorIs(t, err, secretsenv.ErrInvalidSecret)
	assert.Contains(t, err.Error(), "binary")
	vars, err := load(t, b.loader(func(o *secretsenv.Options) { o.Binary = secretsenv.BinaryBase64 }), "cert,var=CERT")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"CERT": "AAEC/w=="}, vars)
	_, err = load(t, b.loader(func(o *secretsenv.Options) { o.Binary = secretsenv.BinaryBase64 }), "cert")
	require.ErrorContains(t, err, "var=NAME")
}

// both answers with SecretString and SecretBinary, which Secrets Manager never should.
type both struct{ *secretsenvtest.SecretsManager }

func (both) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String("x"), SecretBinary: []byte("y"), Name: aws.String("s")}, nil
}

func TestBothOrNeither(t *testing.T) {
	l, err := secretsenv.New(both{secretsenvtest.NewSecretsManager()}, func(o *secretsenv.Options) { o.Environ = []string{} })
	require.NoError(t, err)
	_, err = l.Load(context.Background(), []secretsenv.Secret{{ID: "s", Var: "V"}})
	require.ErrorContains(t, err, "both SecretString and SecretBinary")
}

func TestReservedNamesFailInEveryMode(t *testing.T) {
	for _, name := range []string{"AWS_REGION", "AWS_LAMBDA_EXEC_WRAPPER", "PATH", "HOME", "LD_PRELOAD", "LAMBDA_TASK_ROOT", "_HANDLER", "_X_AMZN_TRACE_ID", "SECRETSENV_SECRETS"} {
		for _, strict := range []bool{false, true} {
			b := newBed(t)
			b.sm.PutString("s", fmt.Sprintf(`{%q: "evil", "OK": "fine"}`, name))
			_, err := load(t, b.loader(func(o *secretsenv.Options) { o.Strict = strict; o.AllowOverride = true }), "s")
			require.ErrorIs(t, err, secretsenv.ErrReservedName, "%s strict=%v", name, strict)
			assert.Contains(t, err.Error(), name)
		}
	}
	b := newBed(t)
	b.sm.PutString("p", "text")
	_, err := load(t, b.loader(), "p,var=PATH")
	require.ErrorIs(t, err, secretsenv.ErrReservedName, "var= can't name a reserved variable either")
}

func TestConflictsAndOverrides(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("one", `{"TOKEN": "a"}`)
	b.sm.PutString("two", `{"TOKEN": "b"}`)
	_, err := load(t, b.loader(), "one", "two")
	require.ErrorIs(t, err, secretsenv.ErrConflict)
	assert.Contains(t, err.Error(), "one")
	assert.Contains(t, err.Error(), "two")

	b.sm.PutString("ex", `{"EXISTING": "new"}`)
	_, err = load(t, b.loader(), "ex")
	require.ErrorIs(t, err, secretsenv.ErrExists)
	l := b.loader(func(o *secretsenv.Options) { o.AllowOverride = true })
	vars, err := load(t, l, "ex")
	require.NoError(t, err)
	assert.Equal(t, []string{"EXISTING=new", "PATH=/usr/bin"}, l.Environ(vars))
}

func TestErrorsFromTheService(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("ok", `{"A":"`+marker+`"}`)
	b.sm.PutString("denied", `{"B":"`+marker+`"}`)
	b.sm.Deny("denied")

	_, err := load(t, b.loader(), "ok", "missing")
	require.ErrorIs(t, err, secretsenv.ErrNotFound)
	assert.Contains(t, err.Error(), `secret "missing"`)
	_, err = load(t, b.loader(), "denied")
	require.ErrorIs(t, err, secretsenv.ErrAccessDenied)
	assert.Contains(t, err.Error(), "secretsmanager:GetSecretValue")
	var se *secretsenv.SecretError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "denied", se.SecretID)

	before := b.sm.Calls(secretsenvtest.OpGetSecretValue)
	b.sm.Fail(secretsenvtest.OpGetSecretValue, throttled, 2)
	vars, err := load(t, b.loader(), "ok")
	require.NoError(t, err, "throttling is retried")
	assert.Equal(t, marker, vars["A"])
	assert.Equal(t, 3, b.sm.Calls(secretsenvtest.OpGetSecretValue)-before, "2 throttled and 1 good")

	b.sm.Fail(secretsenvtest.OpGetSecretValue, throttled, 0)
	_, err = load(t, b.loader(), "ok")
	require.ErrorIs(t, err, secretsenv.ErrThrottled)

	assert.NotContains(t, b.logs.String(), marker, "no value in any log line")
}

func TestVersionPinning(t *testing.T) {
	b := newBed(t)
	v1 := b.sm.PutString("s", `{"V":"one"}`)
	b.sm.PutString("s", `{"V":"two"}`)
	for spec, want := range map[string]string{"s": "two", "s,stage=AWSCURRENT": "two", "s,stage=AWSPREVIOUS": "one", "s,version=" + v1: "one"} {
		vars, err := load(t, b.loader(), spec)
		require.NoError(t, err, spec)
		assert.Equal(t, want, vars["V"], spec)
	}
	arn := b.sm.ARN("s")
	vars, err := load(t, b.loader(), arn[:len(arn)-7])
	require.NoError(t, err, "partial ARN")
	assert.Equal(t, "two", vars["V"])
}

func TestBatch(t *testing.T) {
	b := newBed(t)
	var specs []string
	for i := range 45 {
		name := fmt.Sprintf("s%02d", i)
		b.sm.PutString(name, fmt.Sprintf(`{"V%02d": "%d"}`, i, i))
		specs = append(specs, name)
	}
	v := b.sm.PutString("pinned", `{"P":"old"}`)
	b.sm.PutString("pinned", `{"P":"new"}`)
	specs = append(specs, "pinned,version="+v)
	b.sm.FailSecret("s07", throttled, 1)

	vars, err := load(t, b.loader(func(o *secretsenv.Options) { o.Batch = true }), specs...)
	require.NoError(t, err)
	assert.Len(t, vars, 46)
	assert.Equal(t, "old", vars["P"])
	assert.Equal(t, 3, b.sm.Calls(secretsenvtest.OpBatchGetSecretValue), "ceil(45/20)")
	assert.ElementsMatch(t, []string{"s07", "pinned"}, b.sm.RequestedIDs(secretsenvtest.OpGetSecretValue),
		"only the secret the batch reported an error for, and the pinned one, go alone")

	b.sm.Deny("s10")
	_, err = load(t, b.loader(func(o *secretsenv.Options) { o.Batch = true }), specs...)
	require.ErrorIs(t, err, secretsenv.ErrAccessDenied, "a batch error falls back to GetSecretValue, whose error wins")
}

func TestParallelCallsAndTimeout(t *testing.T) {
	b := newBed(t)
	var specs []string
	for i := range 12 {
		name := fmt.Sprintf("s%d", i)
		b.sm.PutString(name, fmt.Sprintf(`{"V%d": "x"}`, i))
		specs = append(specs, name)
	}
	_, err := load(t, b.loader(func(o *secretsenv.Options) { o.Parallelism = 3 }), specs...)
	require.NoError(t, err)
	assert.Equal(t, 12, b.sm.Calls(secretsenvtest.OpGetSecretValue))

	b.sm.Fail(secretsenvtest.OpGetSecretValue, throttled, 0)
	_, err = load(t, b.loader(func(o *secretsenv.Options) {
		o.Timeout = 50 * time.Millisecond
		o.MaxAttempts = 1000
		o.Clock = nil // the SDK's backoff really waits, and the timeout cuts it short
	}), "s1")
	require.ErrorIs(t, err, context.DeadlineExceeded, "the overall timeout ends the retries")
	assert.Contains(t, err.Error(), "Options.Timeout 50ms")
}

func TestParseSecret(t *testing.T) {
	s, err := secretsenv.ParseSecret("arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf,stage=AWSPREVIOUS,var=DB")
	require.NoError(t, err)
	assert.Equal(t, secretsenv.Secret{ID: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf", VersionStage: "AWSPREVIOUS", Var: "DB"}, s)
	for _, bad := range []string{"", ",var=X", "s,colour=red", "s,stage=A,version=B", "s,var"} {
		_, err := secretsenv.ParseSecret(bad)
		require.ErrorIs(t, err, secretsenv.ErrInvalidInput, bad)
	}
	_, err = newBed(t).loader().Load(context.Background(), nil)
	require.ErrorIs(t, err, secretsenv.ErrInvalidInput)
}

func TestAssumeRole(t *testing.T) {
	fake := secretsenvtest.NewSTS(nil)
	creds, err := secretsenv.AssumeRoleCredentials(fake, secretsenv.AssumeRole{RoleARN: "arn:aws:iam::123456789012:role/reader", ExternalID: "ext-1"})
	require.NoError(t, err)
	c1, err := creds.Retrieve(context.Background())
	require.NoError(t, err)
	c2, err := creds.Retrieve(context.Background())
	require.NoError(t, err)
	assert.Equal(t, c1.AccessKeyID, c2.AccessKeyID, "cached")
	calls := fakeapi.Inputs[*sts.AssumeRoleInput](fake, secretsenvtest.OpAssumeRole)
	require.Len(t, calls, 1)
	assert.Equal(t, "ext-1", aws.ToString(calls[0].ExternalId))
	assert.Equal(t, "secretsenv", aws.ToString(calls[0].RoleSessionName))

	_, err = secretsenv.AssumeRoleCredentials(fake, secretsenv.AssumeRole{RoleARN: "reader"})
	require.ErrorIs(t, err, secretsenv.ErrInvalidInput)
	_, err = secretsenv.AssumeRoleCredentials(fake, secretsenv.AssumeRole{RoleARN: "arn:aws:iam::1:role/r", Duration: time.Minute})
	require.ErrorIs(t, err, secretsenv.ErrInvalidInput)
	fake.Deny("arn:aws:iam::1:role/r")
	denied, err := secretsenv.AssumeRoleCredentials(fake, secretsenv.AssumeRole{RoleARN: "arn:aws:iam::1:role/r"})
	require.NoError(t, err)
	_, err = denied.Retrieve(context.Background())
	require.ErrorContains(t, err, "AccessDenied")
}

func TestFormatsRoundTrip(t *testing.T) {
	vars := map[string]string{
		"A": "a\"b'c $(id) `id` | * ; \\ ${HOME}\nline2\r\n\ttab ünïcödé 🚀",
		"B": "", "C": strings.Repeat("x", 60<<10), "D": "'", "E": "\\n literally",
	}
	out, err := secretsenv.Format(vars, secretsenv.FormatJSON)
	require.NoError(t, err)
	var back map[string]string
	require.NoError(t, json.Unmarshal(out, &back))
	assert.Equal(t, vars, back)

	out, err = secretsenv.Format(vars, secretsenv.FormatShell)
	require.NoError(t, err)
	assert.Equal(t, vars, shellRoundTrip(t, out, vars))

	_, err = secretsenv.Format(map[string]string{"X": "nul\x00"}, secretsenv.FormatJSON)
	require.ErrorIs(t, err, secretsenv.ErrInvalidSecret)
	_, err = secretsenv.Format(vars, "yaml")
	require.ErrorIs(t, err, secretsenv.ErrInvalidInput)
}
