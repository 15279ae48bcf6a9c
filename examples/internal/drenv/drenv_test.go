package drenv

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
)

func TestRetentionFromTheEnvironment(t *testing.T) {
	r, err := Retention("", "")
	require.NoError(t, err)
	assert.Equal(t, dr.Retention{Keep: 7}, r)
	r, err = Retention("3", "720h")
	require.NoError(t, err)
	assert.Equal(t, dr.Retention{Keep: 3, MaxAge: 720 * time.Hour}, r)
	for _, bad := range [][3]string{{"0", "", "DR_KEEP"}, {"x", "", "DR_KEEP"}, {"", "soon", "DR_MAX_AGE"}, {"", "-1h", "DR_MAX_AGE"}} {
		_, err := Retention(bad[0], bad[1])
		require.ErrorIs(t, err, dr.ErrInvalidInput, bad)
		assert.Contains(t, err.Error(), bad[2], "the error names the setting")
		assert.Equal(t, 1, strings.Count(err.Error(), "dr:"), "the package is named once: %v", err)
	}
}
