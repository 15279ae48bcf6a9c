package lifecycle

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

var (
	// ErrNoActiveAction: Auto Scaling has no lifecycle action in progress for the instance:
	// it was completed already (by another process, or a previous run) or it expired to the
	// hook's default result. Not retryable; nothing is left to do.
	ErrNoActiveAction = errors.New("lifecycle: no active lifecycle action (already completed, or expired)")

	// ErrNoLaunchHook: the group has no launch lifecycle hook, so there is nothing to gate.
	ErrNoLaunchHook = errors.New("lifecycle: the group has no launch lifecycle hook")

	// ErrNotInGroup: the instance is not in an Auto Scaling group.
	ErrNotInGroup = errors.New("lifecycle: the instance is not in an Auto Scaling group")

	// ErrInvalidInput: bad configuration, e.g. a probe URL that is not http(s).
	ErrInvalidInput = errors.New("lifecycle: invalid input")
)

// classify maps an Auto Scaling error to the package's sentinels.
//
// "No active Lifecycle Action found" comes as the generic ValidationError code, shared with
// every other validation failure, so it is the one place where the message is read: AWS
// gives no other signal for it.
func classify(err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationError" &&
		strings.Contains(apiErr.ErrorMessage(), "No active Lifecycle Action found") {
		return fmt.Errorf("%w: %w", ErrNoActiveAction, err)
	}
	return err
}

// retryable reports whether an Auto Scaling error is transient: throttling, server errors,
// and transport errors (no API error at all).
func retryable(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return true
	}
	switch apiErr.ErrorCode() {
	case "Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable", "InternalFailure", "InternalError":
		return true
	}
	return apiErr.ErrorFault() == smithy.FaultServer
}
