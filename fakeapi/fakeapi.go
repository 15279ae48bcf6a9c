// Package fakeapi is what every shipshape fake is built from, exported so that your own
// fakes can be built the same way (as karpenter's pkg/fake exports its recorded mock).
//
// A stateful fake (drtest.RDS, s3difftest.Bucket, ...) embeds a Script: it records each call
// with its input and hands out scripted errors ("fail the next 3 calls of ListTasks with
// ThrottlingException"), so every fake has the same fault API: Fail, Calls, Total, Reset, and
// Inputs to read what a call was given, typed:
//
//	f.Fail(drtest.OpCopy, fakeapi.Error("SnapshotQuotaExceeded", "quota"), 1)
//	copies := fakeapi.Inputs[*rds.CopyDBSnapshotInput](f, drtest.OpCopy)
//
// A fake's own methods start each call with fakeapi.Call (or Enter) on its Script. A wire server (a fake answering
// a real SDK client in the service's own protocol) embeds a WireServer, its running server
// and request log; its SDK clients sign with Credentials and send with HTTPClient.
// WriteJSONError and WriteQueryError answer in the AWS JSON 1.1 and query/XML protocols.
package fakeapi

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/smithy-go"
)

// Script records calls (with their inputs) per operation and hands out scripted errors. Each
// fake embeds one, so every fake has the same fault API: Fail, Calls, Total, Reset, and
// fakeapi.Inputs. The zero value is ready, and it is safe for concurrent use.
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

// Enter records a call of op on s with its input and returns the scripted error for it, if
// any. A fake's methods call it (or Call) first; it is a function, not a method, so that a
// fake that embeds a Script shows its users only the fault API.
func Enter(s *Script, op string, input any) error {
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
func Call(ctx context.Context, s *Script, op string, input any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return Enter(s, op, input)
}

// Calls returns how many times op was called.
func (s *Script) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// recorded returns the inputs op was called with, in order. Inputs reads it, typed.
func (s *Script) recorded(op string) []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]any(nil), s.inputs[op]...)
}

// Recorder is a fake that embeds a Script: every shipshape fake.
type Recorder interface {
	recorded(op string) []any
}

// Inputs returns the inputs op was called with on fake, in order, as I: the input type of
// op (for an SDK operation the *XxxInput pointer as passed, e.g. *rds.CopyDBSnapshotInput
// for drtest.OpCopy). Asking for another type than op's is a mistake in the test, not a
// result: Inputs panics naming both types.
func Inputs[I any](fake Recorder, op string) []I {
	raw := fake.recorded(op)
	out := make([]I, 0, len(raw))
	for k, in := range raw {
		v, ok := in.(I)
		if !ok {
			panic(fmt.Sprintf("fakeapi.Inputs: call %d of %s was given a %T, not a %T", k+1, op, in, *new(I)))
		}
		out = append(out, v)
	}
	return out
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
