package fakeclock_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/fakeclock"
)

func TestSleepAdvances(t *testing.T) {
	c := fakeclock.New()
	start := c.Now()
	require.NoError(t, c.Sleep(context.Background(), time.Hour))
	require.Equal(t, start.Add(time.Hour), c.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, c.Sleep(ctx, time.Hour), context.Canceled)
	require.Equal(t, start.Add(time.Hour), c.Now(), "a cancelled sleep does not move time")
}
