// Package awserr is the one place the packages read AWS error codes. Prefer the SDK's typed
// errors (errors.As(err, new(*types.DBSnapshotNotFoundFault))) where the service defines
// them; use Code for services that model errors only by code (Auto Scaling's ValidationError).
package awserr

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Code returns the API error code of err ("ThrottlingException"), or "" when err carries no
// API error (a transport error, a context error, nil).
func Code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// Message returns the API error message of err, or "".
func Message(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorMessage()
	}
	return ""
}

// Is reports whether err's API error code is one of codes.
func Is(err error, codes ...string) bool {
	code := Code(err)
	for _, c := range codes {
		if code != "" && code == c {
			return true
		}
	}
	return false
}

// Throttling reports whether err is a throttling error by the SDK's own list of codes
// (Throttling, ThrottlingException, SlowDown, RequestLimitExceeded, ...).
func Throttling(err error) bool {
	_, ok := retry.DefaultThrottleErrorCodes[Code(err)]
	return ok
}

// Server reports whether err is an API error the service blames on itself (5xx).
func Server(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultServer
}

// Retryable reports whether an error code is worth another try: throttling, server-side
// and timeout codes. It is for answers the SDK's retryer does not see (per-key results inside
// a successful response); whole calls are retried by the SDK alone.
func Retryable(code string) bool {
	if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
		return true
	}
	switch code {
	case "InternalError", "InternalFailure", "InternalServerError", "ServiceUnavailable", "ServerException",
		"ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException", "OperationAborted":
		return true
	}
	return false
}

// NotFound reports whether err says the resource does not exist, by the services' naming
// (XxxNotFound, XxxNotFoundFault, XxxNotFoundException, NoSuchXxx).
func NotFound(err error) bool {
	code := Code(err)
	return strings.HasSuffix(code, "NotFound") || strings.HasSuffix(code, "NotFoundFault") ||
		strings.HasSuffix(code, "NotFoundException") || strings.HasPrefix(code, "NoSuch")
}
