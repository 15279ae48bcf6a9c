package secretsenv_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// realClient is the real SDK client pointed at a WireServer, with the SDK's own retries off
// so that the package's error recognition is what is tested.
func realClient(t *testing.T, fake *secretsenvtest.SecretsManager) (*secretsmanager.Client, *secretsenvtest.WireServer) {
	srv := secretsenvtest.NewWireServer(fake)
	t.Cleanup(srv.Close)
	return secretsmanager.New(secretsmanager.Options{
		BaseEndpoint:     aws.String(srv.URL),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDWIRE", "wire-secret", ""),
		RetryMaxAttempts: 1,
	}), srv
}

func TestWireGetSecretValue(t *testing.T) {
	fake := secretsenvtest.NewSecretsManager()
	fake.PutString("app/db", `{"PASSWORD": "p\"w$(x)\n2", "PORT": 5432}`)
	fake.PutBinary("cert", []byte{0, 1, 2, 0xfe})
	client, srv := realClient(t, fake)

	l := secretsenv.New(client, func(o *secretsenv.Options) {
		o.Environ = []string{}
		o.Binary = secretsenv.BinaryBase64
	})
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

	l := secretsenv.New(client, func(o *secretsenv.Options) { o.Environ = []string{}; o.Backoff = func(int) time.Duration { return 0 } })
	_, err = l.Load(context.Background(), []secretsenv.Secret{{ID: "nope"}})
	require.ErrorIs(t, err, secretsenv.ErrNotFound)

	fake.Fail(secretsenvtest.OpGetSecretValue, "ThrottlingException", 2)
	vars, err := l.Load(context.Background(), []secretsenv.Secret{{ID: "s"}})
	require.NoError(t, err, "ThrottlingException from the wire is retried")
	assert.Equal(t, "1", vars["A"])

	fake.Fail(secretsenvtest.OpGetSecretValue, "ThrottlingException", 0)
	_, err = l.Load(context.Background(), []secretsenv.Secret{{ID: "s"}})
	require.ErrorIs(t, err, secretsenv.ErrThrottled)

	fake.Reset()
	fake.PutString("s", `{"A":"1"}`)
	fake.Fail(secretsenvtest.OpGetSecretValue, "InternalServiceError", 1)
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
	fake.FailSecret("s03", "InternalServiceError", 1)
	client, srv := realClient(t, fake)
	l := secretsenv.New(client, func(o *secretsenv.Options) { o.Environ = []string{}; o.Batch = true })
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
