package fakeapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/fakeapi"
)

// TestCall: an ended context is the call's error and the call is not recorded; otherwise
// Call is Enter.
func TestCall(t *testing.T) {
	var s fakeapi.Script
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, fakeapi.Call(ctx, &s, "Op", "in"), context.Canceled)
	assert.Zero(t, s.Calls("Op"))
	s.Fail("Op", fakeapi.Error("Throttling", "slow down"), 1)
	assert.Error(t, fakeapi.Call(context.Background(), &s, "Op", "in"))
	assert.NoError(t, fakeapi.Call(context.Background(), &s, "Op", "in"))
	assert.Equal(t, []string{"in", "in"}, fakeapi.Inputs[string](&s, "Op"))
}

func TestScript(t *testing.T) {
	var s fakeapi.Script
	throttled := fakeapi.Error("Throttling", "slow down")
	broken := fakeapi.Error("InternalFailure", "oops", "InternalFailure")
	s.Fail("Op", throttled, 2)
	s.Fail("Op", broken, 1)
	var got []error
	for range 5 {
		got = append(got, fakeapi.Enter(&s, "Op", nil))
	}
	assert.Equal(t, []error{throttled, throttled, broken, nil, nil}, got)
	assert.Equal(t, 5, s.Calls("Op"))
	assert.Nil(t, fakeapi.Enter(&s, "Other", "in"))
	assert.Equal(t, 6, s.Total())

	var apiErr smithy.APIError
	assert.True(t, errors.As(broken, &apiErr))
	assert.Equal(t, smithy.FaultServer, apiErr.ErrorFault())
	assert.True(t, errors.As(throttled, &apiErr))
	assert.Equal(t, smithy.FaultClient, apiErr.ErrorFault())

	s.Fail("Op", throttled, 0)
	for range 3 {
		assert.Equal(t, throttled, fakeapi.Enter(&s, "Op", nil), "0 means always")
	}
	s.Reset()
	assert.Nil(t, fakeapi.Enter(&s, "Op", nil))
	assert.Equal(t, 1, s.Total())
}

func TestWriteJSONError(t *testing.T) {
	for _, c := range []struct {
		err          error
		status       int
		code, substr string
	}{
		{fakeapi.Error("ThrottlingException", "slow down"), 400, "ThrottlingException", "slow down"},
		{fakeapi.Error("ServerException", "boom", "ServerException"), 500, "ServerException", "boom"},
		{fakeapi.Error("ServerException", "boom"), 500, "ServerException", "boom"}, // the service's server code
		{errors.New("not an API error"), 500, "ServerException", "not an API error"},
	} {
		rec := httptest.NewRecorder()
		fakeapi.WriteJSONError(rec, c.err, "ServerException")
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if rec.Code != c.status || body["__type"] != c.code || !strings.Contains(body["message"], c.substr) || rec.Header().Get("X-Amzn-ErrorType") != c.code {
			t.Errorf("%v: got %d %v %v", c.err, rec.Code, body, rec.Header())
		}
	}
}

func TestScriptRecordsInputs(t *testing.T) {
	var s fakeapi.Script
	assert.NoError(t, fakeapi.Enter(&s, "Op", "first"))
	assert.NoError(t, fakeapi.Enter(&s, "Op", "second"))
	assert.Equal(t, []string{"first", "second"}, fakeapi.Inputs[string](&s, "Op"))
	s.Reset()
	assert.Empty(t, fakeapi.Inputs[string](&s, "Op"))
	assert.Zero(t, s.Total())
}

// Inputs are typed; asking for another type than the one recorded is the test's mistake and
// says so, naming both types, instead of handing back nothing.
func TestInputsOfAnotherTypeSayWhich(t *testing.T) {
	var s fakeapi.Script
	require.NoError(t, fakeapi.Enter(&s, "Op", "first"))
	assert.PanicsWithValue(t, "fakeapi.Inputs: call 1 of Op was given a string, not a int", func() { fakeapi.Inputs[int](&s, "Op") })
	type embedded struct{ fakeapi.Script }
	var f embedded
	require.NoError(t, fakeapi.Enter(&f.Script, "Op", 7))
	assert.Equal(t, []int{7}, fakeapi.Inputs[int](&f, "Op"), "a fake that embeds a Script is a Recorder")
}

// TestWireServer: the handler's lines are the log, in order, as copies; HTTPClient sends a
// body the server reads whole.
func TestWireServer(t *testing.T) {
	var w *fakeapi.WireServer
	w = fakeapi.NewWireServer(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Record(r.Method + " " + r.URL.Path + " " + string(body))
	})
	w.Start()
	defer w.Close()
	for _, body := range []string{"a", "bb"} {
		resp, err := fakeapi.HTTPClient().Post(w.URL+"/x", "text/plain", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
	}
	got := w.Requests()
	assert.Equal(t, []string{"POST /x a", "POST /x bb"}, got)
	got[0] = "changed"
	assert.Equal(t, "POST /x a", w.Requests()[0], "Requests returns a copy")
	creds, err := fakeapi.Credentials().Retrieve(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, creds.AccessKeyID)
}
