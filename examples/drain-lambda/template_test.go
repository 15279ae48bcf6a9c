package main

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// node follows mapping keys from n.
func node(t *testing.T, n *yaml.Node, path ...string) *yaml.Node {
	t.Helper()
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	for _, key := range path {
		require.Equal(t, yaml.MappingNode, n.Kind, "at %q of %v", key, path)
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		require.NotNil(t, next, "no %q in %v", key, path)
		n = next
	}
	return n
}

func allowedInts(t *testing.T, n *yaml.Node) []int {
	var out []int
	for _, v := range n.Content {
		i, err := strconv.Atoi(v.Value)
		require.NoError(t, err)
		out = append(out, i)
	}
	return out
}

// TestTemplateTimeoutsAgreeForEveryAllowedValue: for every allowed MaxDrainMinutes and
// PollSeconds, Lambda accepts the SQS source (visibility >= function timeout), a drain of
// MaxDrainMinutes fits in maxReceiveCount re-drives (it is never sent to the dead-letter
// queue first), the hook (HeartbeatTimeout of the suggested hook) outlives MaxDrainMinutes
// (100 x heartbeat timeout, at most 48 h), and a Spot drain gets more than one step.
func TestTemplateTimeoutsAgreeForEveryAllowedValue(t *testing.T) {
	raw, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &doc))

	maxDrains := allowedInts(t, node(t, &doc, "Parameters", "MaxDrainMinutes", "AllowedValues"))
	polls := allowedInts(t, node(t, &doc, "Parameters", "PollSeconds", "AllowedValues"))
	require.NotEmpty(t, maxDrains)
	require.NotEmpty(t, polls)
	visibility := node(t, &doc, "Resources", "DrainQueue", "Properties", "VisibilityTimeout")
	timeout := node(t, &doc, "Resources", "DrainFunction", "Properties", "Timeout")
	assert.Equal(t, "!Ref", visibility.Tag)
	assert.Equal(t, "PollSeconds", visibility.Value, "the visibility timeout is PollSeconds")
	assert.Equal(t, "!Ref", timeout.Tag)
	assert.Equal(t, "PollSeconds", timeout.Value, "the function timeout is PollSeconds: never above the visibility timeout")
	maxReceive, err := strconv.Atoi(node(t, &doc, "Resources", "DrainQueue", "Properties", "RedrivePolicy", "maxReceiveCount").Value)
	require.NoError(t, err)
	hook := node(t, &doc, "Outputs", "HookToAdd", "Value").Value
	m := regexp.MustCompile(`HeartbeatTimeout=(\d+)`).FindStringSubmatch(hook)
	require.NotNil(t, m, hook)
	hb, _ := strconv.Atoi(m[1])
	global := min(48*time.Hour, 100*time.Duration(hb)*time.Second)

	for _, md := range maxDrains {
		maxDrain := time.Duration(md) * time.Minute
		assert.LessOrEqual(t, maxDrain, global, "MaxDrainMinutes %d: the hook (global timeout %s) must outlive the drain", md, global)
		for _, p := range polls {
			receives := int(maxDrain/(time.Duration(p)*time.Second)) + 2 // the first delivery and the final step
			assert.LessOrEqual(t, receives, maxReceive, "MaxDrainMinutes %d, PollSeconds %d: the drain needs %d receives", md, p, receives)
		}
	}
	for _, p := range polls {
		assert.Less(t, time.Duration(p)*time.Second, 2*time.Minute+time.Second, "PollSeconds %d: a Spot drain gets a second step within its two minutes", p)
	}

	// Spot warnings always reach the queue; rebalance recommendations when asked.
	assert.Equal(t, "EC2 Spot Instance Interruption Warning", node(t, &doc, "Resources", "SpotRule", "Properties", "EventPattern", "detail-type").Content[0].Value)
	assert.Equal(t, "OnRebalance", node(t, &doc, "Resources", "RebalanceRule", "Condition").Value)
	assert.Equal(t, "false", node(t, &doc, "Parameters", "DrainOnRebalance", "Default").Value)
	assert.Equal(t, "ApproximateNumberOfMessagesVisible", node(t, &doc, "Resources", "DeadLetterAlarm", "Properties", "MetricName").Value)
}
