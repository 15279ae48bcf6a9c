// Package fakeapi is the call log and fault script that the packages' stateful fakes share
// (every <pkg>test): each fake embeds a Script, which records its calls and their inputs and
// injects scripted errors ("fail the next 3 calls of ListTasks with ThrottlingException").
// Each wire server (a fake answering a real SDK client in the service's own protocol) embeds
// a WireServer, its running server and request log; its SDK clients sign with Credentials
// and send with HTTPClient. WriteJSONError answers for a fake over the AWS JSON 1.1 protocol
// (the draintest and secretsenvtest wire servers).
package fakeapi

import (
	"context"
	"sync"

	"github.com/aws/smithy-go"
)

// Script records calls (with their inputs) per operation and hands out scripted errors. Each
// fake embeds one, so every fake has the same fault API: Fail, Calls, Inputs, Total. The zero
// value is ready, and it is safe for concurrent use.
type Script struct {
	mu     sync.Mutex
	faults map[string][]*fault
	calls  map[string]int
	inputs map[string][]any
}

type fault struct {
	err   error
	times int
}

// Fail makes the next times calls of op return err; times 0 means every call until Reset.
// Faults of one operation apply in the order added.
func (s *Script) Fail(op string, err error, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults == nil {
		s.faults = map[string][]*fault{}
	}
	s.faults[op] = append(s.faults[op], &fault{err: err, times: times})
}

// Enter records a call of op with its input and returns the scripted error for it, if any.
func (s *Script) Enter(op string, input any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls, s.inputs = map[string]int{}, map[string][]any{}
	}
	s.calls[op]++
	s.inputs[op] = append(s.inputs[op], input)
	fs := s.faults[op]
	if len(fs) == 0 {
		return nil
	}
	f := fs[0]
	if f.times > 0 {
		if f.times--; f.times == 0 {
			s.faults[op] = fs[1:]
		}
	}
	return f.err
}

// Call starts a call of op in a fake's method: ctx's error when ctx has ended (the call is
// not recorded then, as the SDK makes no request), else Enter's.
func (s *Script) Call(ctx context.Context, op string, input any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Enter(op, input)
}

// Calls returns how many times op was called.
func (s *Script) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Inputs returns the inputs op was called with, in order (for an SDK operation, the
// *XxxInput pointers as passed).
func (s *Script) Inputs(op string) []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]any(nil), s.inputs[op]...)
}

// Total returns the number of calls of every operation.
func (s *Script) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// Reset forgets every call and fault. A fake's own Reset calls it besides clearing its state.
func (s *Script) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.calls, s.inputs = nil, nil, nil
}

// Error is a generic API error with code, as the SDKs return for codes they don't model;
// codes listed in serverCodes are server faults (retryable 5xx), the others client faults.
func Error(code, message string, serverCodes ...string) error {
	fault := smithy.FaultClient
	for _, c := range serverCodes {
		if c == code {
			fault = smithy.FaultServer
		}
	}
	return &smithy.GenericAPIError{Code: code, Message: message, Fault: fault}
}
