package dr

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// snap is a DB snapshot or an Aurora DB cluster snapshot, seen the same way by the source
// and recovery sides and retention; the kind decides which RDS calls handle it.
type snap struct {
	cluster   bool
	id, arn   string
	db        string // the source DB instance or cluster
	status    string
	kmsKey    string
	encrypted bool
	created   time.Time
	tags      []types.Tag
}

// bareID is a snapshot's id without the ARN that a listing of snapshots shared by another
// account may give in its place.
func bareID(id *string) string {
	s := aws.ToString(id)
	// arn:partition:rds:region:account:snapshot|cluster-snapshot:id (the id may hold ':')
	if parts := strings.SplitN(s, ":", 7); len(parts) == 7 && parts[0] == "arn" {
		return parts[6]
	}
	return s
}

func fromInstance(s types.DBSnapshot) snap {
	return snap{id: bareID(s.DBSnapshotIdentifier), arn: aws.ToString(s.DBSnapshotArn), db: aws.ToString(s.DBInstanceIdentifier),
		status: aws.ToString(s.Status), kmsKey: aws.ToString(s.KmsKeyId), encrypted: aws.ToBool(s.Encrypted),
		created: created(s), tags: s.TagList}
}

// created is when a DB snapshot was taken: OriginalSnapshotCreateTime, which a copy keeps,
// when RDS gives it, else SnapshotCreateTime.
func created(s types.DBSnapshot) time.Time {
	if s.OriginalSnapshotCreateTime != nil {
		return *s.OriginalSnapshotCreateTime
	}
	return aws.ToTime(s.SnapshotCreateTime)
}

func fromCluster(s types.DBClusterSnapshot) snap {
	return snap{cluster: true, id: bareID(s.DBClusterSnapshotIdentifier), arn: aws.ToString(s.DBClusterSnapshotArn),
		db: aws.ToString(s.DBClusterIdentifier), status: aws.ToString(s.Status), kmsKey: aws.ToString(s.KmsKeyId),
		encrypted: aws.ToBool(s.StorageEncrypted), created: aws.ToTime(s.SnapshotCreateTime), tags: s.TagList}
}

// name is how messages and summaries call the snapshot: cluster snapshots are marked.
func (s snap) name() string {
	if s.cluster {
		return "cluster:" + s.id
	}
	return s.id
}

// group is the retention group: one source DB instance or cluster.
func (s snap) group() string {
	if s.cluster {
		return "cluster/" + s.db
	}
	return "instance/" + s.db
}

// listSnaps pages through the DB snapshots and then the DB cluster snapshots of one type
// ("manual", "shared"), 100 a page, handing each to fn.
func listSnaps(ctx context.Context, client RDSAPI, snapshotType string, fn func(snap)) error {
	shared := aws.Bool(snapshotType == "shared")
	p := rds.NewDescribeDBSnapshotsPaginator(client, &rds.DescribeDBSnapshotsInput{SnapshotType: aws.String(snapshotType),
		IncludeShared: shared, MaxRecords: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("dr: listing %s DB snapshots: %w", snapshotType, err)
		}
		for _, s := range page.DBSnapshots {
			fn(fromInstance(s))
		}
	}
	pc := rds.NewDescribeDBClusterSnapshotsPaginator(client, &rds.DescribeDBClusterSnapshotsInput{SnapshotType: aws.String(snapshotType),
		IncludeShared: shared, MaxRecords: aws.Int32(100)})
	for pc.HasMorePages() {
		page, err := pc.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("dr: listing %s DB cluster snapshots: %w", snapshotType, err)
		}
		for _, s := range page.DBClusterSnapshots {
			fn(fromCluster(s))
		}
	}
	return nil
}

// ourSnaps lists the DR snapshots (tagged TagDR=true) of both kinds in the client's account
// and region.
func ourSnaps(ctx context.Context, client RDSAPI) ([]snap, error) {
	var out []snap
	err := listSnaps(ctx, client, "manual", func(s snap) {
		if tagged(s.tags) {
			out = append(out, s)
		}
	})
	return out, err
}

// copyRequest is a copy of either kind.
type copyRequest struct {
	cluster              bool
	source, target       string
	kmsKey, sourceRegion string
	tags                 []types.Tag
}

// copySnap starts a copy and returns the RDS error code, if any, with the error.
func copySnap(ctx context.Context, client RDSAPI, c copyRequest) (string, error) {
	var err error
	if c.cluster {
		_, err = client.CopyDBClusterSnapshot(ctx, &rds.CopyDBClusterSnapshotInput{SourceDBClusterSnapshotIdentifier: aws.String(c.source),
			TargetDBClusterSnapshotIdentifier: aws.String(c.target), KmsKeyId: optionalString(c.kmsKey), SourceRegion: optionalString(c.sourceRegion), Tags: c.tags})
	} else {
		_, err = client.CopyDBSnapshot(ctx, &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: aws.String(c.source),
			TargetDBSnapshotIdentifier: aws.String(c.target), KmsKeyId: optionalString(c.kmsKey), SourceRegion: optionalString(c.sourceRegion), Tags: c.tags})
	}
	return normalCode(err), err
}

// normalCode is code(err) with the cluster codes mapped onto the instance ones, so that one
// switch handles both kinds.
func normalCode(err error) string {
	switch c := code(err); c {
	case "DBClusterSnapshotAlreadyExistsFault":
		return "DBSnapshotAlreadyExists"
	case "DBClusterSnapshotNotFoundFault":
		return "DBSnapshotNotFound"
	case "InvalidDBClusterSnapshotStateFault":
		return "InvalidDBSnapshotState"
	default:
		return c
	}
}

// restoreAccounts reads the accounts a snapshot's restore attribute names.
func restoreAccounts(ctx context.Context, client RDSAPI, s snap) (map[string]bool, error) {
	have := map[string]bool{}
	add := func(name string, values []string) {
		if name == "restore" {
			for _, v := range values {
				have[v] = true
			}
		}
	}
	if s.cluster {
		out, err := client.DescribeDBClusterSnapshotAttributes(ctx, &rds.DescribeDBClusterSnapshotAttributesInput{DBClusterSnapshotIdentifier: aws.String(s.id)})
		if err != nil {
			return nil, err
		}
		if r := out.DBClusterSnapshotAttributesResult; r != nil {
			for _, a := range r.DBClusterSnapshotAttributes {
				add(aws.ToString(a.AttributeName), a.AttributeValues)
			}
		}
		return have, nil
	}
	out, err := client.DescribeDBSnapshotAttributes(ctx, &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: aws.String(s.id)})
	if err != nil {
		return nil, err
	}
	if r := out.DBSnapshotAttributesResult; r != nil {
		for _, a := range r.DBSnapshotAttributes {
			add(aws.ToString(a.AttributeName), a.AttributeValues)
		}
	}
	return have, nil
}

// shareWith adds accounts to a snapshot's restore attribute.
func shareWith(ctx context.Context, client RDSAPI, s snap, accounts []string) error {
	var err error
	if s.cluster {
		_, err = client.ModifyDBClusterSnapshotAttribute(ctx, &rds.ModifyDBClusterSnapshotAttributeInput{DBClusterSnapshotIdentifier: aws.String(s.id),
			AttributeName: aws.String("restore"), ValuesToAdd: accounts})
	} else {
		_, err = client.ModifyDBSnapshotAttribute(ctx, &rds.ModifyDBSnapshotAttributeInput{DBSnapshotIdentifier: aws.String(s.id),
			AttributeName: aws.String("restore"), ValuesToAdd: accounts})
	}
	return err
}

// deleteSnap deletes a snapshot; one that is gone already counts as deleted.
func deleteSnap(ctx context.Context, client RDSAPI, s snap) error {
	var err error
	if s.cluster {
		_, err = client.DeleteDBClusterSnapshot(ctx, &rds.DeleteDBClusterSnapshotInput{DBClusterSnapshotIdentifier: aws.String(s.id)})
	} else {
		_, err = client.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String(s.id)})
	}
	if normalCode(err) == "DBSnapshotNotFound" {
		return nil
	}
	return err
}
