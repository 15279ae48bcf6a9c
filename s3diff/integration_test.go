package s3diff_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/s3diff"
)

// versityStore is a fresh versioned bucket on the test bed's Versity S3 Gateway.
type versityStore struct {
	client *s3.Client
	name   string
}

func (v *versityStore) api() s3diff.S3API { return v.client }
func (v *versityStore) bucket() string    { return v.name }

func (v *versityStore) put(t *testing.T, key string, body []byte) string {
	out, err := v.client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(v.name), Key: aws.String(key), Body: bytes.NewReader(body),
	})
	require.NoError(t, err)
	require.NotEmpty(t, aws.ToString(out.VersionId))
	return aws.ToString(out.VersionId)
}

func (v *versityStore) del(t *testing.T, key string) string {
	out, err := v.client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(v.name), Key: aws.String(key)})
	require.NoError(t, err)
	require.True(t, aws.ToBool(out.DeleteMarker))
	return aws.ToString(out.VersionId)
}

func newVersityStore(t *testing.T) store {
	client := testbed.S3Client(t)
	return &versityStore{client: client, name: testbed.VersionedBucket(t, client, fmt.Sprintf("s3diff-%d", bucketSeq.Add(1)))}
}

// TestIntegrationVersity runs the behaviour suite against a real S3 implementation.
func TestIntegrationVersity(t *testing.T) { runSuite(t, newVersityStore) }
