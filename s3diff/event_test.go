package s3diff_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff"
)

func s3Notification(bucket, encodedKey, version string) []byte {
	return []byte(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
	"eventTime":"2026-11-23T09:00:00.000Z","eventName":"ObjectCreated:Put",
	"s3":{"s3SchemaVersion":"1.0","bucket":{"name":"` + bucket + `","arn":"arn:aws:s3:::` + bucket + `"},
	"object":{"key":"` + encodedKey + `","size":12,"eTag":"abc","versionId":"` + version + `","sequencer":"0055AED6DCD90281E5"}}}]}`)
}

func eventBridge(bucket, encodedKey, version string) []byte {
	return []byte(`{"version":"0","id":"17793124-05d4-b198-2fde-7ededc63b103","detail-type":"Object Created",
	"source":"aws.s3","account":"123456789012","time":"2026-11-23T09:00:00Z","region":"us-east-1",
	"resources":["arn:aws:s3:::` + bucket + `"],"detail":{"version":"0","bucket":{"name":"` + bucket + `"},
	"object":{"key":"` + encodedKey + `","size":5,"etag":"b1946ac92492d2347c6235b4d2611184","version-id":"` + version + `",
	"sequencer":"00617F08299329D189"},"request-id":"N4N7GDK58NMKJ12R","requester":"123456789012","reason":"PutObject"}}`)
}

func TestParseEvent(t *testing.T) {
	const key = "reports/Q3 plan+budget (ß).txt"
	enc := url.QueryEscape(key)
	require.Contains(t, enc, "+", "spaces are encoded as +")
	require.Contains(t, enc, "%2B", "a plus sign is encoded as %2B")

	for name, payload := range map[string][]byte{"direct": s3Notification("b1", enc, "v1"), "eventbridge": eventBridge("b1", enc, "v1")} {
		t.Run(name, func(t *testing.T) {
			evs, err := s3diff.ParseEvent(payload)
			require.NoError(t, err)
			require.Len(t, evs, 1)
			assert.Equal(t, s3diff.ObjectEvent{Bucket: "b1", Key: key, VersionID: "v1", Sequencer: evs[0].Sequencer, Size: evs[0].Size}, evs[0])
		})
	}

	evs, err := s3diff.ParseEvent([]byte(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-23T09:00:00.000Z","Bucket":"b1"}`))
	require.NoError(t, err)
	assert.Empty(t, evs, "the test event is ignored")
	evs, err = s3diff.ParseEvent([]byte(strings.Replace(string(s3Notification("b1", "k", "v")), "ObjectCreated:Put", "ObjectRemoved:Delete", 1)))
	require.NoError(t, err)
	assert.Empty(t, evs)

	for _, bad := range []string{`not json`, `{"foo":1}`, `{"detail-type":"Object Created","source":"aws.ec2","detail":{}}`} {
		_, err := s3diff.ParseEvent([]byte(bad))
		require.ErrorIs(t, err, s3diff.ErrInvalidInput, bad)
	}
	_, err = s3diff.ParseEvent(s3Notification("b1", "bad%zzkey", "v"))
	require.ErrorContains(t, err, "invalid URL escape")
}

// An S3 notification that reaches the function through a queue (S3 -> SQS, S3 -> SNS -> SQS,
// S3 -> SNS) or an EventBridge rule that targets a queue is read as if it came directly:
// never an empty result for an upload that is in the payload.
func TestParseEventThroughSNSAndSQS(t *testing.T) {
	const key = "a b+c.txt"
	enc := url.QueryEscape(key)
	quote := func(b []byte) string { q, _ := json.Marshal(string(b)); return string(q) }
	sqs := func(body []byte) []byte {
		return []byte(`{"Records":[{"messageId":"m-1","eventSource":"aws:sqs","body":` + quote(body) + `}]}`)
	}
	snsEnvelope := func(msg []byte) []byte {
		return []byte(`{"Type":"Notification","MessageId":"n-1","Message":` + quote(msg) + `}`)
	}
	for name, payload := range map[string][]byte{
		"S3 -> SQS":               sqs(s3Notification("b1", enc, "v1")),
		"S3 -> SNS -> SQS":        sqs(snsEnvelope(s3Notification("b1", enc, "v1"))),
		"S3 -> SNS":               []byte(`{"Records":[{"EventSource":"aws:sns","Sns":{"MessageId":"n-1","Message":` + quote(s3Notification("b1", enc, "v1")) + `}}]}`),
		"EventBridge rule -> SQS": sqs(eventBridge("b1", enc, "v1")),
	} {
		evs, err := s3diff.ParseEvent(payload)
		require.NoError(t, err, name)
		require.Len(t, evs, 1, name)
		assert.Equal(t, "b1", evs[0].Bucket, name)
		assert.Equal(t, key, evs[0].Key, name)
		assert.Equal(t, "v1", evs[0].VersionID, name)
	}
	_, err := s3diff.ParseEvent(sqs([]byte(`{"foo":1}`)))
	require.ErrorIs(t, err, s3diff.ErrInvalidInput)
	require.ErrorContains(t, err, "message m-1", "says which message")
}

func FuzzDecodeKey(f *testing.F) {
	for _, k := range []string{"a b+c", "ü/ø%", "plain", "100%", "a+b=c&d", " ", "%2B"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		got, err := s3diff.DecodeKey(url.QueryEscape(key))
		if err != nil {
			t.Fatalf("DecodeKey(QueryEscape(%q)): %v", key, err)
		}
		if got != key {
			t.Fatalf("round trip of %q gave %q", key, got)
		}
		// Arbitrary input never panics; it decodes or says why not.
		_, _ = s3diff.DecodeKey(key)
	})
}

func TestHandlerIsIdempotentUnderRedelivery(t *testing.T) {
	b, c := newFake(t)
	var logs bytes.Buffer
	h, err := s3diff.NewHandler(c, func(o *s3diff.HandlerOptions) {
		o.Keep, o.Suffix, o.Logger = 2, ".txt", slog.New(slog.NewJSONHandler(&logs, nil))
	})
	require.NoError(t, err)
	key := "a dir/notes+1.txt"
	b.Put("bucket", key, []byte("one\n"))
	b.Put("bucket", key, []byte("one\ntwo\n"))
	v3 := b.Put("bucket", key, []byte("one\ntwo\nthree\n"))
	event := s3Notification("bucket", url.QueryEscape(key), v3)

	first, err := h.Handle(context.Background(), event)
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.NotNil(t, first[0].Diff)
	assert.Equal(t, "+three\n", lastLine(first[0].Diff.Unified()))
	assert.Len(t, first[0].Retained.Deleted, 1)

	// An upload lands, then the same event is delivered again: same diff, nothing lost.
	v4 := b.Put("bucket", key, []byte("four\n"))
	again, err := h.Handle(context.Background(), event)
	require.NoError(t, err)
	require.NotNil(t, again[0].Diff)
	assert.Equal(t, first[0].Diff.Unified(), again[0].Diff.Unified(), "the diff is of the event's version, whatever came since")
	assert.Equal(t, []string{v4, v3}, b.VersionIDs("bucket", key))
	assert.Contains(t, logs.String(), `"status":"changed"`)

	// Once the event's predecessor is pruned, a redelivery says so instead of failing.
	old := s3Notification("bucket", url.QueryEscape(key), "gone-version")
	out, err := h.Handle(context.Background(), old)
	require.NoError(t, err)
	assert.Contains(t, out[0].Skipped, "the version is gone")

	skipped, err := h.Handle(context.Background(), s3Notification("bucket", "image.png", "v"))
	require.NoError(t, err)
	assert.Contains(t, skipped[0].Skipped, "filter")

	_, err = s3diff.NewHandler(c, func(o *s3diff.HandlerOptions) { o.Keep = -1 })
	require.ErrorIs(t, err, s3diff.ErrInvalidKeep)
}

func TestHandlerFirstVersion(t *testing.T) {
	b, c := newFake(t)
	h, err := s3diff.NewHandler(c)
	require.NoError(t, err)
	v := b.Put("bucket", "new.txt", []byte("hello\n"))
	out, err := h.Handle(context.Background(), eventBridge("bucket", "new.txt", v))
	require.NoError(t, err)
	assert.Contains(t, out[0].Skipped, "first version")
}

func lastLine(s string) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	return lines[len(lines)-1] + "\n"
}
