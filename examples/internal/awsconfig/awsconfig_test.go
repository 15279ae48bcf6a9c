package awsconfig

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/examples/internal/cli"
)

func TestNoRegionIsItsOwnError(t *testing.T) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	_, err := Load(context.Background(), nil)
	require.ErrorIs(t, err, cli.ErrNoRegion)
	assert.Equal(t, "set AWS_REGION (or use a profile with a region)", err.Error())

	t.Setenv("AWS_REGION", "eu-west-1")
	cfg, err := Load(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, "eu-west-1", cfg.Region)
}
