package drtest

import (
	"context"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

// Operation names of the Aurora restore calls, for Fail, LoseAnswers and Calls.
const (
	OpRestoreCluster        = "RestoreDBClusterFromSnapshot"
	OpDescribeClusters      = "DescribeDBClusters"
	OpDeleteDBCluster       = "DeleteDBCluster"
	OpCreateInstance        = "CreateDBInstance"
	OpCreateClusterSnapshot = "CreateDBClusterSnapshot"
)

// dbCluster is a restored Aurora cluster: "creating" for RestoreTime, then RestoreOutcome;
// its endpoint answers only while it has an available instance (checked by the caller).
type dbCluster struct {
	restored
	engine string
}

func (f *RDS) members(clusterID string) []types.DBClusterMember {
	var out []types.DBClusterMember
	var ids []string
	for id, in := range f.instances {
		if in.cluster == clusterID {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		out = append(out, types.DBClusterMember{DBInstanceIdentifier: aws.String(id), IsClusterWriter: aws.Bool(true)})
	}
	return out
}

func (f *RDS) describeCluster(c *dbCluster) types.DBCluster {
	status := c.status(f.clock.Now())
	d := types.DBCluster{DBClusterIdentifier: aws.String(c.id), Status: aws.String(status), Engine: aws.String(c.engine),
		TagList: append([]types.Tag(nil), c.tags...), DBClusterMembers: f.members(c.id), StorageEncrypted: aws.Bool(c.kmsKey != ""),
		KmsKeyId: optional(c.kmsKey), DBSubnetGroup: optional(c.subnetGroup), DeletionProtection: aws.Bool(false),
		DBClusterArn: aws.String("arn:aws:rds:" + f.Region + ":" + f.Account + ":cluster:" + c.id)}
	for _, sg := range c.securityGroups {
		d.VpcSecurityGroups = append(d.VpcSecurityGroups, types.VpcSecurityGroupMembership{VpcSecurityGroupId: aws.String(sg), Status: aws.String("active")})
	}
	if status == "available" {
		d.Endpoint, d.Port = aws.String(c.host), aws.Int32(c.port)
	}
	return d
}

// Clusters returns the ids of the DB clusters that exist and are not being deleted.
func (f *RDS) Clusters() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return liveIDs(f.clusters)
}

// RestoreDBClusterFromSnapshot creates an Aurora cluster from a DB cluster snapshot (by id
// or ARN), "creating" for RestoreTime. It has no instance until CreateDBInstance adds one.
func (f *RDS) RestoreDBClusterFromSnapshot(ctx context.Context, in *rds.RestoreDBClusterFromSnapshotInput, _ ...func(*rds.Options)) (*rds.RestoreDBClusterFromSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpRestoreCluster, in); err != nil {
		return nil, err
	}
	id := aws.ToString(in.DBClusterIdentifier)
	switch {
	case id == "" || aws.ToString(in.Engine) == "" || aws.ToString(in.SnapshotIdentifier) == "":
		return nil, fakeapi.Error("MissingParameter", "DBClusterIdentifier, Engine and SnapshotIdentifier are required")
	case f.clusters[id] != nil:
		return nil, &types.DBClusterAlreadyExistsFault{Message: aws.String("DB cluster " + id + " already exists")}
	}
	if err := dr.ValidIdentifier(id); err != nil || len(id) > 63 {
		return nil, fakeapi.Error("InvalidParameterValue", "invalid DBClusterIdentifier "+id)
	}
	owner, s := f.source(true, aws.ToString(in.SnapshotIdentifier))
	if s == nil || owner != f {
		return nil, notFound(true, aws.ToString(in.SnapshotIdentifier))
	}
	if f.status(s) != "available" {
		return nil, &types.InvalidDBClusterSnapshotStateFault{Message: aws.String("the snapshot is not available")}
	}
	r := f.restoring(id, "cluster-fake.rds.amazonaws.com", in.Tags)
	r.snapshot, r.kmsKey, r.subnetGroup, r.securityGroups = s.id, s.kmsKey, aws.ToString(in.DBSubnetGroupName), in.VpcSecurityGroupIds
	f.clusters[id] = &dbCluster{restored: r, engine: aws.ToString(in.Engine)}
	if err := f.answerLost(OpRestoreCluster); err != nil {
		return nil, err
	}
	d := f.describeCluster(f.clusters[id])
	return &rds.RestoreDBClusterFromSnapshotOutput{DBCluster: &d}, nil
}

// DescribeDBClusters describes one cluster.
func (f *RDS) DescribeDBClusters(ctx context.Context, in *rds.DescribeDBClustersInput, _ ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpDescribeClusters, in); err != nil {
		return nil, err
	}
	c := f.clusters[aws.ToString(in.DBClusterIdentifier)]
	if c == nil {
		return nil, &types.DBClusterNotFoundFault{Message: aws.String("DBCluster " + aws.ToString(in.DBClusterIdentifier) + " not found.")}
	}
	d := f.describeCluster(c)
	if c.deleting {
		delete(f.clusters, c.id) // deletion finishes by the next look
	}
	return &rds.DescribeDBClustersOutput{DBClusters: []types.DBCluster{d}}, nil
}

// DeleteDBCluster deletes a cluster whose instances are all being deleted, as RDS requires;
// without SkipFinalSnapshot it needs a final snapshot id.
func (f *RDS) DeleteDBCluster(ctx context.Context, in *rds.DeleteDBClusterInput, _ ...func(*rds.Options)) (*rds.DeleteDBClusterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpDeleteDBCluster, in); err != nil {
		return nil, err
	}
	c := f.clusters[aws.ToString(in.DBClusterIdentifier)]
	switch {
	case c == nil:
		return nil, &types.DBClusterNotFoundFault{Message: aws.String("DBCluster not found.")}
	case !aws.ToBool(in.SkipFinalSnapshot) && in.FinalDBSnapshotIdentifier == nil:
		return nil, fakeapi.Error("InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is set")
	}
	for _, in := range f.instances {
		if in.cluster == c.id && !in.deleting {
			return nil, &types.InvalidDBClusterStateFault{Message: aws.String("Cluster cannot be deleted, it still contains DB instances in non-deleting state.")}
		}
	}
	c.deleting = true
	if err := f.answerLost(OpDeleteDBCluster); err != nil {
		return nil, err
	}
	d := f.describeCluster(c)
	return &rds.DeleteDBClusterOutput{DBCluster: &d}, nil
}

// CreateDBInstance adds an instance to an Aurora cluster (the only kind the fake makes),
// "creating" for RestoreTime, then RestoreOutcome.
func (f *RDS) CreateDBInstance(ctx context.Context, in *rds.CreateDBInstanceInput, _ ...func(*rds.Options)) (*rds.CreateDBInstanceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpCreateInstance, in); err != nil {
		return nil, err
	}
	id, clusterID := aws.ToString(in.DBInstanceIdentifier), aws.ToString(in.DBClusterIdentifier)
	c := f.clusters[clusterID]
	switch {
	case clusterID == "":
		return nil, fakeapi.Error("InvalidParameterCombination", "drtest makes Aurora cluster instances only: DBClusterIdentifier is required")
	case c == nil || c.deleting:
		return nil, &types.DBClusterNotFoundFault{Message: aws.String("DBCluster " + clusterID + " not found.")}
	case f.instances[id] != nil:
		return nil, &types.DBInstanceAlreadyExistsFault{Message: aws.String("DB instance already exists")}
	}
	f.instances[id] = &instance{restored: restored{id: id, kmsKey: c.kmsKey, readyAt: f.clock.Now().Add(f.RestoreTime), host: c.host, port: c.port,
		subnetGroup: c.subnetGroup, securityGroups: c.securityGroups, tags: append([]types.Tag(nil), in.Tags...), outcome: f.RestoreOutcome},
		public: aws.ToBool(in.PubliclyAccessible), instanceClass: aws.ToString(in.DBInstanceClass), cluster: clusterID}
	if err := f.answerLost(OpCreateInstance); err != nil {
		return nil, err
	}
	return &rds.CreateDBInstanceOutput{DBInstance: f.describeInstance(f.instances[id])}, nil
}

// CreateDBClusterSnapshot snapshots an available cluster into a manual DB cluster snapshot
// ("creating" for CopyTime), encrypted as the cluster is.
func (f *RDS) CreateDBClusterSnapshot(ctx context.Context, in *rds.CreateDBClusterSnapshotInput, _ ...func(*rds.Options)) (*rds.CreateDBClusterSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpCreateClusterSnapshot, in); err != nil {
		return nil, err
	}
	c := f.clusters[aws.ToString(in.DBClusterIdentifier)]
	id := aws.ToString(in.DBClusterSnapshotIdentifier)
	switch {
	case c == nil || c.deleting:
		return nil, &types.DBClusterNotFoundFault{Message: aws.String("DBCluster not found.")}
	case c.status(f.clock.Now()) != "available":
		return nil, &types.InvalidDBClusterStateFault{Message: aws.String("the cluster is not available")}
	case f.snapshots[key(true, id)] != nil:
		return nil, &types.DBClusterSnapshotAlreadyExistsFault{Message: aws.String("DB cluster snapshot " + id + " already exists.")}
	}
	s, err := f.createSnapshot(OpCreateClusterSnapshot, true, &c.restored, id, in.Tags)
	if err != nil {
		return nil, err
	}
	d := clusterOf(f.describe(s))
	return &rds.CreateDBClusterSnapshotOutput{DBClusterSnapshot: &d}, nil
}
