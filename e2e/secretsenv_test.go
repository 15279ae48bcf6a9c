package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// secretValue reads a secret back through the real SDK client, as the truth to compare with.
func secretValue(t *testing.T, sm *secretsmanager.Client, id, stage string) string {
	t.Helper()
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	out, err := sm.GetSecretValue(context.Background(), in)
	require.NoError(t, err)
	return aws.ToString(out.SecretString)
}

func createSecret(t *testing.T, sm *secretsmanager.Client, name, value string) {
	t.Helper()
	_, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	require.NoError(t, err)
}

// childEnv runs `secretsenv exec ... -- <this test binary>` and returns the environment the
// child saw.
func childEnv(t *testing.T, env []string, args ...string) (map[string]string, result) {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	full := append(append([]string{"exec"}, args...), "--", self)
	r := run(t, append(env, "E2E_PRINTENV=1"), "", binary(t, "secretsenv"), full...)
	if r.code != 0 {
		return nil, r
	}
	var got map[string]string
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), "%s", r)
	return got, r
}

func TestSecretsenvAgainstMoto(t *testing.T) {
	ep := testbed.AWS(t)
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(ep.Config())
	env := ep.Env(ep.Region, aws.Credentials{})
	// Values a shell would mangle: newlines, quotes, $(...), backticks, a PEM block.
	tricky := "line one\nline \"two\" $(rm -rf /) `id` 'quoted'\n-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n"
	app := unique("e2e/app")
	createSecret(t, sm, app, fmt.Sprintf(`{"DB_PASSWORD":%q,"PORT":5432,"ratio":1.50}`, tricky))
	token := unique("e2e/token")
	createSecret(t, sm, token, "s3cr3t=with=equals")

	t.Run("exec: a JSON secret gives a variable per key, a plain one its var=, byte for byte", func(t *testing.T) {
		got, r := childEnv(t, env, "-secret", app, "-secret", token+",var=API_TOKEN")
		require.Zero(t, r.code, "%s", r)
		var want map[string]any
		require.NoError(t, json.Unmarshal([]byte(secretValue(t, sm, app, "")), &want))
		assert.Equal(t, want["DB_PASSWORD"], got["DB_PASSWORD"])
		assert.Equal(t, "5432", got["PORT"])
		assert.Equal(t, "1.50", got["ratio"], "numbers exactly as written")
		assert.Equal(t, secretValue(t, sm, token, ""), got["API_TOKEN"])
	})

	t.Run("print: json and dotenv say the same as Secrets Manager", func(t *testing.T) {
		r := run(t, env, "", binary(t, "secretsenv"), "print", "-format", "json", "-secret", token+",var=API_TOKEN")
		require.Zero(t, r.code, "%s", r)
		var vars map[string]string
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &vars), "%s", r)
		assert.Equal(t, secretValue(t, sm, token, ""), vars["API_TOKEN"])
		r = run(t, env, "", binary(t, "secretsenv"), "print", "-format", "dotenv", "-secret", token+",var=API_TOKEN")
		require.Zero(t, r.code, "%s", r)
		assert.Contains(t, r.stdout, "API_TOKEN=")
	})

	t.Run("stages: AWSPENDING during a rotation, AWSCURRENT by default", func(t *testing.T) {
		rotating := unique("e2e/rotating")
		createSecret(t, sm, rotating, "old-password")
		_, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(rotating),
			SecretString: aws.String("new-password"), VersionStages: []string{"AWSPENDING"}})
		require.NoError(t, err)
		got, r := childEnv(t, env, "-secret", rotating+",var=CURRENT", "-secret", rotating+",stage=AWSPENDING,var=PENDING")
		require.Zero(t, r.code, "%s", r)
		assert.Equal(t, secretValue(t, sm, rotating, ""), got["CURRENT"])
		assert.Equal(t, "old-password", got["CURRENT"])
		assert.Equal(t, secretValue(t, sm, rotating, "AWSPENDING"), got["PENDING"])
	})

	t.Run("batch: 25 secrets through BatchGetSecretValue, 20 a call", func(t *testing.T) {
		var args []string
		want := map[string]string{}
		for i := range 25 {
			name := unique(fmt.Sprintf("e2e/batch%02d", i))
			createSecret(t, sm, name, fmt.Sprintf("value-%d", i))
			v := fmt.Sprintf("BATCH_%02d", i)
			args = append(args, "-secret", name+",var="+v)
			want[v] = secretValue(t, sm, name, "")
		}
		proxy := testbed.NewAWSProxy(t, ep.URL)
		got, r := childEnv(t, ep.WithURL(proxy.URL).Env(ep.Region, aws.Credentials{}), append([]string{"-batch"}, args...)...)
		require.Zero(t, r.code, "%s", r)
		for k, v := range want {
			assert.Equal(t, v, got[k], k)
		}
		assert.Equal(t, 2, proxy.Calls("BatchGetSecretValue"), "%v", proxy.Ops())
		assert.Zero(t, proxy.Calls("GetSecretValue"))
	})

	t.Run("prefix: names derived from JSON keys get it", func(t *testing.T) {
		got, r := childEnv(t, env, "-prefix", "APP_", "-secret", app)
		require.Zero(t, r.code, "%s", r)
		assert.Equal(t, "5432", got["APP_PORT"])
		assert.NotContains(t, got, "PORT")
	})

	t.Run("cross-account: -role-arn reads the other account's secret", func(t *testing.T) {
		other, _ := ep.Account(t, "210987654321", "secret-reader", ep.Region)
		name := unique("e2e/cross")
		createSecret(t, secretsmanager.NewFromConfig(other), name, "from-the-other-account")
		// In the default account the name does not exist at all.
		_, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		require.Error(t, err)
		got, r := childEnv(t, env, "-role-arn", "arn:aws:iam::210987654321:role/secret-reader", "-secret", name+",var=CROSS")
		require.Zero(t, r.code, "%s", r)
		assert.Equal(t, "from-the-other-account", got["CROSS"])
	})

	t.Run("a missing secret: nothing runs, exit 1, the secret named", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "ran")
		missing := unique("e2e/missing")
		_, r := childEnv(t, append(env, "E2E_MARKER="+marker), "-secret", token+",var=T", "-secret", missing+",var=M")
		assert.Equal(t, 1, r.code, "%s", r)
		assert.Contains(t, r.stderr, missing)
		assert.NoFileExists(t, marker, "the child must not run")
		assert.NotContains(t, r.stderr, secretValue(t, sm, token, ""), "no value in the error")
	})

	t.Run("wrap: configured by SECRETSENV_* alone, as a Lambda exec wrapper", func(t *testing.T) {
		self, err := os.Executable()
		require.NoError(t, err)
		r := run(t, append(env, "E2E_PRINTENV=1", "SECRETSENV_SECRETS="+token+",var=WRAPPED"), "", binary(t, "secretsenv"), "wrap", "--", self)
		require.Zero(t, r.code, "%s", r)
		var got map[string]string
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), "%s", r)
		assert.Equal(t, secretValue(t, sm, token, ""), got["WRAPPED"])
		assert.False(t, strings.Contains(got["SECRETSENV_SECRETS"], "s3cr3t"), "the configuration holds names, never values")
	})
}
