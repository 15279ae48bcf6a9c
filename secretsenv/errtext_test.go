package secretsenv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/errtext"
	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// TestErrorsNameThePackageOnce: every failure reads "secretsenv: ...", naming the package
// once and first, and no sentinel's
// words are repeated by the wrapping around them.
func TestErrorsNameThePackageOnce(t *testing.T) {
	ctx := context.Background()
	noWait := func(o *secretsenv.Options) {
		o.Backoff = func(int) time.Duration { return 0 }
		o.Environ = []string{"TAKEN=1"}
	}
	cases := map[string]func(f *secretsenvtest.SecretsManager) error{
		"not found": func(f *secretsenvtest.SecretsManager) error {
			_, err := secretsenv.New(f, noWait).Load(ctx, []secretsenv.Secret{{ID: "nope"}})
			return err
		},
		"denied": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"A":"1"}`)
			f.Deny("s")
			_, err := secretsenv.New(f, noWait).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"throttled": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"A":"1"}`)
			f.Fail(secretsenvtest.OpGetSecretValue, "ThrottlingException", 0)
			_, err := secretsenv.New(f, noWait).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"batch throttled": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"A":"1"}`)
			f.Fail(secretsenvtest.OpBatchGetSecretValue, "ThrottlingException", 0)
			f.Fail(secretsenvtest.OpGetSecretValue, "ThrottlingException", 0)
			_, err := secretsenv.New(f, noWait, func(o *secretsenv.Options) { o.Batch = true }).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"not an object": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", "plain")
			_, err := secretsenv.New(f, noWait).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"reserved": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"PATH":"/x"}`)
			_, err := secretsenv.New(f, noWait).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"invalid name, strict": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"a-b":"1"}`)
			_, err := secretsenv.New(f, noWait, func(o *secretsenv.Options) { o.Strict = true }).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"exists": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("s", `{"TAKEN":"1"}`)
			_, err := secretsenv.New(f, noWait).Load(ctx, []secretsenv.Secret{{ID: "s"}})
			return err
		},
		"conflict": func(f *secretsenvtest.SecretsManager) error {
			f.PutString("a", `{"X":"1"}`)
			f.PutString("b", `{"X":"2"}`)
			_, err := secretsenv.New(f, noWait).Load(ctx, []secretsenv.Secret{{ID: "a"}, {ID: "b"}})
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
