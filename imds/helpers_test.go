package imds_test

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

// newClock is the fake clock shared by the server and the client under test: Now moves
// only with Advance, and a watcher's Sleep waits for it.
func newClock() imdstest.Clock { return imdstest.NewClock() }

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type bed struct {
	srv    *imdstest.Server
	client *imds.Client
	clock  imdstest.Clock
	logs   *syncBuffer
}

// newBed starts an imdstest server and a client pointed at it, sharing a fake clock. The
// environment is empty so that the test machine's AWS_* variables do not leak in.
func newBed(t *testing.T, optFns ...func(*imds.Options)) *bed {
	t.Helper()
	clk := newClock()
	srv := imdstest.NewServer(func(o *imdstest.Options) { o.Clock = clk })
	t.Cleanup(srv.Close)
	logs := &syncBuffer{}
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
