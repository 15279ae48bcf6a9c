package drstep

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

// TestSettings: what the state machines add to the library's settings: DR_TIMEOUT up to
// MaxTimeout (the default, unset, is fine), and DR_TARGET_KMS_KEY_ID in a form RDS takes;
// the library's own errors come through.
func TestSettings(t *testing.T) {
	base := map[string]string{"DR_SOURCE_INSTANCE": "orders-db", "DR_INSTANCE_CLASS": "db.t4g.medium", "DR_DSN": "postgres://{host}/db",
		"DR_STATEMENTS": `["UPDATE customers SET email = 'x'"]`}
	read := func(fromEnv func(func(string) string) (restore.StepSettings, error), extra map[string]string) (restore.StepSettings, error) {
		return Settings(fromEnv, func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return base[k]
		})
	}
	for _, fromEnv := range []func(func(string) string) (restore.StepSettings, error){StepSettingsFromEnv, SanitizeSettingsFromEnv} {
		s, err := read(fromEnv, nil)
		require.NoError(t, err)
		assert.Zero(t, s.Timeout, "unset: the library's default")
		s, err = read(fromEnv, map[string]string{"DR_TIMEOUT": "12h"})
		require.NoError(t, err)
		assert.Equal(t, MaxTimeout, s.Timeout)
		for _, long := range []string{"12h0m1s", "13h", "48h"} {
			_, err = read(fromEnv, map[string]string{"DR_TIMEOUT": long})
			assert.ErrorIs(t, err, dr.ErrInvalidInput, long)
			assert.ErrorContains(t, err, "DR_TIMEOUT", long)
		}
		_, err = read(fromEnv, map[string]string{"DR_TIMEOUT": "soon"})
		assert.ErrorContains(t, err, "DR_TIMEOUT", "the library's check")
	}
	for key, ok := range map[string]bool{
		"arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab": true,
		"alias/dev-shared":         true,
		"arn:aws:s3:::dev-shared":  false,
		"dev-shared":               false,
		"alias/dev-shared, extra":  false,
		"arn:aws:kms:us-east-1:1:": false,
	} {
		_, err := read(SanitizeSettingsFromEnv, map[string]string{"DR_TARGET_KMS_KEY_ID": key})
		if ok {
			assert.NoError(t, err, key)
		} else {
			assert.ErrorContains(t, err, "DR_TARGET_KMS_KEY_ID", key)
		}
	}
}
