package main

import (
	"fmt"
	"os"
	"os/exec"
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
