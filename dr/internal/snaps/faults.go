package snaps

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/shipshape-dev/shipshape/internal/awserr"
)

// The SDK's modeled faults, by kind: one place reads them, for every dr package.

func ClusterNotFound(err error) bool { return errors.As(err, new(*types.DBClusterNotFoundFault)) }

func ClusterExists(err error) bool { return errors.As(err, new(*types.DBClusterAlreadyExistsFault)) }

func ClusterBusy(err error) bool { return errors.As(err, new(*types.InvalidDBClusterStateFault)) }

func SnapshotNotFound(err error) bool {
	return errors.As(err, new(*types.DBSnapshotNotFoundFault)) || errors.As(err, new(*types.DBClusterSnapshotNotFoundFault))
}

func SnapshotExists(err error) bool {
	return errors.As(err, new(*types.DBSnapshotAlreadyExistsFault)) || errors.As(err, new(*types.DBClusterSnapshotAlreadyExistsFault))
}

func QuotaExceeded(err error) bool {
	return errors.As(err, new(*types.SnapshotQuotaExceededFault))
}

func InstanceNotFound(err error) bool { return errors.As(err, new(*types.DBInstanceNotFoundFault)) }

func InstanceExists(err error) bool { return errors.As(err, new(*types.DBInstanceAlreadyExistsFault)) }

func InstanceBusy(err error) bool { return errors.As(err, new(*types.InvalidDBInstanceStateFault)) }

// SingleStepRefused: RDS would not copy a snapshot of another account from another region in
// one step (older engines and regions, keys that can't be used across regions); the two-hop
// path may still work. RDS says so with a parameter error or a KMS fault.
func SingleStepRefused(err error) bool {
	return errors.As(err, new(*types.KMSKeyNotAccessibleFault)) || awserr.Is(err, "InvalidParameterCombination", "InvalidParameterValue")
}
