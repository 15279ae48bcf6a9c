package drtest

import (
	"context"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

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

type instance struct {
	restored
	public        bool
	instanceClass string
	cluster       string // the Aurora cluster it belongs to, if any
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
