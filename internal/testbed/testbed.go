// Package testbed hands integration tests the endpoints of the real local servers that
// scripts/testbed starts (Versity S3 Gateway, amazon-ec2-metadata-mock, PostgreSQL).
//
// Each accessor reads the SHIPSHAPE_* variables the test bed exports. When a variable is
// missing the test skips with instructions, unless SHIPSHAPE_INTEGRATION=1 is set (as
// `make test` and CI do): then it fails, so an integration test can never pass by doing
// nothing.
package testbed

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// IntegrationEnv is the variable that turns a missing test bed from a skip into a failure.
const IntegrationEnv = "SHIPSHAPE_INTEGRATION"

const howTo = "start the test bed: `make test` runs everything with it; or " +
	"`scripts/testbed run -- go test ./...`; or `scripts/testbed up` and source the env file it prints"

// need returns the values of the named variables, or skips/fails t when one is missing.
func need(t testing.TB, server string, names ...string) []string {
	t.Helper()
	values := make([]string, len(names))
	for i, name := range names {
		values[i] = os.Getenv(name)
		if values[i] != "" {
			continue
		}
		if os.Getenv(IntegrationEnv) == "1" {
			t.Fatalf("%s test bed is not running (%s is unset) although %s=1: %s", server, name, IntegrationEnv, howTo)
		}
		t.Skipf("%s test bed is not running (%s is unset); to run this test, %s", server, name, howTo)
	}
	return values
}

// S3Endpoint describes the test bed's S3 server.
type S3Endpoint struct {
	URL, AccessKey, SecretKey, Region string
}

// S3 returns the test bed's S3 endpoint.
func S3(t testing.TB) S3Endpoint {
	t.Helper()
	v := need(t, "S3", "SHIPSHAPE_S3_ENDPOINT", "SHIPSHAPE_S3_ACCESS_KEY", "SHIPSHAPE_S3_SECRET_KEY", "SHIPSHAPE_S3_REGION")
	return S3Endpoint{URL: v[0], AccessKey: v[1], SecretKey: v[2], Region: v[3]}
}

// S3Client returns a real SDK S3 client for the test bed's S3 server (path-style addressing).
func S3Client(t testing.TB) *s3.Client {
	t.Helper()
	ep := S3(t)
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(ep.URL),
		Region:       ep.Region,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, ""),
	})
}

// IMDS describes the test bed's instance metadata mock.
type IMDS struct {
	// URL is the base URL, without a trailing slash, e.g. http://127.0.0.1:41234.
	URL string
	// AccessKeyID is the access key id the mock serves for the instance role; its
	// credentials expire about 6 hours after the test bed started.
	AccessKeyID string
}

// IMDSMock returns the test bed's amazon-ec2-metadata-mock (IMDSv2 only).
func IMDSMock(t testing.TB) IMDS {
	t.Helper()
	v := need(t, "IMDS", "SHIPSHAPE_IMDS_ENDPOINT", "SHIPSHAPE_IMDS_ACCESS_KEY_ID")
	return IMDS{URL: v[0], AccessKeyID: v[1]}
}

// DotenvReaders are real third-party dotenv readers: Python is an interpreter that imports
// python-dotenv, NodePath a node_modules folder holding the npm dotenv package (Node itself
// brings util.parseEnv).
type DotenvReaders struct {
	Python, NodePath string
}

// Dotenv returns the test bed's dotenv readers.
func Dotenv(t testing.TB) DotenvReaders {
	t.Helper()
	v := need(t, "dotenv readers", "SHIPSHAPE_DOTENV_PYTHON", "SHIPSHAPE_DOTENV_NODE_PATH")
	return DotenvReaders{Python: v[0], NodePath: v[1]}
}

// LambdaRIE returns the path of the AWS Lambda Runtime Interface Emulator, which runs a
// Lambda bootstrap locally and invokes it over HTTP as the Lambda service would.
func LambdaRIE(t testing.TB) string {
	t.Helper()
	return need(t, "Lambda Runtime Interface Emulator", "SHIPSHAPE_LAMBDA_RIE")[0]
}

// VersionedBucket creates a bucket with versioning enabled on the test bed's S3 server, named
// prefix followed by a unique suffix, and returns its name.
func VersionedBucket(t testing.TB, client *s3.Client, prefix string) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatalf("enabling versioning on %s: %v", name, err)
	}
	return name
}

// Env is the standard AWS environment that points a binary at this S3 server and nothing
// else (no profile, no config or credentials files).
func (e S3Endpoint) Env() []string {
	return []string{"AWS_ENDPOINT_URL_S3=" + e.URL, "AWS_ACCESS_KEY_ID=" + e.AccessKey, "AWS_SECRET_ACCESS_KEY=" + e.SecretKey,
		"AWS_REGION=" + e.Region, "AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
}

// SetEnv sets Env in the test's own environment (t.Setenv), for a binary's run function
// called in process.
func (e S3Endpoint) SetEnv(t *testing.T) {
	t.Helper()
	for _, kv := range e.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}
