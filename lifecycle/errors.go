package lifecycle

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shipshape-dev/shipshape/internal/awserr"
)

var (
	// ErrNoActiveAction: Auto Scaling has no lifecycle action in progress for the instance:
	// it was completed already (by another process, or a previous run) or it expired to the
	// hook's default result. Not retryable; nothing is left to do.
	ErrNoActiveAction = errors.New("lifecycle: no active lifecycle action (already completed, or expired)")

	// ErrNoHook: the group has no lifecycle hook of the transition asked for (launch, or
	// termination for a drain), so there is nothing to hold.
	ErrNoHook = errors.New("lifecycle: the group has no lifecycle hook for this transition")

	// ErrNoLaunchHook is ErrNoHook (its name before termination hooks were discovered too).
	ErrNoLaunchHook = ErrNoHook

	// ErrNotInGroup: the instance is not in an Auto Scaling group.
	ErrNotInGroup = errors.New("lifecycle: the instance is not in an Auto Scaling group")

	// ErrSeveralGroups: Auto Scaling's answer lists the instance in more than one group. An
	// instance is in one group at most, so the answer can't be trusted, and which group's
	// hooks to complete (or protection to change) is never guessed. The error names the groups.
	ErrSeveralGroups = errors.New("lifecycle: Auto Scaling lists the instance in several groups")

	// ErrInvalidInput: bad configuration, e.g. a probe URL that is not http(s).
	ErrInvalidInput = errors.New("lifecycle: invalid input")
)

// classify maps an Auto Scaling error to the package's sentinels.
//
// "No active Lifecycle Action found" comes as the generic ValidationError code, shared with
// every other validation failure, so it is the one place where the message is read: AWS
// gives no other signal for it.
func classify(err error) error {
	if awserr.Is(err, "ValidationError") && strings.Contains(awserr.Message(err), "No active Lifecycle Action found") {
		return fmt.Errorf("%w: %w", ErrNoActiveAction, err)
	}
	return err
}
