package s3diff_test

// Benchmarks behind docs/PERFORMANCE.md (`make bench`, or
// `scripts/testbed run -- go test -run '^$' -bench . -benchmem ./s3diff/`).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shipshape-dev/shipshape/internal/benchproc"
	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// helperEnv makes this test binary diff two files (old and new, ':'-separated) and exit.
const helperEnv = "S3DIFF_BENCH_DIFF_FILES"

// TestMain lets the benchmark re-run this test binary as a plain "diff two files" process,
// and as benchproc's launcher, which measures a child's peak RSS.
func TestMain(m *testing.M) {
	benchproc.Main()
	if files := os.Getenv(helperEnv); files != "" {
		if err := diffFiles(filepath.SplitList(files)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fileS3 serves two files as two versions of one key, streaming bodies from disk as an
// S3 client streams them from the network.
type fileS3 struct{ files []string }

func (f fileS3) ListObjectVersions(_ context.Context, in *s3.ListObjectVersionsInput, _ ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	out := &s3.ListObjectVersionsOutput{IsTruncated: aws.Bool(false)}
	for i := len(f.files) - 1; i >= 0; i-- {
		st, err := os.Stat(f.files[i])
		if err != nil {
			return nil, err
		}
		out.Versions = append(out.Versions, types.ObjectVersion{Key: in.Prefix, VersionId: aws.String(strconv.Itoa(i)),
			Size: aws.Int64(st.Size()), IsLatest: aws.Bool(i == len(f.files)-1), LastModified: aws.Time(st.ModTime())})
	}
	return out, nil
}

func (f fileS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	i, err := strconv.Atoi(aws.ToString(in.VersionId))
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(f.files[i])
	if err != nil {
		return nil, err
	}
	return &s3.GetObjectOutput{Body: fh}, nil
}

func (fileS3) DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	return nil, fmt.Errorf("not supported")
}

// diffFiles diffs two files as the Lambda would: list, download both, Diff, Unified.
func diffFiles(files []string) error {
	c, err := s3diff.New(fileS3{files}, func(o *s3diff.Options) { o.MaxObjectBytes = 64 << 20 })
	if err != nil {
		return err
	}
	r, err := c.Diff(context.Background(), "bench", "big.txt")
	if err != nil {
		return err
	}
	if r.Status != s3diff.StatusChanged {
		return fmt.Errorf("status %s", r.Status)
	}
	_, err = io.WriteString(io.Discard, r.Unified())
	return err
}

// launch runs command as a process of its own and returns its peak RSS in MiB.
func launch(b *testing.B, env []string, command ...string) float64 {
	res, err := benchproc.Run(env, command...)
	if err != nil {
		b.Fatal(err)
	}
	if res.ExitCode > 1 { // diff exits 1 when the files differ
		b.Fatalf("%v: exit %d: %s", command, res.ExitCode, res.Stderr)
	}
	return res.PeakRSSMiB()
}

var (
	inputOnce          sync.Once
	oldText, newText   string
	oldPath, newPath   string
	changedLines, nLin int
)

// bigInputs returns two ~10 MB texts with 1% of the lines changed (deterministic).
func bigInputs(b *testing.B) (string, string, string, string) {
	inputOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}
		line := func(i int) string {
			var sb bytes.Buffer
			fmt.Fprintf(&sb, "%07d", i)
			for range 8 {
				sb.WriteString(" " + words[rng.IntN(len(words))])
			}
			sb.WriteByte('\n')
			return sb.String()
		}
		var o, n bytes.Buffer
		for i := 0; o.Len() < 10<<20; i++ {
			l := line(i)
			o.WriteString(l)
			if rng.IntN(100) == 0 {
				n.WriteString(line(i))
				changedLines++
			} else {
				n.WriteString(l)
			}
			nLin++
		}
		oldText, newText = o.String(), n.String()
		dir, err := os.MkdirTemp("", "s3diff-bench")
		if err != nil {
			panic(err)
		}
		oldPath, newPath = filepath.Join(dir, "old.txt"), filepath.Join(dir, "new.txt")
		if err := os.WriteFile(oldPath, o.Bytes(), 0o600); err != nil {
			panic(err)
		}
		if err := os.WriteFile(newPath, n.Bytes(), 0o600); err != nil {
			panic(err)
		}
	})
	return oldText, newText, oldPath, newPath
}

// BenchmarkDiff10MB: two ~10 MB versions, 1% of lines changed. "shipshape" is the diff
// in-process (through the in-memory bucket, as the Lambda does it), "word-diff" the same
// with WordDiff; the "process" runs are whole processes (this test binary re-run as a
// differ, and GNU diff -u) for wall time and peak RSS side by side. The comparison with GNU
// diff across sizes and change ratios, through the CLI, is bench/s3diff (make bench).
func BenchmarkDiff10MB(b *testing.B) {
	oldT, newT, oldP, newP := bigInputs(b)
	b.Logf("inputs: %d and %d bytes, %d lines, %d changed", len(oldT), len(newT), nLin, changedLines)

	b.Run("shipshape", func(b *testing.B) {
		bucket := s3difftest.New()
		bucket.CreateBucket("bench")
		bucket.Put("bench", "big.txt", []byte(oldT))
		bucket.Put("bench", "big.txt", []byte(newT))
		c := newClient(b, bucket, func(o *s3diff.Options) { o.MaxObjectBytes = 64 << 20 })
		b.SetBytes(int64(len(oldT) + len(newT)))
		for b.Loop() {
			r, err := c.Diff(context.Background(), "bench", "big.txt")
			if err != nil {
				b.Fatal(err)
			}
			if r.Approximate || r.LinesAdded != changedLines {
				b.Fatalf("approximate=%v added=%d want %d", r.Approximate, r.LinesAdded, changedLines)
			}
			_ = r.Unified()
		}
	})
	b.Run("word-diff", func(b *testing.B) {
		bucket := s3difftest.New()
		bucket.CreateBucket("bench")
		bucket.Put("bench", "big.txt", []byte(oldT))
		bucket.Put("bench", "big.txt", []byte(newT))
		c := newClient(b, bucket)
		b.SetBytes(int64(len(oldT) + len(newT)))
		for b.Loop() {
			r, err := c.Diff(context.Background(), "bench", "big.txt")
			if err != nil {
				b.Fatal(err)
			}
			if err := r.WriteWordDiff(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("shipshape-process", func(b *testing.B) {
		var rss float64
		for b.Loop() {
			rss = launch(b, []string{helperEnv + "=" + oldP + string(filepath.ListSeparator) + newP}, os.Args[0], "-test.run=^$")
		}
		b.ReportMetric(rss, "peak-RSS-MiB")
		b.ReportMetric(rss*(1<<20)/float64(len(oldT)+len(newT)), "peak-RSS/input")
	})
	b.Run("gnu-diff-process", func(b *testing.B) {
		if _, err := exec.LookPath("diff"); err != nil {
			b.Fatal("GNU diff is needed: apt-get install diffutils")
		}
		var rss float64
		for b.Loop() {
			rss = launch(b, nil, "diff", "-u", oldP, newP)
		}
		b.ReportMetric(rss, "peak-RSS-MiB")
		b.ReportMetric(rss*(1<<20)/float64(len(oldT)+len(newT)), "peak-RSS/input")
	})
}

// countingTransport counts HTTP requests by method.
type countingTransport struct {
	mu    sync.Mutex
	n     map[string]int
	inner http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	op := r.Method
	if r.Method == http.MethodGet && r.URL.Query().Has("versions") {
		op = "ListObjectVersions"
	} else if r.Method == http.MethodPost && r.URL.Query().Has("delete") {
		op = "DeleteObjects"
	}
	c.n[op]++
	c.mu.Unlock()
	return c.inner.RoundTrip(r)
}

// BenchmarkRetain10000Versions: retention (keep 10) of a key with 10,000 versions on Versity
// S3 Gateway, counting HTTP requests. Target: ceil(10000/1000) = 10 list pages and
// ceil(9990/1000) = 10 DeleteObjects calls.
func BenchmarkRetain10000Versions(b *testing.B) {
	ep := testbed.S3(b)
	counter := &countingTransport{n: map[string]int{}, inner: http.DefaultTransport}
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(ep.URL), Region: ep.Region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, ""),
		HTTPClient:  &http.Client{Transport: counter},
	})
	ctx := context.Background()
	var lists, deletes, deleted int
	for b.Loop() {
		b.StopTimer()
		bucket := testbed.VersionedBucket(b, client, "retain-bench")
		putMany(b, client, bucket, "hot.txt", 10000)
		counter.mu.Lock()
		counter.n = map[string]int{}
		counter.mu.Unlock()
		b.StartTimer()

		res, err := newClient(b, client).Retain(ctx, bucket, "hot.txt", 10)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		counter.mu.Lock()
		lists, deletes, deleted = counter.n["ListObjectVersions"], counter.n["DeleteObjects"], len(res.Deleted)
		counter.mu.Unlock()
		b.StartTimer()
	}
	b.ReportMetric(float64(lists), "list-requests")
	b.ReportMetric(float64(deletes), "delete-requests")
	b.ReportMetric(float64(deleted), "versions-deleted")
}

// putMany uploads n versions of key with 8 workers.
func putMany(b *testing.B, client *s3.Client, bucket, key string, n int) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
					Body: bytes.NewReader([]byte(strconv.Itoa(i)))}); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// BenchmarkRetain10000VersionsFake: the same retention on the in-memory fake, which ends a
// listing exactly as S3 documents it (IsTruncated false on the last page).
func BenchmarkRetain10000VersionsFake(b *testing.B) {
	var lists, deletes int
	for b.Loop() {
		b.StopTimer()
		bucket := s3difftest.New()
		bucket.CreateBucket("bench")
		for i := range 10000 {
			bucket.Put("bench", "hot.txt", []byte(strconv.Itoa(i)))
		}
		b.StartTimer()
		if _, err := newClient(b, bucket).Retain(context.Background(), "bench", "hot.txt", 10); err != nil {
			b.Fatal(err)
		}
		lists, deletes = bucket.Calls(s3difftest.OpListObjectVersions), bucket.Calls(s3difftest.OpDeleteObjects)
	}
	b.ReportMetric(float64(lists), "list-requests")
	b.ReportMetric(float64(deletes), "delete-requests")
}

// BenchmarkRetainPrefixByKeys: RetainPrefix over 1,000 to 1,000,000 keys of 3 versions each
// (keep 1: two deletions a key) in the in-memory fake, for docs/img/retain-prefix-calls.png: the
// calls it makes against the minimum S3 allows (ceil(V/1000) listings and ceil(D/1000)
// deletions) and the time.
func BenchmarkRetainPrefixByKeys(b *testing.B) {
	for _, keys := range []int{1_000, 10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			var res *s3diff.PrefixRetainResult
			for range b.N {
				b.StopTimer()
				fake := s3difftest.New()
				fake.CreateBucket("bucket")
				for i := range keys {
					k := fmt.Sprintf("logs/%07d", i)
					for range 3 {
						fake.Put("bucket", k, []byte("v"))
					}
				}
				c, err := s3diff.New(fake)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if res, err = c.RetainPrefix(context.Background(), "bucket", "logs/", 1); err != nil || !res.Complete {
					b.Fatal(res, err)
				}
			}
			versions, deletions := 3*keys, 2*keys
			b.ReportMetric(float64(res.ListPages), "list-calls")
			b.ReportMetric(float64((versions+999)/1000), "list-minimum")
			b.ReportMetric(float64(res.DeleteCalls), "delete-calls")
			b.ReportMetric(float64((deletions+999)/1000), "delete-minimum")
		})
	}
}
