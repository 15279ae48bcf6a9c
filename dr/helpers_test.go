package dr_test

import (
	"context"
	"time"
)

// atTime is a clock stopped at t (retention ages).
type atTime time.Time

func (a atTime) Now() time.Time                                 { return time.Time(a) }
func (atTime) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }
