package s3difftest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

func code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func TestS3ErrorRules(t *testing.T) {
	ctx := context.Background()
	b := s3difftest.New()
	b.CreateBucket("bkt")
	v1 := b.Put("bkt", "k", []byte("one"))
	marker := b.Delete("bkt", "k")

	_, err := b.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	var noKey *types.NoSuchKey
	require.ErrorAs(t, err, &noKey, "the latest entry is a delete marker")
	_, err = b.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: aws.String(marker)})
	assert.Equal(t, "MethodNotAllowed", code(err))
	_, err = b.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: aws.String("nope")})
	assert.Equal(t, "NoSuchVersion", code(err))
	out, err := b.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: aws.String(v1)})
	require.NoError(t, err)
	assert.Equal(t, int64(3), aws.ToInt64(out.ContentLength))

	_, err = b.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("nope")})
	var noBucket *types.NoSuchBucket
	require.ErrorAs(t, err, &noBucket)
	_, err = b.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("bkt"), VersionIdMarker: aws.String(v1)})
	assert.Equal(t, "InvalidArgument", code(err))

	ids := make([]types.ObjectIdentifier, 1001)
	for i := range ids {
		ids[i] = types.ObjectIdentifier{Key: aws.String("k")}
	}
	_, err = b.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: ids}})
	assert.Equal(t, "MalformedXML", code(err), "at most 1000 keys")
}

func TestPaginationAndFaults(t *testing.T) {
	ctx := context.Background()
	b := s3difftest.New()
	b.CreateBucket("bkt")
	for range 5 {
		b.Put("bkt", "a", []byte("x"))
	}
	b.Put("bkt", "b", []byte("y"))
	var seen []string
	in := &s3.ListObjectVersionsInput{Bucket: aws.String("bkt"), MaxKeys: aws.Int32(2)}
	for {
		out, err := b.ListObjectVersions(ctx, in)
		require.NoError(t, err)
		for _, v := range out.Versions {
			seen = append(seen, aws.ToString(v.Key)+"/"+aws.ToString(v.VersionId))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	want := []string{}
	for _, id := range b.VersionIDs("bkt", "a") {
		want = append(want, "a/"+id)
	}
	want = append(want, "b/"+b.VersionIDs("bkt", "b")[0])
	assert.Equal(t, want, seen, "every version once, keys ascending, newest first")
	assert.Equal(t, 3, b.Calls(s3difftest.OpListObjectVersions))

	b.Fail(s3difftest.OpGetObject, &smithy.GenericAPIError{Code: "SlowDown"}, 2)
	for range 2 {
		_, err := b.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("b")})
		assert.Equal(t, "SlowDown", code(err))
	}
	_, err := b.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("b")})
	require.NoError(t, err, "the fault ends after its count")
}

func TestPrefixListingOrderAcrossKeys(t *testing.T) {
	ctx := context.Background()
	b := s3difftest.New()
	b.CreateBucket("bkt")
	// Keys that sort around each other ("a" < "a.bak" < "a/b" < "ab"), created out of order,
	// with delete markers between versions.
	var want []string
	put := map[string][]string{} // key -> entries newest first
	add := func(key, id string, marker bool) {
		e := key + "|" + id
		if marker {
			e += "|marker"
		}
		put[key] = append([]string{e}, put[key]...)
	}
	for _, step := range []struct {
		key    string
		marker bool
	}{{"ab", false}, {"a/b", false}, {"a", false}, {"a", true}, {"a.bak", false}, {"a", false}, {"a/b", true}, {"x", false}, {"a.bak", false}} {
		if step.marker {
			add(step.key, b.Delete("bkt", step.key), true)
		} else {
			add(step.key, b.Put("bkt", step.key, []byte(step.key)), false)
		}
	}
	for _, k := range []string{"a", "a.bak", "a/b", "ab"} {
		want = append(want, put[k]...)
	}
	for _, size := range []int32{1, 2, 3, 1000} {
		var got []string
		in := &s3.ListObjectVersionsInput{Bucket: aws.String("bkt"), Prefix: aws.String("a"), MaxKeys: aws.Int32(size)}
		for {
			out, err := b.ListObjectVersions(ctx, in)
			require.NoError(t, err)
			// S3 returns two lists; the order across them is by key, then newest first.
			var page []string
			vi, mi := 0, 0
			for vi < len(out.Versions) || mi < len(out.DeleteMarkers) {
				useMarker := vi == len(out.Versions) || (mi < len(out.DeleteMarkers) &&
					(aws.ToString(out.DeleteMarkers[mi].Key) < aws.ToString(out.Versions[vi].Key) ||
						(aws.ToString(out.DeleteMarkers[mi].Key) == aws.ToString(out.Versions[vi].Key) &&
							out.DeleteMarkers[mi].LastModified.After(*out.Versions[vi].LastModified))))
				if useMarker {
					m := out.DeleteMarkers[mi]
					page = append(page, aws.ToString(m.Key)+"|"+aws.ToString(m.VersionId)+"|marker")
					mi++
				} else {
					v := out.Versions[vi]
					page = append(page, aws.ToString(v.Key)+"|"+aws.ToString(v.VersionId))
					vi++
				}
			}
			assert.LessOrEqual(t, len(page), int(size))
			got = append(got, page...)
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
		}
		if size == 1 {
			assert.Equal(t, want, got, "page size 1: S3's exact order, one entry at a time")
		} else {
			assert.ElementsMatch(t, want, got, "page size %d: every entry once", size)
		}
	}
}
