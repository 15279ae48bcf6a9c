package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

func start(t *testing.T) *imdstest.Server {
	srv := imdstest.NewServer()
	t.Cleanup(srv.Close)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.URL+"/")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	return srv
}

func TestCredentialProcessOutput(t *testing.T) {
	srv := start(t)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), nil, &out, &errOut), errOut.String())
	var got struct {
		Version                                                int
		AccessKeyId, SecretAccessKey, SessionToken, Expiration string
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	want := srv.CurrentCredentials()
	assert.Equal(t, 1, got.Version)
	assert.Equal(t, want.AccessKeyID, got.AccessKeyId)
	assert.Equal(t, want.SecretAccessKey, got.SecretAccessKey)
	assert.Equal(t, want.Token, got.SessionToken)
	assert.Equal(t, want.Expiration.Format(time.RFC3339), got.Expiration)
	assert.Empty(t, errOut.String())
}

func TestEnvOutputSurvivesTheShell(t *testing.T) {
	srv := start(t)
	tricky := imds.Credentials{AccessKeyID: "ASIA'1", SecretAccessKey: `a'b"c$d\e` + "`rm -rf /`", Token: "t o\nk'en$(id)",
		Expiration: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	srv.SetCredentials(tricky)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"-format", "env"}, &out, &errOut), errOut.String())

	script := out.String() + `printf '%s\0%s\0%s\0' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN"`
	got, err := exec.Command("sh", "-c", script).Output()
	require.NoError(t, err)
	assert.Equal(t, []string{tricky.AccessKeyID, tricky.SecretAccessKey, tricky.Token, ""}, strings.Split(string(got), "\x00"))
}

func TestWhoami(t *testing.T) {
	start(t)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"-whoami"}, &out, &errOut))
	assert.Equal(t, "instance-id: i-0123456789abcdef0\nregion: us-east-1\navailability-zone: us-east-1a\nrole: shipshape-test-role\n", out.String())
}

func TestExitCodes(t *testing.T) {
	srv := start(t)
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"-format", "yaml"}, &out, &errOut))
	assert.Equal(t, 2, run(context.Background(), []string{"-nope"}, &out, &errOut))
	assert.Equal(t, 0, run(context.Background(), []string{"-h"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "credential_process")

	srv.SetCredentials(imds.Credentials{AccessKeyID: "A", SecretAccessKey: "S", Token: "T", Expiration: time.Now().Add(-time.Minute)})
	errOut.Reset()
	out.Reset()
	assert.Equal(t, 1, run(context.Background(), nil, &out, &errOut))
	assert.Contains(t, errOut.String(), "already expired")
	assert.Empty(t, out.String())

	srv.Close()
	errOut.Reset()
	assert.Equal(t, 1, run(context.Background(), nil, &out, &errOut))
	assert.Contains(t, errOut.String(), "unreachable")
	assert.Equal(t, 1, strings.Count(errOut.String(), "\n"), "one line")
}

func TestUsageErrors(t *testing.T) {
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{"-timeout", "0s"}, Flag: "-timeout"},
		{Args: []string{"-timeout", "-1s"}, Flag: "-timeout"},
		{Args: []string{"-timeout", "5"}, Flag: "-timeout"},
		{Args: []string{"-role", "a/b"}, Flag: "-role"},
		{Args: []string{"-role", "arn:aws:iam::123456789012:role/app"}, Flag: "-role"},
		{Args: []string{"-format", "yaml"}, Flag: "-format"},
		{Args: []string{"-whoami", "-role", "app"}, Flag: "-whoami"},
		{Args: []string{"extra"}, Flag: "extra"},
		{Args: []string{"-nope"}, Flag: "-nope"},
		{Args: nil, Env: map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv5"}, Flag: "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"},
	}, func(args []string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		return code, errOut.String()
	})
}
