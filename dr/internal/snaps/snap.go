package snaps

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/internal/awsretry"
)

// Calls is an RDS client with the per-call options every call of the package carries: the
// SDK's standard retryer (the one retry layer) and the caller's ClientOptions.
type Calls[C any] struct {
	Client C
	Opts   []func(*rds.Options)
}

func NewCalls[C any](client C, c clock.Clock, maxAttempts int, clientOptions []func(*rds.Options)) Calls[C] {
	retryer := awsretry.New(awsretry.Options{Clock: c, MaxAttempts: maxAttempts})
	return Calls[C]{Client: client, Opts: append([]func(*rds.Options){func(o *rds.Options) { o.Retryer = retryer }}, clientOptions...)}
}

// Snap is a DB snapshot or an Aurora DB cluster snapshot, seen the same way by the source
// and recovery sides, retention and Verify; the kind decides which RDS calls handle it.
type Snap struct {
	Cluster   bool
	ID, ARN   string
	DB        string // the source DB instance or cluster
	Kind      string // automated, manual, shared
	Status    string
	KMSKey    string
	Encrypted bool
	Created   time.Time // when the data was taken: see created()
	Tags      []types.Tag
}

// BareID is a snapshot's id without the ARN that a listing of snapshots shared by another
// account may give in its place.
func BareID(id *string) string {
	s := aws.ToString(id)
	// arn:partition:rds:region:account:snapshot|cluster-snapshot:id (the id may hold ':')
	if a, err := arn.Parse(s); err == nil {
		if _, bare, ok := strings.Cut(a.Resource, ":"); ok {
			return bare
		}
	}
	return s
}

func fromInstance(s types.DBSnapshot) Snap {
	return Snap{ID: BareID(s.DBSnapshotIdentifier), ARN: aws.ToString(s.DBSnapshotArn), DB: aws.ToString(s.DBInstanceIdentifier),
		Kind: aws.ToString(s.SnapshotType), Status: aws.ToString(s.Status), KMSKey: aws.ToString(s.KmsKeyId), Encrypted: aws.ToBool(s.Encrypted),
		Created: created(s), Tags: s.TagList}
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

func fromCluster(s types.DBClusterSnapshot) Snap {
	return Snap{Cluster: true, ID: BareID(s.DBClusterSnapshotIdentifier), ARN: aws.ToString(s.DBClusterSnapshotArn),
		DB: aws.ToString(s.DBClusterIdentifier), Kind: aws.ToString(s.SnapshotType), Status: aws.ToString(s.Status), KMSKey: aws.ToString(s.KmsKeyId),
		Encrypted: aws.ToBool(s.StorageEncrypted), Created: aws.ToTime(s.SnapshotCreateTime), Tags: s.TagList}
}

// Newer is the package's one ordering rule: newer data first (original creation time), the
// identifier breaking ties so that every run picks the same one.
func Newer(a, b Snap) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.After(b.Created)
	}
	return a.ID > b.ID
}

// SortNewestFirst orders snapshots by newer.
func SortNewestFirst(list []Snap) {
	sort.SliceStable(list, func(i, j int) bool { return Newer(list[i], list[j]) })
}

// Name is how messages and summaries call the snapshot: cluster snapshots are marked.
func (s Snap) Name() string {
	if s.Cluster {
		return "cluster:" + s.ID
	}
	return s.ID
}

// Group is one DB instance or cluster by name (SourceOptions.Databases).
func (s Snap) Group() string {
	if s.Cluster {
		return "cluster/" + s.DB
	}
	return "instance/" + s.DB
}

// Origin is the account whose database the snapshot's data comes from: its
// shipshape:source-account tag, else (a copy made before that tag) the account of its
// shipshape:source ARN (a DR copy, a staging copy), else of its own ARN (a snapshot of this
// account, or one shared with it).
func (s Snap) Origin() string {
	if a := TagValue(s.Tags, TagSourceAccount); ValidAccount(a) {
		return a
	}
	if a := AccountOf(TagValue(s.Tags, TagSource)); a != "" {
		return a
	}
	return AccountOf(s.ARN)
}

// Database is the retention group and the unit of "the newest copy": one source DB instance
// or cluster of one account (two production accounts may each have an orders-db).
func (s Snap) Database() string { return s.Group() + "@" + s.Origin() }

// ListSnaps pages through the DB snapshots and then the DB cluster snapshots of one type
// ("manual", "automated"; "" with shared: every snapshot of the account and the ones shared
// with it), 100 a page, handing each to fn.
func ListSnaps[C Lister](ctx context.Context, c Calls[C], snapshotType string, shared bool, fn func(Snap)) error {
	p := rds.NewDescribeDBSnapshotsPaginator(c.Client, &rds.DescribeDBSnapshotsInput{SnapshotType: OptionalString(snapshotType),
		IncludeShared: aws.Bool(shared), MaxRecords: aws.Int32(100)})
	what := snapshotType
	if what == "" {
		what = "own and shared"
	}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx, c.Opts...)
		if err != nil {
			return fmt.Errorf("dr: listing %s DB snapshots: %w", what, err)
		}
		for _, s := range page.DBSnapshots {
			fn(fromInstance(s))
		}
	}
	pc := rds.NewDescribeDBClusterSnapshotsPaginator(c.Client, &rds.DescribeDBClusterSnapshotsInput{SnapshotType: OptionalString(snapshotType),
		IncludeShared: aws.Bool(shared), MaxRecords: aws.Int32(100)})
	for pc.HasMorePages() {
		page, err := pc.NextPage(ctx, c.Opts...)
		if err != nil {
			return fmt.Errorf("dr: listing %s DB cluster snapshots: %w", what, err)
		}
		for _, s := range page.DBClusterSnapshots {
			fn(fromCluster(s))
		}
	}
	return nil
}

// Manual is one listing of the manual snapshots of an account and region.
type Manual struct {
	Ours    []Snap          // tagged shipshape:dr=true
	ByID    map[string]Snap // every manual snapshot, by name()
	Counted [2]int          // manual DB snapshots, manual DB cluster snapshots
}

// ListManual lists every manual snapshot of both kinds once.
func ListManual[C Lister](ctx context.Context, c Calls[C]) (Manual, error) {
	m := Manual{ByID: map[string]Snap{}}
	err := ListSnaps(ctx, c, "manual", false, func(s Snap) {
		m.ByID[s.Name()] = s
		if s.Cluster {
			m.Counted[1]++
		} else {
			m.Counted[0]++
		}
		if TagValue(s.Tags, TagDR) == "true" {
			m.Ours = append(m.Ours, s)
		}
	})
	return m, err
}

// CopyRequest is a copy of either kind.
type CopyRequest struct {
	Cluster              bool
	Source, Target       string
	KMSKey, SourceRegion string
	Tags                 []types.Tag
}

// CopySnap starts a copy.
func CopySnap[C Copier](ctx context.Context, c Calls[C], r CopyRequest) error {
	var err error
	if r.Cluster {
		_, err = c.Client.CopyDBClusterSnapshot(ctx, &rds.CopyDBClusterSnapshotInput{SourceDBClusterSnapshotIdentifier: aws.String(r.Source),
			TargetDBClusterSnapshotIdentifier: aws.String(r.Target), KmsKeyId: OptionalString(r.KMSKey), SourceRegion: OptionalString(r.SourceRegion), Tags: r.Tags}, c.Opts...)
	} else {
		_, err = c.Client.CopyDBSnapshot(ctx, &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: aws.String(r.Source),
			TargetDBSnapshotIdentifier: aws.String(r.Target), KmsKeyId: OptionalString(r.KMSKey), SourceRegion: OptionalString(r.SourceRegion), Tags: r.Tags}, c.Opts...)
	}
	return err
}

// DescribeSnap reads one snapshot of either kind by id; found is false when RDS has none.
func DescribeSnap[C Lister](ctx context.Context, c Calls[C], cluster bool, id, snapshotType string) (s Snap, found bool, err error) {
	if cluster {
		out, err := c.Client.DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String(id),
			SnapshotType: OptionalString(snapshotType)}, c.Opts...)
		if err != nil || len(out.DBClusterSnapshots) == 0 {
			return Snap{}, false, ignoreNotFound(err)
		}
		return fromCluster(out.DBClusterSnapshots[0]), true, nil
	}
	out, err := c.Client.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id),
		SnapshotType: OptionalString(snapshotType)}, c.Opts...)
	if err != nil || len(out.DBSnapshots) == 0 {
		return Snap{}, false, ignoreNotFound(err)
	}
	return fromInstance(out.DBSnapshots[0]), true, nil
}

func ignoreNotFound(err error) error {
	if SnapshotNotFound(err) {
		return nil
	}
	return err
}

// RestoreAccounts reads the accounts a snapshot's restore attribute names.
func RestoreAccounts[C AttributeReader](ctx context.Context, c Calls[C], s Snap) (map[string]bool, error) {
	have := map[string]bool{}
	add := func(name string, values []string) {
		if name == "restore" {
			for _, v := range values {
				have[v] = true
			}
		}
	}
	if s.Cluster {
		out, err := c.Client.DescribeDBClusterSnapshotAttributes(ctx, &rds.DescribeDBClusterSnapshotAttributesInput{DBClusterSnapshotIdentifier: aws.String(s.ID)}, c.Opts...)
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
	out, err := c.Client.DescribeDBSnapshotAttributes(ctx, &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: aws.String(s.ID)}, c.Opts...)
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

// ShareWith adds accounts to a snapshot's restore attribute.
func ShareWith[C Sharer](ctx context.Context, c Calls[C], s Snap, accounts []string) error {
	var err error
	if s.Cluster {
		_, err = c.Client.ModifyDBClusterSnapshotAttribute(ctx, &rds.ModifyDBClusterSnapshotAttributeInput{DBClusterSnapshotIdentifier: aws.String(s.ID),
			AttributeName: aws.String("restore"), ValuesToAdd: accounts}, c.Opts...)
	} else {
		_, err = c.Client.ModifyDBSnapshotAttribute(ctx, &rds.ModifyDBSnapshotAttributeInput{DBSnapshotIdentifier: aws.String(s.ID),
			AttributeName: aws.String("restore"), ValuesToAdd: accounts}, c.Opts...)
	}
	return err
}

// DeleteSnap deletes a snapshot; one that is gone already counts as deleted.
func DeleteSnap[C Deleter](ctx context.Context, c Calls[C], s Snap) error {
	var err error
	if s.Cluster {
		_, err = c.Client.DeleteDBClusterSnapshot(ctx, &rds.DeleteDBClusterSnapshotInput{DBClusterSnapshotIdentifier: aws.String(s.ID)}, c.Opts...)
	} else {
		_, err = c.Client.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String(s.ID)}, c.Opts...)
	}
	return ignoreNotFound(err)
}

// Quota is one RDS account quota: used of max.
type Quota struct {
	Name      string // ManualSnapshots, ManualClusterSnapshots
	Used, Max int64
}

// Quotas reads the manual snapshot quotas of the account and region (DescribeAccountAttributes).
func Quotas[C QuotaReader](ctx context.Context, c Calls[C]) (map[string]Quota, error) {
	out, err := c.Client.DescribeAccountAttributes(ctx, &rds.DescribeAccountAttributesInput{}, c.Opts...)
	if err != nil {
		return nil, fmt.Errorf("dr: reading the account's RDS quotas: %w", err)
	}
	q := map[string]Quota{}
	for _, a := range out.AccountQuotas {
		name := aws.ToString(a.AccountQuotaName)
		q[name] = Quota{Name: name, Used: aws.ToInt64(a.Used), Max: aws.ToInt64(a.Max)}
	}
	return q, nil
}

func QuotaName(cluster bool) string {
	if cluster {
		return "ManualClusterSnapshots"
	}
	return "ManualSnapshots"
}

func OptionalString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func TagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func Tag(key, value string) types.Tag {
	return types.Tag{Key: aws.String(key), Value: aws.String(value)}
}

// AccountOf returns the account id in a snapshot ARN.
func AccountOf(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return ""
	}
	return a.AccountID
}

func ValidAccount(a string) bool { return len(a) == 12 && strings.Trim(a, "0123456789") == "" }
