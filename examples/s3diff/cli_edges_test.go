package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// TestRetainPrefixUsageTypos: a mistyped or missing argument is a usage error (exit 2)
// with no S3 call, never a run with defaults.
func TestRetainPrefixUsageTypos(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	for range 3 {
		b.Put("bucket", "logs/a", []byte("x"))
	}
	for _, args := range [][]string{
		{"retain", "-bucket", "bucket", "-prefx", "logs/", "-keep", "1"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "0"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "-1"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1.5"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "2x"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-concurrency", "0"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-concurrency", "65"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-concurrency", "-4"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-start-after", "other/x"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-start-after", "logs"},
		{"retain", "-bucket", "bucket", "-key", "logs/a", "-keep", "1", "-start-after", "logs/0"},
		{"retain", "-bucket", "bucket", "-key", "logs/a", "-keep", "1", "-concurrency", "4"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-key", "logs/a", "-keep", "1"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "extra"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-dry-run", "true"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-dry-run=flase"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-Dry-run"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-dryrun"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-bucket"},
		{"retain", "-prefix", "logs/", "-keep", "1"},
		{"retain", "-bucket", "", "-prefix", "logs/", "-keep", "1"},
		{"retain", "-bucket", "bucket", "-keep", "1", "-prefix"},
		{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1", "-days", "3"},
	} {
		code, stdout, stderr := cli(t, withFake(b), args...)
		assert.Equal(t, 2, code, "%q: %s", args, stderr)
		assert.Empty(t, stdout, "%q", args)
		assert.Zero(t, b.Total(), "%q: no S3 call", args)
	}
	assert.Len(t, b.VersionIDs("bucket", "logs/a"), 3)
}

// TestLifecycleRuleUsageTypos: likewise for lifecycle-rule.
func TestLifecycleRuleUsageTypos(t *testing.T) {
	for _, args := range [][]string{
		{"lifecycle-rule"},
		{"lifecycle-rule", "-keep", "0"},
		{"lifecycle-rule", "-keep", "102"},
		{"lifecycle-rule", "-keep", "-5"},
		{"lifecycle-rule", "-keep", "5", "-days", "0"},
		{"lifecycle-rule", "-keep", "5", "-days", "-1"},
		{"lifecycle-rule", "-keep", "5", "extra"},
		{"lifecycle-rule", "-Keep", "5"},
		{"lifecycle-rule", "-keep", "5", "-bucket", "b"},
		{"lifecycle-rule", "-keep", "5", "-prefix"},
		{"lifecycle-rule", "-keep", "5", "-dry-run"},
		{"lifecycle-rule", "-keep", ""},
	} {
		code, stdout, stderr := cli(t, nil, args...)
		assert.Equal(t, 2, code, "%q: %s", args, stderr)
		assert.Empty(t, stdout, "%q", args)
	}
}

// cancelAfterLastPage is the operator pressing Ctrl-C right after the last listing page
// came back.
type cancelAfterLastPage struct {
	*s3difftest.Bucket
	cancel context.CancelFunc
}

func (c *cancelAfterLastPage) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	out, err := c.Bucket.ListObjectVersions(ctx, in, optFns...)
	if err == nil && !aws.ToBool(out.IsTruncated) {
		c.cancel()
	}
	return out, err
}

// TestRetainPrefixCtrlCAfterTheListing: Ctrl-C after the whole prefix is listed but
// before the last deletions are sent: the command exits 1 with where to resume (or "run the
// same command again"); it does not crash.
func TestRetainPrefixCtrlCAfterTheListing(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	for i := range 20 {
		for range 3 {
			b.Put("bucket", fmt.Sprintf("logs/%02d", i), []byte("x"))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api := &cancelAfterLastPage{Bucket: b, cancel: cancel}
	var stdout, stderr bytes.Buffer
	var code int
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("s3diff retain -prefix crashed on Ctrl-C: %v", r)
				code = -1
			}
		}()
		code = run(ctx, []string{"retain", "-bucket", "bucket", "-prefix", "logs/", "-keep", "1"}, &stdout, &stderr,
			func(context.Context, bool) (s3diff.S3API, error) { return api, nil })
	}()
	if code == -1 {
		return
	}
	assert.Equal(t, 1, code, stderr.String())
	assert.Contains(t, stderr.String(), "canceled")
	assert.True(t, strings.Contains(stderr.String(), "resume with -start-after") || strings.Contains(stderr.String(), "run the same command again"), stderr.String())
}

// TestRetainPrefixResumeLoop: a run that fails somewhere, again and again, at random
// batches; following the printed resume flag each time ends with every key pruned and never
// deletes a kept version.
func TestRetainPrefixResumeLoop(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	newest := map[string]string{}
	for i := range 700 {
		k := fmt.Sprintf("r/%04d", i)
		for range 4 {
			newest[k] = b.Put("bucket", k, []byte(k))
		}
	}
	startAfter := ""
	for round := 0; round < 10; round++ {
		// Every round, one version somewhere after the resume point is refused once.
		victim := fmt.Sprintf("r/%04d", 100+round*70)
		if ids := b.VersionIDs("bucket", victim); len(ids) > 1 {
			b.FailDelete(ids[len(ids)-1], "AccessDenied", "Access Denied", 1)
		}
		args := []string{"retain", "-bucket", "bucket", "-prefix", "r/", "-keep", "1", "-concurrency", []string{"1", "3"}[round%2]}
		if startAfter != "" {
			args = append(args, "-start-after", startAfter)
		}
		code, _, stderr := cli(t, withFake(b), args...)
		if code == 0 {
			break
		}
		require.Equal(t, 1, code, stderr)
		m := resumeFlag.FindStringSubmatch(stderr)
		if m == nil {
			require.Contains(t, stderr, "run the same command again")
			continue
		}
		for k := range newest {
			if k <= m[1] && k > startAfter {
				assert.Equal(t, []string{newest[k]}, b.VersionIDs("bucket", k), "round %d: %s is before the resume point %s", round, k, m[1])
			}
		}
		startAfter = m[1]
	}
	code, _, stderr := cli(t, withFake(b), "retain", "-bucket", "bucket", "-prefix", "r/", "-keep", "1")
	require.Equal(t, 0, code, stderr)
	for k, id := range newest {
		assert.Equal(t, []string{id}, b.VersionIDs("bucket", k), k)
	}
}

// TestRetainPrefixOutputLines: stdout is one line per deleted version, "key<TAB>version
// id", whatever the key holds.
func TestRetainPrefixOutputLines(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	keys := []string{"o/plain", "o/with space", "o/tab\there", "o/new\nline", "o/ü", "o/back\\slash"}
	for _, k := range keys {
		b.Put("bucket", k, []byte("1"))
		b.Put("bucket", k, []byte("2"))
	}
	code, stdout, stderr := cli(t, withFake(b), "retain", "-bucket", "bucket", "-prefix", "o/", "-keep", "1")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	assert.Len(t, lines, len(keys), "one line per deleted version:\n%s", stdout)
	var got []string
	for _, l := range lines {
		assert.Equal(t, 1, strings.Count(l, "\t"), "one tab per line: %q", l)
		k, _, _ := strings.Cut(l, "\t")
		if strings.HasPrefix(k, `"`) { // a key with a control character comes Go-quoted
			var err error
			k, err = strconv.Unquote(k)
			require.NoError(t, err, l)
		}
		got = append(got, k)
	}
	assert.ElementsMatch(t, keys, got, "every key reads back exactly")
}

// TestRetainPrefixDryRunAndExitCodes: a dry run deletes nothing, exits 0 and says
// "would delete"; a bucket that does not exist exits 1.
func TestRetainPrefixDryRunAndExitCodes(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	for range 3 {
		b.Put("bucket", "d/a", []byte("x"))
	}
	code, stdout, stderr := cli(t, withFake(b), "retain", "-bucket", "bucket", "-prefix", "d/", "-keep", "1", "-dry-run")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 2, strings.Count(stdout, "\n"))
	assert.Contains(t, stderr, "would delete 2")
	assert.Zero(t, b.Calls(s3difftest.OpDeleteObjects))
	code, _, stderr = cli(t, withFake(b), "retain", "-bucket", "nope", "-prefix", "d/", "-keep", "1")
	assert.Equal(t, 1, code, stderr)
	assert.NotContains(t, stderr, "resume with", "nothing was done: no resume point to follow")
	// A prefix with nothing under it is done: exit 0.
	code, _, stderr = cli(t, withFake(b), "retain", "-bucket", "bucket", "-prefix", "none/", "-keep", "1")
	assert.Equal(t, 0, code, stderr)
}

// TestIntegrationLifecycleJSONWithTheAWSCLI: every rule the binary prints passes the
// AWS CLI's own validation of put-bucket-lifecycle-configuration (the CLI fails on the
// connection afterwards, never on the parameters).
func TestIntegrationLifecycleJSONWithTheAWSCLI(t *testing.T) {
	aws := testbed.AWSCLI(t)
	dir := t.TempDir()
	for i, args := range [][]string{
		{"-keep", "1"},
		{"-keep", "2", "-prefix", ""},
		{"-keep", "101", "-days", "36500"},
		{"-keep", "10", "-prefix", "logs/ü \"quoted\" \\ \t"},
		{"-keep", "3", "-id", "my \"rule\" <&>"},
		{"-keep", "3", "-id", strings.Repeat("x", 255)},
		{"-keep", "3", "-prefix", strings.Repeat("p", 1024)},
	} {
		code, stdout, stderr := cli(t, nil, append([]string{"lifecycle-rule"}, args...)...)
		require.Equal(t, 0, code, "%q: %s", args, stderr)
		var cfg s3diff.LifecycleConfiguration
		require.NoError(t, json.Unmarshal([]byte(stdout), &cfg), "%q", args)
		file := filepath.Join(dir, fmt.Sprintf("rule%d.json", i))
		require.NoError(t, os.WriteFile(file, []byte(stdout), 0o600))
		cmd := exec.Command(aws, "s3api", "put-bucket-lifecycle-configuration", "--bucket", "b",
			"--lifecycle-configuration", "file://"+file, "--endpoint-url", "http://127.0.0.1:1")
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard")
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "%q: the endpoint is unreachable", args)
		assert.NotContains(t, string(out), "Parameter validation failed", "%q:\n%s", args, out)
		assert.NotContains(t, string(out), "Invalid JSON", "%q:\n%s", args, out)
		assert.Contains(t, string(out), "Could not connect to the endpoint URL", "%q:\n%s", args, out)
	}
}
