package drtest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

// createSnapshot adds the manual snapshot id of a restored instance or cluster,
// "creating" for CopyTime and encrypted as it is; op is the call, whose answer may be lost.
// Needs the lock.
func (f *RDS) createSnapshot(op string, cluster bool, from *restored, id string, tags []types.Tag) (*snapshot, error) {
	if err := dr.ValidIdentifier(id); err != nil {
		return nil, fakeapi.Error("InvalidParameterValue", err.Error())
	}
	s := &snapshot{cluster: cluster, id: id, instance: from.id, kind: "manual", kmsKey: from.kmsKey, created: f.clock.Now(), readyAt: f.clock.Now().Add(f.CopyTime),
		tags: append([]types.Tag(nil), tags...)}
	f.snapshots[key(cluster, id)] = s
	return s, f.answerLost(op)
}

func (f *RDS) arn(s *snapshot) string {
	if s.cluster {
		return fmt.Sprintf("arn:aws:rds:%s:%s:cluster-snapshot:%s", f.Region, f.Account, s.id)
	}
	return fmt.Sprintf("arn:aws:rds:%s:%s:snapshot:%s", f.Region, f.Account, s.id)
}

// AddAutomated adds an available automated snapshot "rds:<instance>-<time>" of instance,
// encrypted with kmsKey ("" for unencrypted; f.DefaultKey for the aws/rds key), and returns
// its id.
func (f *RDS) AddAutomated(instance string, created time.Time, kmsKey string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := "rds:" + instance + "-" + created.UTC().Format("2006-01-02-15-04")
	f.snapshots[id] = &snapshot{id: id, instance: instance, kind: "automated", kmsKey: kmsKey, created: created}
	return id
}

// AddAutomatedCluster is AddAutomated for an Aurora DB cluster; the id is "rds:<cluster>-<time>".
func (f *RDS) AddAutomatedCluster(cluster string, created time.Time, kmsKey string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := "rds:" + cluster + "-" + created.UTC().Format("2006-01-02-15-04")
	f.snapshots[key(true, id)] = &snapshot{cluster: true, id: id, instance: cluster, kind: "automated", kmsKey: kmsKey, created: created}
	return id
}

// AddManualCluster is AddManual for an Aurora DB cluster snapshot.
func (f *RDS) AddManualCluster(id, cluster string, created time.Time, tags map[string]string) {
	f.AddManual(id, cluster, created, tags)
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.snapshots[id]
	delete(f.snapshots, id)
	s.cluster = true
	f.snapshots[key(true, id)] = s
}

// AddManual adds an available manual snapshot with tags (for retention tests).
func (f *RDS) AddManual(id, instance string, created time.Time, tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &snapshot{id: id, instance: instance, kind: "manual", created: created}
	for k, v := range tags {
		s.tags = append(s.tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	f.snapshots[id] = s
}

// DescribeAccountAttributes returns the manual snapshot quotas: ManualSnapshots and
// ManualClusterSnapshots, each ManualQuota at most, with the manual snapshots of the kind.
func (f *RDS) DescribeAccountAttributes(ctx context.Context, in *rds.DescribeAccountAttributesInput, _ ...func(*rds.Options)) (*rds.DescribeAccountAttributesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpAccount, in); err != nil {
		return nil, err
	}
	var used [2]int64
	for _, s := range f.snapshots {
		if s.kind == "manual" {
			if s.cluster {
				used[1]++
			} else {
				used[0]++
			}
		}
	}
	return &rds.DescribeAccountAttributesOutput{AccountQuotas: []types.AccountQuota{
		{AccountQuotaName: aws.String("DBInstances"), Used: aws.Int64(int64(len(f.instances))), Max: aws.Int64(40)},
		{AccountQuotaName: aws.String("ManualSnapshots"), Used: aws.Int64(used[0]), Max: aws.Int64(int64(f.ManualQuota))},
		{AccountQuotaName: aws.String("ManualClusterSnapshots"), Used: aws.Int64(used[1]), Max: aws.Int64(int64(f.ManualQuota))},
	}}, nil
}

// IDs returns the DB snapshot ids, sorted.
func (f *RDS) IDs() []string { return f.ids(false) }

// ClusterIDs returns the DB cluster snapshot ids, sorted.
func (f *RDS) ClusterIDs() []string { return f.ids(true) }

func (f *RDS) ids(cluster bool) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, s := range f.snapshots {
		if s.cluster == cluster {
			ids = append(ids, s.id)
		}
	}
	sort.Strings(ids)
	return ids
}

// SharedWith returns the accounts a snapshot's restore attribute names ("cluster/<id>" for a
// DB cluster snapshot).
func (f *RDS) SharedWith(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.snapshots[id]; s != nil {
		return append([]string(nil), s.restore...)
	}
	return nil
}

// Tags returns a snapshot's tags as a map ("cluster/<id>" for a DB cluster snapshot; nil when
// there is no such snapshot).
func (f *RDS) Tags(id string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.snapshots[id]
	if s == nil {
		return nil
	}
	out := map[string]string{}
	for _, t := range s.tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// SetKMSKey makes a snapshot ("cluster/<id>" for a DB cluster snapshot) encrypted with key
// ("" for unencrypted).
func (f *RDS) SetKMSKey(id, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.snapshots[id]; s != nil {
		s.kmsKey = key
	}
}

// KMSKey returns the key a snapshot is encrypted with ("" if not encrypted; "cluster/<id>"
// for a DB cluster snapshot).
func (f *RDS) KMSKey(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.snapshots[id]; s != nil {
		return s.kmsKey
	}
	return ""
}

func (f *RDS) status(s *snapshot) string {
	if f.clock.Now().Before(s.readyAt) {
		return "creating"
	}
	return "available"
}

func (f *RDS) describe(s *snapshot) types.DBSnapshot {
	return types.DBSnapshot{DBSnapshotIdentifier: aws.String(s.id), DBSnapshotArn: aws.String(f.arn(s)), DBInstanceIdentifier: aws.String(s.instance),
		SnapshotType: aws.String(s.kind), Status: aws.String(f.status(s)), SnapshotCreateTime: aws.Time(s.created), OriginalSnapshotCreateTime: optionalTime(s.original),
		Encrypted: aws.Bool(s.kmsKey != ""), KmsKeyId: optional(s.kmsKey), TagList: append([]types.Tag(nil), s.tags...), Engine: aws.String("postgres")}
}

// DescribeDBSnapshots lists snapshots (one by id, or by type), 100 a page at most.
func (f *RDS) DescribeDBSnapshots(ctx context.Context, in *rds.DescribeDBSnapshotsInput, _ ...func(*rds.Options)) (*rds.DescribeDBSnapshotsOutput, error) {
	return f.describeSnapshots(ctx, false, in)
}

func (f *RDS) describeSnapshots(ctx context.Context, cluster bool, in *rds.DescribeDBSnapshotsInput) (*rds.DescribeDBSnapshotsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, op(cluster, OpDescribe), in); err != nil {
		return nil, err
	}
	if id := aws.ToString(in.DBSnapshotIdentifier); id != "" {
		s := f.snapshots[key(cluster, id)]
		if s == nil || (in.SnapshotType != nil && s.kind != aws.ToString(in.SnapshotType)) {
			return nil, notFound(cluster, id)
		}
		return &rds.DescribeDBSnapshotsOutput{DBSnapshots: []types.DBSnapshot{f.describe(s)}}, nil
	}
	size := int(aws.ToInt32(in.MaxRecords))
	if size == 0 {
		size = 100
	}
	if size < 20 || size > 100 {
		return nil, fakeapi.Error("InvalidParameterValue", "MaxRecords must be between 20 and 100")
	}
	// Own snapshots of the type asked for ("": automated and manual), then, with
	// IncludeShared or type "shared", the ones other accounts share with this one.
	typ := aws.ToString(in.SnapshotType)
	var all []types.DBSnapshot
	if typ != "shared" {
		var ids []string
		for k, s := range f.snapshots {
			if s.cluster == cluster && (typ == "" || s.kind == typ) {
				ids = append(ids, k)
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			all = append(all, f.describe(f.snapshots[id]))
		}
	}
	if typ == "shared" || (typ == "" && aws.ToBool(in.IncludeShared)) {
		all = append(all, f.describeShared(cluster)...)
	}
	start, _ := strconv.Atoi(aws.ToString(in.Marker))
	out := &rds.DescribeDBSnapshotsOutput{DBSnapshots: all[min(start, len(all)):min(start+size, len(all))]}
	if start+size < len(all) {
		out.Marker = aws.String(strconv.Itoa(start + size))
	}
	return out, nil
}

// describeShared lists the manual snapshots of other accounts in this region that are shared
// with this account (SnapshotType "shared"), as RDS does with IncludeShared. Needs the lock.
func (f *RDS) describeShared(cluster bool) []types.DBSnapshot {
	var out []types.DBSnapshot
	if f.world == nil {
		return out
	}
	var owners []*RDS
	for k, o := range f.world.rds {
		if k[1] == f.Region && k[0] != f.Account {
			owners = append(owners, o)
		}
	}
	sort.Slice(owners, func(i, j int) bool { return owners[i].Account < owners[j].Account })
	for _, o := range owners {
		var ids []string
		for k, s := range o.snapshots {
			if s.cluster == cluster {
				ids = append(ids, k)
			}
		}
		sort.Strings(ids)
		for _, k := range ids {
			s := o.snapshots[k]
			for _, a := range s.restore {
				if a == f.Account {
					d := o.describe(s)
					d.SnapshotType = aws.String("shared")
					d.TagList = nil // tags of another account's snapshot are not visible
					// A shared snapshot is listed under its ARN, not its bare id (package dr
					// accepts either).
					d.DBSnapshotIdentifier = d.DBSnapshotArn
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// source finds the snapshot a copy names (id here, or ARN anywhere in the world). Needs the lock.
func (f *RDS) source(cluster bool, id string) (*RDS, *snapshot) {
	if !strings.HasPrefix(id, "arn:") {
		return f, f.snapshots[key(cluster, id)]
	}
	a, err := arn.Parse(id) // arn:aws:rds:region:account:snapshot|cluster-snapshot:id
	kind, bare, ok := strings.Cut(a.Resource, ":")
	if err != nil || !ok || (kind != "snapshot" && kind != "cluster-snapshot") {
		return nil, nil
	}
	if isCluster := kind == "cluster-snapshot"; isCluster != cluster {
		return nil, nil
	}
	owner := f
	if a.Region != f.Region || a.AccountID != f.Account {
		if f.world == nil {
			return nil, nil
		}
		owner = f.world.rds[[2]string{a.AccountID, a.Region}]
		if owner == nil {
			return nil, nil
		}
	}
	return owner, owner.snapshots[key(cluster, bare)]
}

// CopyDBSnapshot copies a snapshot (by id or ARN) into a new manual snapshot, "creating"
// for CopyTime. Across accounts the source must be shared with this account; across regions
// SourceRegion must name the source's region and at most 20 such copies may be in progress;
// an encrypted snapshot copied across accounts or regions needs KmsKeyId.
func (f *RDS) CopyDBSnapshot(ctx context.Context, in *rds.CopyDBSnapshotInput, _ ...func(*rds.Options)) (*rds.CopyDBSnapshotOutput, error) {
	return f.copySnapshot(ctx, false, in)
}

func (f *RDS) copySnapshot(ctx context.Context, cluster bool, in *rds.CopyDBSnapshotInput) (*rds.CopyDBSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, op(cluster, OpCopy), in); err != nil {
		return nil, err
	}
	src := aws.ToString(in.SourceDBSnapshotIdentifier)
	owner, s := f.source(cluster, src)
	if s == nil {
		return nil, notFound(cluster, src)
	}
	crossAccount, crossRegion := owner.Account != f.Account, owner.Region != f.Region
	if crossAccount && crossRegion && f.RefuseSingleStep {
		return nil, fakeapi.Error("InvalidParameterCombination", "copying a snapshot of another account from another region in one step is not supported for this snapshot")
	}
	if crossAccount {
		shared := false
		for _, a := range s.restore {
			shared = shared || a == f.Account
		}
		if !shared {
			return nil, notFound(cluster, src)
		}
	}
	if crossRegion {
		if aws.ToString(in.SourceRegion) != owner.Region {
			return nil, fakeapi.Error("InvalidParameterValue", "a cross-region copy needs SourceRegion "+owner.Region)
		}
		inProgress := 0
		for _, x := range f.snapshots {
			if x.cluster == cluster && x.crossRegion && f.status(x) == "creating" {
				inProgress++
			}
		}
		limit := 20 // DB snapshots: 20 copies in progress per destination region; DB cluster snapshots: 5
		if cluster {
			limit = 5
		}
		if inProgress >= limit {
			return nil, &types.SnapshotQuotaExceededFault{Message: aws.String("at most " + strconv.Itoa(limit) + " cross-region snapshot copies may be in progress")}
		}
	}
	if s.kmsKey != "" && (crossAccount || crossRegion) && in.KmsKeyId == nil {
		return nil, fakeapi.Error("InvalidParameterCombination", "KmsKeyId is required to copy an encrypted snapshot across accounts or regions")
	}
	if owner.status(s) != "available" {
		return nil, invalidState(cluster, "the source snapshot is not available")
	}
	target := aws.ToString(in.TargetDBSnapshotIdentifier)
	if err := dr.ValidIdentifier(target); err != nil {
		return nil, fakeapi.Error("InvalidParameterValue", err.Error())
	}
	if f.snapshots[key(cluster, target)] != nil {
		if cluster {
			return nil, &types.DBClusterSnapshotAlreadyExistsFault{Message: aws.String("DB cluster snapshot " + target + " already exists.")}
		}
		return nil, &types.DBSnapshotAlreadyExistsFault{Message: aws.String("Cannot create the snapshot because a snapshot with the identifier " + target + " already exists.")}
	}
	manual := 0
	for _, x := range f.snapshots {
		if x.kind == "manual" && x.cluster == cluster { // separate quotas for the two kinds
			manual++
		}
	}
	if manual >= f.ManualQuota {
		return nil, &types.SnapshotQuotaExceededFault{Message: aws.String("Cannot create more than " + strconv.Itoa(f.ManualQuota) + " manual snapshots")}
	}
	kms := s.kmsKey
	if in.KmsKeyId != nil {
		if s.kmsKey == "" {
			return nil, fakeapi.Error("InvalidParameterValue", "KmsKeyId is only valid for encrypted snapshots")
		}
		kms = aws.ToString(in.KmsKeyId)
	}
	created, original := s.created, time.Time{}
	if !cluster { // a DB snapshot copy is created now and keeps the original's time apart
		created, original = f.clock.Now(), s.original
		if original.IsZero() {
			original = s.created
		}
	}
	c := &snapshot{cluster: cluster, id: target, instance: s.instance, kind: "manual", kmsKey: kms, created: created, original: original, readyAt: f.clock.Now().Add(f.CopyTime),
		tags: append([]types.Tag(nil), in.Tags...), crossRegion: crossRegion}
	f.snapshots[key(cluster, target)] = c
	if err := f.answerLost(op(cluster, OpCopy)); err != nil {
		return nil, err
	}
	d := f.describe(c)
	return &rds.CopyDBSnapshotOutput{DBSnapshot: &d}, nil
}

// DescribeDBSnapshotAttributes returns the restore attribute.
func (f *RDS) DescribeDBSnapshotAttributes(ctx context.Context, in *rds.DescribeDBSnapshotAttributesInput, _ ...func(*rds.Options)) (*rds.DescribeDBSnapshotAttributesOutput, error) {
	return f.describeAttributes(ctx, false, in)
}

func (f *RDS) describeAttributes(ctx context.Context, cluster bool, in *rds.DescribeDBSnapshotAttributesInput) (*rds.DescribeDBSnapshotAttributesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, op(cluster, OpDescribeAttrs), in); err != nil {
		return nil, err
	}
	s := f.snapshots[key(cluster, aws.ToString(in.DBSnapshotIdentifier))]
	if s == nil {
		return nil, notFound(cluster, aws.ToString(in.DBSnapshotIdentifier))
	}
	return &rds.DescribeDBSnapshotAttributesOutput{DBSnapshotAttributesResult: &types.DBSnapshotAttributesResult{
		DBSnapshotIdentifier: aws.String(s.id),
		DBSnapshotAttributes: []types.DBSnapshotAttribute{{AttributeName: aws.String("restore"), AttributeValues: append([]string(nil), s.restore...)}},
	}}, nil
}

// ModifyDBSnapshotAttribute shares or unshares a manual snapshot, with RDS's rules: only
// manual, available snapshots; never one under the default aws/rds key; 20 accounts at most.
func (f *RDS) ModifyDBSnapshotAttribute(ctx context.Context, in *rds.ModifyDBSnapshotAttributeInput, _ ...func(*rds.Options)) (*rds.ModifyDBSnapshotAttributeOutput, error) {
	return f.modifyAttribute(ctx, false, in)
}

func (f *RDS) modifyAttribute(ctx context.Context, cluster bool, in *rds.ModifyDBSnapshotAttributeInput) (*rds.ModifyDBSnapshotAttributeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, op(cluster, OpModifyAttribute), in); err != nil {
		return nil, err
	}
	s := f.snapshots[key(cluster, aws.ToString(in.DBSnapshotIdentifier))]
	switch {
	case s == nil:
		return nil, notFound(cluster, aws.ToString(in.DBSnapshotIdentifier))
	case aws.ToString(in.AttributeName) != "restore":
		return nil, fakeapi.Error("InvalidParameterValue", "only the restore attribute exists")
	case s.kind != "manual":
		return nil, invalidState(cluster, "Only manual snapshots can be shared")
	case f.status(s) != "available":
		return nil, invalidState(cluster, "Snapshot is not available")
	case s.kmsKey == f.DefaultKey && len(in.ValuesToAdd) > 0:
		return nil, fakeapi.Error("InvalidParameterValue", "Snapshots encrypted with the default KMS key can't be shared")
	}
	set := map[string]bool{}
	for _, a := range s.restore {
		set[a] = true
	}
	for _, a := range in.ValuesToAdd {
		set[a] = true
	}
	for _, a := range in.ValuesToRemove {
		delete(set, a)
	}
	if len(set) > 20 {
		return nil, &types.SharedSnapshotQuotaExceededFault{Message: aws.String("a snapshot can be shared with at most 20 accounts")}
	}
	s.restore = s.restore[:0]
	for a := range set {
		s.restore = append(s.restore, a)
	}
	sort.Strings(s.restore)
	return &rds.ModifyDBSnapshotAttributeOutput{}, nil
}

// DeleteDBSnapshot deletes a manual snapshot.
func (f *RDS) DeleteDBSnapshot(ctx context.Context, in *rds.DeleteDBSnapshotInput, _ ...func(*rds.Options)) (*rds.DeleteDBSnapshotOutput, error) {
	return f.deleteSnapshot(ctx, false, in)
}

func (f *RDS) deleteSnapshot(ctx context.Context, cluster bool, in *rds.DeleteDBSnapshotInput) (*rds.DeleteDBSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, op(cluster, OpDelete), in); err != nil {
		return nil, err
	}
	id := aws.ToString(in.DBSnapshotIdentifier)
	s := f.snapshots[key(cluster, id)]
	switch {
	case s == nil:
		return nil, notFound(cluster, id)
	case s.kind != "manual":
		return nil, invalidState(cluster, "automated snapshots are deleted by RDS")
	}
	delete(f.snapshots, key(cluster, id))
	d := f.describe(s)
	return &rds.DeleteDBSnapshotOutput{DBSnapshot: &d}, nil
}

// AddTagsToResource adds or replaces tags on a snapshot (by ARN).
func (f *RDS) AddTagsToResource(ctx context.Context, in *rds.AddTagsToResourceInput, _ ...func(*rds.Options)) (*rds.AddTagsToResourceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpAddTags, in); err != nil {
		return nil, err
	}
	arn := aws.ToString(in.ResourceName)
	isCluster := strings.Contains(arn, ":cluster-snapshot:")
	owner, s := f.source(isCluster, arn)
	if s == nil || owner != f {
		return nil, notFound(isCluster, arn)
	}
	for _, t := range in.Tags {
		replaced := false
		for i := range s.tags {
			if aws.ToString(s.tags[i].Key) == aws.ToString(t.Key) {
				s.tags[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			s.tags = append(s.tags, t)
		}
	}
	return &rds.AddTagsToResourceOutput{}, nil
}

// CreateDBSnapshot snapshots an available instance into a manual snapshot ("creating" for
// CopyTime), encrypted as the instance is.
func (f *RDS) CreateDBSnapshot(ctx context.Context, in *rds.CreateDBSnapshotInput, _ ...func(*rds.Options)) (*rds.CreateDBSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpCreateSnapshot, in); err != nil {
		return nil, err
	}
	inst := f.instances[aws.ToString(in.DBInstanceIdentifier)]
	id := aws.ToString(in.DBSnapshotIdentifier)
	switch {
	case inst == nil || inst.deleting:
		return nil, &types.DBInstanceNotFoundFault{Message: aws.String("DBInstance not found.")}
	case inst.status(f.clock.Now()) != "available":
		return nil, &types.InvalidDBInstanceStateFault{Message: aws.String("the instance is not available")}
	case f.snapshots[id] != nil:
		return nil, &types.DBSnapshotAlreadyExistsFault{Message: aws.String("snapshot " + id + " already exists")}
	}
	s, err := f.createSnapshot(OpCreateSnapshot, false, &inst.restored, id, in.Tags)
	if err != nil {
		return nil, err
	}
	d := f.describe(s)
	return &rds.CreateDBSnapshotOutput{DBSnapshot: &d}, nil
}
