package dr_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

// BenchmarkPeriodicRun counts RDS calls for one scheduled share run over an account with 500
// DR snapshots of which 5 are not shared yet. Target: ceil(500/100) describe pages + one call
// per action (+ one attribute read per candidate). Every run also lists the Aurora DB cluster
// snapshots (one page here, none exist), reported separately.
func BenchmarkPeriodicRun(b *testing.B) {
	var pages, clusterPages, attrs, modifies, tags int
	for b.Loop() {
		f := drtest.New(nil)
		s, err := dr.NewSource(f, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} })
		if err != nil {
			b.Fatal(err)
		}
		seedShared(f)
		sum, err := s.ShareAvailable(context.Background())
		if err != nil || len(sum.Shared) != 5 {
			b.Fatal(sum, err)
		}
		pages, attrs = f.Calls(drtest.OpDescribe), f.Calls(drtest.OpDescribeAttrs)
		clusterPages = f.Calls(drtest.OpDescribeClusterSnapshots)
		modifies, tags = f.Calls(drtest.OpModifyAttribute), f.Calls(drtest.OpAddTags)
	}
	b.ReportMetric(float64(pages), "describe-pages")
	b.ReportMetric(float64(clusterPages), "cluster-describe-pages")
	b.ReportMetric(float64(attrs), "attribute-reads")
	b.ReportMetric(float64(modifies), "share-calls")
	b.ReportMetric(float64(tags), "tag-calls")
	b.ReportMetric(float64(pages+clusterPages+attrs+modifies+tags), "calls/run")
}

// BenchmarkScheduledRun counts RDS calls for the source Lambda's whole scheduled run (share,
// then retention keeping 500, so nothing to delete) over the same 500 snapshots: Scheduled,
// which lists once, against ShareAvailable followed by Retain, which list twice.
func BenchmarkScheduledRun(b *testing.B) {
	for _, mode := range []string{"Scheduled", "ShareAvailable+Retain"} {
		b.Run(mode, func(b *testing.B) {
			var calls int
			for b.Loop() {
				f := drtest.New(nil)
				s, err := dr.NewSource(f, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} })
				if err != nil {
					b.Fatal(err)
				}
				seedShared(f)
				ret := dr.Retention{Keep: 500}
				if mode == "Scheduled" {
					_, err = s.Scheduled(context.Background(), ret)
				} else {
					if _, err = s.ShareAvailable(context.Background()); err == nil {
						_, err = s.Retain(context.Background(), ret)
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				calls = 0
				for _, op := range []string{drtest.OpDescribe, drtest.OpDescribeClusterSnapshots, drtest.OpDescribeAttrs, drtest.OpModifyAttribute, drtest.OpAddTags, drtest.OpDelete} {
					calls += f.Calls(op)
				}
			}
			b.ReportMetric(float64(calls), "calls/run")
		})
	}
}

// BenchmarkSweep counts RDS calls for the source Lambda's scheduled run as a reconcile sweep
// over 50 instances with 10 automated snapshots each (500), whose DR copies exist, shared,
// except the newest of 5 instances (their events were lost): the run lists the manual and
// the automated snapshots once each, reads the quota once, and copies the 5 missing ones.
func BenchmarkSweep(b *testing.B) {
	var calls, copies int
	for b.Loop() {
		f := drtest.New(nil)
		f.ManualQuota = 1000
		for db := range 50 {
			name := fmt.Sprintf("db%02d", db)
			for day := range 10 {
				at := created.Add(-time.Duration(day) * 24 * time.Hour)
				f.AddAutomated(name, at, "")
				if day == 0 && db%10 == 0 {
					continue // the event of this one was lost
				}
				id, _ := dr.CopyID(name, at)
				f.AddManual(id, name, at, map[string]string{dr.TagDR: "true", dr.TagSharedWith: recovery})
			}
		}
		s, err := dr.NewSource(f, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery}; o.Clock = f.Clock() })
		if err != nil {
			b.Fatal(err)
		}
		sum, err := s.Scheduled(context.Background(), dr.Retention{Keep: 10})
		if err != nil || len(sum.Copied) != 5 || len(sum.Deleted) != 0 {
			b.Fatal(sum, err)
		}
		calls, copies = f.Total(), f.Calls(drtest.OpCopy)
	}
	b.ReportMetric(float64(calls), "calls/run")
	b.ReportMetric(float64(copies), "copies")
}

// seedShared gives f 500 DR snapshots of which the 5 newest are not shared yet.
func seedShared(f *drtest.RDS) {
	for i := range 500 {
		tagsFor := map[string]string{dr.TagDR: "true"}
		if i >= 5 {
			tagsFor[dr.TagSharedWith] = recovery // shared by an earlier run
		}
		f.AddManual(fmt.Sprintf("shipshape-dr-db-%03d", i), "db", created.Add(-time.Duration(i)*time.Hour), tagsFor)
	}
}

// BenchmarkSweepBySnapshots: the scheduled sweep of BenchmarkSweep over 10 to 500 databases of
// 10 automated snapshots each (100 to 5,000, with their DR copies; a tenth of the newest
// without one), for docs/img/dr-sweep-calls.png: RDS calls a run against the snapshots it looks at.
func BenchmarkSweepBySnapshots(b *testing.B) {
	for _, dbs := range []int{10, 50, 100, 250, 500} {
		b.Run(fmt.Sprintf("snapshots=%d", dbs*10), func(b *testing.B) {
			var calls, copies int
			for range b.N {
				f := drtest.New(nil)
				f.ManualQuota = 100_000
				for db := range dbs {
					name := fmt.Sprintf("db%03d", db)
					for day := range 10 {
						at := created.Add(-time.Duration(day) * 24 * time.Hour)
						f.AddAutomated(name, at, "")
						if day == 0 && db%10 == 0 {
							continue // the event of this one was lost
						}
						id, _ := dr.CopyID(name, at)
						f.AddManual(id, name, at, map[string]string{dr.TagDR: "true", dr.TagSharedWith: recovery})
					}
				}
				s, err := dr.NewSource(f, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery}; o.Clock = f.Clock() })
				if err != nil {
					b.Fatal(err)
				}
				sum, err := s.Scheduled(context.Background(), dr.Retention{Keep: 10})
				if err != nil || len(sum.Copied) != dbs/10 {
					b.Fatal(sum, err)
				}
				calls, copies = f.Total(), f.Calls(drtest.OpCopy)
			}
			b.ReportMetric(float64(calls), "calls/run")
			b.ReportMetric(float64(copies), "copies")
		})
	}
}
