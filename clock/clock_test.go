package clock

import (
	"context"
	"testing"
	"time"
)

func TestRealSleepEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Real{}).Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Sleep on a cancelled context = %v, want context.Canceled", err)
	}
	start := time.Now()
	if err := (Real{}).Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Millisecond {
		t.Fatal("Sleep returned before d passed")
	}
	if _, ok := Or(nil).(Real); !ok {
		t.Fatal("Or(nil) must be the real clock")
	}
}
