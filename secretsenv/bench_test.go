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
