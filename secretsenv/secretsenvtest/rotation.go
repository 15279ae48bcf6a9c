package secretsenvtest

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/secretsenv"
)

var _ secretsenv.ChangeAPI = (*SecretsManager)(nil)

// Operation names of the change checks, for Fail and Calls.
const (
	OpDescribeSecret = "DescribeSecret"
	OpListSecrets    = "ListSecrets"
)

// StartRotation stores value as a new version of secret name with the stage AWSPENDING, as
// a rotation's createSecret step does; AWSCURRENT stays where it is until FinishRotation. It
// returns the new version's id ("" when the secret does not exist).
func (f *SecretsManager) StartRotation(name, value string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[name]
	if s == nil {
		return ""
	}
	for _, v := range s.versions {
		v.stages = removeStage(v.stages, "AWSPENDING")
	}
	v := &version{id: randomHex(16), str: &value, stages: []string{"AWSPENDING"}}
	s.versions = append(s.versions, v)
	return v.id
}

// FinishRotation moves AWSCURRENT to the AWSPENDING version (and AWSPREVIOUS to the version
// that was current), as a rotation's finishSecret step does. It reports whether there was a
// pending version.
func (f *SecretsManager) FinishRotation(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[name]
	if s == nil {
		return false
	}
	var pending, current *version
	for _, v := range s.versions {
		if hasStage(v, "AWSPENDING") {
			pending = v
		}
		if hasStage(v, "AWSCURRENT") {
			current = v
		}
	}
	if pending == nil {
		return false
	}
	for _, v := range s.versions {
		v.stages = removeStage(v.stages, "AWSPREVIOUS")
	}
	if current != nil {
		current.stages = append(removeStage(current.stages, "AWSCURRENT"), "AWSPREVIOUS")
	}
	pending.stages = append(removeStage(pending.stages, "AWSPENDING"), "AWSCURRENT")
	return true
}

// stagesOf maps each version that holds a stage to its stages. Needs f.mu.
func stagesOf(s *secret) map[string][]string {
	out := map[string][]string{}
	for _, v := range s.versions {
		if len(v.stages) > 0 {
			out[v.id] = append([]string(nil), v.stages...)
		}
	}
	return out
}

// DescribeSecret returns a secret's metadata and which version holds which stage, never a
// value.
func (f *SecretsManager) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Enter(&f.Script, OpDescribeSecret, in); err != nil {
		return nil, err
	}
	s := f.lookup(aws.ToString(in.SecretId))
	switch {
	case s == nil:
		return nil, APIError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	case s.denied:
		return nil, APIError("AccessDeniedException", "User is not authorized to perform: secretsmanager:DescribeSecret")
	}
	return &secretsmanager.DescribeSecretOutput{ARN: aws.String(s.arn), Name: aws.String(s.name), VersionIdsToStages: stagesOf(s),
		LastChangedDate: aws.Time(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}, nil
}

// ListSecrets lists secrets by name, MaxResults (default 100) a page. Only the name filter
// is served (a prefix match, case-sensitive, up to 10 values, any of which may match), as
// the watcher uses it; other filters are an InvalidParameterException.
func (f *SecretsManager) ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fakeapi.Enter(&f.Script, OpListSecrets, in); err != nil {
		return nil, err
	}
	var prefixes []string
	for _, fl := range in.Filters {
		if fl.Key != smtypes.FilterNameStringTypeName || len(fl.Values) == 0 || len(fl.Values) > 10 {
			return nil, APIError("InvalidParameterException", "the fake serves one name filter of 1 to 10 values")
		}
		prefixes = append(prefixes, fl.Values...)
	}
	names := make([]string, 0, len(f.secrets))
	for name := range f.secrets {
		match := len(prefixes) == 0
		for _, p := range prefixes {
			match = match || strings.HasPrefix(name, p)
		}
		if match {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	size := int(aws.ToInt32(in.MaxResults))
	if size <= 0 {
		size = 100
	}
	start := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(names) {
			return nil, APIError("InvalidNextTokenException", "the NextToken is not one this fake gave")
		}
		start = n
	}
	out := &secretsmanager.ListSecretsOutput{}
	for _, name := range names[start:min(start+size, len(names))] {
		s := f.secrets[name]
		if s.denied {
			continue // a role that may not describe it does not see it listed either
		}
		out.SecretList = append(out.SecretList, smtypes.SecretListEntry{ARN: aws.String(s.arn), Name: aws.String(s.name),
			SecretVersionsToStages: stagesOf(s), LastChangedDate: aws.Time(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	}
	if start+size < len(names) {
		out.NextToken = aws.String(strconv.Itoa(start + size))
	}
	return out, nil
}
