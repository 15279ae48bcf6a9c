// Package awsid checks the shape of AWS identifiers before they reach a call that acts on
// them, so a typo is a usage error instead of an API error after other calls were made.
package awsid

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	instanceID = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	accountID  = regexp.MustCompile(`^[0-9]{12}$`)
	// roleName: IAM role names are 1 to 64 of letters, digits and +=,.@_- (no slash: a path
	// is not part of the name).
	roleName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

	// arnHead is "arn:PARTITION:SERVICE:REGION:ACCOUNT:" for a regional service, with %s
	// the service.
	arnHead = `^arn:aws[a-z-]*:%s:[a-z]+(-[a-z]+)+-[0-9]+:[0-9]{12}:`
	// secretARN: a secret's ARN, complete (name and the six random characters) or partial
	// (the name only); the name is letters, digits and /_+=.@- ("!" in RDS-managed secrets).
	secretARN = regexp.MustCompile(fmt.Sprintf(arnHead, "secretsmanager") + `secret:[\w/+=.@!-]+$`)
	// kmsKeyID: a key id (a UUID) or a multi-Region key id; kmsAlias: an alias name.
	kmsKeyID = `([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})`
	kmsAlias = `alias/[\w/-]{1,250}`
	kmsKey   = regexp.MustCompile(`^(` + kmsKeyID + `|` + kmsAlias + `)$|` + fmt.Sprintf(arnHead, "kms") + `(key/` + kmsKeyID + `|` + kmsAlias + `)$`)
	// bucket: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending
	// with a letter or digit.
	bucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipv4   = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
	// securityGroup: a VPC security group id, "sg-" and 8 or 17 lower-case hex digits.
	securityGroup = regexp.MustCompile(`^sg-([0-9a-f]{8}|[0-9a-f]{17})$`)
	// subnetGroup: RDS's rule for DB subnet group names, 1 to 255 letters, digits, periods,
	// underscores, spaces and hyphens.
	subnetGroup = regexp.MustCompile(`^[A-Za-z0-9._ -]{1,255}$`)
	// region: lower-case words and a number, joined by hyphens (eu-west-1, us-gov-west-1).
	region = regexp.MustCompile(`^[a-z]+(-[a-z]+)+-[0-9]+$`)
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

// SecretARN checks a Secrets Manager secret ARN,
// arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME (complete or partial).
func SecretARN(arn string) error {
	if !secretARN.MatchString(arn) {
		return fmt.Errorf("%q is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)", arn)
	}
	return nil
}

// KMSKey checks a KMS key in one of the forms AWS APIs take for a KmsKeyId: a key id, a key
// ARN, an alias name (alias/NAME) or an alias ARN.
func KMSKey(key string) error {
	if !kmsKey.MatchString(key) {
		return fmt.Errorf("%q is not a KMS key: want a key id, a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), an alias (alias/NAME) or an alias ARN", key)
	}
	return nil
}

// BucketName checks an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens,
// starting and ending with a letter or digit, no two dots in a row, not an IP address. A
// name, not an ARN or an s3:// URL. (The names S3 reserves for its own kinds of bucket, such
// as access point aliases, pass: they can stand where a bucket name does.)
func BucketName(name string) error {
	if !bucket.MatchString(name) || strings.Contains(name, "..") || ipv4.MatchString(name) {
		return fmt.Errorf("%q is not an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens; no s3:// or ARN)", name)
	}
	return nil
}

// SecurityGroupID checks a VPC security group id: "sg-" and 8 or 17 lower-case hex digits.
func SecurityGroupID(id string) error {
	if !securityGroup.MatchString(id) {
		return fmt.Errorf("%q is not a VPC security group id (sg- and 8 or 17 hex digits, e.g. sg-0123456789abcdef0)", id)
	}
	return nil
}

// SubnetGroupName checks an RDS DB subnet group name: 1 to 255 letters, digits, periods,
// underscores, spaces and hyphens (not an ARN, not a subnet id list).
func SubnetGroupName(name string) error {
	if !subnetGroup.MatchString(name) {
		return fmt.Errorf("%q is not a DB subnet group name (1 to 255 letters, digits, periods, underscores, spaces and hyphens)", name)
	}
	return nil
}

// Region checks a region name such as eu-west-1, us-gov-west-1 or ap-southeast-4: lower-case
// words and a number, joined by hyphens. An availability zone (eu-west-1a) is not a region.
func Region(name string) error {
	if !region.MatchString(name) {
		return fmt.Errorf("%q is not a region name (e.g. eu-west-1; not an availability zone or an ARN)", name)
	}
	return nil
}
