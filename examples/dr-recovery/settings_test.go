package main

// Adversarial tests of dr-recovery's settings: a configuration that can't work is refused
// when the Lambda starts (exit 2), not found by every scheduled run. A failing test is a bug
// found.

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shipshape-dev/shipshape/dr/drtest"
)

func TestBadSettingsRefusedAtStart(t *testing.T) {
	for name, bad := range map[string]map[string]string{
		"a region with a space":     {"DR_SOURCE_REGION": "eu west 1"},
		"an availability zone":      {"DR_SOURCE_REGION": "eu-west-1a"},
		"a region in capitals":      {"DR_SOURCE_REGION": "EU-WEST-1"},
		"DR_MAX_COPIES 0 (1 to 20)": {"DR_MAX_COPIES": "0"},
		"DR_COPY_PATH typo":         {"DR_COPY_PATH": "two-hops"},
		"an account of 11 digits":   {"DR_SOURCE_ACCOUNTS": "11111111111"},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"DR_SOURCE_ACCOUNTS": "111111111111", "DR_SOURCE_REGION": "us-east-1"}
			for k, v := range bad {
				env[k] = v
			}
			shared, local := drtest.New(nil), drtest.New(nil)
			_, err := newHandler(shared, local, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
			assert.Error(t, err)
			assert.Zero(t, shared.Total()+local.Total())
		})
	}
}
