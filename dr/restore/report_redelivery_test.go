package restore_test

// The report step delivered twice (Lambda retried it after its answer was lost; Step
// Functions' Retry): docs/RELIABILITY.md, S3 PutObject of a report: "delivered twice: the
// second delivery finds its own report". The second delivery comes later on the clock: the
// report it builds must be the same bytes, or its 412 reads as another run's report.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

func TestTheReportStepDeliveredTwiceFindsItsOwnReport(t *testing.T) {
	states := map[string]func(f *drtest.RDS, r *restore.StepRunner) dr.VerifyState{
		"a run whose start failed": func(f *drtest.RDS, r *restore.StepRunner) dr.VerifyState {
			return dr.VerifyState{Error: &dr.CaughtError{Error: "NoSnapshot", Cause: `{"errorMessage":"dr: no DR snapshot of orders-db"}`}}
		},
		"a run that started and was cleaned up": func(f *drtest.RDS, r *restore.StepRunner) dr.VerifyState {
			st, err := r.Run(context.Background(), restore.StepRequest{Step: "start", Run: "exec-1"})
			require.NoError(t, err)
			st.Error = &dr.CaughtError{Error: "TimedOut", Cause: `{"errorMessage":"dr: timed out"}`}
			st, err = r.Run(context.Background(), restore.StepRequest{Step: "cleanup", Run: "exec-1", State: st})
			require.NoError(t, err)
			return st
		},
	}
	for name, state := range states {
		t.Run(name, func(t *testing.T) {
			f := drtest.New(nil)
			f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", created, map[string]string{dr.TagDR: "true"})
			store := drtest.NewS3("dr-reports")
			notices := drtest.NewSNS(topic)
			s := restore.StepSettings{Target: dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, DSN: "postgres://{host}/db",
				Regions: map[string]restore.RegionSettings{"": {}}, ReportBucket: "dr-reports", ReportPrefix: "verify", TopicARN: topic}
			r, err := restore.NewStepRunner(s, restore.StepClients{RDS: func(string) restore.SanitizerAPI { return f }, S3: store, SNS: notices}, false,
				func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
			require.NoError(t, err)
			st := state(f, r)
			first, err := r.Run(context.Background(), restore.StepRequest{Step: "report", Run: "exec-1", State: st})
			require.NoError(t, err)
			f.Clock().Advance(90 * time.Second) // the retry comes later
			second, err := r.Run(context.Background(), restore.StepRequest{Step: "report", Run: "exec-1", State: st})
			require.NoError(t, err, "the second delivery of the same step finds its own report")
			assert.Equal(t, first.Report.Location, second.Report.Location)
			assert.Len(t, reportKeys(store.Keys("dr-reports")), 1, "one report for one run: %v", store.Keys("dr-reports"))
			assert.Len(t, notices.Messages(), 1, "one alert for one run")
		})
	}
}
