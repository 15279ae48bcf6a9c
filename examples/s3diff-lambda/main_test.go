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
	_, err = h(context.Background(), json.RawMessage(event))
	require.NoError(t, err)
	assert.Contains(t, logs.String(), `"json_changes":[{"path":"$.replicas","op":"changed","old":"3","new":"4"}]`)
	assert.Len(t, b.VersionIDs("bucket", "cfg.json"), 2)

	_, err = h(context.Background(), json.RawMessage(`{"hello":"world"}`))
	require.Error(t, err, "a payload that is no S3 event fails the invocation")
}

// TestTemplateGrantsExactlyWhatTheFunctionUses parses template.yaml and checks the policies:
// the function gets s3:ListBucketVersions on the bucket, s3:GetObjectVersion and
// s3:DeleteObjectVersion on its objects; the Batch Operations role reads the inventory,
// invokes the function and writes the report; nothing else.
func TestTemplateGrantsExactlyWhatTheFunctionUses(t *testing.T) {
	raw, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &doc))

	assert.Equal(t, map[string]string{
		"s3:ListBucketVersions":  "arn:${AWS::Partition}:s3:::${BucketName}",
		"s3:GetObjectVersion":    "arn:${AWS::Partition}:s3:::${BucketName}/*",
		"s3:DeleteObjectVersion": "arn:${AWS::Partition}:s3:::${BucketName}/*",
	}, grants(resource(t, &doc, "DiffFunction")))
	role := resource(t, &doc, "BatchOperationsRole")
	assert.Equal(t, map[string]string{
		"sts:AssumeRole":        "",
		"s3:GetObject":          "${InventoryBucket.Arn}/inventory/*",
		"s3:GetObjectVersion":   "${InventoryBucket.Arn}/inventory/*",
		"lambda:InvokeFunction": "DiffFunction.Arn",
		"s3:PutObject":          "${InventoryBucket.Arn}/batch-reports/*",
	}, grants(role))
	assert.Contains(t, find(role, "Principal").Content[1].Value, "batchoperations.s3.amazonaws.com")
	assert.Equal(t, map[string]string{"s3:PutObject": "${InventoryBucket.Arn}/inventory/*"},
		grants(resource(t, &doc, "InventoryBucketPolicy")), "S3 may write the inventory, nothing more")
	inv := find(resource(t, &doc, "Bucket"), "InventoryConfigurations")
	require.NotNil(t, inv)
	assert.Equal(t, "Current", find(inv, "IncludedObjectVersions").Value, "one task per key, not per version")
	assert.Equal(t, "CSV", find(inv, "Format").Value)
	assert.Contains(t, string(raw), "Runtime: provided.al2023")
	assert.Contains(t, string(raw), "Architectures: [arm64]")
}

// resource returns the Properties-holding node of a template resource.
func resource(t *testing.T, doc *yaml.Node, name string) *yaml.Node {
	t.Helper()
	n := find(find(doc, "Resources"), name)
	require.NotNil(t, n, "resource %s", name)
	return n
}

// find returns the value of the first mapping key named key under n, depth first.
func find(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
	}
	for _, c := range n.Content {
		if f := find(c, key); f != nil {
			return f
		}
	}
	return nil
}

// grants maps every Action under n to the Resource of its statement.
func grants(n *yaml.Node) map[string]string {
	out := map[string]string{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			var actions []string
			resource := ""
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				switch k {
				case "Action":
					if v.Kind == yaml.ScalarNode {
						actions = append(actions, v.Value)
					}
					for _, a := range v.Content {
						actions = append(actions, a.Value)
					}
				case "Resource":
					resource = v.Value
				}
			}
			for _, a := range actions {
				out[a] = resource
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return out
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
	_, err = h(context.Background(), json.RawMessage(event))
	require.NoError(t, err)
	assert.Contains(t, logs.String(), `"status":"too-large"`)
	assert.Equal(t, 0, b.Calls(s3difftest.OpGetObject), "nothing downloaded")
	assert.Equal(t, []string{v2}, b.VersionIDs("bucket", "big.txt"), "retention ran")

	unset, err := settingsFromEnv(env(map[string]string{}))
	require.NoError(t, err)
	assert.Zero(t, unset.maxBytes, "unset: the library default (64 MiB)")
}
