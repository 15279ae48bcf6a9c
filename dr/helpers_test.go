package dr_test

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// atTime is a clock stopped at t (retention ages).
type atTime time.Time

func (a atTime) Now() time.Time                                 { return time.Time(a) }
func (atTime) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func copyInput(source, target string) *rds.CopyDBSnapshotInput {
	return &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: aws.String(source), TargetDBSnapshotIdentifier: aws.String(target)}
}
