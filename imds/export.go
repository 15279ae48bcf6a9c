package imds

import (
	"encoding/json"
	"strings"
	"time"
)

// CredentialProcessJSON returns the credentials in the format the AWS CLI and SDKs expect
// from a credential_process helper. Unlike every other rendering of Credentials, it
// contains the secret and the token: write it only where the consumer reads it.
func (c Credentials) CredentialProcessJSON() ([]byte, error) {
	return json.Marshal(struct {
		Version         int
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}{1, c.AccessKeyID, c.SecretAccessKey, c.Token, c.Expiration.UTC().Format(time.RFC3339)})
}

// ShellExports returns `export NAME='value'` lines for AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION, quoted so that a
// POSIX shell's eval gives back exactly the values. It contains the secret and the token.
func (c Credentials) ShellExports() string {
	var b strings.Builder
	for _, kv := range [][2]string{
		{"AWS_ACCESS_KEY_ID", c.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", c.SecretAccessKey},
		{"AWS_SESSION_TOKEN", c.Token},
		{"AWS_CREDENTIAL_EXPIRATION", c.Expiration.UTC().Format(time.RFC3339)},
	} {
		b.WriteString("export " + kv[0] + "=" + shellQuote(kv[1]) + "\n")
	}
	return b.String()
}

// shellQuote wraps s in single quotes; a single quote inside becomes '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
