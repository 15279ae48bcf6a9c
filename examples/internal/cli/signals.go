package cli

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Exit codes of a finite job that a signal stopped (the shells' 128 + signal number).
const (
	ExitInterrupted = 130 // SIGINT
	ExitTerminated  = 143 // SIGTERM
)

// Signals is a context that ends at the first SIGINT or SIGTERM, and which of them it was.
// One rule for every binary: a CLI doing a finite job cleans up (its own code, on a context
// that outlives this one where needed), says in one line what was left undone, and exits
// with Code(); a long-running watcher shuts down cleanly on SIGTERM and exits 0.
type Signals struct {
	mu   sync.Mutex
	got  os.Signal
	stop context.CancelFunc
}

// WithSignals returns a context ended by SIGINT or SIGTERM. Call Stop when done.
func WithSignals(parent context.Context) (context.Context, *Signals) {
	ctx, cancel := context.WithCancel(parent)
	s := &Signals{stop: cancel}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-ch:
			s.mu.Lock()
			s.got = sig
			s.mu.Unlock()
			cancel()
		case <-ctx.Done():
		}
		signal.Stop(ch)
	}()
	return ctx, s
}

// Received is the signal that ended the context, or nil.
func (s *Signals) Received() os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got
}

// Code is the exit code for a finite job that the signal stopped: 130 for SIGINT, 143 for
// SIGTERM; code itself when no signal came.
func (s *Signals) Code(code int) int {
	switch s.Received() {
	case os.Interrupt:
		return ExitInterrupted
	case syscall.SIGTERM:
		return ExitTerminated
	}
	return code
}

// Name is "SIGINT", "SIGTERM", or "".
func (s *Signals) Name() string {
	switch s.Received() {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return ""
}

// Stop releases the signal handling.
func (s *Signals) Stop() { s.stop() }
