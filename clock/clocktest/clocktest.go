// Package clocktest is the fake clock of every shipshape test and fake. It implements
// clock.Clock and clock.Advancer. It has two modes, because code under test waits in two
// ways:
//
//   - New: Sleep moves the time forward at once, so an hour of waiting takes microseconds
//     (gates, drains, restores polled on a timer);
//   - NewManual: Sleep blocks until Advance moves the time past its end, so a test decides
//     when a poller wakes up (watchers that poll until told to stop); BlockUntilSleeping
//     waits for the poller to be asleep before advancing.
package clocktest

import (
	"context"
	"sync"
	"time"
)

// Start is where every fake clock starts: 2026-11-23 09:00 UTC.
var start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// Clock is a settable clock. It is safe for concurrent use.
type Clock struct {
	manual bool

	mu       sync.Mutex
	t        time.Time
	sleepers []*sleeper
	changed  chan struct{} // closed and replaced when sleepers change
}

type sleeper struct {
	until time.Time
	wake  chan struct{}
}

// New returns a clock whose Sleep returns at once, moving the time forward.
func New() *Clock { return &Clock{t: start, changed: make(chan struct{})} }

// NewManual returns a clock whose Sleep blocks until Advance moves the time past its end.
func NewManual() *Clock { return &Clock{manual: true, t: start, changed: make(chan struct{})} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the time forward by d and wakes the sleepers whose time has come.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	kept := c.sleepers[:0]
	for _, s := range c.sleepers {
		if !s.until.After(c.t) {
			close(s.wake)
		} else {
			kept = append(kept, s)
		}
	}
	if len(kept) != len(c.sleepers) {
		c.sleepers = kept
		c.notify()
	}
}

// Sleep waits d of fake time, or returns ctx's error if it ends first.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	if !c.manual {
		c.Advance(d)
		return nil
	}
	c.mu.Lock()
	s := &sleeper{until: c.t.Add(d), wake: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.notify()
	c.mu.Unlock()
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		for i, other := range c.sleepers {
			if other == s {
				c.sleepers = append(c.sleepers[:i], c.sleepers[i+1:]...)
				c.notify()
				break
			}
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

// BlockUntilSleeping waits until at least n Sleeps are blocked (manual mode), or ctx ends.
func (c *Clock) BlockUntilSleeping(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		count, changed := len(c.sleepers), c.changed
		c.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// notify wakes BlockUntilSleeping. Needs c.mu.
func (c *Clock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}
