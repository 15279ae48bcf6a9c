//go:build !lean

package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// awsConfig loads the full standard AWS configuration: environment, shared config and
// credentials files (AWS_PROFILE, SSO, ...), container and instance credentials. The Lambda
// layer is built with -tags lean instead (awsconfig_lean.go), which is smaller and starts
// faster.
func awsConfig(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx)
}

// serviceEndpoint is resolved by the config package in this build.
func serviceEndpoint(string) *string { return nil }
