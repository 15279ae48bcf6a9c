package fakeapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/smithy-go"
)

// WriteJSONError answers an AWS JSON 1.1 request with err as the service would: status 400
// and {"__type": code, "message": ...} for an API error, 500 for a server fault, for the
// service's serverCode, or for an error that is not an API error (reported as serverCode).
func WriteJSONError(rw http.ResponseWriter, err error, serverCode string) {
	code, msg, status := serverCode, err.Error(), http.StatusInternalServerError
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code, msg = apiErr.ErrorCode(), apiErr.ErrorMessage()
		if code != serverCode && apiErr.ErrorFault() != smithy.FaultServer {
			status = http.StatusBadRequest
		}
	}
	WriteJSONErrorCode(rw, status, code, msg)
}

// WriteJSONErrorCode writes an AWS JSON 1.1 error response with the given status and code.
func WriteJSONErrorCode(rw http.ResponseWriter, status int, code, message string) {
	rw.Header().Set("Content-Type", "application/x-amz-json-1.1")
	rw.Header().Set("X-Amzn-ErrorType", code)
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]string{"__type": code, "message": message})
}
