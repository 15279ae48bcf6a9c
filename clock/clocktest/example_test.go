package clocktest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
)

// An hour of polling on the fake clock takes no wall time: Sleep moves the time forward.
func ExampleNew() {
	c := clocktest.New()
	start := c.Now()
	for i := 0; i < 60; i++ {
		_ = c.Sleep(context.Background(), time.Minute)
	}
	fmt.Println(c.Now().Sub(start))
	// Output: 1h0m0s
}

// A manual clock wakes a sleeper only when the test advances it, so the test decides when a
// watcher polls again.
func ExampleNewManual() {
	ctx := context.Background()
	c := clocktest.NewManual()
	woke := make(chan time.Time)
	go func() {
		_ = c.Sleep(ctx, 5*time.Second)
		woke <- c.Now()
	}()
	_ = c.BlockUntilSleeping(ctx, 1)
	c.Advance(5 * time.Second)
	fmt.Println((<-woke).Format(time.TimeOnly))
	// Output: 09:00:05
}
