package clocktest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
)

func TestSleepAdvances(t *testing.T) {
	c := clocktest.New()
	start := c.Now()
	require.NoError(t, c.Sleep(context.Background(), time.Hour))
	require.Equal(t, start.Add(time.Hour), c.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, c.Sleep(ctx, time.Hour), context.Canceled)
	require.Equal(t, start.Add(time.Hour), c.Now(), "a cancelled sleep does not move time")
}

func TestManualSleepWaitsForAdvance(t *testing.T) {
	c := clocktest.NewManual()
	start := c.Now()
	done := make(chan error, 1)
	go func() { done <- c.Sleep(context.Background(), 5*time.Second) }()
	require.NoError(t, c.BlockUntilSleeping(context.Background(), 1))
	c.Advance(4 * time.Second)
	select {
	case <-done:
		t.Fatal("woke before its time")
	default:
	}
	c.Advance(time.Second)
	require.NoError(t, <-done)
	require.Equal(t, start.Add(5*time.Second), c.Now())

	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- c.Sleep(ctx, time.Hour) }()
	require.NoError(t, c.BlockUntilSleeping(context.Background(), 1))
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}
