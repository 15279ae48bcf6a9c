package snaps

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// The RDS calls on snapshots, by what they do: each function of Calls asks only for the
// group it uses, so every dr type's own interface (its api.go) names only what it calls.
// *rds.Client satisfies them all, and so does drtest.RDS.

// Lister lists and describes DB and DB cluster snapshots (the SDK's paginator clients).
type Lister interface {
	rds.DescribeDBSnapshotsAPIClient
	rds.DescribeDBClusterSnapshotsAPIClient
}

// Copier copies snapshots of both kinds.
type Copier interface {
	CopyDBSnapshot(ctx context.Context, params *rds.CopyDBSnapshotInput, optFns ...func(*rds.Options)) (*rds.CopyDBSnapshotOutput, error)
	CopyDBClusterSnapshot(ctx context.Context, params *rds.CopyDBClusterSnapshotInput, optFns ...func(*rds.Options)) (*rds.CopyDBClusterSnapshotOutput, error)
}

// AttributeReader reads the restore attribute of snapshots of both kinds.
type AttributeReader interface {
	DescribeDBSnapshotAttributes(ctx context.Context, params *rds.DescribeDBSnapshotAttributesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBSnapshotAttributesOutput, error)
	DescribeDBClusterSnapshotAttributes(ctx context.Context, params *rds.DescribeDBClusterSnapshotAttributesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClusterSnapshotAttributesOutput, error)
}

// Sharer adds accounts to the restore attribute of snapshots of both kinds.
type Sharer interface {
	ModifyDBSnapshotAttribute(ctx context.Context, params *rds.ModifyDBSnapshotAttributeInput, optFns ...func(*rds.Options)) (*rds.ModifyDBSnapshotAttributeOutput, error)
	ModifyDBClusterSnapshotAttribute(ctx context.Context, params *rds.ModifyDBClusterSnapshotAttributeInput, optFns ...func(*rds.Options)) (*rds.ModifyDBClusterSnapshotAttributeOutput, error)
}

// Deleter deletes snapshots of both kinds.
type Deleter interface {
	DeleteDBSnapshot(ctx context.Context, params *rds.DeleteDBSnapshotInput, optFns ...func(*rds.Options)) (*rds.DeleteDBSnapshotOutput, error)
	DeleteDBClusterSnapshot(ctx context.Context, params *rds.DeleteDBClusterSnapshotInput, optFns ...func(*rds.Options)) (*rds.DeleteDBClusterSnapshotOutput, error)
}

// QuotaReader reads the account's RDS quotas.
type QuotaReader interface {
	DescribeAccountAttributes(ctx context.Context, params *rds.DescribeAccountAttributesInput, optFns ...func(*rds.Options)) (*rds.DescribeAccountAttributesOutput, error)
}

var (
	_ Lister          = (*rds.Client)(nil)
	_ Copier          = (*rds.Client)(nil)
	_ Sharer          = (*rds.Client)(nil)
	_ AttributeReader = (*rds.Client)(nil)
	_ Deleter         = (*rds.Client)(nil)
	_ QuotaReader     = (*rds.Client)(nil)
)

// The tags that tell the dr packages' snapshots (package dr documents them: dr.TagDR,
// dr.TagSource, dr.TagSourceAccount are these).
const (
	TagDR            = "shipshape:dr"
	TagSource        = "shipshape:source"
	TagSourceAccount = "shipshape:source-account"
)
