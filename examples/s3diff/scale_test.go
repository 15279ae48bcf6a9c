package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

var resumeFlag = regexp.MustCompile(`resume with -start-after '([^']*)'`)

func TestRetainPrefix(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	newest := map[string]string{}
	for i := range 600 { // 1200 deletions: two DeleteObjects batches
		k := fmt.Sprintf("logs/%04d", i)
		for range 3 {
			newest[k] = b.Put("bucket", k, []byte(k))
		}
	}
	b.Put("bucket", "logsbook", []byte("outside the prefix"))
	b.Put("bucket", "logsbook", []byte("outside the prefix, 2"))

	code, stdout, stderr := cli(t, withFake(b), "retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-dry-run")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 1200, strings.Count(stdout, "\n"), "one line per version that would go")
	assert.Contains(t, stderr, "600 keys, 1800 versions listed, would delete 1200, failed 0; 2 list and 0 delete calls")
	assert.Zero(t, b.Calls(s3difftest.OpDeleteObjects), "dry run")

	// The second batch hits a version S3 refuses: the run stops and says where to resume.
	refused := b.VersionIDs("bucket", "logs/0550")[2]
	b.FailDelete(refused, "AccessDenied", "Access Denied", 1)
	code, stdout, stderr = cli(t, withFake(b), "retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1")
	require.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "not deleted: logs/0550 version "+refused+": AccessDenied")
	m := resumeFlag.FindStringSubmatch(stderr)
	require.NotNil(t, m, "stderr names the resume point:\n%s", stderr)
	assert.Equal(t, "logs/0499", m[1], "the first batch (500 keys) is done")
	assert.Equal(t, 1199, strings.Count(stdout, "\n"), "every confirmed deletion is printed")

	code, _, stderr = cli(t, withFake(b), "retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-start-after", m[1])
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "100 keys", "the resume lists only what was left")
	assert.NotContains(t, stderr, "resume with")
	for k, id := range newest {
		assert.Equal(t, []string{id}, b.VersionIDs("bucket", k), "key %s", k)
	}
	assert.Len(t, b.VersionIDs("bucket", "logsbook"), 2, "outside the prefix")
}

func TestRetainPrefixResumeFlagQuotesTheKey(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	for i := range 600 {
		k := fmt.Sprintf("it's a key/%04d", i)
		for range 3 {
			b.Put("bucket", k, []byte(k))
		}
	}
	b.FailDelete(b.VersionIDs("bucket", "it's a key/0599")[1], "AccessDenied", "Access Denied", 1)
	code, _, stderr := cli(t, withFake(b), "retain", "-bucket", "bucket", "-prefix", "it's", "-keep", "1")
	require.Equal(t, 1, code)
	assert.Contains(t, stderr, `resume with -start-after 'it'\''s a key/0499'`)
	out, err := exec.Command("bash", "-c", `printf %s -start-after 'it'\''s a key/0499'`).Output()
	require.NoError(t, err)
	assert.Equal(t, "-start-afterit's a key/0499", string(out), "a shell reads the flag back as the key")
}

func TestLifecycleRule(t *testing.T) {
	code, stdout, stderr := cli(t, nil, "lifecycle-rule", "-keep", "5", "-prefix", "logs/")
	require.Equal(t, 0, code, stderr)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &cfg))
	rule := cfg["Rules"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"NoncurrentDays": 1.0, "NewerNoncurrentVersions": 4.0}, rule["NoncurrentVersionExpiration"], "keep 5 = 4 noncurrent")
	assert.Equal(t, map[string]any{"Prefix": "logs/"}, rule["Filter"])
	assert.Equal(t, "Enabled", rule["Status"])

	code, stdout, _ = cli(t, nil, "lifecycle-rule", "-keep", "1", "-days", "7")
	require.Equal(t, 0, code)
	assert.NotContains(t, stdout, "NewerNoncurrentVersions", "keep 1: every noncurrent version goes")
	assert.Contains(t, stdout, `"NoncurrentDays": 7`)
	code, stdout, _ = cli(t, nil, "lifecycle-rule", "-keep", "101")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, `"NewerNoncurrentVersions": 100`)
}

// TestIntegrationLifecycleRuleWithTheAWSCLI runs the lifecycle block of docs/s3diff.md: the
// binary's JSON goes through the real AWS CLI (which checks it against the S3 API model)
// into a PutBucketLifecycleConfiguration request.
func TestIntegrationLifecycleRuleWithTheAWSCLI(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "s3diff"), ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	rec := testbed.NewRecorder(t, func(testbed.Request) testbed.Answer { return testbed.Answer{} })
	script := testbed.ShellBlock(t, "../../docs/s3diff.md", "<!-- test: lifecycle-rule")
	work := t.TempDir()
	stdout, stderr, err := rec.Run(t, "cd "+work+"\n"+script, "PATH="+bin+":"+os.Getenv("PATH"))
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)

	var put *testbed.Request
	for _, r := range rec.Requests() {
		if r.Method == "PUT" && r.Query.Has("lifecycle") {
			put = &r
		}
	}
	require.NotNil(t, put, "no PutBucketLifecycleConfiguration: %v", rec.Requests())
	var got struct {
		Rule []struct {
			ID     string
			Status string
			Filter struct{ Prefix string }
			NVE    struct {
				NoncurrentDays          int
				NewerNoncurrentVersions int
			} `xml:"NoncurrentVersionExpiration"`
			Expiration struct{ ExpiredObjectDeleteMarker bool }
		}
	}
	require.NoError(t, xml.Unmarshal([]byte(put.Body), &got), put.Body)
	require.Len(t, got.Rule, 1)
	r := got.Rule[0]
	assert.Equal(t, "shipshape-keep-10", r.ID)
	assert.Equal(t, "Enabled", r.Status)
	assert.Equal(t, "logs/", r.Filter.Prefix)
	assert.Equal(t, 9, r.NVE.NewerNoncurrentVersions)
	assert.Equal(t, 1, r.NVE.NoncurrentDays)
	assert.True(t, r.Expiration.ExpiredObjectDeleteMarker)
}

// TestIntegrationRetainPrefixOnVersity prunes 1,500 keys on the real local S3 server through
// the binary's real configuration path and checks the calls against the minimum the summary
// reports: ceil(V/1000) listings (see below for Versity's pages) and ceil(D/1000) deletions.
// (make bench does 10,000 keys.)
func TestIntegrationRetainPrefixOnVersity(t *testing.T) {
	testbed.S3(t).SetEnv(t)
	client := testbed.S3Client(t)
	ctx := context.Background()
	bucket := testbed.VersionedBucket(t, client, "cli-prefix")
	versions, deletions := 0, 0
	for i := range 1500 {
		n := 1 + i%3
		for range n {
			_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("p/%05d", i)), Body: bytes.NewReader([]byte("x"))})
			require.NoError(t, err)
		}
		versions += n
		deletions += n - 1
	}
	code, stdout, stderr := cli(t, fromEnvironment, "retain", "-path-style", "-bucket", bucket, "-prefix", "p/", "-keep", "1")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, deletions, strings.Count(stdout, "\n"))
	// Versity repeats the marker entry at the top of each next page, so its pages after the
	// first bring 999 new entries: the minimum on it is one page more than on S3 here.
	lists := 1 + (versions-1000+998)/999
	minimum := fmt.Sprintf("%d keys, %d versions listed, deleted %d, failed 0; %d list and %d delete calls",
		1500, versions, deletions, lists, (deletions+999)/1000)
	assert.Contains(t, stderr, minimum, "at the API-call minimum")

	out, err := client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String("p/")})
	require.NoError(t, err)
	assert.Len(t, out.Versions, 1000, "one version per key (a page of them)")
	assert.True(t, aws.ToBool(out.IsTruncated))
}

func TestChanges(t *testing.T) {
	clock := clocktest.New()
	b := s3difftest.New(func(o *s3difftest.Options) { o.Clock = clock })
	b.CreateBucket("bucket")
	b.Put("bucket", "cfg/app.yaml", []byte("replicas: 2\nimage: v1\n"))
	b.Put("bucket", "cfg/old.yaml", []byte("gone soon\n"))
	b.Put("bucket", "cfg/same.yaml", []byte("same\n"))
	clock.Advance(time.Hour)
	since := clock.Now().UTC().Format(time.RFC3339)
	clock.Advance(time.Hour)
	b.Put("bucket", "cfg/app.yaml", []byte("replicas: 3\nimage: v1\n"))
	b.Delete("bucket", "cfg/old.yaml")
	b.Put("bucket", "cfg/new.yaml", []byte("fresh\n"))

	code, stdout, stderr := cli(t, withFake(b), "changes", "-bucket", "bucket", "-prefix", "cfg/", "-since", since)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 3, stdout)
	assert.True(t, strings.HasPrefix(lines[0], "modified\tcfg/app.yaml\t1\t"))
	assert.True(t, strings.HasPrefix(lines[1], "added\tcfg/new.yaml\t1\t-\t"))
	assert.True(t, strings.HasPrefix(lines[2], "deleted\tcfg/old.yaml\t1\t"))
	assert.Contains(t, stderr, "1 added, 1 modified, 1 deleted")

	code, stdout, stderr = cli(t, withFake(b), "changes", "-bucket", "bucket", "-prefix", "cfg/", "-since", since, "-diff")
	require.Equal(t, 0, code, stderr)
	dir := t.TempDir()
	for k, v := range map[string]string{"cfg/app.yaml": "replicas: 2\nimage: v1\n", "cfg/old.yaml": "gone soon\n", "cfg/same.yaml": "same\n"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "cfg"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644))
	}
	apply := exec.Command("git", "apply", "-")
	apply.Dir, apply.Stdin = dir, strings.NewReader(stdout)
	out, err := apply.CombinedOutput()
	require.NoError(t, err, "%s\n%s", out, stdout)
	got, err := os.ReadFile(filepath.Join(dir, "cfg/app.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "replicas: 3\nimage: v1\n", string(got))
	_, err = os.Stat(filepath.Join(dir, "cfg/old.yaml"))
	assert.True(t, os.IsNotExist(err), "the deleted key is removed")
	got, err = os.ReadFile(filepath.Join(dir, "cfg/new.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "fresh\n", string(got))

	code, stdout, _ = cli(t, withFake(b), "changes", "-bucket", "bucket", "-prefix", "cfg/", "-since", since, "-json")
	require.Equal(t, 0, code)
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &list))
	assert.Len(t, list, 3)

	// A binary change is left out of the patch, said on stderr, and the exit code is 4.
	b.Put("bucket", "cfg/logo.png", []byte("\x89PNG\x00a"))
	b.Put("bucket", "cfg/logo.png", []byte("\x89PNG\x00b"))
	code, stdout, stderr = cli(t, withFake(b), "changes", "-bucket", "bucket", "-prefix", "cfg/", "-since", since, "-diff")
	assert.Equal(t, 4, code, stderr)
	assert.NotContains(t, stdout, "logo.png")
	assert.Contains(t, stderr, "cfg/logo.png: not diffed")

	code, _, _ = cli(t, withFake(b), "changes", "-bucket", "bucket", "-prefix", "cfg/", "-since", clock.Now().Add(time.Hour).Format(time.RFC3339))
	assert.Equal(t, 0, code, "nothing changed after the future")
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-11-24T09:00:00Z":      time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC),
		"2026-11-24T09:00:00+01:00": time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC),
		"2026-11-24":                time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
		"36h":                       now.Add(-36 * time.Hour),
		"7d":                        now.AddDate(0, 0, -7),
		" 90m ":                     now.Add(-90 * time.Minute),
	} {
		got, err := parseSince(in, now)
		require.NoError(t, err, in)
		assert.True(t, want.Equal(got), "%s: %s", in, got)
	}
	for _, bad := range []string{"", "yesterday", "-5h", "0d", "7 days", "2026-13-01", "0s"} {
		_, err := parseSince(bad, now)
		assert.Error(t, err, bad)
	}
}
