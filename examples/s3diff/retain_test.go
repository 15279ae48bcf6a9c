package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// unconfirmed answers DeleteObjects without listing anything under Deleted.
type unconfirmed struct{ *s3difftest.Bucket }

func (u unconfirmed) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	out, err := u.Bucket.DeleteObjects(ctx, in, optFns...)
	if err == nil {
		out.Deleted = out.Deleted[:1]
	}
	return out, err
}

// The binary used to print "deleted 2 version(s)" and exit 0 whatever S3 answered: now it
// prints only the ids S3 confirmed and exits 1 when anything planned was not deleted.
func TestRetainExitsNonZeroUnlessEveryDeletionIsConfirmed(t *testing.T) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	v1 := b.Put("bucket", "k", []byte("1"))
	v2 := b.Put("bucket", "k", []byte("2"))
	b.Put("bucket", "k", []byte("3"))
	mk := func(context.Context, bool) (s3diff.S3API, error) { return unconfirmed{b}, nil }
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"retain", "-bucket", "bucket", "-key", "k", "-keep", "1"}, &stdout, &stderr, mk)
	assert.Equal(t, 1, code, stderr.String())
	printed := strings.Fields(stdout.String())
	require.Len(t, printed, 1, "only the confirmed deletion is printed")
	assert.Contains(t, []string{v1, v2}, printed[0])
	assert.Contains(t, stderr.String(), s3diff.CodeNotConfirmed)
	assert.Contains(t, stderr.String(), "deleted 1 version(s)")
}
