package secretsenv_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// BenchmarkAPICalls counts Secrets Manager calls for n secrets: n GetSecretValue calls by
// default, ceil(n/20) BatchGetSecretValue calls with Options.Batch.
func BenchmarkAPICalls(b *testing.B) {
	for _, n := range []int{1, 5, 20, 45, 100} {
		for _, batch := range []bool{false, true} {
			mode := "GetSecretValue"
			if batch {
				mode = "Batch"
			}
			b.Run(fmt.Sprintf("%s/n=%d", mode, n), func(b *testing.B) {
				sm := secretsenvtest.NewSecretsManager()
				var specs []secretsenv.Secret
				for i := range n {
					name := fmt.Sprintf("s%03d", i)
					sm.PutString(name, fmt.Sprintf(`{"V%03d":"x"}`, i))
					specs = append(specs, secretsenv.Secret{ID: name})
				}
				l, err := secretsenv.New(sm, func(o *secretsenv.Options) { o.Environ = []string{}; o.Batch = batch })
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := l.Load(context.Background(), specs); err != nil {
						b.Fatal(err)
					}
				}
				calls := sm.Calls(secretsenvtest.OpGetSecretValue) + sm.Calls(secretsenvtest.OpBatchGetSecretValue)
				b.ReportMetric(float64(calls)/float64(b.N), "calls/load")
			})
		}
	}
}

// BenchmarkWatchCallsPerHour counts the Secrets Manager calls of an hour of watching n
// secrets, checked every 5 minutes (12 checks) while one of them rotates once, against the
// obvious alternative of loading every value at every interval. Every figure is counted on
// the fake, per simulated hour.
func BenchmarkWatchCallsPerHour(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		for _, mode := range []string{"watch-describe", "watch-list", "reload-every-interval"} {
			b.Run(fmt.Sprintf("%s/n=%d", mode, n), func(b *testing.B) {
				sm := secretsenvtest.NewSecretsManager()
				var specs []secretsenv.Secret
				for i := range n {
					name := fmt.Sprintf("app/s%03d", i)
					sm.PutString(name, fmt.Sprintf(`{"V%03d":"x"}`, i))
					specs = append(specs, secretsenv.Secret{ID: name})
				}
				l, err := secretsenv.New(sm, func(o *secretsenv.Options) { o.Environ = []string{} })
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				w, err := l.Watch(ctx, sm, specs, func(o *secretsenv.WatchOptions) { o.List = mode == "watch-list" })
				if err != nil {
					b.Fatal(err)
				}
				before := sm.Total()
				gets := sm.Calls(secretsenvtest.OpGetSecretValue)
				hours := 0
				for b.Loop() {
					for check := range 12 {
						if check == 6 {
							sm.PutString("app/s000", fmt.Sprintf(`{"V000":"rotated %d"}`, hours))
						}
						if mode == "reload-every-interval" {
							if _, err := l.Load(ctx, specs); err != nil {
								b.Fatal(err)
							}
							continue
						}
						if _, _, err := w.Check(ctx); err != nil {
							b.Fatal(err)
						}
					}
					hours++
				}
				b.ReportMetric(float64(sm.Total()-before)/float64(hours), "calls/hour")
				b.ReportMetric(float64(sm.Calls(secretsenvtest.OpGetSecretValue)-gets)/float64(hours), "values-read/hour")
			})
		}
	}
}
