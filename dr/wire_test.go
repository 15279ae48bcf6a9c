package dr_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

// wire is the real SDK client against a WireServer over f. The dr types set their own
// retryer (on f's fake clock, so backoff takes no time) on every call.
func wire(t *testing.T, f *drtest.RDS) (*rds.Client, *drtest.WireServer) {
	srv := drtest.NewWireServer(f)
	t.Cleanup(srv.Close)
	return srv.Client(), srv
}

func TestWireErrorsAndPagination(t *testing.T) {
	f := drtest.New(nil)
	for i := range 250 {
		f.AddManual(fmt.Sprintf("shipshape-dr-orders-db-%03d", i), "orders-db", created.Add(-time.Duration(i)*time.Hour), map[string]string{dr.TagDR: "true"})
	}
	auto := f.AddAutomated("orders-db", created.Add(time.Hour), "")
	f.ManualQuota = 1000
	client, srv := wire(t, f)
	s, err := dr.NewSource(client, func(o *dr.SourceOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)

	sum, err := s.CopyAutomated(context.Background(), auto)
	require.NoError(t, err)
	require.Len(t, sum.Copied, 1, "%+v", sum)
	sum, err = s.CopyAutomated(context.Background(), auto)
	require.NoError(t, err)
	assert.Equal(t, "already copied", sum.Skipped[0].Reason, "DBSnapshotAlreadyExists from the wire means done")

	f.ManualQuota = 251
	f.Fail(drtest.OpAccount, drtest.APIError("AccessDenied", "not allowed"), 0) // the quota can't be read: RDS refuses
	_, err = s.CopyAutomated(context.Background(), f.AddAutomated("orders-db", created.Add(2*time.Hour), ""))
	require.ErrorIs(t, err, dr.ErrQuota)
	var quota *types.SnapshotQuotaExceededFault
	require.ErrorAs(t, err, &quota, "the SDK's modeled error stays reachable")

	f.Fail(drtest.OpDescribe, drtest.APIError("Throttling", "Rate exceeded"), 2) // retried by the SDK's retryer
	before := srv.Count("DescribeDBSnapshots")
	sum, err = s.Retain(context.Background(), dr.Retention{Keep: 200})
	require.NoError(t, err)
	assert.Len(t, sum.Deleted, 51, "251 of ours, keep 200")
	assert.Equal(t, 2+3, srv.Count("DescribeDBSnapshots")-before, "two throttled, then ceil(251/100) pages following the Marker")
	assert.Equal(t, 51, srv.Count("DeleteDBSnapshot"))
	assert.Len(t, f.IDs(), 200+2)
}

func TestWireClusterSnapshots(t *testing.T) {
	f := drtest.New(nil)
	auto := f.AddAutomatedCluster("ledger", created, "")
	for i, day := range []int{20, 21, 22} {
		f.AddManualCluster(fmt.Sprintf("shipshape-dr-ledger-%d", i), "ledger", time.Date(2026, 11, day, 3, 0, 0, 0, time.UTC), map[string]string{dr.TagDR: "true"})
	}
	client, srv := wire(t, f)
	s, err := dr.NewSource(client, func(o *dr.SourceOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	sum, err := s.CopyAutomatedCluster(context.Background(), auto)
	require.NoError(t, err)
	require.Len(t, sum.Copied, 1)
	sum, err = s.CopyAutomatedCluster(context.Background(), auto)
	require.NoError(t, err)
	assert.Equal(t, "already copied", sum.Skipped[0].Reason, "the cluster already-exists code from the wire means done too")
	assert.Equal(t, 2, srv.Count("CopyDBClusterSnapshot"))

	f.Clock().Advance(15 * time.Minute)
	sum, err = s.Retain(context.Background(), dr.Retention{Keep: 2})
	require.NoError(t, err)
	assert.Contains(t, sum.Deleted, dr.Item{ID: "cluster:shipshape-dr-ledger-1", Reason: "beyond the newest 2"})
	assert.Contains(t, sum.Deleted, dr.Item{ID: "cluster:shipshape-dr-ledger-0", Reason: "beyond the newest 2"})
	assert.Equal(t, 2, srv.Count("DeleteDBClusterSnapshot"))
}

// TestRequestsPerLogicalCallUnderThrottling: the SDK's retryer is the only retry layer, so a
// call that is throttled every time goes out exactly MaxAttempts times (5 by default), for
// every dr type.
func TestRequestsPerLogicalCallUnderThrottling(t *testing.T) {
	for _, maxAttempts := range []int{0, 2} {
		want := maxAttempts
		if want == 0 {
			want = 5
		}
		t.Run(fmt.Sprint("MaxAttempts ", maxAttempts), func(t *testing.T) {
			f := drtest.New(nil)
			client, srv := wire(t, f)
			f.Fail(drtest.OpDescribe, drtest.APIError("Throttling", "Rate exceeded"), 0)
			start := f.Clock().Now()

			s, err := dr.NewSource(client, func(o *dr.SourceOptions) { o.Clock, o.MaxAttempts = f.Clock(), maxAttempts })
			require.NoError(t, err)
			_, err = s.Retain(context.Background(), dr.Retention{Keep: 1})
			require.ErrorContains(t, err, "Throttling")
			assert.Equal(t, want, srv.Count("DescribeDBSnapshots"), "Source")
			assert.True(t, f.Clock().Now().After(start), "the backoff ran on the fake clock")

			rec, err := dr.NewRecovery(client, client, origin, func(o *dr.RecoveryOptions) { o.Clock, o.MaxAttempts = f.Clock(), maxAttempts })
			require.NoError(t, err)
			_, err = rec.CopyShared(context.Background())
			require.ErrorContains(t, err, "Throttling")
			assert.Equal(t, 2*want, srv.Count("DescribeDBSnapshots"), "Recovery")

		})
	}
}

// TestWireTwoHop: the fallback through two real clients; the source region of the second
// hop reaches the fake through the presigned URL the SDK makes, as RDS reads it.
func TestWireTwoHop(t *testing.T) {
	_, _, shared, west := sharedSnapshot(t)
	west.RefuseSingleStep = true
	sharedClient, _ := wire(t, shared)
	westClient, westSrv := wire(t, west)
	rec, err := dr.NewRecovery(sharedClient, westClient, origin, func(o *dr.RecoveryOptions) { o.Clock = west.Clock() })
	require.NoError(t, err)
	for range 3 {
		_, err := rec.CopyShared(context.Background())
		require.NoError(t, err)
		west.Clock().Advance(15 * time.Minute)
	}
	assert.Equal(t, []string{"shipshape-dr-db-202611230300"}, west.IDs())
	assert.Empty(t, shared.IDs(), "staging copy made and deleted")
	assert.Equal(t, 2, westSrv.Count("CopyDBSnapshot"), "the refused single step, then hop 2")
}
