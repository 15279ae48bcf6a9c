package restoring

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// Aurora: a DB cluster snapshot restores into a cluster (RestoreDBClusterFromSnapshot), which
// serves nothing until an instance is added to it (CreateDBInstance). The temporary cluster
// and its instance share the run's identifier (the two are separate namespaces in RDS) and
// its tags; cleanup deletes the instance, then the cluster, skipping the final snapshot.

func (v *Verifier) describeCluster(ctx context.Context, id string) (types.DBCluster, bool, error) {
	out, err := v.RDS.Client.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)}, v.RDS.Opts...)
	return first(out, err, func(o *rds.DescribeDBClustersOutput) []types.DBCluster { return o.DBClusters }, snaps.ClusterNotFound, "describing cluster "+id)
}

// startCluster restores the cluster and adds its instance; repeating it for the same run
// attaches to what the first attempt made.
func (v *Verifier) startCluster(ctx context.Context, st *dr.VerifyState) error {
	tags := []types.Tag{snaps.Tag(dr.TagDR, v.own().Tag), snaps.Tag(dr.TagSource, st.Snapshot), snaps.Tag(dr.TagRun, st.Run)}
	engine := v.Target.Engine
	if engine == "" {
		out, err := v.RDS.Client.DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String(st.Snapshot)}, v.RDS.Opts...)
		if err != nil {
			return errtext.Wrap("dr", "describing cluster snapshot "+st.Snapshot, err)
		}
		if len(out.DBClusterSnapshots) == 0 || aws.ToString(out.DBClusterSnapshots[0].Engine) == "" {
			return fmt.Errorf("%w: cluster snapshot %s names no engine: set dr.VerifyTarget.Engine", dr.ErrInvalidInput, st.Snapshot)
		}
		engine = aws.ToString(out.DBClusterSnapshots[0].Engine)
	}
	_, err := v.RDS.Client.RestoreDBClusterFromSnapshot(ctx, &rds.RestoreDBClusterFromSnapshotInput{
		DBClusterIdentifier: aws.String(st.Instance), SnapshotIdentifier: aws.String(st.Snapshot), Engine: aws.String(engine),
		DBSubnetGroupName: snaps.OptionalString(v.Opts.SubnetGroup), VpcSecurityGroupIds: v.Opts.SecurityGroups, DeletionProtection: aws.Bool(false),
		Tags: tags,
	}, v.RDS.Opts...)
	if snaps.ClusterExists(err) {
		err = v.attach(ctx, st, true)
	}
	if err != nil {
		return errtext.Wrap("dr", "restoring "+st.Snapshot+" into cluster "+st.Instance, err)
	}
	_, err = v.RDS.Client.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(st.Instance),
		DBClusterIdentifier: aws.String(st.Instance), DBInstanceClass: aws.String(v.Target.InstanceClass), Engine: aws.String(engine),
		PubliclyAccessible: aws.Bool(false), Tags: tags}, v.RDS.Opts...)
	if snaps.InstanceExists(err) {
		inst, found, derr := v.DescribeInstance(ctx, st.Instance)
		switch {
		case derr != nil:
			err = derr
		case !found:
			err = fmt.Errorf("%w: instance %s was being deleted: try again", dr.ErrNotReady, st.Instance)
		default:
			err = v.mine("DB instance", st.Instance, st.Run, inst.TagList)
		}
	}
	if err != nil {
		return errtext.Wrap("dr", "adding instance "+st.Instance+" to cluster "+st.Instance, err)
	}
	return nil
}

// readyCluster: the cluster and its instance must both be available; the checks connect to
// the cluster endpoint.
func (v *Verifier) readyCluster(ctx context.Context, st *dr.VerifyState) (string, int32, error) {
	c, found, err := v.describeCluster(ctx, st.Instance)
	switch {
	case err != nil:
		return "", 0, err
	case !found:
		return "", 0, fmt.Errorf("dr: the temporary cluster %s is gone", st.Instance)
	}
	cs := aws.ToString(c.Status)
	if dr.IsTerminal(cs) {
		return "", 0, &dr.RestoreFailedError{Instance: "cluster " + st.Instance, State: cs}
	}
	inst, found, err := v.DescribeInstance(ctx, st.Instance)
	switch {
	case err != nil:
		return "", 0, err
	case !found:
		return "", 0, fmt.Errorf("dr: the temporary cluster %s has no instance %s", st.Instance, st.Instance)
	}
	is := aws.ToString(inst.DBInstanceStatus)
	switch {
	case dr.IsTerminal(is):
		return "", 0, &dr.RestoreFailedError{Instance: st.Instance, State: is}
	case cs != "available" || c.Endpoint == nil:
		return "", 0, fmt.Errorf("%w: cluster %s is %s", dr.ErrNotReady, st.Instance, cs)
	case is != "available":
		return "", 0, fmt.Errorf("%w: instance %s of cluster %s is %s", dr.ErrNotReady, st.Instance, st.Instance, is)
	}
	return aws.ToString(c.Endpoint), aws.ToInt32(c.Port), nil
}

// cleanupCluster deletes the run's instance, then its cluster (RDS refuses to delete a
// cluster with an instance not being deleted: dr.ErrNotReady until it is).
func (v *Verifier) cleanupCluster(ctx context.Context, st *dr.VerifyState) error {
	if err := v.cleanupInstance(ctx, st); err != nil {
		return err
	}
	did := st.Report.Cleanup
	r, err := v.Lookup(ctx, true, st.Instance)
	if err != nil {
		st.Report.Cleanup = did + "; FAILED to look up cluster " + st.Instance + ": " + errtext.Strip("dr", err.Error())
		return err
	}
	if line := v.kept(st, true, r); line != "" {
		st.Report.Cleanup = did + "; " + line
		return nil
	}
	_, err = v.RDS.Client.DeleteDBCluster(ctx, &rds.DeleteDBClusterInput{DBClusterIdentifier: aws.String(st.Instance), SkipFinalSnapshot: aws.Bool(true)}, v.RDS.Opts...)
	switch {
	case err == nil:
		st.Report.Cleanup = did + "; deleted cluster " + st.Instance
	case snaps.ClusterNotFound(err):
		st.Report.Cleanup = did + "; cluster " + st.Instance + " was already gone"
	case snaps.ClusterBusy(err):
		st.Report.Cleanup = did + "; waiting to delete cluster " + st.Instance + " (its instance is not deleting yet)"
		return fmt.Errorf("%w: deleting temporary cluster %s: %w", dr.ErrNotReady, st.Instance, err)
	default:
		st.Report.Cleanup = did + "; FAILED to delete cluster " + st.Instance + ": " + err.Error()
		return errtext.Wrap("dr", "deleting temporary cluster "+st.Instance, err)
	}
	v.Progress("%s", st.Report.Cleanup)
	return nil
}
