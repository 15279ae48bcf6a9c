package dr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shipshape-dev/shipshape/internal/awserr"
)

// The package's sentinels: callers branch on them with errors.Is. Errors that carry data are
// typed (*RestoreFailedError); the SDK's modeled faults stay reachable with errors.As.
var (
	// ErrInvalidInput: a bad identifier, option, flag or event. Nothing was changed.
	ErrInvalidInput = errors.New("dr: invalid input")

	// ErrNotReady: RDS is still busy (a snapshot creating or copying, an instance restoring):
	// try again later. The Step Functions form retries it.
	ErrNotReady = errors.New("dr: not ready yet")

	// ErrTimedOut: a wait ran out of its time budget (VerifyOptions.Timeout) while RDS was
	// still busy. What was created is cleaned up all the same.
	ErrTimedOut = errors.New("dr: timed out waiting")

	// ErrRestoreFailed: a restored instance reached a terminal state (incompatible-restore,
	// failed, storage-full, ...) that never becomes available. See *RestoreFailedError.
	ErrRestoreFailed = errors.New("dr: the restore failed")

	// ErrNeedsCustomerKey: an encrypted snapshot is to be shared across accounts, but it is
	// under the AWS managed aws/rds key (kms:DescribeKey says KeyManager AWS), which RDS never
	// shares, and no customer managed key was configured to re-encrypt it with.
	ErrNeedsCustomerKey = errors.New("dr: encrypted snapshots can be shared across accounts only when encrypted with a customer managed KMS key")

	// ErrQuota: an RDS quota stops the work (manual snapshots per region, copies in progress).
	ErrQuota = errors.New("dr: RDS quota reached")

	// ErrNoSnapshot: there is no available DR snapshot to restore.
	ErrNoSnapshot = errors.New("dr: no available DR snapshot")

	// ErrForeignResource: a resource with the identifier the package would use exists and was
	// not made by this run (its shipshape tags say otherwise): the package neither uses nor
	// deletes it.
	ErrForeignResource = errors.New("dr: a resource with this identifier exists and is not ours")
)

// ErrAmbiguousSource: the source database named (an instance or cluster name) has DR copies
// from more than one source account here, and no source account was chosen: restoring the
// newest of them could restore another account's database. *AmbiguousSourceError names the
// accounts. Nothing was changed.
var ErrAmbiguousSource = errors.New("dr: the source database's name exists under more than one source account")

// AmbiguousSourceError is a source database whose name has DR copies from several source
// accounts, when no SourceAccount was given. Choose one (SourceAccount, -source-account,
// DR_SOURCE_ACCOUNT).
type AmbiguousSourceError struct {
	Database string   // the source DB instance or cluster name
	Cluster  bool     // an Aurora cluster
	Accounts []string // the source accounts holding copies of a database of that name, sorted
}

func (e *AmbiguousSourceError) Error() string {
	kind := "DB instance"
	if e.Cluster {
		kind = "DB cluster"
	}
	return fmt.Sprintf("dr: the %s %s has DR copies from %d source accounts (%s): choose one with the source account setting (-source-account, DR_SOURCE_ACCOUNT); nothing was changed",
		kind, e.Database, len(e.Accounts), strings.Join(e.Accounts, ", "))
}

// Unwrap makes errors.Is(err, ErrAmbiguousSource) true.
func (e *AmbiguousSourceError) Unwrap() error { return ErrAmbiguousSource }

// RestoreFailedError is a restore that reached a terminal state: waiting longer can't help.
type RestoreFailedError struct {
	Instance string // the temporary or target DB instance (or cluster)
	State    string // e.g. "incompatible-restore"
}

func (e *RestoreFailedError) Error() string {
	return fmt.Sprintf("dr: the restore failed: %s is %s, a state it never leaves for available", e.Instance, e.State)
}

// Unwrap makes errors.Is(err, ErrRestoreFailed) true.
func (e *RestoreFailedError) Unwrap() error { return ErrRestoreFailed }

// terminalStates never become available: stop waiting and clean up.
var terminalStates = map[string]bool{
	"failed": true, "incompatible-restore": true, "incompatible-parameters": true, "incompatible-network": true,
	"incompatible-option-group": true, "storage-full": true, "inaccessible-encryption-credentials": true,
	"inaccessible-encryption-credentials-recoverable": true, "incompatible-credentials": true,
}

// IsTerminal reports whether an RDS instance or cluster status is one a restore never leaves
// for "available".
func IsTerminal(status string) bool { return terminalStates[status] }

// ErrorType names the kind of a failure of this package, for a state machine to route on
// (examples/dr-steps reports it as the Lambda error type): NotReady, TimedOut, RestoreFailed,
// ForeignResource, NoSnapshot, Quota, NeedsCustomerKey, AmbiguousSource, InvalidInput,
// Throttled, or Failed.
func ErrorType(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotReady):
		return "NotReady"
	case errors.Is(err, ErrTimedOut):
		return "TimedOut"
	case errors.Is(err, ErrRestoreFailed):
		return "RestoreFailed"
	case errors.Is(err, ErrForeignResource):
		return "ForeignResource"
	case errors.Is(err, ErrNoSnapshot):
		return "NoSnapshot"
	case errors.Is(err, ErrQuota):
		return "Quota"
	case errors.Is(err, ErrNeedsCustomerKey):
		return "NeedsCustomerKey"
	case errors.Is(err, ErrAmbiguousSource):
		return "AmbiguousSource"
	case errors.Is(err, ErrInvalidInput):
		return "InvalidInput"
	case awserr.Throttling(err):
		return "Throttled"
	}
	return "Failed"
}

// The SDK's modeled faults, by kind: one place reads them, for DB and DB cluster snapshots.
