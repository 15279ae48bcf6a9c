package dr

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
)

// MetricsNamespace is the CloudWatch namespace of the metrics Recovery writes
// (RecoveryOptions.Metrics).
const MetricsNamespace = "shipshape/dr"

// RecoveryPointMetric is the CloudWatch metric of a database's recovery point age: seconds
// from when the data of its newest available copy in the recovery region was taken to the
// run, per database (dimension Database) and, without a dimension, the largest of them.
const RecoveryPointMetric = "RecoveryPointAgeSeconds"

// RecoveryPoint is the newest available copy of one source database in the recovery region:
// where the recovery side could restore from now, and how old its data is.
type RecoveryPoint struct {
	// Database is the source DB instance or cluster and its account:
	// "instance/orders-db@111111111111", "cluster/ledger@111111111111".
	Database string `json:"database"`
	// Snapshot is the copy ("cluster:" first for a DB cluster snapshot).
	Snapshot string `json:"snapshot"`
	// Taken is when its data was taken (OriginalSnapshotCreateTime).
	Taken time.Time `json:"taken"`
	// Age is the time from Taken to the run.
	Age time.Duration `json:"age_seconds"`
}

// MarshalJSON writes Age in whole seconds.
func (p RecoveryPoint) MarshalJSON() ([]byte, error) {
	type plain RecoveryPoint
	return json.Marshal(struct {
		plain
		Age int64 `json:"age_seconds"`
	}{plain(p), int64(p.Age / time.Second)})
}

// recoveryPoints returns the newest available copy of each database among copies, by
// database.
func recoveryPoints(copies []snaps.Snap, now time.Time) []RecoveryPoint {
	newest := map[string]snaps.Snap{}
	for _, c := range copies {
		if c.Status != "available" {
			continue // not restorable yet
		}
		if n, ok := newest[c.Database()]; !ok || snaps.Newer(c, n) {
			newest[c.Database()] = c
		}
	}
	out := make([]RecoveryPoint, 0, len(newest))
	for db, c := range newest {
		out = append(out, RecoveryPoint{Database: db, Snapshot: c.Name(), Taken: c.Created, Age: max(0, now.Sub(c.Created))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Database < out[j].Database })
	return out
}

// writeRecoveryPoints writes one line per point to w in CloudWatch embedded metric format
// (a JSON object CloudWatch Logs turns into metrics when a Lambda prints it): the point's age
// as RecoveryPointMetric in MetricsNamespace, once with the Database dimension and once
// without a dimension, so one alarm on the maximum of the latter covers every database.
func writeRecoveryPoints(w io.Writer, points []RecoveryPoint, now time.Time) error {
	for _, p := range points {
		line, err := json.Marshal(map[string]any{
			"_aws": map[string]any{
				"Timestamp": now.UnixMilli(),
				"CloudWatchMetrics": []any{map[string]any{
					"Namespace":  MetricsNamespace,
					"Dimensions": [][]string{{"Database"}, {}},
					"Metrics":    []any{map[string]string{"Name": RecoveryPointMetric, "Unit": "Seconds"}},
				}},
			},
			"msg":               "dr: recovery point",
			"Database":          p.Database,
			RecoveryPointMetric: int64(p.Age / time.Second),
			"snapshot":          p.Snapshot,
			"taken":             p.Taken.UTC().Format(time.RFC3339),
		})
		if err != nil {
			return err
		}
		if _, err := w.Write(append(line, '\n')); err != nil { // one write a line
			return fmt.Errorf("dr: writing the recovery point metric: %w", err)
		}
	}
	return nil
}
