package testbed_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// TestIntegrationAWSSmoke: the local AWS (moto) answers, acts in the account its credentials
// name, and keeps the accounts apart, which the two-account tests rely on.
func TestIntegrationAWSSmoke(t *testing.T) {
	ep := testbed.AWS(t)
	ctx := context.Background()
	who, err := sts.NewFromConfig(ep.Config()).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	assert.Equal(t, testbed.DefaultAccount, aws.ToString(who.Account))

	recovery, _ := ep.Account(t, "222222222222", "shipshape-recovery", ep.Region)
	who, err = sts.NewFromConfig(recovery).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	assert.Equal(t, "222222222222", aws.ToString(who.Account))

	name := "smoke/" + strings.ReplaceAll(t.Name(), "/", "-") + time.Now().Format("150405.000000000")
	_, err = secretsmanager.NewFromConfig(recovery).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("x")})
	require.NoError(t, err)
	_, err = secretsmanager.NewFromConfig(ep.Config()).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	require.Error(t, err, "a secret of account 222222222222 is not visible in the default account")
}

// TestIntegrationScriptUpPrintsALocalAWS: `scripts/testbed up --only aws` starts moto alone,
// prints the standard AWS variables in a block of their own, and `scripts/testbed env`
// prints them again for another shell until the test bed stops.
func TestIntegrationScriptUpPrintsALocalAWS(t *testing.T) {
	testbed.AWS(t) // moto is there: this runs under the test bed
	cache := t.TempDir()
	env := append(os.Environ(), "TMPDIR="+t.TempDir(), "XDG_CACHE_HOME="+cache)
	cmd := exec.Command("../../scripts/testbed", "up", "--only", "aws")
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var lines []string
	for sc := bufio.NewScanner(stderr); sc.Scan(); {
		lines = append(lines, sc.Text())
		if strings.Contains(sc.Text(), "endpoints written") {
			break
		}
	}
	log := strings.Join(lines, "\n")
	require.Contains(t, log, "AWS APIs (moto")
	for _, other := range []string{"Versity", "PostgreSQL", "metadata-mock", "npm"} {
		require.NotContains(t, log, other, "--only aws starts and installs nothing else")
	}
	printed := map[string]string{}
	for sc := bufio.NewScanner(stdout); printed["AWS_DEFAULT_REGION"] == "" && sc.Scan(); {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			printed[k] = v
		}
	}
	require.NotEmpty(t, printed["AWS_ENDPOINT_URL"], "%v", printed)
	assert.Equal(t, printed["SHIPSHAPE_AWS_ENDPOINT"], printed["AWS_ENDPOINT_URL"])
	assert.NotEmpty(t, printed["AWS_ACCESS_KEY_ID"])
	assert.NotEmpty(t, printed["AWS_SECRET_ACCESS_KEY"])
	assert.Equal(t, "us-east-1", printed["AWS_REGION"])

	// Another shell: eval "$(scripts/testbed env)", then the AWS CLI's own environment works.
	again := exec.Command("bash", "-c", `eval "$(../../scripts/testbed env)" && echo "$AWS_ENDPOINT_URL"`)
	again.Env = env
	out, err := again.Output()
	require.NoError(t, err)
	assert.Equal(t, printed["AWS_ENDPOINT_URL"], strings.TrimSpace(string(out)))

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		_, _ = io.Copy(io.Discard, stderr)
		done <- cmd.Wait()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("scripts/testbed up did not stop within 30 s of SIGTERM")
	}
	gone := exec.Command("../../scripts/testbed", "env")
	gone.Env = env
	out, err = gone.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "no test bed is running")
}

// TestIntegrationAWSProxyInjectsFaults: the proxy the state machine and binary tests put in
// front of moto refuses, loses and rewrites what it is told to, in the JSON protocol as in
// the query protocol, and counts every operation.
func TestIntegrationAWSProxyInjectsFaults(t *testing.T) {
	ep := testbed.AWS(t)
	ctx := context.Background()
	proxy := testbed.NewAWSProxy(t, ep.URL)
	cfg := ep.WithURL(proxy.URL).Config()
	cfg.RetryMaxAttempts = 1
	sm := secretsmanager.NewFromConfig(cfg)
	name := "proxy/" + time.Now().Format("150405.000000000")

	proxy.Refuse("CreateSecret", 1, 400, "ThrottlingException", "Rate exceeded")
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v1")})
	require.ErrorContains(t, err, "ThrottlingException")

	proxy.LoseAnswer("CreateSecret", 1)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v1")})
	require.ErrorContains(t, err, "InternalFailure")
	direct := secretsmanager.NewFromConfig(ep.Config())
	_, err = direct.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	require.NoError(t, err, "the call took effect although its answer was lost")

	proxy.Rewrite("GetSecretValue", func(b []byte) []byte { return []byte(strings.ReplaceAll(string(b), "v1", "v2")) })
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	require.NoError(t, err)
	assert.Equal(t, "v2", aws.ToString(out.SecretString))
	assert.Equal(t, 2, proxy.Calls("CreateSecret"))

	proxy.Refuse("GetCallerIdentity", 0, 403, "AccessDenied", "no")
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.ErrorContains(t, err, "AccessDenied", "the query protocol's error shape")
}
