package main

// Benchmarks of `s3diff retain -prefix` behind docs/PERFORMANCE.md. Each run builds its data
// and one iteration takes seconds to minutes, so they run once each, on their own:
// `make bench` runs them as
//
//	S3DIFF_BENCH_SCALE=1 scripts/testbed run -- go test -run '^$' -bench RetainPrefix -benchtime 1x ./examples/s3diff/
//
// and skips them in its run of every other benchmark.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/shipshape-dev/shipshape/internal/benchproc"
	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// serveEnv makes this test binary a wire server of a generated bucket ("KEYS:MAXVERSIONS"):
// it prints the server's URL and serves until its stdin closes. The bucket lives in that
// process, so the memory measured for s3diff is s3diff's alone.
const serveEnv = "S3DIFF_BENCH_SERVE"

// scaleEnv=1 runs the benchmarks of this file (see above).
const scaleEnv = "S3DIFF_BENCH_SCALE"

func needScale(b *testing.B) {
	if os.Getenv(scaleEnv) != "1" {
		b.Skipf("set %s=1 and -benchtime 1x: each iteration builds its data (make bench does)", scaleEnv)
	}
}

func TestMain(m *testing.M) {
	benchproc.Main()
	if spec := os.Getenv(serveEnv); spec != "" {
		os.Exit(serveGenerated(spec))
	}
	os.Exit(m.Run())
}

const benchBucket, benchPrefix, benchKeep = "bench", "data/", 3

// workload gives key i its number of versions: 1 to maxVersions, spread evenly.
func workload(i, maxVersions int) int { return 1 + (i*7919)%maxVersions }

func benchKey(i int) string { return fmt.Sprintf("%s%07d", benchPrefix, i) }

// totals are the versions a workload holds and the deletions keep benchKeep makes.
func totals(keys, maxVersions int) (versions, deletions int) {
	for i := range keys {
		n := workload(i, maxVersions)
		versions += n
		deletions += max(0, n-benchKeep)
	}
	return versions, deletions
}

func serveGenerated(spec string) int {
	keysS, maxS, _ := strings.Cut(spec, ":")
	keys, err1 := strconv.Atoi(keysS)
	maxV, err2 := strconv.Atoi(maxS)
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "bad", serveEnv, spec)
		return 3
	}
	b := s3difftest.New()
	b.CreateBucket(benchBucket)
	body := []byte("version\n")
	for i := range keys {
		for range workload(i, maxV) {
			b.Put(benchBucket, benchKey(i), body)
		}
	}
	srv := s3difftest.NewWireServer(b)
	defer srv.Close()
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// fakeServer is a wire server of a generated bucket in a process of its own.
type fakeServer struct {
	URL  string
	cmd  *exec.Cmd
	stop io.Closer
}

func startFakeServer(b *testing.B, keys, maxVersions int) *fakeServer {
	b.Helper()
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d:%d", serveEnv, keys, maxVersions))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("the fake server did not start: %v", err)
	}
	return &fakeServer{URL: strings.TrimSpace(line), cmd: cmd, stop: stdin}
}

func (f *fakeServer) Close() {
	_ = f.stop.Close()
	_ = f.cmd.Wait()
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// s3diffBinary builds the s3diff command once for the benchmarks.
func s3diffBinary(b *testing.B) string {
	b.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "s3diff-bench")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "s3diff")
		out, err := exec.Command("go", "build", "-trimpath", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return binPath
}

var summary = regexp.MustCompile(`(\d+) keys, (\d+) versions listed, (?:deleted|would delete) (\d+), failed (\d+); (\d+) list and (\d+) delete calls`)

// onePass runs `s3diff retain -prefix` against endpoint as its own process and reports its
// figures against the minimum.
func onePass(b *testing.B, endpoint, bucket string, env []string, keys, versions, deletions int, dryRun bool) {
	b.Helper()
	args := []string{s3diffBinary(b), "retain", "-path-style", "-bucket", bucket, "-prefix", benchPrefix, "-keep", strconv.Itoa(benchKeep)}
	if dryRun {
		args = append(args, "-dry-run")
		deletions = 0
	}
	env = append(env, "AWS_ENDPOINT_URL_S3="+endpoint, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PROFILE=")
	res, err := benchproc.Run(env, args...)
	if err != nil {
		b.Fatal(err)
	}
	m := summary.FindStringSubmatch(res.Stderr)
	if res.ExitCode != 0 || m == nil {
		b.Fatalf("exit %d:\n%s", res.ExitCode, tail(res.Stderr))
	}
	n := func(i int) float64 { v, _ := strconv.Atoi(m[i]); return float64(v) }
	if int(n(1)) != keys || int(n(2)) != versions {
		b.Fatalf("listed %v keys and %v versions, want %d and %d", n(1), n(2), keys, versions)
	}
	b.ReportMetric(n(5), "list-calls")
	b.ReportMetric(float64((versions+999)/1000), "list-minimum")
	b.ReportMetric(n(6), "delete-calls")
	b.ReportMetric(float64((deletions+999)/1000), "delete-minimum")
	b.ReportMetric(res.PeakRSSMiB(), "peak-RSS-MiB")
	b.ReportMetric(float64(keys)/res.Elapsed.Seconds(), "keys/s")
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

// counting counts the S3 calls of a client.
type counting struct {
	s3diff.S3API
	lists, deletes atomic.Int64
}

func (c *counting) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	c.lists.Add(1)
	return c.S3API.ListObjectVersions(ctx, in, optFns...)
}

func (c *counting) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	c.deletes.Add(1)
	return c.S3API.DeleteObjects(ctx, in, optFns...)
}

// keyAtATime plans and prunes the same keys one Retain at a time, as the Lambda function
// does per upload event, four keys in flight (the one pass's delete concurrency).
func keyAtATime(b *testing.B, api s3diff.S3API, bucket string, keys int, dryRun bool) {
	b.Helper()
	cnt := &counting{S3API: api}
	c, err := s3diff.New(cnt)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var g errgroup.Group
	g.SetLimit(4)
	for i := range keys {
		g.Go(func() error {
			_, err := c.Retain(context.Background(), bucket, benchKey(i), benchKeep, func(o *s3diff.RetainOptions) { o.DryRun = dryRun })
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cnt.lists.Load()), "list-calls")
	b.ReportMetric(float64(cnt.deletes.Load()), "delete-calls")
	b.ReportMetric(float64(keys)/time.Since(start).Seconds(), "keys/s")
}

func sdkClient(endpoint, access, secret string) *s3.Client {
	return s3.New(s3.Options{BaseEndpoint: aws.String(endpoint), Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, "")})
}

// BenchmarkRetainPrefixOnTheFake: keep 3 of 1 to 20 versions per key, 10,000 and 100,000
// keys, against the in-memory S3 served over HTTP by another process. "one-pass" is the
// s3diff binary (`retain -prefix`) as a process of its own (its peak RSS is its own);
// "key-at-a-time" is one Retain per key through the real SDK client, for the ratio.
func BenchmarkRetainPrefixOnTheFake(b *testing.B) {
	needScale(b)
	const maxVersions = 20
	env := []string{"AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench", "AWS_REGION=us-east-1"}
	for _, keys := range []int{10_000, 100_000} {
		versions, deletions := totals(keys, maxVersions)
		b.Run(fmt.Sprintf("keys=%d/one-pass", keys), func(b *testing.B) {
			s3diffBinary(b) // built before the clock runs
			for range b.N {
				b.StopTimer()
				srv := startFakeServer(b, keys, maxVersions)
				b.StartTimer()
				onePass(b, srv.URL, benchBucket, env, keys, versions, deletions, false)
				b.StopTimer()
				srv.Close()
			}
		})
		b.Run(fmt.Sprintf("keys=%d/key-at-a-time", keys), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				srv := startFakeServer(b, keys, maxVersions)
				b.StartTimer()
				keyAtATime(b, sdkClient(srv.URL, "AKIDBENCH", "bench"), benchBucket, keys, false)
				b.StopTimer()
				srv.Close()
			}
		})
	}
}

// BenchmarkRetainPrefixOnVersity: 10,000 keys of 1 to 5 versions on the test bed's Versity S3
// Gateway (filling it takes about a minute: Versity stores about 500 versions a second here).
// The dry runs compare the one pass and one Retain per key on the same keys; the last run
// prunes for real.
func BenchmarkRetainPrefixOnVersity(b *testing.B) {
	needScale(b)
	const keys, maxVersions = 10_000, 5
	ep := testbed.S3(b)
	client := sdkClient(ep.URL, ep.AccessKey, ep.SecretKey)
	ctx := context.Background()
	bucket := testbed.VersionedBucket(b, client, "bench-prefix")
	var g errgroup.Group
	g.SetLimit(8)
	for i := range keys {
		g.Go(func() error {
			for range workload(i, maxVersions) {
				if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(benchKey(i)), Body: bytes.NewReader([]byte("version\n"))}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	versions, deletions := totals(keys, maxVersions)
	s3diffBinary(b)
	env := []string{"AWS_ACCESS_KEY_ID=" + ep.AccessKey, "AWS_SECRET_ACCESS_KEY=" + ep.SecretKey, "AWS_REGION=" + ep.Region}
	b.ResetTimer()
	b.Run("keys=10000/one-pass-dry-run", func(b *testing.B) {
		for range b.N {
			onePass(b, ep.URL, bucket, env, keys, versions, deletions, true)
		}
	})
	b.Run("keys=10000/key-at-a-time-dry-run", func(b *testing.B) {
		for range b.N {
			keyAtATime(b, client, bucket, keys, true)
		}
	})
	b.Run("keys=10000/one-pass", func(b *testing.B) {
		if b.N > 1 {
			b.Fatal("run with -benchtime 1x: the first run prunes, a second would find nothing to delete")
		}
		onePass(b, ep.URL, bucket, env, keys, versions, deletions, false)
	})
}
