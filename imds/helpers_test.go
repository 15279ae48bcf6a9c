package imds_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/internal/testbed"

	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

// newClock is the fake clock shared by the server and the client under test: Now moves
// only with Advance, and a watcher's Sleep waits for it.
func newClock() *clocktest.Clock { return clocktest.NewManual() }

type bed struct {
	srv    *imdstest.Server
	client *imds.Client
	clock  *clocktest.Clock
	logs   *testbed.SyncBuffer
}

// newBed starts an imdstest server and a client pointed at it, sharing a fake clock. The
// environment is empty so that the test machine's AWS_* variables do not leak in.
func newBed(t *testing.T, optFns ...func(*imds.Options)) *bed {
	t.Helper()
	clk := newClock()
	srv := imdstest.NewServer(func(o *imdstest.Options) { o.Clock = clk })
	t.Cleanup(srv.Close)
	logs := &testbed.SyncBuffer{}
	opts := []func(*imds.Options){func(o *imds.Options) {
		o.Endpoint = srv.URL
		o.Clock = clk
		o.Getenv = func(string) string { return "" }
		o.BackoffMin, o.BackoffMax = time.Millisecond, 5*time.Millisecond
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}}
	client, err := imds.New(append(opts, optFns...)...)
	require.NoError(t, err)
	return &bed{srv: srv, client: client, clock: clk, logs: logs}
}
