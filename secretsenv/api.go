package secretsenv

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// SecretsManagerAPI is the part of the Secrets Manager client the package uses.
// *secretsmanager.Client satisfies it, and so does secretsenvtest.SecretsManager.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	BatchGetSecretValue(ctx context.Context, params *secretsmanager.BatchGetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error)
}

// STSAPI is the part of the STS client the package uses to assume a role first.
// *sts.Client satisfies it, and so does secretsenvtest.STS.
type STSAPI interface {
	AssumeRole(ctx context.Context, params *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

var (
	_ SecretsManagerAPI            = (*secretsmanager.Client)(nil)
	_ STSAPI                       = (*sts.Client)(nil)
	_ stscreds.AssumeRoleAPIClient = STSAPI(nil)
)
