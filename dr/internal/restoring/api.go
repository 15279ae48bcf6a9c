package restoring

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
)

// API is the part of the RDS client the engine calls: it finds the newest DR copy, restores
// it into an instance or an Aurora cluster and its instance, describes and deletes them.
// restore.VerifierAPI and failover.RestorerAPI are this set of methods.
type API interface {
	snaps.Lister
	RestoreDBInstanceFromDBSnapshot(ctx context.Context, params *rds.RestoreDBInstanceFromDBSnapshotInput, optFns ...func(*rds.Options)) (*rds.RestoreDBInstanceFromDBSnapshotOutput, error)
	DescribeDBInstances(ctx context.Context, params *rds.DescribeDBInstancesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	DeleteDBInstance(ctx context.Context, params *rds.DeleteDBInstanceInput, optFns ...func(*rds.Options)) (*rds.DeleteDBInstanceOutput, error)
	RestoreDBClusterFromSnapshot(ctx context.Context, params *rds.RestoreDBClusterFromSnapshotInput, optFns ...func(*rds.Options)) (*rds.RestoreDBClusterFromSnapshotOutput, error)
	DescribeDBClusters(ctx context.Context, params *rds.DescribeDBClustersInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
	CreateDBInstance(ctx context.Context, params *rds.CreateDBInstanceInput, optFns ...func(*rds.Options)) (*rds.CreateDBInstanceOutput, error)
	DeleteDBCluster(ctx context.Context, params *rds.DeleteDBClusterInput, optFns ...func(*rds.Options)) (*rds.DeleteDBClusterOutput, error)
}

var (
	_ API                                     = (*rds.Client)(nil)
	_ rds.DescribeDBSnapshotsAPIClient        = API(nil)
	_ rds.DescribeDBClusterSnapshotsAPIClient = API(nil)
)
