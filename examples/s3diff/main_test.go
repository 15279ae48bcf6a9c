package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

func withFake(b *s3difftest.Bucket) newS3 {
	return func(context.Context, bool) (s3diff.S3API, error) { return b, nil }
}

func cli(t *testing.T, mk newS3, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut, mk)
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	b := s3difftest.New()
	for _, args := range [][]string{
		nil, {"frobnicate"}, {"versions"}, {"diff", "-bucket", "b"}, {"retain", "-bucket", "b", "-key", "k"},
		{"retain", "-bucket", "b", "-key", "k", "-keep", "0"}, {"diff", "-bucket", "b", "-key", "k", "-format", "html"},
		{"versions", "-bucket", "b", "-key", "k", "extra"},
	} {
		code, stdout, stderr := cli(t, withFake(b), args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.Empty(t, stdout, "%v", args)
		assert.NotEmpty(t, stderr, "%v", args)
	}
	code, _, stderr := cli(t, withFake(b), "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "Exit codes")
}

func TestVersionsDiffRetain(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	old := "a\nb\nc\n"
	b.Put("bucket", "f.txt", []byte(old))
	v2 := b.Put("bucket", "f.txt", []byte("a\nB\nc\n"))
	b.Put("bucket", "f.txt.bak", []byte("x"))

	code, stdout, stderr := cli(t, withFake(b), "versions", "-bucket", "bucket", "-key", "f.txt", "-json")
	require.Equal(t, 0, code, stderr)
	var vs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &vs))
	require.Len(t, vs, 2)
	assert.Equal(t, v2, vs[0]["versionId"])
	for _, field := range []string{"versionId", "lastModified", "size", "etag", "isLatest", "deleteMarker"} {
		assert.Contains(t, vs[0], field)
	}

	code, stdout, stderr = cli(t, withFake(b), "diff", "-bucket", "bucket", "-key", "f.txt")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "a\nB\nc\n", patch(t, old, stdout), "stdout is only the diff")
	assert.Contains(t, stderr, "changed: +1 -1")

	code, stdout, _ = cli(t, withFake(b), "diff", "-bucket", "bucket", "-key", "f.txt", "-format", "word", "-context", "0")
	require.Equal(t, 0, code)
	assert.Equal(t, "@@ -2 +2 @@\n[-b-]{+B+}\n", stdout)

	code, stdout, _ = cli(t, withFake(b), "retain", "-bucket", "bucket", "-key", "f.txt", "-keep", "1", "-dry-run")
	require.Equal(t, 0, code)
	assert.Equal(t, 1, len(strings.Fields(stdout)))
	assert.Len(t, b.VersionIDs("bucket", "f.txt"), 2, "dry run")

	code, _, stderr = cli(t, withFake(b), "diff", "-bucket", "bucket", "-key", "missing")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no versions")
}

func patch(t *testing.T, old, diff string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "old")
	require.NoError(t, os.WriteFile(file, []byte(old), 0o600))
	cmd := exec.Command("patch", "--quiet", file)
	cmd.Stdin = strings.NewReader(diff)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return string(b)
}

// TestIntegrationCLIAgainstVersity runs the binary's real configuration path (standard AWS
// environment, -path-style) against the test bed's S3.
func TestIntegrationCLIAgainstVersity(t *testing.T) {
	testbed.S3(t).SetEnv(t)
	client := testbed.S3Client(t)
	ctx := context.Background()
	bucket := testbed.VersionedBucket(t, client, "cli")
	for _, body := range []string{"one\n", "one\ntwo\n", "one\ntwo\nthree\n"} {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a b+c.txt"), Body: strings.NewReader(body)})
		require.NoError(t, err)
	}

	code, stdout, stderr := cli(t, fromEnvironment, "diff", "-path-style", "-bucket", bucket, "-key", "a b+c.txt")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "one\ntwo\nthree\n", patch(t, "one\ntwo\n", stdout))

	code, stdout, stderr = cli(t, fromEnvironment, "retain", "-path-style", "-bucket", bucket, "-key", "a b+c.txt", "-keep", "1")
	require.Equal(t, 0, code, stderr)
	assert.Len(t, strings.Fields(stdout), 2)
	code, stdout, _ = cli(t, fromEnvironment, "versions", "-path-style", "-bucket", bucket, "-key", "a b+c.txt")
	require.Equal(t, 0, code)
	assert.Equal(t, 1, strings.Count(stdout, "\n"))
}

// noS3 fails the test if the CLI builds an S3 client.
func noS3(t *testing.T) newS3 {
	return func(context.Context, bool) (s3diff.S3API, error) {
		t.Error("two local files must not need S3")
		return nil, fmt.Errorf("no S3 here")
	}
}

func files(t *testing.T, contents ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, c := range contents {
		p := filepath.Join(dir, fmt.Sprintf("f%d.txt", i))
		require.NoError(t, os.WriteFile(p, []byte(c), 0o600))
		paths = append(paths, p)
	}
	return paths
}

func TestDiffLocalFiles(t *testing.T) {
	f := files(t, "a\nb\nc\n", "a\nB\nc\n", "a\nb\nc\n", "bin\x00ary\n", strings.Repeat("x", 100)+"\n")
	oldF, newF, sameF, binF, bigF := f[0], f[1], f[2], f[3], f[4]

	code, stdout, stderr := cli(t, noS3(t), "diff", "-from-file", oldF, "-to-file", newF)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "a\nB\nc\n", patch(t, "a\nb\nc\n", stdout))
	assert.True(t, strings.HasPrefix(stdout, "--- "+oldF+"\n+++ "+newF+"\n"), stdout)

	code, stdout, _ = cli(t, noS3(t), "diff", "-from-file", oldF, "-to-file", newF, "-format", "word", "-context", "0")
	require.Equal(t, 0, code)
	assert.Equal(t, "@@ -2 +2 @@\n[-b-]{+B+}\n", stdout)

	code, stdout, _ = cli(t, noS3(t), "diff", "-from-file", oldF, "-to-file", newF, "-format", "json")
	require.Equal(t, 0, code)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.Equal(t, newF, out["toFile"])
	assert.Equal(t, "changed", out["status"])

	code, stdout, stderr = cli(t, noS3(t), "diff", "-from-file", oldF, "-to-file", sameF)
	assert.Equal(t, 0, code, "no changes is success")
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "no changes")

	code, stdout, stderr = cli(t, noS3(t), "diff", "-from-file", oldF, "-to-file", bigF, "-max-bytes", "50")
	assert.Equal(t, 3, code, "too large to diff: its own exit code")
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "not diffed: a version is larger than -max-bytes 50")

	code, stdout, _ = cli(t, noS3(t), "diff", "-from-file", oldF, "-to-file", bigF, "-max-bytes", "101")
	assert.Equal(t, 0, code, "a file of exactly -max-bytes is diffed")
	assert.NotEmpty(t, stdout)

	code, stdout, stderr = cli(t, noS3(t), "diff", "-from-file", oldF, "-to-file", binF)
	assert.Equal(t, 4, code, "binary: its own exit code")
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "not diffed: the versions differ but at least one is binary")

	code, stdout, _ = cli(t, noS3(t), "diff", "-from-file", oldF, "-to-file", binF, "-format", "json")
	assert.Equal(t, 4, code)
	assert.Contains(t, stdout, `"status": "binary"`, "json still describes the result")

	code, _, stderr = cli(t, noS3(t), "diff", "-from-file", oldF, "-to-file", filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "missing")
}

func TestDiffVersionAgainstLocalFile(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	b.Put("bucket", "f.txt", []byte("one\n"))
	v2 := b.Put("bucket", "f.txt", []byte("one\ntwo\n"))
	f := files(t, "one\ntwo\nthree\n")

	code, stdout, stderr := cli(t, withFake(b), "diff", "-bucket", "bucket", "-key", "f.txt", "-to-file", f[0])
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(stdout, "--- a/f.txt\t"+v2+"\n+++ "+f[0]+"\n"), stdout)
	assert.Equal(t, "one\ntwo\nthree\n", patch(t, "one\ntwo\n", stdout))

	code, stdout, stderr = cli(t, withFake(b), "diff", "-bucket", "bucket", "-key", "f.txt", "-from-file", f[0])
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "one\ntwo\n", patch(t, "one\ntwo\nthree\n", stdout))
}

func TestDiffUsageErrors(t *testing.T) {
	f := files(t, "a\n")
	for _, args := range [][]string{
		{"diff", "-to-file", f[0]}, // one file needs the key
		{"diff", "-bucket", "b", "-key", "k", "-from", "v1", "-from-file", f[0]}, // one side named twice
		{"diff", "-bucket", "b", "-key", "k", "-to", "v1", "-to-file", f[0]},
		{"diff", "-from-file", f[0], "-to-file", f[0], "-max-bytes", "0"},
		{"diff", "-from-file", f[0], "-to-file", f[0], "-max-bytes", "4294967296"},
	} {
		code, stdout, stderr := cli(t, noS3(t), args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.Empty(t, stdout, "%v", args)
		assert.NotEmpty(t, stderr, "%v", args)
	}
	code, _, stderr := cli(t, noS3(t), "-h")
	assert.Equal(t, 0, code)
	for _, want := range []string{"-from-file", "-max-bytes", "3 not diffed", "4 not diffed"} {
		assert.Contains(t, stderr, want)
	}
}
