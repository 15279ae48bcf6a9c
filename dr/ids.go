package dr

import (
	"fmt"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
)

// Tags the package puts on its snapshots; retention only ever touches snapshots with TagDR.
const (
	TagDR     = snaps.TagDR     // "shipshape:dr"
	TagSource = snaps.TagSource // "shipshape:source": the source snapshot's ARN
	// TagSharedWith records the accounts a DR snapshot was shared with ("+"-separated), so
	// that a periodic run reads the restore attribute only of snapshots not yet shared as
	// configured.
	TagSharedWith = "shipshape:shared-with"
	// TagSourceCreated is on the recovery side's copies: the creation time (RFC 3339) of the
	// shared snapshot copied, so that a run can tell which shared snapshots are older than
	// the newest copy (trimmed by retention, not to be copied again) without relying on the
	// copy's own times.
	TagSourceCreated = "shipshape:source-created"
	// TagRun is on the temporary instances of Verify and Sanitize: the run (a Step Functions
	// execution name, or the CLI's run id) that made it. The instance identifier is derived
	// from the run, so a step whose answer was lost can still find, and only ever delete,
	// what its own run created.
	TagRun = "shipshape:run"
	// TagSourceAccount is on every copy (the source side's DR copies, the recovery side's
	// copies and staging copies) and on the restores made from them: the account whose
	// database the data comes from. Two source accounts may each have a database of one name;
	// a copy made before this tag existed takes its account from its shipshape:source ARN.
	TagSourceAccount = snaps.TagSourceAccount // "shipshape:source-account"
	// TagSourceDatabase is on a failover's restores and on sanitized snapshots: the source DB
	// instance or cluster whose DR copy was restored (a failover's rerun attaches only to a
	// restore of its own database).
	TagSourceDatabase = "shipshape:source-db"
)

// NamePrefix starts the name of everything the package creates, tags, shares or deletes in
// RDS: RDS has no IAM condition key that names the call that created a resource (a tag
// condition is met by anyone who may tag), so the templates' IAM statements that delete,
// share or tag are limited by name, to this prefix (narrower still: one kind's prefix below).
// A suffix would not do: "-dr" also ends an operator's "payroll-dr".
const NamePrefix = snaps.NamePrefix // "shipshape-"

// The kinds of names, each its own prefix, so that one function's IAM grant can't reach
// another kind (the sanitizing function may share shipshape-sanitized-*, never a DR copy).
const (
	// PrefixCopy starts DR copies and their staging copies: "shipshape-dr-orders-db-202611230300".
	PrefixCopy = snaps.PrefixCopy // NamePrefix + "dr-"
	// PrefixVerify starts the temporary instances and clusters of Verify (dr-steps, dr-verify).
	PrefixVerify = NamePrefix + "verify-"
	// PrefixSanitize starts the temporary instances and clusters of Sanitize (dr-sanitize):
	// a prefix of their own, so that neither the verifying nor the sanitizing function may
	// tag or delete the other's running instance. Under IAM's "*" it matches no other kind:
	// "shipshape-sanitize-*" is not matched by "shipshape-sanitized-..." (a "d" where the
	// pattern has "-"), nor the other way round.
	PrefixSanitize = NamePrefix + "sanitize-"
	// PrefixRehearsal starts a failover rehearsal's instance, cluster and DNS record.
	PrefixRehearsal = NamePrefix + "rehearsal-"
	// PrefixSanitized starts the sanitized snapshots (and their intermediate "-raw" ones).
	PrefixSanitized = NamePrefix + "sanitized-"
)

// Kinds are the prefixes of the kinds of names the package makes, each the names of one
// function (the IAM policies let each function tag and delete only its own kind): a failover
// target must start with none of them.
func Kinds() []string {
	return []string{PrefixCopy, PrefixVerify, PrefixSanitize, PrefixSanitized, PrefixRehearsal}
}

// Owned reports whether an RDS identifier carries NamePrefix: one the package made (or, for
// a failover target, was told to make), which the templates let its functions tag, share or
// delete. A DR copy made before the prefix existed ("orders-db-202611230300-dr") is not: it
// is still restored, but never tagged, shared or deleted again (docs/dr.md says how to
// retire such copies).
func Owned(id string) bool { return strings.HasPrefix(id, NamePrefix) }

// ValidIdentifier checks RDS's rules for snapshot identifiers: 1 to 255 letters, digits and
// hyphens, starting with a letter, no two hyphens in a row, not ending with a hyphen.
func ValidIdentifier(id string) error {
	if why := snaps.IdentifierProblem(id); why != "" {
		return fmt.Errorf("%w: snapshot identifier %q %s", ErrInvalidInput, id, why)
	}
	return nil
}

// ValidInputIdentifier is ValidIdentifier for an RDS identifier given as input (an option, a
// setting, a flag), which must also be in lower case. RDS accepts upper case but stores and
// answers every identifier in lower case, and the IAM policies name them so: a failover target
// "shipshape-VERIFY-orders" would be created as db:shipshape-verify-orders, among the names
// another function may tag and delete, and an id compared with RDS's answers (a source
// database, a snapshot, a tag written from it) would never match. Refusing it names the
// problem before any call.
func ValidInputIdentifier(id string) error {
	if err := ValidIdentifier(id); err != nil {
		return err
	}
	if lower := strings.ToLower(id); id != lower {
		return fmt.Errorf("%w: identifier %q has upper-case letters: RDS stores identifiers in lower case (%q), the IAM policies name them so, and so must it be written", ErrInvalidInput, id, lower)
	}
	return nil
}

// CopyID is the deterministic identifier of the DR copy of a snapshot: PrefixCopy, the
// source instance and the snapshot's creation time to the minute, e.g.
// "shipshape-dr-orders-db-202611230300". The same snapshot always gives the same id, which
// makes copying idempotent; the id fits RDS's 255 characters whatever the instance's name.
func CopyID(instance string, created time.Time) (string, error) {
	base := strings.Trim(strings.ToLower(instance), "-")
	for strings.Contains(base, "--") {
		base = strings.ReplaceAll(base, "--", "-")
	}
	id := snaps.FitID(PrefixCopy, base, "-"+created.UTC().Format("200601021504"))
	return id, ValidIdentifier(id)
}
