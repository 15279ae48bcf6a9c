package envelope_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/envelope"
)

const notification = `{"Service":"AWS Auto Scaling","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING","EC2InstanceId":"i-1"}`

const event = `{"version":"0","id":"ev-1","detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2",` +
	`"account":"123456789012","time":"2026-11-23T09:00:00Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-1"],` +
	`"detail":{"instance-id":"i-1","instance-action":"terminate"}}`

func snsEnvelope(t *testing.T, msg string) string {
	b, err := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "sns-1", "Message": msg})
	require.NoError(t, err)
	return string(b)
}

func sqs(t *testing.T, bodies ...string) []byte {
	var recs []map[string]string
	for i, b := range bodies {
		recs = append(recs, map[string]string{"messageId": string(rune('a' + i)), "body": b, "eventSource": "aws:sqs"})
	}
	b, err := json.Marshal(map[string]any{"Records": recs})
	require.NoError(t, err)
	return b
}

func TestAnSQSBatchIsOneMessagePerRecordWithSNSEnvelopesUnwrapped(t *testing.T) {
	msgs, err := envelope.Decode(sqs(t, notification, snsEnvelope(t, notification), event, "plain text"))
	require.NoError(t, err)
	require.Len(t, msgs, 4)
	for i, id := range []string{"a", "b", "c", "d"} {
		assert.Equal(t, id, msgs[i].ID, "the SQS message id: what a batch item failure names")
		assert.Equal(t, envelope.SQS, msgs[i].Via)
	}
	assert.JSONEq(t, notification, string(msgs[0].Body))
	assert.Nil(t, msgs[0].Event)
	assert.JSONEq(t, notification, string(msgs[1].Body), "the SNS envelope in the body is unwrapped")
	require.NotNil(t, msgs[2].Event, "an EventBridge rule that targets a queue")
	assert.Equal(t, "EC2 Spot Instance Interruption Warning", msgs[2].Event.DetailType)
	assert.Equal(t, "plain text", string(msgs[3].Body), "a body that is not JSON is the owner's to judge")
}

func TestAnSNSDeliveryIsOneMessagePerRecord(t *testing.T) {
	payload, err := json.Marshal(map[string]any{"Records": []map[string]any{
		{"EventSource": "aws:sns", "Sns": map[string]string{"MessageId": "n-1", "Message": notification}},
		{"EventSource": "aws:sns", "Sns": map[string]string{"MessageId": "n-2", "Message": event}},
	}})
	require.NoError(t, err)
	msgs, err := envelope.Decode(payload)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	assert.Equal(t, envelope.Message{ID: "n-1", Via: envelope.SNS, Body: []byte(notification)}, msgs[0])
	require.NotNil(t, msgs[1].Event)
	assert.Equal(t, "ev-1", msgs[1].Event.ID)
}

func TestAnEventBridgeEventIsOneMessageWithItsEnvelope(t *testing.T) {
	msgs, err := envelope.Decode([]byte(event))
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	m := msgs[0]
	assert.Equal(t, "ev-1", m.ID)
	assert.Equal(t, envelope.EventBridge, m.Via)
	assert.Equal(t, event, string(m.Body))
	require.NotNil(t, m.Event)
	assert.Equal(t, &envelope.Event{ID: "ev-1", Source: "aws.ec2", DetailType: "EC2 Spot Instance Interruption Warning",
		Account: "123456789012", Region: "us-east-1", Time: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		Resources: []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-1"}, Detail: json.RawMessage(`{"instance-id":"i-1","instance-action":"terminate"}`)}, m.Event)
	assert.False(t, m.Event.IsSchedule())

	sched, err := envelope.Decode([]byte(`{"id":"s","detail-type":"Scheduled Event","source":"aws.events","time":"2026-11-23T09:00:00Z","detail":{}}`))
	require.NoError(t, err)
	assert.True(t, sched[0].Event.IsSchedule())
	var none *envelope.Event
	assert.False(t, none.IsSchedule())
}

func TestAnythingElseIsOneDirectMessage(t *testing.T) {
	s3 := `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`
	for _, payload := range []string{s3, notification, `{}`, `{"Records":[]}`} {
		msgs, err := envelope.Decode([]byte(payload))
		require.NoError(t, err, payload)
		assert.Equal(t, []envelope.Message{{Via: envelope.Direct, Body: []byte(payload)}}, msgs, payload)
	}
}

func TestAMalformedEnvelopeIsAnErrorThatSaysWhere(t *testing.T) {
	for name, payload := range map[string]string{
		"not JSON":                   `not json`,
		"a JSON array":               `[1,2]`,
		"an SQS record without body": `{"Records":[{"eventSource":"aws:sqs","messageId":"a"}]}`,
		"an SQS record without id":   `{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`,
		"a mixed batch":              `{"Records":[{"eventSource":"aws:sqs","messageId":"a","body":"x"},{"eventSource":"aws:s3"}]}`,
		"an SNS record without Sns":  `{"Records":[{"EventSource":"aws:sns"}]}`,
		"an event time that lies":    `{"id":"e","detail-type":"X","source":"aws.ec2","time":"yesterday","detail":{}}`,
		"the same inside SQS":        string(sqs(t, `{"id":"e","detail-type":"X","source":"aws.ec2","time":"yesterday","detail":{}}`)),
	} {
		_, err := envelope.Decode([]byte(payload))
		require.ErrorIs(t, err, envelope.ErrMalformed, name)
	}
}
