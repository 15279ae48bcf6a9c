package secretsenv_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// secretStore is one implementation of Secrets Manager the Loader's contract is proven
// against: the fake called directly, the fake behind its wire server read by the real SDK
// client, and moto (an implementation nobody here wrote), so the fake cannot drift.
type secretStore interface {
	// put stores a new string version of name (creating the secret), moves AWSCURRENT to it
	// and AWSPREVIOUS to the one before, and returns the version id.
	put(t *testing.T, name, value string) string
	putBinary(t *testing.T, name string, value []byte)
	// arn is the secret's full ARN.
	arn(t *testing.T, name string) string
	// startRotation stores value as a new AWSPENDING version; finishRotation moves
	// AWSCURRENT to it, as a rotation function's last step does.
	startRotation(t *testing.T, name, value string)
	finishRotation(t *testing.T, name string)
	changes() secretsenv.ChangeAPI
	client() secretsenv.SecretsManagerAPI
}

type fakeSecrets struct {
	sm      *secretsenvtest.SecretsManager
	api     secretsenv.SecretsManagerAPI
	changer secretsenv.ChangeAPI
}

func (f fakeSecrets) startRotation(t *testing.T, name, value string) {
	require.NotEmpty(t, f.sm.StartRotation(name, value))
}
func (f fakeSecrets) finishRotation(t *testing.T, name string) {
	require.True(t, f.sm.FinishRotation(name))
}
func (f fakeSecrets) changes() secretsenv.ChangeAPI { return f.changer }

func (f fakeSecrets) put(_ *testing.T, name, value string) string { return f.sm.PutString(name, value) }
func (f fakeSecrets) putBinary(_ *testing.T, name string, value []byte) {
	f.sm.PutBinary(name, value)
}
func (f fakeSecrets) arn(_ *testing.T, name string) string { return f.sm.ARN(name) }
func (f fakeSecrets) client() secretsenv.SecretsManagerAPI { return f.api }

type motoSecrets struct{ sm *secretsmanager.Client }

func (m motoSecrets) put(t *testing.T, name, value string) string {
	ctx := context.Background()
	out, err := m.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err == nil {
		return aws.ToString(out.VersionId)
	}
	put, perr := m.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(value)})
	require.NoError(t, perr, "create: %v", err)
	return aws.ToString(put.VersionId)
}

func (m motoSecrets) putBinary(t *testing.T, name string, value []byte) {
	_, err := m.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretBinary: value})
	require.NoError(t, err)
}

func (m motoSecrets) arn(t *testing.T, name string) string {
	out, err := m.sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	require.NoError(t, err)
	return aws.ToString(out.ARN)
}

func (m motoSecrets) client() secretsenv.SecretsManagerAPI { return m.sm }
func (m motoSecrets) changes() secretsenv.ChangeAPI        { return m.sm }

func (m motoSecrets) startRotation(t *testing.T, name, value string) {
	_, err := m.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
		SecretString: aws.String(value), VersionStages: []string{"AWSPENDING"}})
	require.NoError(t, err)
}

func (m motoSecrets) finishRotation(t *testing.T, name string) {
	ctx := context.Background()
	out, err := m.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	require.NoError(t, err)
	var current, pending string
	for id, stages := range out.VersionIdsToStages {
		if slices.Contains(stages, "AWSCURRENT") {
			current = id
		}
		if slices.Contains(stages, "AWSPENDING") {
			pending = id
		}
	}
	require.NotEmpty(t, pending, "no AWSPENDING version: %v", out.VersionIdsToStages)
	_, err = m.sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
		VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(pending), RemoveFromVersionId: aws.String(current)})
	require.NoError(t, err)
}

func TestLoaderContractOnEveryImplementation(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		sm := secretsenvtest.NewSecretsManager()
		runLoaderSuite(t, fakeSecrets{sm: sm, api: sm, changer: sm}, "")
	})
	t.Run("wire", func(t *testing.T) {
		sm := secretsenvtest.NewSecretsManager()
		c, _ := realClient(t, sm)
		runLoaderSuite(t, fakeSecrets{sm: sm, api: c, changer: c}, "")
	})
	t.Run("moto", func(t *testing.T) {
		// moto's state is shared by the whole run: every name gets a prefix of its own.
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		runLoaderSuite(t, motoSecrets{sm: secretsmanager.NewFromConfig(testbed.AWS(t).Config())}, "conformance-"+hex.EncodeToString(b)+"/")
	})
}

// runLoaderSuite proves the Loader's contract on st; every secret name starts with prefix.
func runLoaderSuite(t *testing.T, st secretStore, prefix string) {
	ctx := context.Background()
	loader := func(t *testing.T, optFns ...func(*secretsenv.Options)) *secretsenv.Loader {
		l, err := secretsenv.New(st.client(), append([]func(*secretsenv.Options){func(o *secretsenv.Options) { o.Environ = []string{} }}, optFns...)...)
		require.NoError(t, err)
		return l
	}
	loadSpecs := func(t *testing.T, l *secretsenv.Loader, specs ...string) (map[string]string, error) {
		var secrets []secretsenv.Secret
		for _, s := range specs {
			sec, err := secretsenv.ParseSecret(s)
			require.NoError(t, err)
			secrets = append(secrets, sec)
		}
		return l.Load(ctx, secrets)
	}

	t.Run("a JSON object gives a variable per key, byte for byte", func(t *testing.T) {
		name := prefix + "app/db"
		st.put(t, name, `{"PASSWORD":"p\"w $(x) `+"`y`"+`\n2","PORT":5432,"EMPTY":""}`)
		vars, err := loadSpecs(t, loader(t), name)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"PASSWORD": "p\"w $(x) `y`\n2", "PORT": "5432", "EMPTY": ""}, vars)
	})
	t.Run("a plain secret gives its var", func(t *testing.T) {
		name := prefix + "plain"
		st.put(t, name, "correct horse")
		vars, err := loadSpecs(t, loader(t), name+",var=TOKEN")
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"TOKEN": "correct horse"}, vars)
	})
	t.Run("stages and versions pin what is read", func(t *testing.T) {
		name := prefix + "rotated"
		v1 := st.put(t, name, `{"V":"one"}`)
		st.put(t, name, `{"V":"two"}`)
		for spec, want := range map[string]string{name: "two", name + ",stage=AWSCURRENT": "two", name + ",stage=AWSPREVIOUS": "one", name + ",version=" + v1: "one"} {
			vars, err := loadSpecs(t, loader(t), spec)
			require.NoError(t, err, spec)
			assert.Equal(t, want, vars["V"], spec)
		}
	})
	t.Run("a full ARN names the same secret", func(t *testing.T) {
		name := prefix + "by-arn"
		st.put(t, name, `{"ARN_READ":"yes"}`)
		vars, err := loadSpecs(t, loader(t), st.arn(t, name))
		require.NoError(t, err)
		assert.Equal(t, "yes", vars["ARN_READ"])
	})
	t.Run("a missing secret is ErrNotFound naming it, and nothing is returned", func(t *testing.T) {
		name := prefix + "present"
		st.put(t, name, `{"P":"1"}`)
		vars, err := loadSpecs(t, loader(t), name, prefix+"missing")
		require.ErrorIs(t, err, secretsenv.ErrNotFound)
		assert.Contains(t, err.Error(), fmt.Sprintf("secret %q", prefix+"missing"))
		assert.Nil(t, vars, "no partial environment")
	})
	t.Run("a binary secret is refused by default and base64 on request", func(t *testing.T) {
		name := prefix + "cert"
		st.putBinary(t, name, []byte{0, 1, 2, 0xfe})
		_, err := loadSpecs(t, loader(t), name+",var=CERT")
		require.ErrorIs(t, err, secretsenv.ErrInvalidSecret)
		vars, err := loadSpecs(t, loader(t, func(o *secretsenv.Options) { o.Binary = secretsenv.BinaryBase64 }), name+",var=CERT")
		require.NoError(t, err)
		assert.Equal(t, "AAEC/g==", vars["CERT"])
	})
	t.Run("batched reads give what single reads give", func(t *testing.T) {
		var specs []string
		for i := range 25 {
			name := fmt.Sprintf("%sbatch/s%02d", prefix, i)
			st.put(t, name, fmt.Sprintf(`{"B%02d":"%d"}`, i, i))
			specs = append(specs, name)
		}
		single, err := loadSpecs(t, loader(t), specs...)
		require.NoError(t, err)
		batched, err := loadSpecs(t, loader(t, func(o *secretsenv.Options) { o.Batch = true }), specs...)
		require.NoError(t, err)
		assert.Len(t, single, 25)
		assert.Equal(t, single, batched)
	})
	for _, list := range []bool{false, true} {
		how := map[bool]string{false: "DescribeSecret", true: "ListSecrets"}[list]
		t.Run("a watch follows a rotation when it finishes, by "+how, func(t *testing.T) {
			name := fmt.Sprintf("%swatched-%t", prefix, list)
			st.put(t, name, `{"DB_PASSWORD":"old","DB_USER":"app"}`)
			w, err := loader(t).Watch(ctx, st.changes(), []secretsenv.Secret{{ID: name}}, func(o *secretsenv.WatchOptions) { o.List = list })
			require.NoError(t, err)
			_, moved, err := w.Check(ctx)
			require.NoError(t, err)
			assert.False(t, moved)
			st.startRotation(t, name, `{"DB_PASSWORD":"new","DB_USER":"app"}`)
			_, moved, err = w.Check(ctx)
			require.NoError(t, err)
			assert.False(t, moved, "AWSPENDING is not what the process runs with")
			st.finishRotation(t, name)
			ch, moved, err := w.Check(ctx)
			require.NoError(t, err)
			require.True(t, moved)
			assert.Equal(t, []string{"DB_PASSWORD"}, ch.Changed)
			assert.Equal(t, "new", ch.Vars["DB_PASSWORD"])
		})
	}
}
