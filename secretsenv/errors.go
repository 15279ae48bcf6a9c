package secretsenv

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/shipshape-dev/shipshape/internal/awserr"
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

// classify wraps err with the sentinel its code means.
func classify(err error) error {
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		return fmt.Errorf("%w (check the name or ARN, and the region): %w", ErrNotFound, err)
	case awserr.Is(err, "AccessDeniedException"):
		return fmt.Errorf("%w (the role needs secretsmanager:GetSecretValue on it, and kms:Decrypt on its key): %w", ErrAccessDenied, err)
	case awserr.Throttling(err):
		return fmt.Errorf("%w: %w", ErrThrottled, err)
	}
	return err
}
