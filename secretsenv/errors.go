package secretsenv

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// Sentinel errors; branch on them with errors.Is. Every error names the secret (and the key,
// for JSON secrets) and the cause, never a value.
var (
	ErrNotFound      = errors.New("secretsenv: secret not found")
	ErrAccessDenied  = errors.New("secretsenv: access denied")
	ErrThrottled     = errors.New("secretsenv: throttled by Secrets Manager")
	ErrInvalidSecret = errors.New("secretsenv: secret can't become environment variables")
	ErrInvalidName   = errors.New("secretsenv: invalid variable name")
	ErrReservedName  = errors.New("secretsenv: reserved variable name")
	ErrConflict      = errors.New("secretsenv: two sources give the same variable")
	ErrExists        = errors.New("secretsenv: variable already set in the environment")
	ErrInvalidInput  = errors.New("secretsenv: invalid input")
	ErrCannotFormat  = errors.New("secretsenv: the output format can't carry the value exactly")
)

// SecretError is a failure to fetch or convert one secret.
type SecretError struct {
	SecretID string
	// Key is the JSON key concerned, if any.
	Key string
	Err error
}

func (e *SecretError) Error() string {
	cause := errtext.Strip("secretsenv", e.Err.Error())
	if e.Key != "" {
		return fmt.Sprintf("secretsenv: secret %q, key %q: %s", e.SecretID, e.Key, cause)
	}
	return fmt.Sprintf("secretsenv: secret %q: %s", e.SecretID, cause)
}

func (e *SecretError) Unwrap() error { return e.Err }

func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

var throttlingCodes = map[string]bool{
	"ThrottlingException": true, "Throttling": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "LimitExceededException": false,
}

// retryable reports whether a Secrets Manager error is worth another try: throttling,
// server-side errors, and transport errors (no API error at all).
func retryable(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return true // connection reset, timeout of one attempt, ...
	}
	code := apiErr.ErrorCode()
	return throttlingCodes[code] || code == "InternalServiceError" || code == "InternalFailure" ||
		code == "ServiceUnavailable" || apiErr.ErrorFault() == smithy.FaultServer
}

// classify wraps err with the sentinel its code means.
func classify(err error) error {
	switch code := apiCode(err); {
	case code == "ResourceNotFoundException":
		return fmt.Errorf("%w (check the name or ARN, and the region): %w", ErrNotFound, err)
	case code == "AccessDeniedException":
		return fmt.Errorf("%w (the role needs secretsmanager:GetSecretValue on it, and kms:Decrypt on its key): %w", ErrAccessDenied, err)
	case throttlingCodes[code]:
		return fmt.Errorf("%w: %w", ErrThrottled, err)
	}
	return err
}
