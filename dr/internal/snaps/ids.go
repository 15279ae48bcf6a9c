package snaps

import "strings"

// The names of dr's DR copies (package dr documents them: dr.NamePrefix, dr.PrefixCopy are
// these).
const (
	NamePrefix = "shipshape-"
	PrefixCopy = NamePrefix + "dr-"
)

// IdentifierProblem is what breaks RDS's rules for snapshot identifiers in id ("must start
// with a letter"), "" when nothing does: 1 to 255 letters, digits and hyphens, starting with a
// letter, no two hyphens in a row, not ending with a hyphen. dr.ValidIdentifier makes it an
// error.
func IdentifierProblem(id string) string {
	switch {
	case id == "" || len(id) > 255:
		return "must be 1 to 255 characters"
	case !IsLetter(id[0]):
		return "must start with a letter"
	case strings.Contains(id, "--"):
		return "must not contain two hyphens in a row"
	case strings.HasSuffix(id, "-"):
		return "must not end with a hyphen"
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !IsLetter(c) && !(c >= '0' && c <= '9') && c != '-' {
			return "may hold only letters, digits and hyphens"
		}
	}
	return ""
}

// ValidName is RDS's rule for DB instance and cluster identifiers given as input (1 to 63
// characters, and IdentifierProblem's rules, in lower case, as RDS stores them).
func ValidName(id string) bool {
	return len(id) <= 63 && IdentifierProblem(id) == "" && id == strings.ToLower(id)
}

// IsLetter reports whether c is an ASCII letter.
func IsLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// FitID is prefix+middle+suffix, the middle shortened (and a hyphen it would then end with
// dropped) so that the whole fits RDS's 255 characters. It is not checked: dr.ValidIdentifier
// does that.
func FitID(prefix, middle, suffix string) string {
	if room := 255 - len(prefix) - len(suffix); len(middle) > room {
		middle = strings.TrimRight(middle[:max(room, 0)], "-")
	}
	return prefix + middle + suffix
}

// LegacyCopyName is the middle of a DR copy's id without its kind: "orders-db-202611230300"
// of "shipshape-dr-orders-db-202611230300", and of a copy named before the prefix,
// "orders-db-202611230300-dr".
func LegacyCopyName(id string) string {
	if strings.HasPrefix(id, PrefixCopy) {
		return strings.TrimPrefix(id, PrefixCopy)
	}
	return strings.TrimSuffix(strings.TrimPrefix(id, NamePrefix), "-dr")
}
