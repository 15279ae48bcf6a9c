// Package secretsenvtest has stateful fakes of AWS Secrets Manager and STS for tests of code
// that uses secretsenv: secrets with versions and staging labels, string and binary values,
// the service's error codes (ResourceNotFoundException, AccessDeniedException,
// ThrottlingException, DecryptionFailure), BatchGetSecretValue with per-secret errors,
// fault injection with a call count, and STS AssumeRole with recorded calls.
package secretsenvtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/internal/awserr"
	"github.com/shipshape-dev/shipshape/secretsenv"
)

var (
	_ secretsenv.SecretsManagerAPI = (*SecretsManager)(nil)
	_ secretsenv.STSAPI            = (*STS)(nil)
)

// Operation names for Fail and Calls.
const (
	OpGetSecretValue      = "GetSecretValue"
	OpBatchGetSecretValue = "BatchGetSecretValue"
)

type version struct {
	id     string
	str    *string
	bin    []byte
	stages []string
}

type secret struct {
	name, arn string
	versions  []*version // oldest first
	denied    bool
}

type fault struct {
	err   error
	times int
}

// SecretsManager is an in-memory Secrets Manager. It is safe for concurrent use. Its
// embedded Script gives the fault API every fake of the module has: Fail(op, err, times),
// Calls(op), fakeapi.Inputs (the typed *Input of each call) and Total().
type SecretsManager struct {
	fakeapi.Script
	region, account string

	mu      sync.Mutex
	secrets map[string]*secret  // by name
	perID   map[string]*fault   // failures of one secret id (GetSecretValue and in batches)
	ids     map[string][]string // op -> secret ids requested, in order
}

// NewSecretsManager returns an empty fake for region us-east-1, account 123456789012.
func NewSecretsManager() *SecretsManager {
	f := &SecretsManager{region: "us-east-1", account: "123456789012"}
	f.Reset()
	return f
}

// Reset removes every secret, fault and recorded call.
func (f *SecretsManager) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets = map[string]*secret{}
	f.Script.Reset()
	f.perID = map[string]*fault{}
	f.ids = map[string][]string{}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// PutString stores a new string version of secret name (created if needed), moves
// AWSCURRENT to it and AWSPREVIOUS to the version before, and returns the version id.
func (f *SecretsManager) PutString(name, value string) string { return f.put(name, &value, nil) }

// PutBinary stores a new binary version; see PutString.
func (f *SecretsManager) PutBinary(name string, value []byte) string {
	return f.put(name, nil, append([]byte(nil), value...))
}

func (f *SecretsManager) put(name string, str *string, bin []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[name]
	if s == nil {
		s = &secret{name: name, arn: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", f.region, f.account, name, randomHex(3))}
		f.secrets[name] = s
	}
	for _, v := range s.versions {
		v.stages = removeStage(removeStage(v.stages, "AWSPREVIOUS"), "AWSCURRENT")
	}
	if n := len(s.versions); n > 0 {
		s.versions[n-1].stages = append(s.versions[n-1].stages, "AWSPREVIOUS")
	}
	v := &version{id: randomHex(16), str: str, bin: bin, stages: []string{"AWSCURRENT"}}
	s.versions = append(s.versions, v)
	return v.id
}

func removeStage(stages []string, stage string) []string {
	out := stages[:0:0]
	for _, s := range stages {
		if s != stage {
			out = append(out, s)
		}
	}
	return out
}

// ARN returns the full ARN of secret name ("" if it does not exist).
func (f *SecretsManager) ARN(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.secrets[name]; s != nil {
		return s.arn
	}
	return ""
}

// Deny makes every read of secret name fail with AccessDeniedException.
func (f *SecretsManager) Deny(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.secrets[name]; s != nil {
		s.denied = true
	}
}

// FailSecret makes reads of one secret id fail with err (e.g. APIError("DecryptionFailure",
// "...")), the next times times (0: always), in GetSecretValue and as a per-secret error in
// BatchGetSecretValue.
func (f *SecretsManager) FailSecret(id string, err error, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.perID[id] = &fault{err: err, times: times}
}

// RequestedIDs returns the secret ids op was asked for, in order.
func (f *SecretsManager) RequestedIDs(op string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ids[op]...)
}

// APIError builds the error the SDK returns for a Secrets Manager error code.
func APIError(code, message string) error {
	switch code {
	case "ResourceNotFoundException":
		return &smtypes.ResourceNotFoundException{Message: aws.String(message)}
	case "DecryptionFailure":
		return &smtypes.DecryptionFailure{Message: aws.String(message)}
	case "InternalServiceError":
		return &smtypes.InternalServiceError{Message: aws.String(message)}
	case "InvalidRequestException":
		return &smtypes.InvalidRequestException{Message: aws.String(message)}
	case "InvalidParameterException":
		return &smtypes.InvalidParameterException{Message: aws.String(message)}
	}
	return fakeapi.Error(code, message)
}

// lookup finds a secret by name, full ARN or partial ARN. Needs f.mu.
func (f *SecretsManager) lookup(id string) *secret {
	if s := f.secrets[id]; s != nil {
		return s
	}
	for _, s := range f.secrets {
		if s.arn == id || (strings.HasPrefix(id, "arn:") && strings.HasPrefix(s.arn, id+"-") && len(s.arn) == len(id)+7) {
			return s
		}
	}
	return nil
}

// read applies the rules of GetSecretValue to one id. Needs f.mu.
func (f *SecretsManager) read(id, versionID, stage string) (*secret, *version, error) {
	if fl := f.perID[id]; fl != nil {
		if fl.times > 0 {
			if fl.times--; fl.times == 0 {
				delete(f.perID, id)
			}
		}
		return nil, nil, fl.err
	}
	s := f.lookup(id)
	if s == nil {
		return nil, nil, APIError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	}
	if s.denied {
		return nil, nil, APIError("AccessDeniedException", "User is not authorized to perform: secretsmanager:GetSecretValue")
	}
	if versionID != "" && stage != "" {
		// Both may be given when they agree.
		for _, v := range s.versions {
			if v.id == versionID && hasStage(v, stage) {
				return s, v, nil
			}
		}
		return nil, nil, APIError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId and VersionStage.")
	}
	if stage == "" && versionID == "" {
		stage = "AWSCURRENT"
	}
	for i := len(s.versions) - 1; i >= 0; i-- {
		v := s.versions[i]
		if (versionID != "" && v.id == versionID) || (stage != "" && hasStage(v, stage)) {
			return s, v, nil
		}
	}
	return nil, nil, APIError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label or version.")
}

func hasStage(v *version, stage string) bool {
	for _, s := range v.stages {
		if s == stage {
			return true
		}
	}
	return false
}

// GetSecretValue returns a version of a secret (AWSCURRENT unless pinned).
func (f *SecretsManager) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[OpGetSecretValue] = append(f.ids[OpGetSecretValue], aws.ToString(in.SecretId))
	if err := fakeapi.Enter(&f.Script, OpGetSecretValue, in); err != nil {
		return nil, err
	}
	if aws.ToString(in.SecretId) == "" {
		return nil, APIError("InvalidParameterException", "SecretId is required")
	}
	s, v, err := f.read(aws.ToString(in.SecretId), aws.ToString(in.VersionId), aws.ToString(in.VersionStage))
	if err != nil {
		return nil, err
	}
	return &secretsmanager.GetSecretValueOutput{
		ARN: aws.String(s.arn), Name: aws.String(s.name), VersionId: aws.String(v.id),
		SecretString: v.str, SecretBinary: append([]byte(nil), v.bin...), VersionStages: append([]string(nil), v.stages...),
		CreatedDate: aws.Time(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	}, nil
}

// BatchGetSecretValue returns the AWSCURRENT versions of up to 20 secrets, with an Errors
// entry for each secret it can't return.
func (f *SecretsManager) BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[OpBatchGetSecretValue] = append(f.ids[OpBatchGetSecretValue], in.SecretIdList...)
	if err := fakeapi.Enter(&f.Script, OpBatchGetSecretValue, in); err != nil {
		return nil, err
	}
	if len(in.SecretIdList) == 0 && len(in.Filters) == 0 {
		return nil, APIError("InvalidParameterException", "Either SecretIdList or Filters is required")
	}
	if len(in.SecretIdList) > 20 {
		return nil, APIError("InvalidParameterException", "SecretIdList can hold at most 20 secrets")
	}
	out := &secretsmanager.BatchGetSecretValueOutput{}
	for _, id := range in.SecretIdList {
		s, v, err := f.read(id, "", "")
		if err != nil {
			code, msg := awserr.Code(err), awserr.Message(err)
			if code == "" {
				code, msg = "InternalServiceError", err.Error()
			}
			out.Errors = append(out.Errors, smtypes.APIErrorType{SecretId: aws.String(id), ErrorCode: aws.String(code), Message: aws.String(msg)})
			continue
		}
		out.SecretValues = append(out.SecretValues, smtypes.SecretValueEntry{
			ARN: aws.String(s.arn), Name: aws.String(s.name), VersionId: aws.String(v.id),
			SecretString: v.str, SecretBinary: append([]byte(nil), v.bin...), VersionStages: append([]string(nil), v.stages...),
		})
	}
	return out, nil
}

// STS is an in-memory STS that hands out credentials for AssumeRole. Its embedded Script
// gives Fail, Calls and fakeapi.Inputs (OpAssumeRole).
type STS struct {
	fakeapi.Script
	mu     sync.Mutex
	denied map[string]bool
	now    func() time.Time
	issued int
}

// OpAssumeRole is STS's operation name for Fail, Calls and fakeapi.Inputs.
const OpAssumeRole = "AssumeRole"

// NewSTS returns a fake STS; now is its clock (nil: time.Now).
func NewSTS(now func() time.Time) *STS {
	if now == nil {
		now = time.Now
	}
	f := &STS{now: now}
	f.Reset()
	return f
}

// Reset forgets denied roles, faults and calls.
func (f *STS) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Script.Reset()
	f.denied = map[string]bool{}
	f.issued = 0
}

// Deny makes AssumeRole of roleARN fail with AccessDenied.
func (f *STS) Deny(roleARN string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denied[roleARN] = true
}

// AssumeRole returns fresh credentials for the role.
func (f *STS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Call(ctx, &f.Script, OpAssumeRole, in); err != nil {
		return nil, err
	}
	if f.denied[aws.ToString(in.RoleArn)] {
		return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: sts:AssumeRole", Fault: smithy.FaultClient}
	}
	f.issued++
	d := time.Duration(aws.ToInt32(in.DurationSeconds)) * time.Second
	if d == 0 {
		d = time.Hour
	}
	return &sts.AssumeRoleOutput{
		Credentials: &ststypes.Credentials{
			AccessKeyId: aws.String(fmt.Sprintf("ASIAFAKE%08d", f.issued)), SecretAccessKey: aws.String("secret-" + randomHex(8)),
			SessionToken: aws.String("token-" + randomHex(8)), Expiration: aws.Time(f.now().Add(d)),
		},
		AssumedRoleUser: &ststypes.AssumedRoleUser{Arn: aws.String(aws.ToString(in.RoleArn) + "/" + aws.ToString(in.RoleSessionName)), AssumedRoleId: aws.String("AROAFAKE:" + aws.ToString(in.RoleSessionName))},
	}, nil
}
