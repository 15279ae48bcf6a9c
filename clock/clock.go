// Package clock is the one time source of every shipshape package. Each package's Options
// has a Clock field of this type; nil means Real, the wall clock. Tests pass a
// clock/clocktest.Clock instead, on which an hour of waiting takes microseconds, and the
// packages' fakes (drtest, draintest, lifecycletest, ...) run on the same fake clock, so a
// fake restore that "takes" 20 minutes and the code polling it agree on the time.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	// Now is the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx ends (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx ends.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Advancer is implemented by fake clocks: time moves when told to, not by itself. Code that
// hands a wait to somebody else (the AWS SDK's retryer sleeps on its own) advances a fake
// clock instead, so tests never really wait.
type Advancer interface {
	Advance(d time.Duration)
}

// Or returns c, or Real when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}
