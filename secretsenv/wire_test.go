package secretsenv_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"testing"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/internal/testbed"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// realClient is the real SDK client pointed at a WireServer. The Loader sets its retryer on
// every call, so the client's own retry settings don't matter.
func realClient(t testing.TB, fake *secretsenvtest.SecretsManager) (*secretsmanager.Client, *secretsenvtest.WireServer) {
	srv := secretsenvtest.NewWireServer(fake)
	t.Cleanup(srv.Close)
	return secretsmanager.New(secretsmanager.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDWIRE", "wire-secret", ""),
	}), srv
}

func TestWireGetSecretValue(t *testing.T) {
	fake := secretsenvtest.NewSecretsManager()
	fake.PutString("app/db", `{"PASSWORD": "p\"w$(x)\n2", "PORT": 5432}`)
	fake.PutBinary("cert", []byte{0, 1, 2, 0xfe})
	client, srv := realClient(t, fake)

	l, err := secretsenv.New(client, func(o *secretsenv.Options) {
		o.Environ = []string{}
		o.Binary = secretsenv.BinaryBase64
	})
	require.NoError(t, err)
	vars, err := l.Load(context.Background(), []secretsenv.Secret{{ID: "app/db"}, {ID: "cert", Var: "CERT"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"PASSWORD": "p\"w$(x)\n2", "PORT": "5432", "CERT": "AAEC/g=="}, vars)
	assert.Equal(t, []string{"secretsmanager.GetSecretValue", "secretsmanager.GetSecretValue"}, srv.Targets())
}

func TestWireErrorsAreRecognised(t *testing.T) {
	fake := secretsenvtest.NewSecretsManager()
	fake.PutString("s", `{"A":"1"}`)
	client, _ := realClient(t, fake)

	_, err := client.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
	var notFound *types.ResourceNotFoundException
	require.ErrorAs(t, err, &notFound, "the SDK decodes the error body into its modeled type")

	l, err := secretsenv.New(client, func(o *secretsenv.Options) { o.Environ = []string{}; o.Clock = clocktest.New() })
	require.NoError(t, err)
	_, err = l.Load(context.Background(), []secretsenv.Secret{{ID: "nope"}})
	require.ErrorIs(t, err, secretsenv.ErrNotFound)

	fake.Fail(secretsenvtest.OpGetSecretValue, throttled, 2)
	vars, err := l.Load(context.Background(), []secretsenv.Secret{{ID: "s"}})
	require.NoError(t, err, "ThrottlingException from the wire is retried")
	assert.Equal(t, "1", vars["A"])

	fake.Fail(secretsenvtest.OpGetSecretValue, throttled, 0)
	_, err = l.Load(context.Background(), []secretsenv.Secret{{ID: "s"}})
	require.ErrorIs(t, err, secretsenv.ErrThrottled)

	fake.Reset()
	fake.PutString("s", `{"A":"1"}`)
	fake.Fail(secretsenvtest.OpGetSecretValue, secretsenvtest.APIError("InternalServiceError", "oops"), 1)
	_, err = l.Load(context.Background(), []secretsenv.Secret{{ID: "s"}})
	require.NoError(t, err, "a 500 is retried")

	fake.Deny("s")
	_, err = l.Load(context.Background(), []secretsenv.Secret{{ID: "s"}})
	require.ErrorIs(t, err, secretsenv.ErrAccessDenied)
	require.False(t, errors.Is(err, secretsenv.ErrThrottled))
}

func TestWireBatchWithErrors(t *testing.T) {
	fake := secretsenvtest.NewSecretsManager()
	var specs []secretsenv.Secret
	for i := range 25 {
		name := fmt.Sprintf("s%02d", i)
		fake.PutString(name, fmt.Sprintf(`{"V%02d":"%d"}`, i, i))
		specs = append(specs, secretsenv.Secret{ID: name})
	}
	fake.FailSecret("s03", secretsenvtest.APIError("InternalServiceError", "oops"), 1)
	client, srv := realClient(t, fake)
	l, err := secretsenv.New(client, func(o *secretsenv.Options) { o.Environ = []string{}; o.Batch = true })
	require.NoError(t, err)
	vars, err := l.Load(context.Background(), specs)
	require.NoError(t, err)
	assert.Len(t, vars, 25)
	batch, single := 0, 0
	for _, target := range srv.Targets() {
		switch target {
		case "secretsmanager.BatchGetSecretValue":
			batch++
		case "secretsmanager.GetSecretValue":
			single++
		}
	}
	assert.Equal(t, 2, batch, "ceil(25/20)")
	assert.Equal(t, 1, single, "the secret the batch reported an error for")
}

// TestWireRequestsPerLogicalCallUnderThrottling: the SDK's retryer is the only retry layer,
// so a call that is throttled every time goes out exactly MaxAttempts times (4 by default),
// not MaxAttempts times the SDK's own attempts as before.
func TestWireRequestsPerLogicalCallUnderThrottling(t *testing.T) {
	for _, c := range []struct {
		name        string
		maxAttempts int
		batch       bool
		want        int
		target      string
	}{
		{"GetSecretValue, default", 0, false, 4, "secretsmanager.GetSecretValue"},
		{"GetSecretValue, MaxAttempts 2", 2, false, 2, "secretsmanager.GetSecretValue"},
		{"BatchGetSecretValue, default", 0, true, 4, "secretsmanager.BatchGetSecretValue"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := secretsenvtest.NewSecretsManager()
			fake.PutString("s", `{"A":"1"}`)
			fake.Fail(secretsenvtest.OpGetSecretValue, throttled, 0)
			fake.Fail(secretsenvtest.OpBatchGetSecretValue, throttled, 0)
			client, srv := realClient(t, fake)
			clock := clocktest.New()
			start := clock.Now()
			l, err := secretsenv.New(client, func(o *secretsenv.Options) {
				o.Environ, o.Clock, o.MaxAttempts, o.Batch = []string{}, clock, c.maxAttempts, c.batch
			})
			require.NoError(t, err)
			_, err = l.Load(context.Background(), []secretsenv.Secret{{ID: "s"}})
			require.ErrorIs(t, err, secretsenv.ErrThrottled)
			assert.Len(t, srv.Targets(), c.want, "requests for one logical call: %v", srv.Targets())
			for _, target := range srv.Targets() {
				assert.Equal(t, c.target, target)
			}
			assert.True(t, clock.Now().After(start), "the SDK's backoff ran on the fake clock")
		})
	}
}

// TestWireBatchDeniedFallsBack: a role allowed GetSecretValue but not BatchGetSecretValue
// still loads (one GetSecretValue per secret, with a warning naming the permission); when
// GetSecretValue is denied too, the error names that permission.
func TestWireBatchDeniedFallsBack(t *testing.T) {
	fake := secretsenvtest.NewSecretsManager()
	fake.PutString("a", `{"A":"1"}`)
	fake.PutString("b", `{"B":"2"}`)
	fake.Fail(secretsenvtest.OpBatchGetSecretValue, secretsenvtest.APIError("AccessDeniedException",
		"User is not authorized to perform: secretsmanager:BatchGetSecretValue"), 0)
	client, srv := realClient(t, fake)
	logs := &testbed.SyncBuffer{}
	l, err := secretsenv.New(client, func(o *secretsenv.Options) {
		o.Environ, o.Batch = []string{}, true
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	require.NoError(t, err)
	vars, err := l.Load(context.Background(), []secretsenv.Secret{{ID: "a"}, {ID: "b"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"A": "1", "B": "2"}, vars)
	assert.Equal(t, []string{"secretsmanager.BatchGetSecretValue", "secretsmanager.GetSecretValue", "secretsmanager.GetSecretValue"}, sortedTargets(srv.Targets()),
		"an access denial is not retried; each secret is fetched alone")
	assert.Contains(t, logs.String(), "secretsmanager:BatchGetSecretValue")

	fake.Deny("b")
	_, err = l.Load(context.Background(), []secretsenv.Secret{{ID: "a"}, {ID: "b"}})
	require.ErrorIs(t, err, secretsenv.ErrAccessDenied)
	assert.Contains(t, err.Error(), "secretsmanager:GetSecretValue")
}

func sortedTargets(targets []string) []string {
	out := append([]string(nil), targets...)
	sort.Strings(out)
	return out
}
