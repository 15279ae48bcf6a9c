package secretsenv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/internal/errtext"
	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// TestErrorsNameThePackageOnce: every failure reads "secretsenv: ...", naming the package
// once and first, and no sentinel's
// words are repeated by the wrapping around them.
func TestErrorsNameThePackageOnce(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New()
	noWait := func(o *secretsenv.Options) { o.Clock = clock; o.Environ = []string{"TAKEN=1"} }
	newLoader := func(f *secretsenvtest.SecretsManager, optFns ...func(*secretsenv.Options)) *secretsenv.Loader {
		client, _ := realClient(t, f)
		l, err := secretsenv.New(client, append([]func(*secretsenv.Options){noWait}, optFns...)...)
		require.NoError(t, err)
		return l
	}
	throttled := secretsenvtest.APIError("ThrottlingException", "Rate exceeded")
	cases := map[string]func(f *secretsenvtest.SecretsManager) error{
		"not found": func(f *secretsenvtest.SecretsManager) error {
			_, err := newLoader(f).Load(ctx, []secretsenv.Secret{{ID: "nope"}})
			return err
		},
		"denied": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"A":"1"}`)
			f.Deny("s")
			_, err := newLoader(f).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"throttled": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"A":"1"}`)
			f.Fail(secretsenvtest.OpGetSecretValue, throttled, 0)
			_, err := newLoader(f).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"batch throttled": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"A":"1"}`)
			f.Fail(secretsenvtest.OpBatchGetSecretValue, throttled, 0)
			f.Fail(secretsenvtest.OpGetSecretValue, throttled, 0)
			_, err := newLoader(f, func(o *secretsenv.Options) { o.Batch = true }).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"not an object": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", "plain")
			_, err := newLoader(f).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"reserved": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"PATH":"/x"}`)
			_, err := newLoader(f).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"invalid name, strict": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"a-b":"1"}`)
			_, err := newLoader(f, func(o *secretsenv.Options) { o.Strict = true }).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"exists": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"TAKEN":"1"}`)
			_, err := newLoader(f).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"conflict": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("a", `{"X":"1"}`)
			f.PutString("b", `{"X":"2"}`)
			_, err := newLoader(f).Load(ctx, []secretsenv.Secret{{ID: "a"}, {ID: "b"}})
			return err
		},
		"bad prefix": func(*secretsenvtest.SecretsManager) error {
			return secretsenv.Validate([]secretsenv.Secret{{ID: "s"}}, func(o *secretsenv.Options) { o.Prefix = "APP-" })
		},
		"dotenv refusal": func(*secretsenvtest.SecretsManager) error {
			_, err := secretsenv.Format(map[string]string{"A": "a\rb"}, secretsenv.FormatDotenv)
			return err
		},
		"exec": func(*secretsenvtest.SecretsManager) error {
			return secretsenv.Exec("/no/such/program", nil, nil)
		},
	}
	for name, produce := range cases {
		t.Run(name, func(t *testing.T) {
			err := produce(secretsenvtest.NewSecretsManager())
			require.Error(t, err)
			msg := err.Error()
			assert.Equal(t, 1, errtext.Count("secretsenv", msg), "%s", msg)
			assert.True(t, strings.HasPrefix(msg, "secretsenv: "), "the name comes first, so a binary can print it as is: %s", msg)
			for _, phrase := range []string{"can't become environment variables", "secret not found", "access denied", "throttled"} {
				assert.LessOrEqual(t, strings.Count(msg, phrase), 1, "%q repeated in %s", phrase, msg)
			}
		})
	}
}

func TestTimeoutWhileThrottledSaysSo(t *testing.T) {
	fake := secretsenvtest.NewSecretsManager()
	fake.PutString("s", `{"A":"1"}`)
	fake.Fail(secretsenvtest.OpGetSecretValue, secretsenvtest.APIError("ThrottlingException", "Rate exceeded"), 0)
	client, _ := realClient(t, fake)
	l, err := secretsenv.New(client, func(o *secretsenv.Options) {
		o.Environ = []string{}
		o.Timeout = 30 * time.Millisecond
		o.MaxAttempts = 50
	})
	require.NoError(t, err)
	_, err = l.Load(context.Background(), []secretsenv.Secret{{ID: "s"}})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, err, secretsenv.ErrThrottled, "time ran out while the SDK was backing off a throttled call")
	assert.Contains(t, err.Error(), "while retrying ThrottlingException")
	assert.Equal(t, 1, errtext.Count("secretsenv", err.Error()), "%s", err)
}
