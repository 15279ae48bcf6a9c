package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestSettings(t *testing.T) {
	s, err := settingsFromEnv(env(map[string]string{"KEEP_VERSIONS": "5", "KEY_SUFFIX": ".json", "DIFF_FORMAT": "json", "S3_USE_PATH_STYLE": "true", "MAX_OBJECT_BYTES": "1024"}))
	require.NoError(t, err)
	assert.Equal(t, 5, s.handler.Keep)
	assert.Equal(t, ".json", s.handler.Suffix)
	assert.True(t, s.pathStyle)
	assert.Equal(t, int64(1024), s.maxBytes)

	for k, v := range map[string]string{"KEEP_VERSIONS": "-1", "MAX_OBJECT_BYTES": "lots", "S3_USE_PATH_STYLE": "yes please"} {
		_, err := settingsFromEnv(env(map[string]string{k: v}))
		require.ErrorContains(t, err, k)
	}
	_, err = newHandler(s3difftest.New(), settings{}, slog.Default())
	require.NoError(t, err)
	bad := settings{}
	bad.handler.Format = "html"
	_, err = newHandler(s3difftest.New(), bad, slog.Default())
	require.ErrorContains(t, err, "html")
}

func TestHandlerLogsTheDiffAndRetains(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	b.Put("bucket", "cfg.json", []byte(`{"replicas":2}`))
	b.Put("bucket", "cfg.json", []byte(`{"replicas":3}`))
	v3 := b.Put("bucket", "cfg.json", []byte(`{"replicas":4}`))
	var logs bytes.Buffer
	s, err := settingsFromEnv(env(map[string]string{"KEEP_VERSIONS": "2", "KEY_SUFFIX": ".json", "DIFF_FORMAT": "json"}))
	require.NoError(t, err)
	h, err := newHandler(b, s, slog.New(slog.NewJSONHandler(&logs, nil)))
	require.NoError(t, err)

	event := `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"bucket"},"object":{"key":"` +
		url.QueryEscape("cfg.json") + `","versionId":"` + v3 + `"}}}]}`
	require.NoError(t, h(context.Background(), json.RawMessage(event)))
	assert.Contains(t, logs.String(), `"json_changes":[{"path":"$.replicas","op":"changed","old":"3","new":"4"}]`)
	assert.Len(t, b.VersionIDs("bucket", "cfg.json"), 2)

	require.Error(t, h(context.Background(), json.RawMessage(`{"hello":"world"}`)), "a payload that is no S3 event fails the invocation")
}

// TestTemplateGrantsExactlyWhatTheFunctionUses parses template.yaml and checks the policy:
// s3:ListBucketVersions on the bucket, s3:GetObjectVersion and s3:DeleteObjectVersion on
// its objects, and nothing else.
func TestTemplateGrantsExactlyWhatTheFunctionUses(t *testing.T) {
	raw, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &doc))

	grants := map[string]string{} // action -> resource
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			var actions []string
			resource := ""
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				switch k {
				case "Action":
					for _, a := range v.Content {
						actions = append(actions, a.Value)
					}
				case "Resource":
					resource = v.Value
				}
			}
			for _, a := range actions {
				grants[a] = resource
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	assert.Equal(t, map[string]string{
		"s3:ListBucketVersions":  "arn:${AWS::Partition}:s3:::${BucketName}",
		"s3:GetObjectVersion":    "arn:${AWS::Partition}:s3:::${BucketName}/*",
		"s3:DeleteObjectVersion": "arn:${AWS::Partition}:s3:::${BucketName}/*",
	}, grants)
	assert.Contains(t, string(raw), "Runtime: provided.al2023")
	assert.Contains(t, string(raw), "Architectures: [arm64]")
}

// A version over MAX_OBJECT_BYTES is a logged result, not a failed invocation, and
// retention still runs for its key.
func TestTooLargeIsLoggedAndRetentionRuns(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	b.Put("bucket", "big.txt", []byte("0123456789\n"))
	v2 := b.Put("bucket", "big.txt", []byte("0123456789abc\n"))
	var logs bytes.Buffer
	s, err := settingsFromEnv(env(map[string]string{"KEEP_VERSIONS": "1", "MAX_OBJECT_BYTES": "12"}))
	require.NoError(t, err)
	h, err := newHandler(b, s, slog.New(slog.NewJSONHandler(&logs, nil)))
	require.NoError(t, err)
	event := `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"bucket"},"object":{"key":"big.txt","versionId":"` + v2 + `"}}}]}`
	require.NoError(t, h(context.Background(), json.RawMessage(event)))
	assert.Contains(t, logs.String(), `"status":"too-large"`)
	assert.Equal(t, 0, b.Calls(s3difftest.OpGetObject), "nothing downloaded")
	assert.Equal(t, []string{v2}, b.VersionIDs("bucket", "big.txt"), "retention ran")

	unset, err := settingsFromEnv(env(map[string]string{}))
	require.NoError(t, err)
	assert.Zero(t, unset.maxBytes, "unset: the library default (64 MiB)")
}
