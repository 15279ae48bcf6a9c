package drtest

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// The DB cluster snapshot calls share the DB snapshot logic (same states, sharing rules,
// quotas and faults, in a separate namespace with the cluster error types); these translate
// the inputs and outputs.

// op maps a DB snapshot operation to its cluster twin.
func op(cluster bool, name string) string {
	if !cluster {
		return name
	}
	switch name {
	case OpDescribe:
		return OpDescribeClusterSnapshots
	case OpCopy:
		return OpCopyCluster
	case OpDescribeAttrs:
		return OpDescribeClusterAttrs
	case OpModifyAttribute:
		return OpModifyClusterAttribute
	case OpDelete:
		return OpDeleteCluster
	}
	return name
}

func clusterOf(d types.DBSnapshot) types.DBClusterSnapshot {
	return types.DBClusterSnapshot{DBClusterSnapshotIdentifier: d.DBSnapshotIdentifier, DBClusterSnapshotArn: d.DBSnapshotArn,
		DBClusterIdentifier: d.DBInstanceIdentifier, SnapshotType: d.SnapshotType, Status: d.Status, SnapshotCreateTime: d.SnapshotCreateTime,
		StorageEncrypted: d.Encrypted, KmsKeyId: d.KmsKeyId, TagList: d.TagList, Engine: aws.String("aurora-postgresql")}
}

// DescribeDBClusterSnapshots lists DB cluster snapshots (one by id, or by type), 100 a page at most.
func (f *RDS) DescribeDBClusterSnapshots(ctx context.Context, in *rds.DescribeDBClusterSnapshotsInput, _ ...func(*rds.Options)) (*rds.DescribeDBClusterSnapshotsOutput, error) {
	out, err := f.describeSnapshots(ctx, true, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: in.DBClusterSnapshotIdentifier,
		SnapshotType: in.SnapshotType, IncludeShared: in.IncludeShared, MaxRecords: in.MaxRecords, Marker: in.Marker})
	if err != nil {
		return nil, err
	}
	res := &rds.DescribeDBClusterSnapshotsOutput{Marker: out.Marker}
	for _, d := range out.DBSnapshots {
		res.DBClusterSnapshots = append(res.DBClusterSnapshots, clusterOf(d))
	}
	return res, nil
}

// CopyDBClusterSnapshot copies a DB cluster snapshot with CopyDBSnapshot's rules.
func (f *RDS) CopyDBClusterSnapshot(ctx context.Context, in *rds.CopyDBClusterSnapshotInput, _ ...func(*rds.Options)) (*rds.CopyDBClusterSnapshotOutput, error) {
	out, err := f.copySnapshot(ctx, true, &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: in.SourceDBClusterSnapshotIdentifier,
		TargetDBSnapshotIdentifier: in.TargetDBClusterSnapshotIdentifier, KmsKeyId: in.KmsKeyId, SourceRegion: in.SourceRegion, Tags: in.Tags})
	if err != nil {
		return nil, err
	}
	c := clusterOf(*out.DBSnapshot)
	return &rds.CopyDBClusterSnapshotOutput{DBClusterSnapshot: &c}, nil
}

// DescribeDBClusterSnapshotAttributes returns the restore attribute of a DB cluster snapshot.
func (f *RDS) DescribeDBClusterSnapshotAttributes(ctx context.Context, in *rds.DescribeDBClusterSnapshotAttributesInput, _ ...func(*rds.Options)) (*rds.DescribeDBClusterSnapshotAttributesOutput, error) {
	out, err := f.describeAttributes(ctx, true, &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: in.DBClusterSnapshotIdentifier})
	if err != nil {
		return nil, err
	}
	res := &types.DBClusterSnapshotAttributesResult{DBClusterSnapshotIdentifier: out.DBSnapshotAttributesResult.DBSnapshotIdentifier}
	for _, a := range out.DBSnapshotAttributesResult.DBSnapshotAttributes {
		res.DBClusterSnapshotAttributes = append(res.DBClusterSnapshotAttributes, types.DBClusterSnapshotAttribute{AttributeName: a.AttributeName, AttributeValues: a.AttributeValues})
	}
	return &rds.DescribeDBClusterSnapshotAttributesOutput{DBClusterSnapshotAttributesResult: res}, nil
}

// ModifyDBClusterSnapshotAttribute shares or unshares a manual DB cluster snapshot, with
// ModifyDBSnapshotAttribute's rules.
func (f *RDS) ModifyDBClusterSnapshotAttribute(ctx context.Context, in *rds.ModifyDBClusterSnapshotAttributeInput, _ ...func(*rds.Options)) (*rds.ModifyDBClusterSnapshotAttributeOutput, error) {
	if _, err := f.modifyAttribute(ctx, true, &rds.ModifyDBSnapshotAttributeInput{DBSnapshotIdentifier: in.DBClusterSnapshotIdentifier,
		AttributeName: in.AttributeName, ValuesToAdd: in.ValuesToAdd, ValuesToRemove: in.ValuesToRemove}); err != nil {
		return nil, err
	}
	return &rds.ModifyDBClusterSnapshotAttributeOutput{}, nil
}

// DeleteDBClusterSnapshot deletes a manual DB cluster snapshot.
func (f *RDS) DeleteDBClusterSnapshot(ctx context.Context, in *rds.DeleteDBClusterSnapshotInput, _ ...func(*rds.Options)) (*rds.DeleteDBClusterSnapshotOutput, error) {
	out, err := f.deleteSnapshot(ctx, true, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: in.DBClusterSnapshotIdentifier})
	if err != nil {
		return nil, err
	}
	c := clusterOf(*out.DBSnapshot)
	return &rds.DeleteDBClusterSnapshotOutput{DBClusterSnapshot: &c}, nil
}
