package drtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

func TestResetForgetsEverything(t *testing.T) {
	f := drtest.New(nil)
	f.AddManual("a-dr", "a", f.Clock().Now(), nil)
	f.ManualQuota, f.RestoreOutcome, f.RefuseSingleStep = 1, "failed", true
	f.Fail(drtest.OpDescribe, drtest.APIError("Throttling", "slow down"), 0)
	f.LoseAnswers(drtest.OpRestore, 1)
	_, err := f.DescribeDBSnapshots(context.Background(), &rds.DescribeDBSnapshotsInput{})
	require.Error(t, err)
	f.Reset()
	assert.Empty(t, f.IDs())
	assert.Zero(t, f.Total())
	assert.Equal(t, 100, f.ManualQuota)
	assert.Equal(t, "available", f.RestoreOutcome)
	assert.False(t, f.RefuseSingleStep)
	out, err := f.DescribeDBSnapshots(context.Background(), &rds.DescribeDBSnapshotsInput{})
	require.NoError(t, err, "faults are gone")
	assert.Empty(t, out.DBSnapshots)
	f.AddManual("b-dr", "b", f.Clock().Now(), nil)
	_, err = f.RestoreDBInstanceFromDBSnapshot(context.Background(), &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("i"), DBSnapshotIdentifier: aws.String("b-dr")})
	require.NoError(t, err, "lost answers are gone")
}

func TestClockIsAnInterface(t *testing.T) {
	c := clocktest.New()
	start := c.Now()
	require.NoError(t, c.Sleep(context.Background(), time.Hour))
	c.Advance(time.Minute)
	assert.Equal(t, time.Hour+time.Minute, c.Now().Sub(start))
	assert.Equal(t, c, drtest.New(c).Clock())
}
