package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Settings that can never work are a configuration error at start, naming the variable.
func TestSettingsThatCanNeverWorkNameTheirVariable(t *testing.T) {
	for _, tc := range []struct {
		kv   map[string]string
		name string
	}{
		{map[string]string{"ECS_CLUSTERS": "prod staging"}, "ECS_CLUSTERS"},
		{map[string]string{"ECS_CLUSTERS": "prod;staging"}, "ECS_CLUSTERS"},
		{map[string]string{"ECS_CLUSTERS": ",,"}, "ECS_CLUSTERS"},
		{map[string]string{"ECS_CLUSTERS": "a", "MAX_DRAIN": "-5m"}, "MAX_DRAIN"},
		{map[string]string{"ECS_CLUSTERS": "a", "MAX_DRAIN": "30"}, "MAX_DRAIN"},
		{map[string]string{"ECS_CLUSTERS": "a", "STANDALONE": "kill"}, "STANDALONE"},
		{map[string]string{"ECS_CLUSTERS": "a", "STANDALONE": "stop", "STANDALONE_GRACE": "-1m"}, "STANDALONE_GRACE"},
		{map[string]string{"ECS_CLUSTERS": "a", "STANDALONE": "stop", "STANDALONE_GRACE": "soon"}, "STANDALONE_GRACE"},
	} {
		_, err := settingsFromEnv(env(tc.kv))
		if assert.Error(t, err, "%v", tc.kv) {
			assert.True(t, strings.Contains(err.Error(), tc.name), "%v: %v does not name %s", tc.kv, err, tc.name)
			assert.NotContains(t, err.Error(), "\n")
		}
	}
}
