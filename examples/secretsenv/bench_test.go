package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// BenchmarkExecOverhead: `secretsenv exec -- /bin/true` with 5 secrets from a local server
// (the wire server, same process) next to `/bin/true` alone, in one run. The binary is the
// layer build (-tags lean, stripped). Reports the median wall time of each and the binary's
// size. Target: under 10 ms median added.
func BenchmarkExecOverhead(b *testing.B) {
	fake := secretsenvtest.NewSecretsManager()
	args := []string{"exec"}
	for i := range 5 {
		name := fmt.Sprintf("bench/s%d", i)
		fake.PutString(name, fmt.Sprintf(`{"VAR_%d_A": "value %d", "VAR_%d_B": 12345}`, i, i, i))
		args = append(args, "-secret", name)
	}
	args = append(args, "--", "/bin/true")
	srv := secretsenvtest.NewWireServer(fake)
	defer srv.Close()
	env := []string{"PATH=" + os.Getenv("PATH"), "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDBENCH",
		"AWS_SECRET_ACCESS_KEY=bench", "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + srv.URL}

	median := func(b *testing.B, run func() error) {
		var times []time.Duration
		for b.Loop() {
			start := time.Now()
			if err := run(); err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
	}
	b.Run("bin-true", func(b *testing.B) {
		median(b, func() error { return exec.Command("/bin/true").Run() })
	})
	b.Run("secretsenv-exec-5-secrets", func(b *testing.B) {
		median(b, func() error {
			cmd := exec.Command(builtBinary, args...)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("%w: %s", err, out)
			}
			return nil
		})
		st, err := os.Stat(builtBinary)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Size()), "binary-bytes")
	})
}

// BenchmarkColdStart: the layer binary's start-up (`secretsenv -h`, which initialises every
// package it links and exits) next to a Go hello world built the same way, interleaved in
// one run, so that machine load hits both alike. The wrapper runs on every cold start of a
// function that uses the layer. Reports the median of each, the difference, and the sizes.
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	src := "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tif len(os.Args) > 1 {\n\t\tfmt.Println(\"hello\")\n\t}\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	hello := filepath.Join(dir, "hello")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", hello, ".")
	build.Dir, build.Env = dir, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building hello: %v\n%s", err, out)
	}
	var helloTimes, wrapperTimes []time.Duration
	timed := func(name string, args ...string) time.Duration {
		start := time.Now()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", name, err, out)
		}
		return time.Since(start)
	}
	for b.Loop() {
		helloTimes = append(helloTimes, timed(hello))
		wrapperTimes = append(wrapperTimes, timed(builtBinary, "-h"))
	}
	med := func(ts []time.Duration) float64 {
		slices.Sort(ts)
		return float64(ts[len(ts)/2].Microseconds()) / 1000
	}
	h, w := med(helloTimes), med(wrapperTimes)
	b.ReportMetric(h, "hello-median-ms")
	b.ReportMetric(w, "wrapper-median-ms")
	b.ReportMetric(w-h, "added-ms")
	for name, path := range map[string]string{"hello-bytes": hello, "wrapper-bytes": builtBinary} {
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Size()), name)
	}
}
