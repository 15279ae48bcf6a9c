package testbed

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AWSEndpoint is the test bed's local AWS: moto in server mode, every service on one port.
// moto keeps state per account and region; the account comes from the credentials (any key
// it does not know is DefaultAccount), and sts:AssumeRole into another account's role gives
// credentials that act in that account.
type AWSEndpoint struct {
	URL, AccessKey, SecretKey, Region string
}

// WithURL is the same local AWS reached through another URL (an AWSProxy in front of it).
func (e AWSEndpoint) WithURL(url string) AWSEndpoint {
	e.URL = url
	return e
}

// DefaultAccount is the account moto acts in for credentials it did not issue.
const DefaultAccount = "123456789012"

// AWS returns the test bed's local AWS (moto). State is shared by every test of the run:
// name what a test creates uniquely (Unique), never reset the server.
func AWS(t testing.TB) AWSEndpoint {
	t.Helper()
	v := need(t, "AWS (moto)", "SHIPSHAPE_AWS_ENDPOINT", "SHIPSHAPE_AWS_ACCESS_KEY", "SHIPSHAPE_AWS_SECRET_KEY", "SHIPSHAPE_AWS_REGION")
	return AWSEndpoint{URL: v[0], AccessKey: v[1], SecretKey: v[2], Region: v[3]}
}

// Config is an aws.Config for the default account in the endpoint's region.
func (e AWSEndpoint) Config() aws.Config {
	return e.ConfigIn(e.Region)
}

// ConfigIn is Config in another region.
func (e AWSEndpoint) ConfigIn(region string) aws.Config {
	return aws.Config{Region: region, BaseEndpoint: aws.String(e.URL),
		Credentials: credentials.NewStaticCredentialsProvider(e.AccessKey, e.SecretKey, "")}
}

// Account returns an aws.Config that acts in account (12 digits), reached as a real
// deployment would: sts:AssumeRole into arn:aws:iam::<account>:role/<role> (moto creates
// no roles it checks; the ARN's account is what counts), plus the static credentials that
// AssumeRole returned, so that a binary can be given them as its environment.
func (e AWSEndpoint) Account(t testing.TB, account, role, region string) (aws.Config, aws.Credentials) {
	t.Helper()
	if account == DefaultAccount {
		creds, _ := e.Config().Credentials.Retrieve(context.Background())
		return e.ConfigIn(region), creds
	}
	out, err := sts.NewFromConfig(e.Config()).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s", account, role)),
		RoleSessionName: aws.String("shipshape-tests"),
	})
	if err != nil {
		t.Fatalf("assuming a role in account %s on moto: %v", account, err)
	}
	c := out.Credentials
	creds := aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), Source: "moto AssumeRole"}
	cfg := e.ConfigIn(region)
	cfg.Credentials = credentials.StaticCredentialsProvider{Value: creds}
	return cfg, creds
}

// Env is the standard AWS environment that points a binary at the local AWS with the given
// credentials (the default account's when creds is the zero value), and nothing else (no
// profile, no config or credentials files).
func (e AWSEndpoint) Env(region string, creds aws.Credentials) []string {
	if creds.AccessKeyID == "" {
		creds = aws.Credentials{AccessKeyID: e.AccessKey, SecretAccessKey: e.SecretKey}
	}
	env := []string{"AWS_ENDPOINT_URL=" + e.URL, "AWS_ACCESS_KEY_ID=" + creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey, "AWS_REGION=" + region, "AWS_DEFAULT_REGION=" + region,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
	if creds.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+creds.SessionToken)
	}
	return env
}
