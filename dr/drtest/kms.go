package drtest

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

var _ dr.KMSAPI = (*KMS)(nil)

// OpDescribeKey is the KMS operation name for Fail and Calls.
const OpDescribeKey = "DescribeKey"

// KMS is a fake of kms:DescribeKey: keys are AWS managed (aws/rds) or customer managed; an
// unknown key is NotFoundException, as KMS answers. It is safe for concurrent use.
type KMS struct {
	fakeapi.Script

	mu   sync.Mutex
	keys map[string]types.KeyManagerType
}

// NewKMS returns a KMS that knows the default aws/rds key of each given RDS fake as AWS
// managed.
func NewKMS(rdsFakes ...*RDS) *KMS {
	k := &KMS{keys: map[string]types.KeyManagerType{}}
	for _, f := range rdsFakes {
		k.AddKey(f.DefaultKey, types.KeyManagerTypeAws)
	}
	return k
}

// AddKey makes a key known: types.KeyManagerTypeAws or types.KeyManagerTypeCustomer.
func (k *KMS) AddKey(arn string, manager types.KeyManagerType) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[arn] = manager
}

// Reset forgets every key, fault and recorded call.
func (k *KMS) Reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.Script.Reset()
	k.keys = map[string]types.KeyManagerType{}
}

// DescribeKey describes a key by its ARN.
func (k *KMS) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	if err := fakeapi.Call(ctx, &k.Script, OpDescribeKey, in); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	id := aws.ToString(in.KeyId)
	manager, ok := k.keys[id]
	if !ok {
		return nil, &types.NotFoundException{Message: aws.String("Key '" + id + "' does not exist")}
	}
	return &kms.DescribeKeyOutput{KeyMetadata: &types.KeyMetadata{KeyId: aws.String(id), Arn: aws.String(id), KeyManager: manager,
		KeyState: types.KeyStateEnabled, Enabled: true}}, nil
}
