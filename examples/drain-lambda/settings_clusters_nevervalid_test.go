package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// ECS_CLUSTERS with a name ECS can never have (beyond ASCII letters and digits, too long, an
// ARN that is not a cluster's), and MAX_DRAIN under 1m, are refused at start, naming the
// variable.
func TestClusterNamesThatCanNeverExistAreRefusedAtStart(t *testing.T) {
	for _, kv := range []map[string]string{
		{"ECS_CLUSTERS": "prodé"},
		{"ECS_CLUSTERS": "prod٣"},
		{"ECS_CLUSTERS": strings.Repeat("a", 256)},
		{"ECS_CLUSTERS": "prod,arn:aws:ecs:us-east-1:123456789012:task/prod/0123"},
		{"ECS_CLUSTERS": "arn:aws:ecs:us-east-1:123456789012:cluster/prod;rm"},
		{"ECS_CLUSTERS": "arn:aws:ecs:us-east-1:123456789012:cluster/"},
		{"ECS_CLUSTERS": " "},
		{"ECS_CLUSTERS": "a", "MAX_DRAIN": "59.9s"},
	} {
		_, err := settingsFromEnv(env(kv))
		if assert.Error(t, err, "%q", kv) {
			name := "ECS_CLUSTERS"
			if _, ok := kv["MAX_DRAIN"]; ok {
				name = "MAX_DRAIN"
			}
			assert.Contains(t, err.Error(), name)
			assert.NotContains(t, err.Error(), "\n")
		}
	}
}
