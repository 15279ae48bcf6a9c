package dr

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/internal/awsretry"
)

// calls is an RDS client with the per-call options every call of the package carries: the
// SDK's standard retryer (the one retry layer) and the caller's ClientOptions.
type calls struct {
	c    RDSAPI
	opts []func(*rds.Options)
}

func newCalls(client RDSAPI, c clock.Clock, maxAttempts int, clientOptions []func(*rds.Options)) calls {
	retryer := awsretry.New(awsretry.Options{Clock: c, MaxAttempts: maxAttempts})
	return calls{c: client, opts: append([]func(*rds.Options){func(o *rds.Options) { o.Retryer = retryer }}, clientOptions...)}
}

// snap is a DB snapshot or an Aurora DB cluster snapshot, seen the same way by the source
// and recovery sides, retention and Verify; the kind decides which RDS calls handle it.
type snap struct {
	cluster   bool
	id, arn   string
	db        string // the source DB instance or cluster
	kind      string // automated, manual, shared
	status    string
	kmsKey    string
	encrypted bool
	created   time.Time // when the data was taken: see created()
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
		kind: aws.ToString(s.SnapshotType), status: aws.ToString(s.Status), kmsKey: aws.ToString(s.KmsKeyId), encrypted: aws.ToBool(s.Encrypted),
		created: created(s), tags: s.TagList}
}

// created is when a DB snapshot's data was taken: OriginalSnapshotCreateTime, which a copy
// keeps, when RDS gives it, else SnapshotCreateTime (which RDS resets on every copy). This is
// the one ordering of the package: "newest" means the newest data, everywhere.
func created(s types.DBSnapshot) time.Time {
	if s.OriginalSnapshotCreateTime != nil {
		return *s.OriginalSnapshotCreateTime
	}
	return aws.ToTime(s.SnapshotCreateTime)
}

func fromCluster(s types.DBClusterSnapshot) snap {
	return snap{cluster: true, id: bareID(s.DBClusterSnapshotIdentifier), arn: aws.ToString(s.DBClusterSnapshotArn),
		db: aws.ToString(s.DBClusterIdentifier), kind: aws.ToString(s.SnapshotType), status: aws.ToString(s.Status), kmsKey: aws.ToString(s.KmsKeyId),
		encrypted: aws.ToBool(s.StorageEncrypted), created: aws.ToTime(s.SnapshotCreateTime), tags: s.TagList}
}

// newer is the package's one ordering rule: newer data first (original creation time), the
// identifier breaking ties so that every run picks the same one.
func newer(a, b snap) bool {
	if !a.created.Equal(b.created) {
		return a.created.After(b.created)
	}
	return a.id > b.id
}

// sortNewestFirst orders snapshots by newer.
func sortNewestFirst(list []snap) {
	sort.SliceStable(list, func(i, j int) bool { return newer(list[i], list[j]) })
}

// name is how messages and summaries call the snapshot: cluster snapshots are marked.
func (s snap) name() string {
	if s.cluster {
		return "cluster:" + s.id
	}
	return s.id
}

// group is one DB instance or cluster by name (SourceOptions.Databases).
func (s snap) group() string {
	if s.cluster {
		return "cluster/" + s.db
	}
	return "instance/" + s.db
}

// origin is the account whose database the snapshot's data comes from: its
// shipshape:source-account tag, else (a copy made before that tag) the account of its
// shipshape:source ARN (a DR copy, a staging copy), else of its own ARN (a snapshot of this
// account, or one shared with it).
func (s snap) origin() string {
	if a := tagValue(s.tags, TagSourceAccount); validAccount(a) {
		return a
	}
	if a := accountOf(tagValue(s.tags, TagSource)); a != "" {
		return a
	}
	return accountOf(s.arn)
}

// database is the retention group and the unit of "the newest copy": one source DB instance
// or cluster of one account (two production accounts may each have an orders-db).
func (s snap) database() string { return s.group() + "@" + s.origin() }

// listSnaps pages through the DB snapshots and then the DB cluster snapshots of one type
// ("manual", "automated"; "" with shared: every snapshot of the account and the ones shared
// with it), 100 a page, handing each to fn.
func (c calls) listSnaps(ctx context.Context, snapshotType string, shared bool, fn func(snap)) error {
	p := rds.NewDescribeDBSnapshotsPaginator(c.c, &rds.DescribeDBSnapshotsInput{SnapshotType: optionalString(snapshotType),
		IncludeShared: aws.Bool(shared), MaxRecords: aws.Int32(100)})
	what := snapshotType
	if what == "" {
		what = "own and shared"
	}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx, c.opts...)
		if err != nil {
			return fmt.Errorf("dr: listing %s DB snapshots: %w", what, err)
		}
		for _, s := range page.DBSnapshots {
			fn(fromInstance(s))
		}
	}
	pc := rds.NewDescribeDBClusterSnapshotsPaginator(c.c, &rds.DescribeDBClusterSnapshotsInput{SnapshotType: optionalString(snapshotType),
		IncludeShared: aws.Bool(shared), MaxRecords: aws.Int32(100)})
	for pc.HasMorePages() {
		page, err := pc.NextPage(ctx, c.opts...)
		if err != nil {
			return fmt.Errorf("dr: listing %s DB cluster snapshots: %w", what, err)
		}
		for _, s := range page.DBClusterSnapshots {
			fn(fromCluster(s))
		}
	}
	return nil
}

// manual is one listing of the manual snapshots of an account and region.
type manual struct {
	ours    []snap          // tagged shipshape:dr=true
	byID    map[string]snap // every manual snapshot, by name()
	counted [2]int          // manual DB snapshots, manual DB cluster snapshots
}

// listManual lists every manual snapshot of both kinds once.
func (c calls) listManual(ctx context.Context) (manual, error) {
	m := manual{byID: map[string]snap{}}
	err := c.listSnaps(ctx, "manual", false, func(s snap) {
		m.byID[s.name()] = s
		if s.cluster {
			m.counted[1]++
		} else {
			m.counted[0]++
		}
		if tagValue(s.tags, TagDR) == "true" {
			m.ours = append(m.ours, s)
		}
	})
	return m, err
}

// copyRequest is a copy of either kind.
type copyRequest struct {
	cluster              bool
	source, target       string
	kmsKey, sourceRegion string
	tags                 []types.Tag
}

// copySnap starts a copy.
func (c calls) copySnap(ctx context.Context, r copyRequest) error {
	var err error
	if r.cluster {
		_, err = c.c.CopyDBClusterSnapshot(ctx, &rds.CopyDBClusterSnapshotInput{SourceDBClusterSnapshotIdentifier: aws.String(r.source),
			TargetDBClusterSnapshotIdentifier: aws.String(r.target), KmsKeyId: optionalString(r.kmsKey), SourceRegion: optionalString(r.sourceRegion), Tags: r.tags}, c.opts...)
	} else {
		_, err = c.c.CopyDBSnapshot(ctx, &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: aws.String(r.source),
			TargetDBSnapshotIdentifier: aws.String(r.target), KmsKeyId: optionalString(r.kmsKey), SourceRegion: optionalString(r.sourceRegion), Tags: r.tags}, c.opts...)
	}
	return err
}

// describeSnap reads one snapshot of either kind by id; found is false when RDS has none.
func (c calls) describeSnap(ctx context.Context, cluster bool, id, snapshotType string) (s snap, found bool, err error) {
	if cluster {
		out, err := c.c.DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String(id),
			SnapshotType: optionalString(snapshotType)}, c.opts...)
		if err != nil || len(out.DBClusterSnapshots) == 0 {
			return snap{}, false, ignoreNotFound(err)
		}
		return fromCluster(out.DBClusterSnapshots[0]), true, nil
	}
	out, err := c.c.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id),
		SnapshotType: optionalString(snapshotType)}, c.opts...)
	if err != nil || len(out.DBSnapshots) == 0 {
		return snap{}, false, ignoreNotFound(err)
	}
	return fromInstance(out.DBSnapshots[0]), true, nil
}

func ignoreNotFound(err error) error {
	if snapshotNotFound(err) {
		return nil
	}
	return err
}

// restoreAccounts reads the accounts a snapshot's restore attribute names.
func (c calls) restoreAccounts(ctx context.Context, s snap) (map[string]bool, error) {
	have := map[string]bool{}
	add := func(name string, values []string) {
		if name == "restore" {
			for _, v := range values {
				have[v] = true
			}
		}
	}
	if s.cluster {
		out, err := c.c.DescribeDBClusterSnapshotAttributes(ctx, &rds.DescribeDBClusterSnapshotAttributesInput{DBClusterSnapshotIdentifier: aws.String(s.id)}, c.opts...)
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
	out, err := c.c.DescribeDBSnapshotAttributes(ctx, &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: aws.String(s.id)}, c.opts...)
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
func (c calls) shareWith(ctx context.Context, s snap, accounts []string) error {
	var err error
	if s.cluster {
		_, err = c.c.ModifyDBClusterSnapshotAttribute(ctx, &rds.ModifyDBClusterSnapshotAttributeInput{DBClusterSnapshotIdentifier: aws.String(s.id),
			AttributeName: aws.String("restore"), ValuesToAdd: accounts}, c.opts...)
	} else {
		_, err = c.c.ModifyDBSnapshotAttribute(ctx, &rds.ModifyDBSnapshotAttributeInput{DBSnapshotIdentifier: aws.String(s.id),
			AttributeName: aws.String("restore"), ValuesToAdd: accounts}, c.opts...)
	}
	return err
}

// deleteSnap deletes a snapshot; one that is gone already counts as deleted.
func (c calls) deleteSnap(ctx context.Context, s snap) error {
	var err error
	if s.cluster {
		_, err = c.c.DeleteDBClusterSnapshot(ctx, &rds.DeleteDBClusterSnapshotInput{DBClusterSnapshotIdentifier: aws.String(s.id)}, c.opts...)
	} else {
		_, err = c.c.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String(s.id)}, c.opts...)
	}
	return ignoreNotFound(err)
}

// quota is one RDS account quota: used of max.
type quota struct {
	name      string // ManualSnapshots, ManualClusterSnapshots
	used, max int64
}

// quotas reads the manual snapshot quotas of the account and region (DescribeAccountAttributes).
func (c calls) quotas(ctx context.Context) (map[string]quota, error) {
	out, err := c.c.DescribeAccountAttributes(ctx, &rds.DescribeAccountAttributesInput{}, c.opts...)
	if err != nil {
		return nil, fmt.Errorf("dr: reading the account's RDS quotas: %w", err)
	}
	q := map[string]quota{}
	for _, a := range out.AccountQuotas {
		name := aws.ToString(a.AccountQuotaName)
		q[name] = quota{name: name, used: aws.ToInt64(a.Used), max: aws.ToInt64(a.Max)}
	}
	return q, nil
}

func quotaName(cluster bool) string {
	if cluster {
		return "ManualClusterSnapshots"
	}
	return "ManualSnapshots"
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func tag(key, value string) types.Tag {
	return types.Tag{Key: aws.String(key), Value: aws.String(value)}
}
