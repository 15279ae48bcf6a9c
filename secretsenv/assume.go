package secretsenv

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
)

// AssumeRole describes a role to assume before reading secrets.
type AssumeRole struct {
	RoleARN     string
	ExternalID  string
	SessionName string        // default: "secretsenv"
	Duration    time.Duration // default: 15 minutes (the minimum STS allows)
}

// AssumeRoleCredentials returns credentials for the role, from STS through client, cached
// and refreshed before they expire (aws.CredentialsCache over stscreds). Use them as the
// Secrets Manager client's Credentials.
func AssumeRoleCredentials(client STSAPI, role AssumeRole) (*aws.CredentialsCache, error) {
	if !strings.HasPrefix(role.RoleARN, "arn:") || !strings.Contains(role.RoleARN, ":role/") {
		return nil, fmt.Errorf("%w: role %q is not a role ARN like arn:aws:iam::123456789012:role/name", ErrInvalidInput, role.RoleARN)
	}
	if role.Duration != 0 && (role.Duration < 15*time.Minute || role.Duration > 12*time.Hour) {
		return nil, fmt.Errorf("%w: role session duration %s is outside STS's 15m to 12h", ErrInvalidInput, role.Duration)
	}
	p := stscreds.NewAssumeRoleProvider(client, role.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = role.SessionName
		if o.RoleSessionName == "" {
			o.RoleSessionName = "secretsenv"
		}
		if role.ExternalID != "" {
			o.ExternalID = aws.String(role.ExternalID)
		}
		if role.Duration != 0 {
			o.Duration = role.Duration
		}
	})
	return aws.NewCredentialsCache(p), nil
}
