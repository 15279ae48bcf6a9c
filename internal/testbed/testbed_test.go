package testbed_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// The smoke tests prove each real server of the test bed works before any package relies on it.

func TestIntegrationS3Smoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := testbed.S3Client(t)
	bucket := fmt.Sprintf("smoke-%d", time.Now().UnixNano())

	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	_, err = client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	require.NoError(t, err)

	var ids []string
	for _, body := range []string{"first\n", "second\n"} {
		out, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("notes.txt"), Body: strings.NewReader(body),
		})
		require.NoError(t, err)
		require.NotEmpty(t, aws.ToString(out.VersionId), "a versioned bucket must return a version id")
		ids = append(ids, aws.ToString(out.VersionId))
	}

	list, err := client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	require.Len(t, list.Versions, 2)
	// Newest first: the second upload is the latest.
	require.Equal(t, ids[1], aws.ToString(list.Versions[0].VersionId))
	require.True(t, aws.ToBool(list.Versions[0].IsLatest))
	require.Equal(t, ids[0], aws.ToString(list.Versions[1].VersionId))

	old, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("notes.txt"), VersionId: aws.String(ids[0])})
	require.NoError(t, err)
	defer old.Body.Close()
	b, err := io.ReadAll(old.Body)
	require.NoError(t, err)
	require.Equal(t, "first\n", string(b))
}

func TestIntegrationIMDSSmoke(t *testing.T) {
	mock := testbed.IMDSMock(t)
	client := &http.Client{Timeout: 5 * time.Second}

	// IMDSv2 only: a request without a token is refused.
	resp, err := client.Get(mock.URL + "/latest/meta-data/instance-id")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	req, err := http.NewRequest(http.MethodPut, mock.URL+"/latest/api/token", nil)
	require.NoError(t, err)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err = client.Do(req)
	require.NoError(t, err)
	token, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, token)

	req, err = http.NewRequest(http.MethodGet, mock.URL+"/latest/meta-data/instance-id", nil)
	require.NoError(t, err)
	req.Header.Set("X-aws-ec2-metadata-token", string(token))
	resp, err = client.Do(req)
	require.NoError(t, err)
	id, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, bytes.HasPrefix(id, []byte("i-")), "instance id %q", id)
}

func TestIntegrationPostgresSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testbed.PostgresDSN(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var version string
	require.NoError(t, conn.QueryRow(ctx, "select version()").Scan(&version))
	require.Contains(t, version, "PostgreSQL 15")
}

// TestIntegrationScriptUpStopsOnSIGTERM: `scripts/testbed up` stops its servers and exits promptly on
// SIGTERM (it used to wait for its hour-long sleep to end first), and --only starts only
// what is asked.
func TestIntegrationScriptUpStopsOnSIGTERM(t *testing.T) {
	testbed.IMDSMock(t) // the tools are installed: this runs under the test bed
	cmd := exec.Command("../../scripts/testbed", "up", "--only", "imds")
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	var stdout lockedBuffer // written by exec's copying goroutine while the test reads it
	cmd.Stdout = &stdout
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	sc := bufio.NewScanner(stderr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.Contains(sc.Text(), "endpoints written") {
			break
		}
	}
	require.Contains(t, strings.Join(lines, "\n"), "IMDS (amazon-ec2-metadata-mock")
	require.NotContains(t, strings.Join(lines, "\n"), "PostgreSQL", "--only imds starts no PostgreSQL")
	require.NotContains(t, strings.Join(lines, "\n"), "Versity", "--only imds starts no S3")
	endpoint := ""
	for _, l := range strings.Split(stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(l, "export SHIPSHAPE_IMDS_ENDPOINT="); ok {
			endpoint = v
		}
	}
	require.NotEmpty(t, endpoint, "stdout: %s", stdout.String())

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { _, _ = io.Copy(io.Discard, stderr); done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("scripts/testbed up did not stop within 30 s of SIGTERM")
	}
	_, err = http.Get(endpoint + "/latest/api/token")
	require.Error(t, err, "the metadata mock must be stopped with the script")

	out, err := exec.Command("../../scripts/testbed", "up", "--only", "s3,redis").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "unknown server 'redis'")
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader at a time.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
