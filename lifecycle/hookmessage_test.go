package lifecycle_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/lifecycle"
)

const termination = `{"Origin":"AutoScalingGroup","LifecycleHookName":"drain","Destination":"EC2","AccountId":"123456789012",
"LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING","AutoScalingGroupName":"ecs","Service":"AWS Auto Scaling",
"Time":"2021-01-19T00:36:26.533Z","EC2InstanceId":"i-1234567890abcdef0","LifecycleActionToken":"tok","NotificationMetadata":"meta"}`

func TestAHookNotificationIsReadWithItsTime(t *testing.T) {
	require.True(t, lifecycle.IsHookMessage([]byte(termination)))
	m, err := lifecycle.ParseHookMessage([]byte(termination))
	require.NoError(t, err)
	assert.Equal(t, lifecycle.HookMessage{Transition: lifecycle.TerminateTransition, InstanceID: "i-1234567890abcdef0", Group: "ecs",
		Hook: "drain", Token: "tok", Metadata: "meta", Time: time.Date(2021, 1, 19, 0, 36, 26, 533e6, time.UTC)}, m)
	require.NoError(t, m.Check())
	assert.Equal(t, lifecycle.Target{Group: "ecs", InstanceID: "i-1234567890abcdef0", Hooks: []lifecycle.Hook{{Name: "drain"}}, Token: "tok"}, m.Target())
}

// A Time that does not parse is no reason to drop an action that is waiting: the message is
// read, with a zero Time.
func TestAHookNotificationWithAnUnreadableTimeIsStillRead(t *testing.T) {
	m, err := lifecycle.ParseHookMessage([]byte(`{"Service":"AWS Auto Scaling","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING",
"EC2InstanceId":"i-1","AutoScalingGroupName":"ecs","LifecycleHookName":"drain","Time":"soon"}`))
	require.NoError(t, err)
	assert.True(t, m.Time.IsZero())
	assert.NoError(t, m.Check())
}

func TestTheTestNotificationAsksForNothing(t *testing.T) {
	m, err := lifecycle.ParseHookMessage([]byte(`{"AccountId":"123456789012","AutoScalingGroupName":"ecs","Service":"AWS Auto Scaling",
"Event":"autoscaling:TEST_NOTIFICATION","Time":"2021-01-19T00:35:52.359Z"}`))
	require.NoError(t, err)
	assert.True(t, m.IsTest())
	assert.NoError(t, m.Check())
}

func TestAHookEventIsReadFromItsDetail(t *testing.T) {
	at := time.Date(2021, 1, 13, 0, 12, 37, 214e6, time.UTC)
	m, err := lifecycle.ParseHookEvent(json.RawMessage(`{"LifecycleActionToken":"tok","AutoScalingGroupName":"ecs","LifecycleHookName":"drain",
"EC2InstanceId":"i-1","LifecycleTransition":"autoscaling:EC2_INSTANCE_LAUNCHING","NotificationMetadata":"meta"}`), at)
	require.NoError(t, err)
	assert.Equal(t, lifecycle.HookMessage{Transition: lifecycle.LaunchTransition, InstanceID: "i-1", Group: "ecs", Hook: "drain",
		Token: "tok", Metadata: "meta", Time: at}, m)
	_, err = lifecycle.ParseHookEvent(json.RawMessage(`[1]`), at)
	assert.ErrorIs(t, err, lifecycle.ErrInvalidInput)
}

func TestAHookMessageThatNamesNoActionIsRefused(t *testing.T) {
	for name, body := range map[string]string{
		"no instance":   `{"Service":"AWS Auto Scaling","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING","AutoScalingGroupName":"ecs","LifecycleHookName":"drain"}`,
		"not an id":     `{"Service":"AWS Auto Scaling","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING","EC2InstanceId":"x-1","AutoScalingGroupName":"ecs","LifecycleHookName":"drain"}`,
		"no group":      `{"Service":"AWS Auto Scaling","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING","EC2InstanceId":"i-1","LifecycleHookName":"drain"}`,
		"a blank group": `{"Service":"AWS Auto Scaling","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING","EC2InstanceId":"i-1","AutoScalingGroupName":" ","LifecycleHookName":"drain"}`,
		"no hook":       `{"Service":"AWS Auto Scaling","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING","EC2InstanceId":"i-1","AutoScalingGroupName":"ecs"}`,
	} {
		m, err := lifecycle.ParseHookMessage([]byte(body))
		require.NoError(t, err, name)
		assert.ErrorIs(t, m.Check(), lifecycle.ErrInvalidInput, name)
	}
	for name, body := range map[string]string{"not JSON": `nope`, "another service's message": `{"Service":"Amazon S3"}`} {
		assert.False(t, lifecycle.IsHookMessage([]byte(body)), name)
		_, err := lifecycle.ParseHookMessage([]byte(body))
		assert.ErrorIs(t, err, lifecycle.ErrInvalidInput, name)
	}
}
