package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// s3On is a path-style S3 client of the local AWS.
func s3On(ep testbed.AWSEndpoint) *s3.Client {
	return s3.NewFromConfig(ep.Config(), func(o *s3.Options) { o.UsePathStyle = true })
}

func versionedBucket(t *testing.T, c *s3.Client, prefix string) string {
	t.Helper()
	ctx := context.Background()
	name := unique(prefix)
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	require.NoError(t, err)
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	require.NoError(t, err)
	return name
}

func put(t *testing.T, c *s3.Client, bucket, key, body string) string {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	require.NoError(t, err)
	require.NotEmpty(t, aws.ToString(out.VersionId))
	return aws.ToString(out.VersionId)
}

// versionsOf lists a key's object versions and delete markers through the SDK, newest first.
func versionsOf(t *testing.T, c *s3.Client, bucket, key string) (versions, markers []string) {
	t.Helper()
	out, err := c.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	require.NoError(t, err)
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key {
			versions = append(versions, aws.ToString(v.VersionId))
		}
	}
	for _, m := range out.DeleteMarkers {
		if aws.ToString(m.Key) == key {
			markers = append(markers, aws.ToString(m.VersionId))
		}
	}
	return versions, markers
}

func TestS3diffAgainstMoto(t *testing.T) {
	ep := testbed.AWS(t)
	c := s3On(ep)
	env := ep.Env(ep.Region, aws.Credentials{})
	bin := binary(t, "s3diff")
	s3diff := func(t *testing.T, args ...string) result {
		return run(t, env, "", bin, append(args, "-path-style")...)
	}
	bucket := versionedBucket(t, c, "e2e-s3diff")
	old := "host: db.internal\nport: 5432\nreplicas: 2\n# a comment\n"
	newer := "host: db.internal\nport: 6432\nreplicas: 3\n# a comment\n"
	v1 := put(t, c, bucket, "app.yaml", old)
	v2 := put(t, c, bucket, "app.yaml", newer)
	put(t, c, bucket, "app.yaml.bak", "a sibling that shares the prefix\n")

	t.Run("versions: the key's versions, newest first, never the sibling's", func(t *testing.T) {
		r := s3diff(t, "versions", "-bucket", bucket, "-key", "app.yaml", "-json")
		require.Zero(t, r.code, "%s", r)
		var vs []struct {
			VersionID string `json:"versionId"`
			Key       string `json:"key"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &vs), "%s", r)
		want, _ := versionsOf(t, c, bucket, "app.yaml")
		require.Len(t, vs, len(want))
		for i := range vs {
			assert.Equal(t, want[i], vs[i].VersionID)
			assert.Equal(t, "app.yaml", vs[i].Key)
		}
		assert.Equal(t, []string{v2, v1}, want)
	})

	t.Run("diff: the patch turns the old version into the new one with GNU patch", func(t *testing.T) {
		r := s3diff(t, "diff", "-bucket", bucket, "-key", "app.yaml")
		require.Zero(t, r.code, "%s", r)
		dir := t.TempDir()
		file := filepath.Join(dir, "app.yaml")
		require.NoError(t, os.WriteFile(file, []byte(old), 0o600))
		patch := exec.Command("patch", "-s", file)
		patch.Stdin = strings.NewReader(r.stdout)
		out, err := patch.CombinedOutput()
		require.NoError(t, err, "%s\n%s", out, r.stdout)
		got, err := os.ReadFile(file)
		require.NoError(t, err)
		obj, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("app.yaml"), VersionId: aws.String(v2)})
		require.NoError(t, err)
		var want bytes.Buffer
		_, _ = want.ReadFrom(obj.Body)
		obj.Body.Close()
		assert.Equal(t, want.String(), string(got))
	})

	t.Run("retain: the newest N stay, the rest go, the sibling is untouched", func(t *testing.T) {
		key := "retain/" + unique("k")
		var ids []string
		for i := range 5 {
			ids = append([]string{put(t, c, bucket, key, fmt.Sprint(i))}, ids...)
		}
		put(t, c, bucket, key+".bak", "sibling")
		r := s3diff(t, "retain", "-bucket", bucket, "-key", key, "-keep", "2")
		require.Zero(t, r.code, "%s", r)
		versions, _ := versionsOf(t, c, bucket, key)
		assert.Equal(t, ids[:2], versions)
		assert.ElementsMatch(t, ids[2:], strings.Fields(r.stdout), "stdout lists exactly what is gone")
		sib, _ := versionsOf(t, c, bucket, key+".bak")
		assert.Len(t, sib, 1)
	})

	t.Run("retain -prefix: every key keeps its newest, delete markers included", func(t *testing.T) {
		prefix := unique("logs") + "/"
		newest := map[string]string{}
		for i := range 30 {
			k := fmt.Sprintf("%s%02d", prefix, i)
			for j := range 3 {
				newest[k] = put(t, c, bucket, k, fmt.Sprint(j))
			}
		}
		_, err := c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + "05")})
		require.NoError(t, err)
		put(t, c, bucket, prefix+"05", "back")
		r := s3diff(t, "retain", "-bucket", bucket, "-prefix", prefix, "-keep", "1")
		require.Zero(t, r.code, "%s", r)
		assert.Contains(t, r.stderr, "30 keys")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		assert.Len(t, lines, 29*2+4, "two old versions per key, and for key 05 three and its marker")
		for k, want := range newest {
			versions, markers := versionsOf(t, c, bucket, k)
			require.Len(t, versions, 1, k)
			assert.Empty(t, markers, k)
			if !strings.HasSuffix(k, "05") {
				assert.Equal(t, want, versions[0], k)
			}
		}
	})

	t.Run("changes: what changed since a time, and the patch that brings a tree up to date", func(t *testing.T) {
		prefix := unique("cfg") + "/"
		put(t, c, bucket, prefix+"a.txt", "one\n")
		put(t, c, bucket, prefix+"gone.txt", "bye\n")
		time.Sleep(1100 * time.Millisecond) // LastModified has whole seconds
		since := time.Now().UTC().Format(time.RFC3339)
		time.Sleep(1100 * time.Millisecond)
		put(t, c, bucket, prefix+"a.txt", "two\n")
		put(t, c, bucket, prefix+"new.txt", "hello\n")
		_, err := c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + "gone.txt")})
		require.NoError(t, err)
		r := s3diff(t, "changes", "-bucket", bucket, "-prefix", prefix, "-since", since, "-json")
		require.Zero(t, r.code, "%s", r)
		var list []struct{ Kind, Key string }
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &list), "%s", r)
		kinds := map[string]string{}
		for _, ch := range list {
			kinds[strings.TrimPrefix(ch.Key, prefix)] = ch.Kind
		}
		assert.Equal(t, map[string]string{"a.txt": "modified", "new.txt": "added", "gone.txt": "deleted"}, kinds)

		r = s3diff(t, "changes", "-bucket", bucket, "-prefix", prefix, "-since", since, "-diff")
		require.Zero(t, r.code, "%s", r)
		tree := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(tree, prefix), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(tree, prefix, "a.txt"), []byte("one\n"), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(tree, prefix, "gone.txt"), []byte("bye\n"), 0o600))
		apply := exec.Command("git", "apply", "-")
		apply.Dir, apply.Stdin = tree, strings.NewReader(r.stdout)
		out, err := apply.CombinedOutput()
		require.NoError(t, err, "%s\n%s", out, r.stdout)
		a, _ := os.ReadFile(filepath.Join(tree, prefix, "a.txt"))
		assert.Equal(t, "two\n", string(a))
		assert.NoFileExists(t, filepath.Join(tree, prefix, "gone.txt"))
	})

	t.Run("lifecycle-rule: S3 takes the printed configuration", func(t *testing.T) {
		r := run(t, env, "", bin, "lifecycle-rule", "-keep", "5", "-prefix", "logs/")
		require.Zero(t, r.code, "%s", r)
		var cfg struct {
			Rules []struct {
				ID                          string
				NoncurrentVersionExpiration struct{ NoncurrentDays, NewerNoncurrentVersions int }
			}
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &cfg), "%s", r)
		require.Len(t, cfg.Rules, 1)
		assert.Equal(t, 4, cfg.Rules[0].NoncurrentVersionExpiration.NewerNoncurrentVersions, "keep 5 = 4 noncurrent")
		// Put it with the AWS CLI's own shape (the JSON is what put-bucket-lifecycle-configuration takes).
		cli := exec.Command(testbed.AWSCLI(t), "s3api", "put-bucket-lifecycle-configuration", "--bucket", bucket,
			"--lifecycle-configuration", "file:///dev/stdin")
		cli.Env = append(os.Environ(), env...)
		cli.Stdin = strings.NewReader(r.stdout)
		out, err := cli.CombinedOutput()
		require.NoError(t, err, "%s", out)
		got, err := c.GetBucketLifecycleConfiguration(context.Background(), &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket)})
		require.NoError(t, err)
		require.Len(t, got.Rules, 1)
		assert.Equal(t, cfg.Rules[0].ID, aws.ToString(got.Rules[0].ID))
		// moto 5.2.1 drops NewerNoncurrentVersions from a stored rule (docs/TESTING.md): only
		// the days can be read back from it.
		assert.Equal(t, int32(1), aws.ToInt32(got.Rules[0].NoncurrentVersionExpiration.NoncurrentDays))
	})
}

// TestS3diffLambdaAgainstMoto runs the s3diff Lambda's bootstrap in the Runtime Interface
// Emulator against moto, invoked as EventBridge and S3 Batch Operations invoke it. moto's own
// S3 event notifications carry no versionId and no zone in eventTime, so the events here are
// written as AWS documents them, from the versions moto made.
func TestS3diffLambdaAgainstMoto(t *testing.T) {
	ep := testbed.AWS(t)
	c := s3On(ep)
	bucket := versionedBucket(t, c, "e2e-s3diff-fn")
	fn := testbed.StartLambda(t, "../examples/s3diff-lambda", append(ep.Env(ep.Region, aws.Credentials{}),
		"S3_USE_PATH_STYLE=true", "KEEP_VERSIONS=2")...)

	t.Run("EventBridge Object Created: the diff is logged and retention applied", func(t *testing.T) {
		var ids []string
		for i := range 4 {
			ids = append([]string{put(t, c, bucket, "conf/app.json", fmt.Sprintf(`{"replicas": %d}`+"\n", i))}, ids...)
		}
		ev := fmt.Sprintf(`{"version":"0","id":"e2e","detail-type":"Object Created","source":"aws.s3","account":"%s","time":"%s","region":"%s","resources":["arn:aws:s3:::%s"],
			"detail":{"version":"0","bucket":{"name":"%s"},"object":{"key":"conf/app.json","size":14,"version-id":"%s","sequencer":"0001"},"request-id":"r","requester":"e2e","reason":"PutObject"}}`,
			testbed.DefaultAccount, time.Now().UTC().Format(time.RFC3339), ep.Region, bucket, bucket, ids[0])
		fn.Invoke(t, []byte(ev))
		versions, _ := versionsOf(t, c, bucket, "conf/app.json")
		assert.Equal(t, ids[:2], versions, "KEEP_VERSIONS=2\nlogs:\n%s", fn.Logs())
		assert.Contains(t, fn.Logs(), `+{\"replicas\": 3}`, "the unified diff is in the log line")
	})

	t.Run("S3 Batch Operations: a result per task, the keys pruned", func(t *testing.T) {
		keys := []string{"batch/a b.txt", "batch/c+d.txt"}
		newest := map[string]string{}
		for _, k := range keys {
			for i := range 3 {
				newest[k] = put(t, c, bucket, k, fmt.Sprint(i))
			}
		}
		ev := events.S3BatchJobEventV2{InvocationSchemaVersion: "2.0", InvocationID: "aW52b2NhdGlvbg",
			Job: events.S3BatchJobV2{ID: "job-e2e", UserArguments: map[string]string{"keep": "1"}}}
		for i, k := range keys {
			ev.Tasks = append(ev.Tasks, events.S3BatchJobTaskV2{TaskID: fmt.Sprintf("t%d", i), S3Key: url.QueryEscape(k), S3Bucket: bucket})
		}
		payload, err := json.Marshal(ev)
		require.NoError(t, err)
		var resp events.S3BatchJobResponse
		require.NoError(t, json.Unmarshal(fn.Invoke(t, payload), &resp))
		require.Len(t, resp.Results, 2)
		for _, r := range resp.Results {
			assert.Equal(t, "Succeeded", r.ResultCode, "%s\nlogs:\n%s", r.ResultString, fn.Logs())
			assert.Equal(t, "kept 1, deleted 2", r.ResultString)
		}
		for _, k := range keys {
			versions, _ := versionsOf(t, c, bucket, k)
			assert.Equal(t, []string{newest[k]}, versions, k)
		}
	})
}
