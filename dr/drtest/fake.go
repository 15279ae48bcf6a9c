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
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/fakeapi"
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
