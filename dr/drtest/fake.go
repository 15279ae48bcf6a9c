// Package drtest is a stateful fake of the RDS calls package dr uses, for one account and
// region or a World of several (shared snapshots, copies across accounts and regions):
// automated and manual DB snapshots and Aurora DB cluster snapshots (a separate namespace
// with the cluster error types), copies that walk creating -> available over fake time, KMS
// key ids with RDS's rule that snapshots under the default aws/rds key can't be shared, the
// restore attribute (at most 20 accounts), tags, the manual-snapshot quotas
// (DescribeAccountAttributes), restored instances that become available or stop in a
// terminal state, pagination, fault injection and call counts. KMS is a fake of
// kms:DescribeKey; WireServer serves an RDS fake in RDS's own wire protocol.
package drtest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

var (
	_ dr.RDSAPI = (*RDS)(nil)
)

// Operation names for Fail and Calls.
const (
	OpDescribe        = "DescribeDBSnapshots"
	OpCopy            = "CopyDBSnapshot"
	OpDescribeAttrs   = "DescribeDBSnapshotAttributes"
	OpModifyAttribute = "ModifyDBSnapshotAttribute"
	OpDelete          = "DeleteDBSnapshot"
	OpAddTags         = "AddTagsToResource"
	OpRestore         = "RestoreDBInstanceFromDBSnapshot"
	OpDescribeDB      = "DescribeDBInstances"
	OpDeleteDB        = "DeleteDBInstance"
	OpCreateSnapshot  = "CreateDBSnapshot"
	OpAccount         = "DescribeAccountAttributes"

	OpDescribeClusterSnapshots = "DescribeDBClusterSnapshots"
	OpCopyCluster              = "CopyDBClusterSnapshot"
	OpDescribeClusterAttrs     = "DescribeDBClusterSnapshotAttributes"
	OpModifyClusterAttribute   = "ModifyDBClusterSnapshotAttribute"
	OpDeleteCluster            = "DeleteDBClusterSnapshot"
)

// key is a snapshot's key in RDS.snapshots: DB and DB cluster snapshot ids are separate
// namespaces.
func key(cluster bool, id string) string {
	if cluster {
		return "cluster/" + id
	}
	return id
}

// restored is what a restored DB instance and a restored Aurora cluster have in common:
// "creating" until readyAt, then outcome, "deleting" once deleted; an endpoint that answers
// while it is available.
type restored struct {
	id, snapshot   string
	kmsKey         string
	readyAt        time.Time
	deleting       bool
	host           string
	port           int32
	subnetGroup    string
	securityGroups []string
	tags           []types.Tag
	outcome        string // the status after readyAt: "available" or a terminal state
}

// status is the RDS status at now.
func (r *restored) status(now time.Time) string {
	switch {
	case r.deleting:
		return "deleting"
	case now.Before(r.readyAt):
		return "creating"
	}
	return r.outcome
}

func (r *restored) live() bool { return !r.deleting }

// liveIDs returns the ids of what exists and is not being deleted, sorted.
func liveIDs[T interface{ live() bool }](m map[string]T) []string {
	var ids []string
	for id, r := range m {
		if r.live() {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// restoring is a resource RDS starts to restore now: "creating" for RestoreTime, then
// RestoreOutcome, at the Endpoint (default: <id>.<domain>:5432), with a copy of tags.
func (f *RDS) restoring(id, domain string, tags []types.Tag) restored {
	host, port := id+"."+domain, int32(5432)
	if f.Endpoint != nil {
		host, port = f.Endpoint(id)
	}
	return restored{id: id, readyAt: f.clock.Now().Add(f.RestoreTime), host: host, port: port,
		tags: append([]types.Tag(nil), tags...), outcome: f.RestoreOutcome}
}

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

type instance struct {
	restored
	public        bool
	instanceClass string
	cluster       string // the Aurora cluster it belongs to, if any
}

type snapshot struct {
	cluster                    bool // an Aurora DB cluster snapshot; instance is then the cluster
	id, instance, kind, kmsKey string
	crossRegion                bool // a copy from another region
	created, readyAt           time.Time
	original                   time.Time // DB snapshot copies: when the first snapshot was taken
	tags                       []types.Tag
	restore                    []string
}

// RDS is the fake. It is safe for concurrent use. Its embedded Script gives the fault API
// every fake of the module has: Fail(op, err, times), Calls(op), fakeapi.Inputs (the typed *Input of
// each call) and Total().
type RDS struct {
	fakeapi.Script
	Account, Region string
	// DefaultKey is the ARN of the account's aws/rds key in this fake.
	DefaultKey string
	// CopyTime is how long a copy stays "creating". Default: 10 minutes.
	CopyTime time.Duration
	// ManualQuota is the number of manual snapshots allowed. Default: 100.
	ManualQuota int
	// RestoreTime is how long a restored instance stays "creating". Default: 20 minutes.
	RestoreTime time.Duration
	// Endpoint gives the address a restored instance answers on (the test points it at a real
	// database). Default: <id>.fake.rds.amazonaws.com:5432.
	Endpoint func(instanceID string) (host string, port int32)
	// RestoreOutcome is the status a restored instance reaches after RestoreTime: "available"
	// (default), or a terminal state such as "incompatible-restore" that it never leaves.
	RestoreOutcome string
	// RefuseSingleStep makes a copy whose source is in another account AND another region
	// fail with InvalidParameterCombination, as RDS does where that single-step copy is not
	// available (older engines and regions): the two-hop path is needed.
	RefuseSingleStep bool

	clock *clocktest.Clock
	world *World // nil when standalone

	mu        *sync.Mutex // the world's lock when in a world
	snapshots map[string]*snapshot
	instances map[string]*instance
	clusters  map[string]*dbCluster
	lost      map[string]int // operations whose answers are lost after they worked
}

// LoseAnswers makes the next times calls of op (OpRestore, OpCopy, OpCopyCluster,
// OpCreateSnapshot, OpDeleteDB) do their work and then fail with InternalFailure, as when a
// connection breaks after RDS acted: the caller can't tell that the call worked.
func (f *RDS) LoseAnswers(op string, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost[op] += times
}

// answerLost reports (and counts down) a lost answer for op. Needs the lock.
func (f *RDS) answerLost(op string) error {
	if f.lost[op] == 0 {
		return nil
	}
	f.lost[op]--
	return fakeapi.Error("InternalFailure", "the connection broke after "+op+" worked", "InternalFailure")
}

// World holds the fakes of several accounts and regions, which see each other's shared
// snapshots and copy across accounts and regions. One lock guards the whole world.
type World struct {
	clock *clocktest.Clock
	mu    sync.Mutex
	rds   map[[2]string]*RDS
}

// NewWorld returns an empty world on clock (nil: a new one).
func NewWorld(clock *clocktest.Clock) *World {
	if clock == nil {
		clock = clocktest.New()
	}
	return &World{clock: clock, rds: map[[2]string]*RDS{}}
}

// RDS returns the fake for an account and region (created on first use). Its default key is
// "arn:aws:kms:<region>:<account>:key/default-aws-rds".
func (w *World) RDS(account, region string) *RDS {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := [2]string{account, region}
	if f := w.rds[k]; f != nil {
		return f
	}
	f := New(w.clock)
	f.Account, f.Region, f.world, f.mu = account, region, w, &w.mu
	f.DefaultKey = "arn:aws:kms:" + region + ":" + account + ":key/default-aws-rds"
	w.rds[k] = f
	return f
}

// New returns an empty fake for account 111111111111 in us-east-1 on clock (nil: new one).
func New(clock *clocktest.Clock) *RDS {
	if clock == nil {
		clock = clocktest.New()
	}
	f := &RDS{Account: "111111111111", Region: "us-east-1", DefaultKey: "arn:aws:kms:us-east-1:111111111111:key/default-aws-rds",
		clock: clock, mu: &sync.Mutex{}}
	f.Reset()
	return f
}

// Reset removes every snapshot, instance, fault and recorded call and restores the
// defaults of the settings (CopyTime, ManualQuota, RestoreTime, RestoreOutcome,
// RefuseSingleStep, Endpoint); the account, region, default key and clock stay.
func (f *RDS) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Script.Reset()
	f.CopyTime, f.ManualQuota, f.RestoreTime, f.RestoreOutcome = 10*time.Minute, 100, 20*time.Minute, "available"
	f.RefuseSingleStep, f.Endpoint = false, nil
	f.snapshots, f.instances, f.clusters, f.lost = map[string]*snapshot{}, map[string]*instance{}, map[string]*dbCluster{}, map[string]int{}
}

// Clock returns the fake's clock.
func (f *RDS) Clock() *clocktest.Clock { return f.clock }

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

// APIError builds the error RDS answers with code, as the SDK returns it (the modeled fault
// types where RDS defines them), for Fail.
func APIError(code, message string) error {
	switch code {
	case "DBSnapshotNotFound":
		return &types.DBSnapshotNotFoundFault{Message: aws.String(message)}
	case "DBInstanceNotFound":
		return &types.DBInstanceNotFoundFault{Message: aws.String(message)}
	case "InsufficientDBInstanceCapacity":
		return &types.InsufficientDBInstanceCapacityFault{Message: aws.String(message)}
	case "SnapshotQuotaExceeded":
		return &types.SnapshotQuotaExceededFault{Message: aws.String(message)}
	case "DBSnapshotAlreadyExists":
		return &types.DBSnapshotAlreadyExistsFault{Message: aws.String(message)}
	case "DBInstanceAlreadyExists":
		return &types.DBInstanceAlreadyExistsFault{Message: aws.String(message)}
	case "InvalidDBInstanceState":
		return &types.InvalidDBInstanceStateFault{Message: aws.String(message)}
	case "KMSKeyNotAccessibleFault":
		return &types.KMSKeyNotAccessibleFault{Message: aws.String(message)}
	}
	return fakeapi.Error(code, message, "InternalFailure", "ServiceUnavailable")
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

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return aws.Time(t)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func notFound(cluster bool, id string) error {
	if cluster {
		return &types.DBClusterSnapshotNotFoundFault{Message: aws.String("DBClusterSnapshot " + id + " not found.")}
	}
	return &types.DBSnapshotNotFoundFault{Message: aws.String("DBSnapshot " + id + " not found.")}
}

func invalidState(cluster bool, msg string) error {
	if cluster {
		return &types.InvalidDBClusterSnapshotStateFault{Message: aws.String(msg)}
	}
	return &types.InvalidDBSnapshotStateFault{Message: aws.String(msg)}
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
	parts := strings.SplitN(id, ":", 7) // arn aws rds region account snapshot|cluster-snapshot id
	if len(parts) != 7 || (parts[5] != "snapshot" && parts[5] != "cluster-snapshot") {
		return nil, nil
	}
	if isCluster := parts[5] == "cluster-snapshot"; isCluster != cluster {
		return nil, nil
	}
	owner := f
	if parts[3] != f.Region || parts[4] != f.Account {
		if f.world == nil {
			return nil, nil
		}
		owner = f.world.rds[[2]string{parts[4], parts[3]}]
		if owner == nil {
			return nil, nil
		}
	}
	return owner, owner.snapshots[key(cluster, parts[6])]
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

// Instances returns the ids of the DB instances that exist and are not being deleted.
func (f *RDS) Instances() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return liveIDs(f.instances)
}

// Instance describes a restored instance for assertions: whether it is publicly accessible,
// its subnet group and security groups.
func (f *RDS) Instance(id string) (public bool, subnetGroup string, securityGroups []string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.instances[id]
	if in == nil {
		return false, "", nil, false
	}
	return in.public, in.subnetGroup, append([]string(nil), in.securityGroups...), true
}

// RestoreDBInstanceFromDBSnapshot creates an instance from a snapshot, "creating" for
// RestoreTime.
func (f *RDS) RestoreDBInstanceFromDBSnapshot(ctx context.Context, in *rds.RestoreDBInstanceFromDBSnapshotInput, _ ...func(*rds.Options)) (*rds.RestoreDBInstanceFromDBSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpRestore, in); err != nil {
		return nil, err
	}
	id := aws.ToString(in.DBInstanceIdentifier)
	if f.instances[id] != nil {
		return nil, &types.DBInstanceAlreadyExistsFault{Message: aws.String("DB instance already exists")}
	}
	s := f.snapshots[aws.ToString(in.DBSnapshotIdentifier)]
	if s == nil {
		return nil, notFound(false, aws.ToString(in.DBSnapshotIdentifier))
	}
	if f.status(s) != "available" {
		return nil, &types.InvalidDBSnapshotStateFault{Message: aws.String("the snapshot is not available")}
	}
	r := f.restoring(id, "fake.rds.amazonaws.com", in.Tags)
	r.snapshot, r.kmsKey, r.subnetGroup, r.securityGroups = s.id, s.kmsKey, aws.ToString(in.DBSubnetGroupName), in.VpcSecurityGroupIds
	f.instances[id] = &instance{restored: r, public: aws.ToBool(in.PubliclyAccessible), instanceClass: aws.ToString(in.DBInstanceClass)}
	if err := f.answerLost(OpRestore); err != nil {
		return nil, err
	}
	return &rds.RestoreDBInstanceFromDBSnapshotOutput{DBInstance: f.describeInstance(f.instances[id])}, nil
}

func (f *RDS) describeInstance(in *instance) *types.DBInstance {
	status := in.status(f.clock.Now())
	d := &types.DBInstance{DBInstanceIdentifier: aws.String(in.id), DBInstanceStatus: aws.String(status), TagList: in.tags,
		PubliclyAccessible: aws.Bool(in.public), DBInstanceClass: aws.String(in.instanceClass), DBClusterIdentifier: optional(in.cluster)}
	if status == "available" {
		d.Endpoint = &types.Endpoint{Address: aws.String(in.host), Port: aws.Int32(in.port)}
	}
	return d
}

// DescribeDBInstances describes one instance.
func (f *RDS) DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, _ ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpDescribeDB, in); err != nil {
		return nil, err
	}
	inst := f.instances[aws.ToString(in.DBInstanceIdentifier)]
	if inst == nil {
		return nil, &types.DBInstanceNotFoundFault{Message: aws.String("DBInstance " + aws.ToString(in.DBInstanceIdentifier) + " not found.")}
	}
	if inst.deleting {
		delete(f.instances, inst.id) // deletion finishes by the next look
	}
	return &rds.DescribeDBInstancesOutput{DBInstances: []types.DBInstance{*f.describeInstance(inst)}}, nil
}

// DeleteDBInstance deletes an instance; without SkipFinalSnapshot it needs a final snapshot id.
func (f *RDS) DeleteDBInstance(ctx context.Context, in *rds.DeleteDBInstanceInput, _ ...func(*rds.Options)) (*rds.DeleteDBInstanceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpDeleteDB, in); err != nil {
		return nil, err
	}
	inst := f.instances[aws.ToString(in.DBInstanceIdentifier)]
	switch {
	case inst == nil:
		return nil, &types.DBInstanceNotFoundFault{Message: aws.String("DBInstance not found.")}
	case !aws.ToBool(in.SkipFinalSnapshot) && in.FinalDBSnapshotIdentifier == nil:
		return nil, fakeapi.Error("InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is set")
	}
	inst.deleting = true
	if err := f.answerLost(OpDeleteDB); err != nil {
		return nil, err
	}
	return &rds.DeleteDBInstanceOutput{DBInstance: f.describeInstance(inst)}, nil
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
