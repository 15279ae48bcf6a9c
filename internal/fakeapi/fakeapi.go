// Package fakeapi is the call log and fault script that the packages' stateful fakes share
// (lifecycletest, secretsenvtest, draintest, s3difftest): each fake records its calls and
// injects scripted errors ("fail the next 3 calls of ListTasks with ThrottlingException")
// through a Script, under the fake's own lock. WriteJSONError answers for a fake over the
// AWS JSON 1.1 protocol (the draintest and secretsenvtest wire servers).
package fakeapi

import "github.com/aws/smithy-go"

// Script records calls per operation and hands out scripted errors. The zero value is
// ready; it is not safe for concurrent use on its own (the fake's lock guards it).
type Script struct {
	faults map[string][]*fault
	calls  map[string]int
}

type fault struct {
	err   error
	times int
}

// Fail makes the next times calls of op return err; times 0 means every call until Reset.
// Faults of one operation apply in the order added.
func (s *Script) Fail(op string, err error, times int) {
	if s.faults == nil {
		s.faults = map[string][]*fault{}
	}
	s.faults[op] = append(s.faults[op], &fault{err: err, times: times})
}

// Enter records a call of op and returns the scripted error for it, if any.
func (s *Script) Enter(op string) error {
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[op]++
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

// Calls returns how many times op was called.
func (s *Script) Calls(op string) int { return s.calls[op] }

// Total returns the number of calls of every operation.
func (s *Script) Total() int {
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// Reset forgets every call and fault.
func (s *Script) Reset() { s.faults, s.calls = nil, nil }

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
