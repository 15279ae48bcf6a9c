// Package awsid checks the shape of AWS identifiers before they reach a call that acts on
// them, so a typo is a usage error instead of an API error after other calls were made.
package awsid

import (
	"fmt"
	"regexp"
)

var (
	instanceID = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	accountID  = regexp.MustCompile(`^[0-9]{12}$`)
	// roleName: IAM role names are 1 to 64 of letters, digits and +=,.@_- (no slash: a path
	// is not part of the name).
	roleName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// InstanceID checks an EC2 instance id: "i-" and 8 or 17 lower-case hex digits.
func InstanceID(id string) error {
	if !instanceID.MatchString(id) {
		return fmt.Errorf("%q is not an EC2 instance id (i- and 8 or 17 hex digits, e.g. i-0123456789abcdef0)", id)
	}
	return nil
}

// AccountID checks a 12-digit AWS account id.
func AccountID(id string) error {
	if !accountID.MatchString(id) {
		return fmt.Errorf("%q is not an AWS account id (12 digits)", id)
	}
	return nil
}

// RoleName checks an IAM role name (not an ARN, no path).
func RoleName(name string) error {
	if !roleName.MatchString(name) {
		return fmt.Errorf("%q is not an IAM role name (1 to 64 letters, digits and +=,.@_-; no slash)", name)
	}
	return nil
}
