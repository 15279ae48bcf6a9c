package fakeapi_test

import (
	"errors"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"

	"github.com/shipshape-dev/shipshape/internal/fakeapi"
)

func TestScript(t *testing.T) {
	var s fakeapi.Script
	throttled := fakeapi.Error("Throttling", "slow down")
	broken := fakeapi.Error("InternalFailure", "oops", "InternalFailure")
	s.Fail("Op", throttled, 2)
	s.Fail("Op", broken, 1)
	var got []error
	for range 5 {
		got = append(got, s.Enter("Op"))
	}
	assert.Equal(t, []error{throttled, throttled, broken, nil, nil}, got)
	assert.Equal(t, 5, s.Calls("Op"))
	assert.Nil(t, s.Enter("Other"))
	assert.Equal(t, 6, s.Total())

	var apiErr smithy.APIError
	assert.True(t, errors.As(broken, &apiErr))
	assert.Equal(t, smithy.FaultServer, apiErr.ErrorFault())
	assert.True(t, errors.As(throttled, &apiErr))
	assert.Equal(t, smithy.FaultClient, apiErr.ErrorFault())

	s.Fail("Op", throttled, 0)
	for range 3 {
		assert.Equal(t, throttled, s.Enter("Op"), "0 means always")
	}
	s.Reset()
	assert.Nil(t, s.Enter("Op"))
	assert.Equal(t, 1, s.Total())
}
