package drain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
	"github.com/shipshape-dev/shipshape/envelope"
	"github.com/shipshape-dev/shipshape/lifecycle"
	"github.com/shipshape-dev/shipshape/lifecycle/lifecycletest"
)

func fixture(t *testing.T, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

func snsEnvelope(t *testing.T, msg []byte) []byte {
	b, err := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:drain", "Message": string(msg)})
	require.NoError(t, err)
	return b
}

func sqsEvent(t *testing.T, bodies ...[]byte) []byte {
	var recs []map[string]string
	for i, b := range bodies {
		recs = append(recs, map[string]string{"messageId": string(rune('a' + i)), "body": string(b), "eventSource": "aws:sqs"})
	}
	b, err := json.Marshal(map[string]any{"Records": recs})
	require.NoError(t, err)
	return b
}

func snsEvent(t *testing.T, msg []byte) []byte {
	b, err := json.Marshal(map[string]any{"Records": []map[string]any{{"EventSource": "aws:sns", "Sns": map[string]string{"MessageId": "n-1", "Message": string(msg)}}}})
	require.NoError(t, err)
	return b
}

// request decodes an invocation payload holding one message and reads its drain request.
func request(t *testing.T, payload []byte) (drain.Request, error) {
	t.Helper()
	msgs, err := envelope.Decode(payload)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	return drain.ParseRequest(msgs[0])
}

func TestParseEveryEnvelope(t *testing.T) {
	term := fixture(t, "asg-termination.json")
	want := drain.Request{Kind: drain.KindTerminate, InstanceID: "i-1234567890abcdef0", Group: "my-asg", Hook: "my-lifecycle-hook",
		Token: "71514b9d-6a40-4b26-8523-05e7eEXAMPLE", Time: time.Date(2021, 1, 19, 0, 36, 26, 533e6, time.UTC)}
	for name, payload := range map[string][]byte{
		"SQS": sqsEvent(t, term), "SNS-wrapped in SQS": sqsEvent(t, snsEnvelope(t, term)), "SNS": snsEvent(t, term), "direct": term,
	} {
		got, err := request(t, payload)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	eb, err := request(t, fixture(t, "eventbridge-terminate-action.json"))
	require.NoError(t, err)
	assert.Equal(t, drain.KindTerminate, eb.Kind)
	assert.Equal(t, "my-lifecycle-hook", eb.Hook)
	assert.Equal(t, "42694b3d-4b70-45cc-9a8a-b2b15EXAMPLE", eb.Token)
	assert.Equal(t, time.Date(2021, 1, 13, 0, 12, 37, 214e6, time.UTC), eb.Time)
	ebInSQS, err := request(t, sqsEvent(t, fixture(t, "eventbridge-terminate-action.json")))
	require.NoError(t, err)
	assert.Equal(t, eb, ebInSQS, "an EventBridge rule that targets a queue")

	for name, kind := range map[string]drain.Kind{"eventbridge-spot-warning.json": drain.KindSpot, "eventbridge-rebalance.json": drain.KindRebalance} {
		r, err := request(t, fixture(t, name))
		require.NoError(t, err)
		assert.Equal(t, kind, r.Kind)
		assert.Equal(t, "i-1234567890abcdef0", r.InstanceID)
	}
	for _, name := range []string{"asg-test-notification.json", "asg-launching.json"} {
		r, err := request(t, sqsEvent(t, fixture(t, name)))
		require.NoError(t, err)
		assert.Equal(t, drain.KindIgnore, r.Kind, name)
	}
	_, err = request(t, sqsEvent(t, []byte(`{"hello":"world"}`)))
	require.ErrorIs(t, err, drain.ErrInvalidInput)
	_, err = request(t, sqsEvent(t, []byte(`not json`)))
	require.ErrorIs(t, err, drain.ErrInvalidInput)
	// A termination that names no hook can't be completed: an error, not a drain.
	_, err = request(t, sqsEvent(t, []byte(`{"Service":"AWS Auto Scaling","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING","EC2InstanceId":"i-1","AutoScalingGroupName":"g"}`)))
	require.ErrorIs(t, err, drain.ErrInvalidInput)
}

// termination is a lifecycle notification for i-1 in group "ecs", hook "drain", at time.
func termination(t *testing.T, at time.Time) []byte {
	b, err := json.Marshal(map[string]string{"Service": "AWS Auto Scaling", "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
		"EC2InstanceId": "i-00000001", "AutoScalingGroupName": "ecs", "LifecycleHookName": "drain", "Time": at.Format(time.RFC3339)})
	require.NoError(t, err)
	return b
}

func TestLambdaHandlerRedrivesThroughSQS(t *testing.T) {
	c := newCluster(t)
	for i := range 3 {
		c.ecs.RunTask(c.arn, "web", time.Duration(i)*time.Minute)
	}
	c.terminating()
	var logs bytes.Buffer
	h, err := drain.NewHandler(c.drainer(), c.asg, []string{"prod"}, func(o *drain.HandlerOptions) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	require.NoError(t, err)
	payload := sqsEvent(t, termination(t, c.clock.Now()), fixture(t, "asg-test-notification.json"))

	invocations := 0
	for ; invocations < 100; invocations++ {
		resp, err := h.Handle(context.Background(), payload)
		require.NoError(t, err)
		if len(resp.BatchItemFailures) == 0 {
			break
		}
		require.Equal(t, "a", resp.BatchItemFailures[0].ItemIdentifier, "only the drain comes back; the test notification is done")
		c.clock.Advance(30 * time.Second) // the queue's visibility timeout
	}
	res, expired := c.asg.Result("i-00000001", "drain")
	assert.Equal(t, lifecycle.Continue, res)
	assert.False(t, expired, "a heartbeat per invocation kept the action alive")
	assert.Less(t, invocations, 10, "one invocation per visibility period, about 2.5 minutes")

	// A duplicate delivery after the end: no error, nothing retried.
	resp, err := h.Handle(context.Background(), payload)
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	assert.Contains(t, logs.String(), "already completed or expired")
}

func TestLambdaMaximumDrainTime(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "", 0) // standalone: never moves
	c.terminating()
	var logs bytes.Buffer
	h, err := drain.NewHandler(c.drainer(), c.asg, []string{"prod"}, func(o *drain.HandlerOptions) {
		o.MaxDrain = 10 * time.Minute
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	require.NoError(t, err)
	payload := sqsEvent(t, termination(t, c.clock.Now()))
	for range 100 {
		resp, err := h.Handle(context.Background(), payload)
		require.NoError(t, err)
		if len(resp.BatchItemFailures) == 0 {
			break
		}
		c.clock.Advance(time.Minute)
	}
	res, _ := c.asg.Result("i-00000001", "drain")
	assert.Equal(t, lifecycle.Continue, res, "the group is not held forever")
	assert.Contains(t, logs.String(), "MAXIMUM DRAIN TIME REACHED")
}

func TestLambdaUnknownInstance(t *testing.T) {
	c := newCluster(t)
	h, err := drain.NewHandler(c.drainer(), c.asg, []string{"prod"})
	require.NoError(t, err)
	c.asg.Launch("ecs", "i-00000404")
	c.asg.ScaleIn("ecs", "i-00000404")
	unknown := bytes.ReplaceAll(termination(t, c.clock.Now()), []byte(`"i-00000001"`), []byte(`"i-00000404"`))
	resp, err := h.Handle(context.Background(), sqsEvent(t, unknown))
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	res, _ := c.asg.Result("i-00000404", "drain")
	assert.Equal(t, lifecycle.Continue, res, "not a container instance: nothing to drain, the hook continues")

	// A Spot notice for an instance of another cluster is nobody's business here.
	resp, err = h.Handle(context.Background(), sqsOf(t, ec2Event(t, "EC2 Spot Instance Interruption Warning", "i-00000404", c.clock.Now())))
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(c.arn), "no other instance drained")

	_, err = drain.NewHandler(c.drainer(), c.asg, nil)
	require.ErrorIs(t, err, drain.ErrInvalidInput)
}

// The drain Lambda against an ECS that ignores the lookup's filter: the termination of an
// instance in no container instance of the cluster is not taken out on the one instance the
// cluster has; the message goes back to the queue (and, redelivered, to the dead-letter
// queue and its alarm) and the hook is neither heartbeated nor completed.
func TestLambdaRefusesAContainerInstanceOfAnotherEC2Instance(t *testing.T) {
	c := newCluster(t)
	c.ecs.CreateCluster("small")
	other := c.ecs.AddInstance("small", "i-00000002")
	c.ecs.RunTask(other, "web", 0)
	c.ecs.IgnoreFilter(true)
	c.terminating()
	var logs bytes.Buffer
	h, err := drain.NewHandler(c.drainer(), c.asg, []string{"small"}, func(o *drain.HandlerOptions) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	require.NoError(t, err)
	for range 3 {
		resp, err := h.Handle(context.Background(), sqsEvent(t, termination(t, c.clock.Now())))
		require.NoError(t, err)
		assert.Len(t, resp.BatchItemFailures, 1, "not done: back to the queue")
		c.clock.Advance(30 * time.Second)
	}
	assert.Equal(t, "ACTIVE", c.ecs.InstanceStatus(other))
	assert.Zero(t, c.ecs.Calls(draintest.OpUpdateState))
	assert.Zero(t, c.asg.Calls(lifecycletest.OpComplete))
	assert.Zero(t, c.asg.Calls(lifecycletest.OpHeartbeat))
	assert.Contains(t, logs.String(), "runs on EC2 instance i-00000002, not on i-00000001")
}

// ec2Event is an EventBridge event from EC2 (aws-lambda-go's type, as EventBridge sends it).
func ec2Event(t *testing.T, detailType, instance string, at time.Time) events.CloudWatchEvent {
	detail, err := json.Marshal(map[string]string{"instance-id": instance, "instance-action": "terminate"})
	require.NoError(t, err)
	return events.CloudWatchEvent{Version: "0", ID: "ev-1", DetailType: detailType, Source: "aws.ec2", AccountID: "123456789012",
		Time: at, Region: "us-east-1", Resources: []string{"arn:aws:ec2:us-east-1:123456789012:instance/" + instance}, Detail: detail}
}

// sqsOf is the SQS invocation that delivers ev as EventBridge puts it in the queue.
func sqsOf(t *testing.T, ev events.CloudWatchEvent) []byte {
	body, err := json.Marshal(ev)
	require.NoError(t, err)
	payload, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "spot-1", Body: string(body), EventSource: "aws:sqs"}}})
	require.NoError(t, err)
	return payload
}

// redrive invokes h with payload, as SQS would after each visibility timeout, until the
// message is done; it returns the invocations and the fake time they took.
func redrive(t *testing.T, c *cluster, h *drain.Handler, payload []byte, visibility time.Duration) (int, time.Duration) {
	start := c.clock.Now()
	for n := 1; n <= 200; n++ {
		resp, err := h.Handle(context.Background(), payload)
		require.NoError(t, err)
		if len(resp.BatchItemFailures) == 0 {
			return n, c.clock.Now().Sub(start)
		}
		c.clock.Advance(visibility)
	}
	t.Fatal("the message never finished")
	return 0, 0
}

func TestLambdaSpotDrainsUntilTheDeadline(t *testing.T) {
	t.Run("done before", func(t *testing.T) {
		c := newCluster(t)
		c.ecs.RunTask(c.arn, "web", 0)
		c.ecs.RunTask(c.arn, "web", 30*time.Second)
		h, err := drain.NewHandler(c.drainer(), c.asg, []string{"prod"})
		require.NoError(t, err)
		n, took := redrive(t, c, h, sqsOf(t, ec2Event(t, "EC2 Spot Instance Interruption Warning", "i-00000001", c.clock.Now())), 30*time.Second)
		assert.Greater(t, n, 1, "driven by the queue, not one step and done")
		assert.Less(t, took, drain.SpotWarning, "every task stopped before the instance is reclaimed")
		assert.Equal(t, "DRAINING", c.ecs.InstanceStatus(c.arn))
	})
	t.Run("stopped at the deadline", func(t *testing.T) {
		c := newCluster(t)
		c.ecs.RunTask(c.arn, "web", 10*time.Minute)
		var logs bytes.Buffer
		h, err := drain.NewHandler(c.drainer(), c.asg, []string{"prod"}, func(o *drain.HandlerOptions) {
			o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		})
		require.NoError(t, err)
		_, took := redrive(t, c, h, sqsOf(t, ec2Event(t, "EC2 Spot Instance Interruption Warning", "i-00000001", c.clock.Now())), 30*time.Second)
		assert.Equal(t, drain.SpotWarning, took, "no further step once EC2 has reclaimed the instance")
		assert.Contains(t, logs.String(), "SPOT INTERRUPTION TIME REACHED")
		assert.Contains(t, logs.String(), "1 task(s) left")
	})
}

func TestLambdaRebalanceDrainsWithinMaxDrain(t *testing.T) {
	c := newCluster(t)
	c.ecs.RunTask(c.arn, "web", 4*time.Minute) // longer than a Spot warning: a rebalance has the time
	h, err := drain.NewHandler(c.drainer(), c.asg, []string{"prod"})
	require.NoError(t, err)
	_, took := redrive(t, c, h, sqsOf(t, ec2Event(t, "EC2 Instance Rebalance Recommendation", "i-00000001", c.clock.Now())), 30*time.Second)
	assert.Greater(t, took, 4*time.Minute)
	assert.Less(t, took, 30*time.Minute)
	assert.Equal(t, 0, c.asg.Calls(lifecycletest.OpComplete), "no hook for a rebalance")
}
