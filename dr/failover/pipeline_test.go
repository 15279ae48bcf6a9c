package failover_test

import (
	"context"
	"testing"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/failover"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFailedFailoverReportsNoFakeDataLoss: a failover (or rehearsal) that stops before
// it found a snapshot prints its result JSON and "recovery point ... (data ... old)"; with no
// snapshot there is no recovery point: it must not claim 292 years of data loss.
func TestFailedFailoverReportsNoFakeDataLoss(t *testing.T) {
	f := drtest.New(nil)
	r, err := failover.NewRestorer(f, failover.FailoverTarget{SourceInstance: "orders-db", TargetID: "shipshape-orders-db", InstanceClass: "db.r6g.large"},
		func(o *failover.FailoverOptions) { o.Clock = f.Clock() })
	require.NoError(t, err)
	res, err := r.Failover(context.Background())
	require.ErrorIs(t, err, dr.ErrNoSnapshot)
	assert.Zero(t, res.DataLoss, "data_loss_ns of a failover that found no snapshot")
	assert.NotContains(t, err.Error(), "to verify", "a failover's error speaks of verifying")
}

// TestRollbackWithoutAPreviousRecordRuns: when the record did not exist before, the
// printed rollback (a DELETE) must name the value it deletes (Route 53 deletes only an exact
// match): the endpoint is known, a placeholder makes the command fail as printed.
func TestRollbackWithoutAPreviousRecordRuns(t *testing.T) {
	f, dns := recoveryBed(t)
	r, err := failover.NewRestorer(f, failover.FailoverTarget{SourceInstance: "orders-db", TargetID: "shipshape-orders-db", InstanceClass: "db.r6g.large"},
		func(o *failover.FailoverOptions) {
			o.Clock, o.Route53, o.DNS = f.Clock(), dns, &failover.DNSRecord{ZoneID: zone, Name: "new-app.internal.example.com"}
		})
	require.NoError(t, err)
	res, err := r.Failover(context.Background())
	require.NoError(t, err)
	assert.Contains(t, res.Rollback, `"Value":"`+res.Endpoint+`"`, res.Rollback)
	assert.NotContains(t, res.Rollback, "<the new endpoint>")
}
