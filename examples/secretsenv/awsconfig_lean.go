//go:build lean

package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

// awsConfig, in the lean build used for the Lambda layer, reads only what a Lambda function
// (or a container) has: AWS_REGION / AWS_DEFAULT_REGION, credentials from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or from the container
// credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI, as Lambda
// SnapStart and ECS provide), and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>. No shared
// config files, so no AWS_PROFILE: use the default build for that.
func awsConfig(context.Context) (aws.Config, error) {
	cfg := aws.Config{Region: firstNonEmpty(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case id != "" && secret != "":
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
	case os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "" || os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "":
		uri := os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
		if uri == "" {
			uri = "http://169.254.170.2" + os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
		}
		cfg.Credentials = aws.NewCredentialsCache(endpointcreds.New(uri, func(o *endpointcreds.Options) {
			o.AuthorizationToken = os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
			if file := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file != "" {
				if b, err := os.ReadFile(file); err == nil {
					o.AuthorizationToken = strings.TrimSpace(string(b))
				}
			}
		}))
	default:
		return cfg, errors.New("no credentials in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a container credentials endpoint); this lean build reads no config files")
	}
	return cfg, nil
}

// serviceEndpoint returns AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, else nil.
func serviceEndpoint(service string) *string {
	if v := firstNonEmpty(os.Getenv("AWS_ENDPOINT_URL_"+service), os.Getenv("AWS_ENDPOINT_URL")); v != "" {
		return aws.String(v)
	}
	return nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
