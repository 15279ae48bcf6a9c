package dr

import (
	"fmt"
	"strings"
	"time"
)

// Tags the package puts on its snapshots; retention only ever touches snapshots with TagDR.
const (
	TagDR     = "shipshape:dr"
	TagSource = "shipshape:source"
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
	TagSourceAccount = "shipshape:source-account"
)

// ValidIdentifier checks RDS's rules for snapshot identifiers: 1 to 255 letters, digits and
// hyphens, starting with a letter, no two hyphens in a row, not ending with a hyphen.
func ValidIdentifier(id string) error {
	bad := func(why string) error { return fmt.Errorf("%w: snapshot identifier %q %s", ErrInvalidInput, id, why) }
	switch {
	case id == "" || len(id) > 255:
		return bad("must be 1 to 255 characters")
	case !isLetter(id[0]):
		return bad("must start with a letter")
	case strings.Contains(id, "--"):
		return bad("must not contain two hyphens in a row")
	case strings.HasSuffix(id, "-"):
		return bad("must not end with a hyphen")
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isLetter(c) && !(c >= '0' && c <= '9') && c != '-' {
			return bad("may hold only letters, digits and hyphens")
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// CopyID is the deterministic identifier of the DR copy of a snapshot: the source instance,
// the snapshot's creation time to the minute, and "-dr", e.g. "orders-db-202611230300-dr".
// The same snapshot always gives the same id, which makes copying idempotent.
func CopyID(instance string, created time.Time) (string, error) {
	base := strings.Trim(strings.ToLower(instance), "-")
	for strings.Contains(base, "--") {
		base = strings.ReplaceAll(base, "--", "-")
	}
	suffix := "-" + created.UTC().Format("200601021504") + "-dr"
	if len(base)+len(suffix) > 255 {
		base = strings.TrimRight(base[:255-len(suffix)], "-")
	}
	id := base + suffix
	return id, ValidIdentifier(id)
}
