package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestSettings(t *testing.T) {
	s, err := settingsFromEnv(env(map[string]string{"ECS_CLUSTERS": "a, b", "MAX_DRAIN": "45m", "STANDALONE": "stop"}))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, s.clusters)
	assert.Equal(t, 45*time.Minute, s.maxDrain)
	for k, v := range map[string]string{"ECS_CLUSTERS": "", "MAX_DRAIN": "soon", "STANDALONE": "kill", "STANDALONE_GRACE": "-1m"} {
		kv := map[string]string{"ECS_CLUSTERS": "a", k: v}
		_, err := settingsFromEnv(env(kv))
		require.ErrorContains(t, err, k)
	}
}

// Settings that can never work are refused at start (exit 2), not found out per drain.
func TestSettingsThatCanNeverWorkAreRefused(t *testing.T) {
	for _, kv := range []map[string]string{
		{"ECS_CLUSTERS": "a", "MAX_DRAIN": "1ns"},       // every drain would end at its first step
		{"ECS_CLUSTERS": "a", "MAX_DRAIN": "59s"},       // shorter than one SQS redelivery
		{"ECS_CLUSTERS": "a", "STANDALONE_GRACE": "1m"}, // ignored: the default policy waits
		{"ECS_CLUSTERS": "a", "STANDALONE": "ignore", "STANDALONE_GRACE": "1m"},
	} {
		_, err := settingsFromEnv(env(kv))
		assert.Error(t, err, "%v", kv)
	}
	_, err := settingsFromEnv(env(map[string]string{"ECS_CLUSTERS": "a", "MAX_DRAIN": "1m", "STANDALONE": "stop", "STANDALONE_GRACE": "1m"}))
	assert.NoError(t, err)
}

func TestHandlerDrainsThroughTheQueue(t *testing.T) {
	clock := clocktest.New()
	ecs := draintest.New(clock)
	ecs.CreateCluster("prod")
	arn := ecs.AddInstance("prod", "i-00000001")
	ecs.AddService("prod", "web", false)
	ecs.RunTask(arn, "web", 0)
	asg := lifecycletest.New(clock)
	asg.CreateGroup("ecs", lifecycletest.Hook{Name: "drain", Transition: lifecycle.TerminateTransition, HeartbeatTimeout: 300 * time.Second, DefaultResult: "CONTINUE"})
	asg.Launch("ecs", "i-00000001")
	asg.ScaleIn("ecs", "i-00000001")
	s, err := settingsFromEnv(env(map[string]string{"ECS_CLUSTERS": "prod"}))
	require.NoError(t, err)
	h, err := newHandler(ecs, asg, s, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{"version": "0", "detail-type": "EC2 Instance-terminate Lifecycle Action", "source": "aws.autoscaling",
		"time": clock.Now().Format(time.RFC3339), "detail": map[string]string{"LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
			"EC2InstanceId": "i-00000001", "AutoScalingGroupName": "ecs", "LifecycleHookName": "drain"}})
	require.NoError(t, err)
	payload, err := json.Marshal(map[string]any{"Records": []map[string]string{{"messageId": "m1", "eventSource": "aws:sqs", "body": string(body)}}})
	require.NoError(t, err)
	for range 20 {
		resp, err := h(context.Background(), payload)
		require.NoError(t, err)
		if len(resp.BatchItemFailures) == 0 {
			break
		}
		clock.Advance(30 * time.Second)
	}
	res, _ := asg.Result("i-00000001", "drain")
	assert.Equal(t, lifecycle.Continue, res)
}

// TestTemplateGrantsOnlyWhatTheFunctionUses lists the actions the template grants.
func TestTemplateGrantsOnlyWhatTheFunctionUses(t *testing.T) {
	raw, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	var actions []string
	var walk func(n *yaml.Node, inFunctionPolicy bool)
	walk = func(n *yaml.Node, in bool) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, val := n.Content[i].Value, n.Content[i+1]
				if key == "Policies" {
					walk(val, true)
					continue
				}
				if key == "Action" && in {
					for _, a := range val.Content {
						actions = append(actions, a.Value)
					}
				}
				walk(val, in)
			}
			return
		}
		for _, c := range n.Content {
			walk(c, in)
		}
	}
	walk(&doc, false)
	assert.ElementsMatch(t, []string{
		"ecs:UpdateContainerInstancesState", "ecs:DescribeContainerInstances", "ecs:ListContainerInstances",
		"ecs:ListTasks", "ecs:DescribeTasks", "ecs:DescribeServices", "ecs:StopTask",
		"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat",
	}, actions)
	assert.Contains(t, string(raw), "FunctionResponseTypes: [ReportBatchItemFailures]")
}
