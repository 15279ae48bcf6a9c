package main

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

type asl struct {
	StartAt string `json:"StartAt"`
	States  map[string]struct {
		Type    string `json:"Type"`
		Next    string `json:"Next"`
		Default string `json:"Default"`
		End     bool   `json:"End"`
		Catch   []struct {
			ErrorEquals []string `json:"ErrorEquals"`
			Next        string   `json:"Next"`
		} `json:"Catch"`
		Retry []struct {
			ErrorEquals     []string `json:"ErrorEquals"`
			IntervalSeconds int      `json:"IntervalSeconds"`
			BackoffRate     float64  `json:"BackoffRate"`
			MaxAttempts     int      `json:"MaxAttempts"`
		} `json:"Retry"`
		Choices []struct {
			Next string `json:"Next"`
		} `json:"Choices"`
	} `json:"States"`
}

// TestStateMachineAlwaysReachesCleanup parses the ASL: every state is reachable, every task
// but Cleanup catches States.ALL into Cleanup, Cleanup is reachable from every state before
// it, and Ready retries NotReady every 60 s without backoff.
func TestStateMachineAlwaysReachesCleanup(t *testing.T) {
	tmpl, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(tmpl, &doc), "the SAM template is valid YAML")
	assert.Contains(t, string(tmpl), "DefinitionUri: statemachine.asl.json")
	raw, err := os.ReadFile("statemachine.asl.json")
	require.NoError(t, err)
	var m asl
	require.NoError(t, json.Unmarshal(raw, &m))
	edges := map[string][]string{}
	for name, s := range m.States {
		for _, n := range []string{s.Next, s.Default} {
			if n != "" {
				edges[name] = append(edges[name], n)
			}
		}
		for _, c := range s.Catch {
			edges[name] = append(edges[name], c.Next)
		}
		for _, c := range s.Choices {
			edges[name] = append(edges[name], c.Next)
		}
	}
	reach := func(from string) map[string]bool {
		seen := map[string]bool{from: true}
		stack := []string{from}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, next := range edges[n] {
				require.Contains(t, m.States, next, "%s points at a missing state", n)
				if !seen[next] {
					seen[next] = true
					stack = append(stack, next)
				}
			}
		}
		return seen
	}
	all := reach(m.StartAt)
	for name := range m.States {
		assert.True(t, all[name], "state %s is unreachable", name)
	}
	for name, s := range m.States {
		if s.Type != "Task" || name == "Cleanup" {
			continue
		}
		caught := false
		for _, c := range s.Catch {
			caught = caught || (c.Next == "Cleanup" && len(c.ErrorEquals) == 1 && c.ErrorEquals[0] == "States.ALL")
		}
		assert.True(t, caught, "task %s must catch States.ALL into Cleanup", name)
		assert.True(t, reach(name)["Cleanup"], "Cleanup unreachable from %s", name)
	}
	ready := m.States["Ready"]
	require.NotEmpty(t, ready.Retry)
	assert.Equal(t, []string{"NotReady"}, ready.Retry[0].ErrorEquals)
	assert.Equal(t, 60, ready.Retry[0].IntervalSeconds)
	assert.Equal(t, 1.0, ready.Retry[0].BackoffRate)
	assert.GreaterOrEqual(t, ready.Retry[0].MaxAttempts*ready.Retry[0].IntervalSeconds, 3600, "an hour of restore at least")
}

// TestStepsThroughTheHandler drives the handler as the state machine would, against the fake.
func TestStepsThroughTheHandler(t *testing.T) {
	f := drtest.New(nil)
	f.AddManual("orders-db-202611230300-dr", "orders-db", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), map[string]string{dr.TagDR: "true"})
	f.Endpoint = func(string) (string, int32) { return "127.0.0.1", 1 } // no database there: the check fails
	env := map[string]string{"DR_SOURCE_INSTANCE": "orders-db", "DR_INSTANCE_CLASS": "db.t4g.medium", "DR_DSN": "postgres://x@{host}:{port}/db?connect_timeout=1", "DR_CHECKS": `{"MinTables":1}`}
	opts, err := optionsFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	v, err := dr.NewVerifier(f, opts, func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	h := newHandler(v)
	ctx := context.Background()

	st, err := h(ctx, request{Step: "start"})
	require.NoError(t, err)
	st, err = h(ctx, request{Step: "ready", State: st})
	require.Error(t, err)
	assert.Equal(t, "NotReady", reflect.TypeOf(err).Elem().Name(), "the errorType the state machine retries on")
	f.Clock().Advance(30 * time.Minute)
	st, err = h(ctx, request{Step: "ready", State: st})
	require.NoError(t, err)
	st, err = h(ctx, request{Step: "check", State: st})
	require.NoError(t, err)
	st, err = h(ctx, request{Step: "cleanup", State: st})
	require.NoError(t, err)
	assert.False(t, st.Report.OK, "the database was unreachable")
	assert.Empty(t, f.Instances(), "deleted")

	_, err = optionsFromEnv(func(k string) string { return map[string]string{"DR_DSN": "no placeholder"}[k] })
	require.Error(t, err)
	_, err = h(ctx, request{Step: "dance"})
	require.ErrorIs(t, err, dr.ErrInvalidInput)
}
