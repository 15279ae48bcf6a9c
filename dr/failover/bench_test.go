package failover_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/failover"
)

// BenchmarkFailoverCalls counts the calls of one failover in an account holding 250 DR
// copies (of 25 databases), a restore that takes 20 minutes polled every 30 s, and a DNS
// switch that takes 30 s to be INSYNC.
func BenchmarkFailoverCalls(b *testing.B) {
	var pages, clusterPages, describes, restores, lists, changes, getChanges int
	for b.Loop() {
		f := drtest.New(nil)
		for db := range 25 {
			for day := range 10 {
				id, _ := dr.CopyID(fmt.Sprintf("db%02d", db), created.Add(-time.Duration(day)*24*time.Hour))
				f.AddManual(id, fmt.Sprintf("db%02d", db), created.Add(-time.Duration(day)*24*time.Hour), map[string]string{dr.TagDR: "true"})
			}
		}
		dns := drtest.NewRoute53(f.Clock())
		dns.AddZone("Z1", "internal.example.com")
		r, err := failover.NewRestorer(f, failover.FailoverTarget{SourceInstance: "db07", TargetID: "shipshape-db07", InstanceClass: "db.r6g.large"}, func(o *failover.FailoverOptions) {
			o.Clock, o.Route53, o.DNS = f.Clock(), dns, &failover.DNSRecord{ZoneID: "Z1", Name: "db07.internal.example.com"}
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Failover(context.Background()); err != nil {
			b.Fatal(err)
		}
		pages, clusterPages = f.Calls(drtest.OpDescribe), f.Calls(drtest.OpDescribeClusterSnapshots)
		describes, restores = f.Calls(drtest.OpDescribeDB), f.Calls(drtest.OpRestore)
		lists, changes, getChanges = dns.Calls(drtest.OpListRecords), dns.Calls(drtest.OpChangeRecords), dns.Calls(drtest.OpGetChange)
	}
	b.ReportMetric(float64(pages), "describe-snapshot-pages")
	b.ReportMetric(float64(clusterPages), "describe-cluster-snapshot-pages")
	b.ReportMetric(float64(describes), "describe-instance")
	b.ReportMetric(float64(restores), "restore")
	b.ReportMetric(float64(lists+changes+getChanges), "route53-calls")
	b.ReportMetric(float64(pages+clusterPages+describes+restores+lists+changes+getChanges), "calls/failover")
}
