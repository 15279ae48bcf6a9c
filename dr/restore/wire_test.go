package restore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWireVerify: the restore, a lost answer retried by the SDK (RDS made the instance; the
// retry is told it exists and attaches to it because its run tag matches), a terminal
// state, and the cleanup, all through the real client.
func TestWireVerify(t *testing.T) {
	f := verifyBed(t, "127.0.0.1", 1)
	client, srv := wire(t, f)
	f.LoseAnswers(drtest.OpRestore, 1)
	f.RestoreOutcome = "incompatible-restore"
	v, err := restore.NewVerifier(client, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"},
		dr.Database{Driver: "pgx", DSN: func(string, int32) string { return "" }}, func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	start := f.Clock().Now()
	rep, err := v.Verify(context.Background())
	require.ErrorIs(t, err, dr.ErrRestoreFailed)
	var failed *dr.RestoreFailedError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, "incompatible-restore", failed.State)
	assert.Equal(t, 2, srv.Count("RestoreDBInstanceFromDBSnapshot"), "the lost answer was retried once by the SDK")
	assert.Equal(t, 1, srv.Count("DeleteDBInstance"))
	assert.Empty(t, f.Instances(), "cleaned up")
	assert.Less(t, f.Clock().Now().Sub(start), 30*time.Minute, "failed at the terminal state, not at the 1 h timeout")
	assert.False(t, rep.OK)
	assert.Contains(t, string(rep.JSON()), "incompatible-restore")
}

// TestWireAurora: the cluster restore, its instance, the states and the cleanup order
// through the real client; a lost CreateDBInstance answer is retried by the SDK and attached.
func TestWireAurora(t *testing.T) {
	f := auroraBed("127.0.0.1", 1)
	client, srv := wire(t, f)
	f.LoseAnswers(drtest.OpCreateInstance, 1)
	v, err := restore.NewVerifier(client, dr.VerifyTarget{SourceCluster: "ledger", InstanceClass: "db.r6g.large"}, dr.Database{Driver: "pgx", DSN: noDB},
		func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	rep, err := v.Verify(context.Background())
	require.NoError(t, err, "the checks failed (no database), the run did not")
	assert.False(t, rep.OK)
	assert.Equal(t, "shipshape-dr-ledger-202611230300", rep.Snapshot)
	assert.Equal(t, 2, srv.Count("CreateDBInstance"), "the lost answer, retried by the SDK, attached")
	assert.Equal(t, 1, srv.Count("RestoreDBClusterFromSnapshot"))
	var order []string
	for _, a := range srv.Actions() {
		if a == "DeleteDBInstance" || a == "DeleteDBCluster" {
			order = append(order, a)
		}
	}
	assert.Equal(t, []string{"DeleteDBInstance", "DeleteDBCluster"}, order)
	assert.Empty(t, f.Clusters())
	assert.Empty(t, f.Instances())
}

// TestWireSweepNewestAndQuota: the sweep, the quota read (DescribeAccountAttributes) and
// OriginalSnapshotCreateTime as the real client reads them from RDS's XML.
func TestWireSweepNewestAndQuota(t *testing.T) {
	f := drtest.New(nil)
	f.ManualQuota = 4
	f.AddManual("by-hand", "other", created, nil)
	f.AddManual("orders-db-before-upgrade", "orders-db", created.Add(-72*time.Hour), nil)
	for i := range 3 {
		f.AddAutomated("orders-db", created.Add(-time.Duration(i)*time.Hour), "")
	}
	client, srv := wire(t, f)
	s, err := dr.NewSource(client, func(o *dr.SourceOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	sum, err := s.Scheduled(context.Background(), dr.Retention{Keep: 7})
	require.ErrorIs(t, err, dr.ErrQuota, "2 manual + 2 copies = 4 of 4: the third refused")
	assert.Len(t, sum.Copied, 2)
	assert.Contains(t, sum.Warnings[0], "ManualSnapshots quota at 4 of 4")
	assert.Equal(t, 1, srv.Count("DescribeAccountAttributes"))

	// An older snapshot copied late: Verify still picks the newest data.
	f.ManualQuota = 100
	_, err = f.CopyDBSnapshot(context.Background(), copyInput("orders-db-before-upgrade", "shipshape-dr-orders-db-202611200300"))
	require.NoError(t, err)
	_, err = f.AddTagsToResource(context.Background(), &rds.AddTagsToResourceInput{ResourceName: aws.String("arn:aws:rds:us-east-1:111111111111:snapshot:shipshape-dr-orders-db-202611200300"),
		Tags: []types.Tag{{Key: aws.String(dr.TagDR), Value: aws.String("true")}}})
	require.NoError(t, err)
	f.Clock().Advance(15 * time.Minute)
	v, err := restore.NewVerifier(client, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, dr.Database{Driver: "pgx", DSN: noDB},
		func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	st, err := v.Start(context.Background(), "wire-1")
	require.NoError(t, err)
	assert.Equal(t, "shipshape-dr-orders-db-202611230300", st.Snapshot)
}

// TestRequestsPerLogicalCallUnderThrottling: a Verifier's call is sent MaxAttempts times in
// all (default 5) by the SDK's retryer, its backoff on the fake clock.
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
			v, err := restore.NewVerifier(client, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, dr.Database{Driver: "pgx", DSN: func(string, int32) string { return "" }},
				func(o *dr.VerifyOptions) { o.Clock, o.MaxAttempts = f.Clock(), maxAttempts })
			require.NoError(t, err)
			_, err = v.Verify(context.Background())
			require.ErrorContains(t, err, "Throttling")
			assert.Equal(t, want, srv.Count("DescribeDBSnapshots"), "Verifier")
			assert.True(t, f.Clock().Now().After(start), "the backoff ran on the fake clock")
		})
	}
}
