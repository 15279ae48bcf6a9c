package dr_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
)

const rdsNS = "http://rds.amazonaws.com/doc/2014-10-31/"

// rdsWire answers in RDS's query/XML protocol: 250 tagged manual DB snapshots paged 100 at
// a time, 3 tagged manual DB cluster snapshots, and copies of either kind failing with the
// error given.
type rdsWire struct {
	mu        sync.Mutex
	actions   []string
	markers   map[string]bool // Marker values of DescribeDBSnapshots listings
	copyError string          // error code for CopyDBSnapshot
	throttle  int             // answer this many requests with Throttling first

	deletedClusters []string // DeleteDBClusterSnapshot identifiers
}

func (w *rdsWire) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	action := r.PostForm.Get("Action")
	w.mu.Lock()
	w.actions = append(w.actions, action)
	throttled := w.throttle > 0
	if throttled {
		w.throttle--
	}
	w.mu.Unlock()
	rw.Header().Set("Content-Type", "text/xml")
	fail := func(code, msg string) {
		rw.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(rw, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>0</RequestId></ErrorResponse>`, rdsNS, code, msg)
	}
	if throttled {
		fail("Throttling", "Rate exceeded")
		return
	}
	switch action {
	case "DescribeDBSnapshots":
		if id := r.PostForm.Get("DBSnapshotIdentifier"); id != "" {
			fmt.Fprintf(rw, `<DescribeDBSnapshotsResponse xmlns="%s"><DescribeDBSnapshotsResult><DBSnapshots><DBSnapshot>`+
				`<DBSnapshotIdentifier>%s</DBSnapshotIdentifier><DBSnapshotArn>arn:aws:rds:us-east-1:111111111111:snapshot:%s</DBSnapshotArn>`+
				`<DBInstanceIdentifier>orders-db</DBInstanceIdentifier><Status>available</Status><SnapshotType>automated</SnapshotType>`+
				`<SnapshotCreateTime>2026-11-23T03:00:00Z</SnapshotCreateTime><Encrypted>false</Encrypted></DBSnapshot></DBSnapshots>`+
				`</DescribeDBSnapshotsResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></DescribeDBSnapshotsResponse>`, rdsNS, id, id)
			return
		}
		w.mu.Lock()
		if w.markers == nil {
			w.markers = map[string]bool{}
		}
		w.markers[r.PostForm.Get("Marker")] = true
		w.mu.Unlock()
		start, _ := strconv.Atoi(r.PostForm.Get("Marker"))
		var b strings.Builder
		for i := start; i < min(start+100, 250); i++ {
			fmt.Fprintf(&b, `<DBSnapshot><DBSnapshotIdentifier>orders-db-%03d-dr</DBSnapshotIdentifier><DBInstanceIdentifier>orders-db</DBInstanceIdentifier>`+
				`<Status>available</Status><SnapshotType>manual</SnapshotType><SnapshotCreateTime>%s</SnapshotCreateTime>`+
				`<TagList><Tag><Key>shipshape:dr</Key><Value>true</Value></Tag></TagList></DBSnapshot>`, i, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Hour).Format(time.RFC3339))
		}
		marker := ""
		if start+100 < 250 {
			marker = "<Marker>" + strconv.Itoa(start+100) + "</Marker>"
		}
		fmt.Fprintf(rw, `<DescribeDBSnapshotsResponse xmlns="%s"><DescribeDBSnapshotsResult>%s<DBSnapshots>%s</DBSnapshots></DescribeDBSnapshotsResult>`+
			`<ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></DescribeDBSnapshotsResponse>`, rdsNS, marker, b.String())
	case "DescribeDBClusterSnapshots":
		if id := r.PostForm.Get("DBClusterSnapshotIdentifier"); id != "" {
			fmt.Fprintf(rw, `<DescribeDBClusterSnapshotsResponse xmlns="%s"><DescribeDBClusterSnapshotsResult><DBClusterSnapshots><DBClusterSnapshot>`+
				`<DBClusterSnapshotIdentifier>%s</DBClusterSnapshotIdentifier><DBClusterSnapshotArn>arn:aws:rds:us-east-1:111111111111:cluster-snapshot:%s</DBClusterSnapshotArn>`+
				`<DBClusterIdentifier>ledger</DBClusterIdentifier><Status>available</Status><SnapshotType>automated</SnapshotType>`+
				`<SnapshotCreateTime>2026-11-23T03:00:00Z</SnapshotCreateTime><StorageEncrypted>false</StorageEncrypted></DBClusterSnapshot></DBClusterSnapshots>`+
				`</DescribeDBClusterSnapshotsResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></DescribeDBClusterSnapshotsResponse>`, rdsNS, id, id)
			return
		}
		var b strings.Builder
		for i, day := range []int{20, 25, 30} { // ours, one page
			fmt.Fprintf(&b, `<DBClusterSnapshot><DBClusterSnapshotIdentifier>ledger-%d-dr</DBClusterSnapshotIdentifier><DBClusterIdentifier>ledger</DBClusterIdentifier>`+
				`<DBClusterSnapshotArn>arn:aws:rds:us-east-1:111111111111:cluster-snapshot:ledger-%d-dr</DBClusterSnapshotArn>`+
				`<Status>available</Status><SnapshotType>manual</SnapshotType><SnapshotCreateTime>2026-01-%02dT00:00:00Z</SnapshotCreateTime>`+
				`<TagList><Tag><Key>shipshape:dr</Key><Value>true</Value></Tag></TagList></DBClusterSnapshot>`, i, i, day)
		}
		fmt.Fprintf(rw, `<DescribeDBClusterSnapshotsResponse xmlns="%s"><DescribeDBClusterSnapshotsResult><DBClusterSnapshots>%s</DBClusterSnapshots></DescribeDBClusterSnapshotsResult>`+
			`<ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></DescribeDBClusterSnapshotsResponse>`, rdsNS, b.String())
	case "CopyDBSnapshot", "CopyDBClusterSnapshot":
		fail(w.copyError, "refused by the wire test")
	case "DeleteDBClusterSnapshot":
		w.mu.Lock()
		w.deletedClusters = append(w.deletedClusters, r.PostForm.Get("DBClusterSnapshotIdentifier"))
		w.mu.Unlock()
		fmt.Fprintf(rw, `<DeleteDBClusterSnapshotResponse xmlns="%s"><DeleteDBClusterSnapshotResult><DBClusterSnapshot><DBClusterSnapshotIdentifier>%s</DBClusterSnapshotIdentifier></DBClusterSnapshot></DeleteDBClusterSnapshotResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></DeleteDBClusterSnapshotResponse>`,
			rdsNS, r.PostForm.Get("DBClusterSnapshotIdentifier"))
	case "DeleteDBSnapshot":
		fmt.Fprintf(rw, `<DeleteDBSnapshotResponse xmlns="%s"><DeleteDBSnapshotResult><DBSnapshot><DBSnapshotIdentifier>%s</DBSnapshotIdentifier></DBSnapshot></DeleteDBSnapshotResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></DeleteDBSnapshotResponse>`,
			rdsNS, r.PostForm.Get("DBSnapshotIdentifier"))
	default:
		fail("InvalidAction", action)
	}
}

func (w *rdsWire) count(action string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, a := range w.actions {
		if a == action {
			n++
		}
	}
	return n
}

func wireSource(t *testing.T, w *rdsWire) *dr.Source {
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	client := rds.New(rds.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDWIRE", "wire", ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 10
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})})
	s, err := dr.NewSource(client, func(o *dr.SourceOptions) {
		o.Now = func() time.Time { return time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC) }
	})
	require.NoError(t, err)
	return s
}

func TestWireErrorsAndPagination(t *testing.T) {
	w := &rdsWire{copyError: "DBSnapshotAlreadyExists"}
	s := wireSource(t, w)
	sum, err := s.CopyAutomated(context.Background(), "rds:orders-db-2026-11-23-03-00")
	require.NoError(t, err)
	assert.Equal(t, "already copied", sum.Skipped[0].Reason, "DBSnapshotAlreadyExists from the wire means done")

	w.copyError = "SnapshotQuotaExceeded"
	_, err = s.CopyAutomated(context.Background(), "rds:orders-db-2026-11-23-03-00")
	require.ErrorIs(t, err, dr.ErrQuota)
	var quota *types.SnapshotQuotaExceededFault
	require.ErrorAs(t, err, &quota, "the SDK's modeled error stays reachable")

	w.throttle = 2 // the SDK's retryer recognises the Throttling body
	sum, err = s.Retain(context.Background(), dr.Retention{Keep: 200})
	require.NoError(t, err)
	assert.Len(t, sum.Deleted, 50, "250 of ours, keep 200")
	assert.Equal(t, map[string]bool{"": true, "100": true, "200": true}, w.markers, "ceil(250/100) pages, following the Marker")
	assert.Equal(t, 0, w.throttle, "both Throttling answers were consumed and retried by the SDK")
	assert.Equal(t, 50, w.count("DeleteDBSnapshot"))
}

func TestWireClusterSnapshots(t *testing.T) {
	w := &rdsWire{copyError: "DBClusterSnapshotAlreadyExistsFault"}
	s := wireSource(t, w)
	sum, err := s.CopyAutomatedCluster(context.Background(), "rds:ledger-2026-11-23-03-00")
	require.NoError(t, err)
	require.Len(t, sum.Skipped, 1)
	assert.Equal(t, "already copied", sum.Skipped[0].Reason, "the cluster already-exists code from the wire means done too")
	assert.Equal(t, 1, w.count("CopyDBClusterSnapshot"))

	w.copyError = "SnapshotQuotaExceeded"
	_, err = s.CopyAutomatedCluster(context.Background(), "rds:ledger-2026-11-23-03-00")
	require.ErrorIs(t, err, dr.ErrQuota)

	sum, err = s.Retain(context.Background(), dr.Retention{Keep: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"ledger-0-dr"}, w.deletedClusters, "the oldest of the cluster's three, by DeleteDBClusterSnapshot")
	assert.Equal(t, 248, w.count("DeleteDBSnapshot"), "instance snapshots are trimmed separately")
	assert.Contains(t, sum.Deleted, dr.Item{ID: "cluster:ledger-0-dr", Reason: "beyond the newest 2"})
}
