package failover_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/failover"
)

// TestIdentifiersGivenInUpperCaseAreRefused: RDS stores every identifier in lower case, and
// the IAM policies name them so. A failover target given with upper case
// ("shipshape-VERIFY-orders" is db:shipshape-verify-orders, a name dr-steps may tag and
// delete), or a source or snapshot so written, is refused by NewRestorer, before any call.
func TestIdentifiersGivenInUpperCaseAreRefused(t *testing.T) {
	f := drtest.New(nil)
	restorer := func(target failover.FailoverTarget) error {
		target.InstanceClass = "db.r6g.large"
		_, err := failover.NewRestorer(f, target)
		return err
	}
	for name, err := range map[string]error{
		"a failover target in another kind's names": restorer(failover.FailoverTarget{SourceInstance: "orders-db", TargetID: "shipshape-VERIFY-orders"}),
		"a failover target":                         restorer(failover.FailoverTarget{SourceInstance: "orders-db", TargetID: "shipshape-Orders-db"}),
		"a failover's source":                       restorer(failover.FailoverTarget{SourceInstance: "Orders-db", TargetID: "shipshape-orders-db"}),
		"a failover's snapshot":                     restorer(failover.FailoverTarget{SnapshotID: "shipshape-DR-orders-db-202611230300", TargetID: "shipshape-orders-db"}),
	} {
		assert.ErrorIs(t, err, dr.ErrInvalidInput, name)
	}
	assert.Zero(t, f.Total())
}
