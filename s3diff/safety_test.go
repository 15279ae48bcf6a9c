package s3diff_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// rewriting is an S3API that passes calls to a real one and lets a test rewrite the answers,
// as a broken S3-compatible server or a proxy would.
type rewriting struct {
	s3diff.S3API
	list    func(*s3.ListObjectVersionsOutput)
	del     func(*s3.DeleteObjectsInput, *s3.DeleteObjectsOutput)
	mu      sync.Mutex
	deletes []*s3.DeleteObjectsInput
}

func (r *rewriting) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	out, err := r.S3API.ListObjectVersions(ctx, in, optFns...)
	if err == nil && r.list != nil {
		r.list(out)
	}
	return out, err
}

func (r *rewriting) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	r.mu.Lock()
	r.deletes = append(r.deletes, in)
	r.mu.Unlock()
	out, err := r.S3API.DeleteObjects(ctx, in, optFns...)
	if err == nil && r.del != nil {
		r.del(in, out)
	}
	return out, err
}

// threeVersions puts v1, v2, v3 (latest) of "k" into a fresh fake bucket.
func threeVersions(t *testing.T) (*s3difftest.Bucket, []string) {
	b := s3difftest.New()
	b.CreateBucket("bucket")
	var ids []string
	for _, body := range []string{"one\n", "two\n", "three\n"} {
		ids = append(ids, b.Put("bucket", "k", []byte(body)))
	}
	return b, ids
}

// requireLatestReadable fails unless GetObject of the key (no version) returns want.
func requireLatestReadable(t *testing.T, api s3diff.S3API, bucket, key, want string) {
	t.Helper()
	out, err := api.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(t, err, "the latest version must still be readable")
	body, err := io.ReadAll(out.Body)
	out.Body.Close()
	require.NoError(t, err)
	require.Equal(t, want, string(body))
}

func TestRetainNeverDeletesWithoutAVersionID(t *testing.T) {
	ctx := context.Background()

	t.Run("a listed version without a version id stops everything", func(t *testing.T) {
		b, _ := threeVersions(t)
		r := &rewriting{S3API: b, list: func(out *s3.ListObjectVersionsOutput) {
			out.Versions[2].VersionId = aws.String("") // the oldest, which the plan would delete
		}}
		res, err := newClient(t, r).Retain(ctx, "bucket", "k", 1)
		require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
		assert.Nil(t, res)
		assert.Empty(t, r.deletes, "no DeleteObjects call on a malformed listing")
		requireLatestReadable(t, b, "bucket", "k", "three\n")
	})

	t.Run("a listed delete marker without a version id stops everything", func(t *testing.T) {
		b, _ := threeVersions(t)
		b.Delete("bucket", "k")
		b.Put("bucket", "k", []byte("four\n"))
		r := &rewriting{S3API: b, list: func(out *s3.ListObjectVersionsOutput) {
			out.DeleteMarkers[0].VersionId = nil
		}}
		_, err := newClient(t, r).Retain(ctx, "bucket", "k", 1)
		require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
		assert.Empty(t, r.deletes)
	})

	t.Run("a per-key error without a version id is a failure, never retried", func(t *testing.T) {
		b, ids := threeVersions(t)
		first := true
		r := &rewriting{S3API: b, del: func(in *s3.DeleteObjectsInput, out *s3.DeleteObjectsOutput) {
			if first { // S3 says SlowDown for the key, naming no version
				first = false
				out.Deleted = out.Deleted[1:]
				out.Errors = append(out.Errors, types.Error{Key: aws.String("k"), Code: aws.String("SlowDown"), Message: aws.String("Please reduce your request rate.")})
			}
		}}
		res, err := newClient(t, r, func(o *s3diff.Options) { o.RetryWait = noWait }).Retain(ctx, "bucket", "k", 1)
		require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
		require.Len(t, r.deletes, 1, "nothing to retry: the error names no version")
		for _, obj := range r.deletes[0].Delete.Objects {
			require.NotEmpty(t, aws.ToString(obj.VersionId), "every delete names a version")
		}
		require.Len(t, res.Failed, 1)
		assert.Equal(t, s3diff.CodeNotConfirmed, res.Failed[0].Code)
		assert.Contains(t, res.Failed[0].Message, "SlowDown")
		assert.Len(t, res.Deleted, 1, "only what S3 listed under Deleted")
		assert.NotContains(t, versionIDs(res.Deleted), res.Failed[0].Version.VersionID)
		assert.Contains(t, []string{ids[0], ids[1]}, res.Failed[0].Version.VersionID)
		requireLatestReadable(t, b, "bucket", "k", "three\n")
	})

	t.Run("deleted means listed under Deleted", func(t *testing.T) {
		b, ids := threeVersions(t)
		r := &rewriting{S3API: b, del: func(_ *s3.DeleteObjectsInput, out *s3.DeleteObjectsOutput) {
			out.Deleted = nil // the call worked, the answer says nothing
		}}
		res, err := newClient(t, r).Retain(ctx, "bucket", "k", 1)
		require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
		assert.Empty(t, res.Deleted)
		assert.ElementsMatch(t, []string{ids[0], ids[1]}, failedIDs(res.Failed))
		for _, f := range res.Failed {
			assert.Equal(t, s3diff.CodeNotConfirmed, f.Code)
		}
	})

	t.Run("a delete marker created for a delete by version id is reported", func(t *testing.T) {
		b, ids := threeVersions(t)
		r := &rewriting{S3API: b, del: func(_ *s3.DeleteObjectsInput, out *s3.DeleteObjectsOutput) {
			out.Deleted[0].DeleteMarker = aws.Bool(true)
			out.Deleted[0].DeleteMarkerVersionId = aws.String("marker-1")
		}}
		res, err := newClient(t, r).Retain(ctx, "bucket", "k", 1)
		require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
		require.Len(t, res.Failed, 1)
		assert.Equal(t, s3diff.CodeMarkerCreated, res.Failed[0].Code)
		assert.Contains(t, res.Failed[0].Message, "marker-1")
		assert.Len(t, res.Deleted, 1)
		assert.Contains(t, ids, res.Failed[0].Version.VersionID)
	})
}

func noWait(int) time.Duration { return 0 }

func versionIDs(vs []s3diff.Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.VersionID
	}
	return out
}

func failedIDs(fs []s3diff.DeleteFailure) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Version.VersionID
	}
	return out
}

// rewritingProxy is an HTTP proxy in front of the test bed's S3 server that rewrites the
// bodies of answers: what a broken S3-compatible server or middlebox would send. The Host
// header is passed through, so the SDK's signatures stay valid.
func rewritingProxy(t *testing.T, target string, rewrite func(req *http.Request, body []byte) []byte) string {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			body = rewrite(resp.Request, body)
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestIntegrationVersityRetainWithoutVersionIDs proves both triggers of the "empty version
// id hides the object" defect against the real S3 server: without the guard, each one makes
// Retain send <VersionId></VersionId>, Versity adds a delete marker, and GetObject of the
// key answers NoSuchKey.
func TestIntegrationVersityRetainWithoutVersionIDs(t *testing.T) {
	ep := testbed.S3(t)
	ctx := context.Background()
	clientFor := func(endpoint string) *s3.Client {
		return s3.New(s3.Options{BaseEndpoint: aws.String(endpoint), Region: ep.Region, UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, "")})
	}
	setup := func(t *testing.T) (*versityStore, []string) {
		st := newVersityStore(t).(*versityStore)
		var ids []string
		for _, body := range []string{"one\n", "two\n", "three\n"} {
			ids = append(ids, st.put(t, "k.txt", []byte(body)))
		}
		return st, ids
	}
	isList := func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Query().Has("versions") }
	isDelete := func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Query().Has("delete") }

	t.Run("listing rewritten: a version without its id", func(t *testing.T) {
		st, ids := setup(t)
		oldest := regexp.MustCompile(`<VersionId>` + regexp.QuoteMeta(ids[0]) + `</VersionId>`)
		var deletes int
		proxy := rewritingProxy(t, ep.URL, func(r *http.Request, body []byte) []byte {
			if isDelete(r) {
				deletes++
			}
			if isList(r) {
				return oldest.ReplaceAll(body, []byte("<VersionId></VersionId>"))
			}
			return body
		})
		res, err := newClient(t, clientFor(proxy)).Retain(ctx, st.bucket(), "k.txt", 1)
		require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
		assert.Nil(t, res)
		assert.Zero(t, deletes)
		requireLatestReadable(t, st.client, st.bucket(), "k.txt", "three\n")
		vs, err := newClient(t, st.client).Versions(ctx, st.bucket(), "k.txt")
		require.NoError(t, err)
		assert.Len(t, vs, 3, "nothing deleted, no delete marker added")
	})

	t.Run("delete answer rewritten: an error without a version id", func(t *testing.T) {
		st, ids := setup(t)
		deleted := regexp.MustCompile(`(?s)<Deleted>.*?</Deleted>`)
		var deletes int
		proxy := rewritingProxy(t, ep.URL, func(r *http.Request, body []byte) []byte {
			if !isDelete(r) {
				return body
			}
			deletes++
			if deletes > 1 {
				return body
			}
			first := true
			return deleted.ReplaceAllFunc(body, func(m []byte) []byte {
				if !first {
					return m
				}
				first = false
				return []byte("<Error><Key>k.txt</Key><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
			})
		})
		res, err := newClient(t, clientFor(proxy), func(o *s3diff.Options) { o.RetryWait = noWait }).Retain(ctx, st.bucket(), "k.txt", 1)
		require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
		assert.Equal(t, 1, deletes, "the error names no version: nothing is retried")
		require.Len(t, res.Failed, 1)
		assert.Equal(t, s3diff.CodeNotConfirmed, res.Failed[0].Code)
		assert.Len(t, res.Deleted, 1)
		requireLatestReadable(t, st.client, st.bucket(), "k.txt", "three\n")
		vs, err := newClient(t, st.client).Versions(ctx, st.bucket(), "k.txt")
		require.NoError(t, err)
		for _, v := range vs {
			assert.False(t, v.DeleteMarker, "no delete marker may appear")
		}
		assert.Contains(t, versionIDs(vs), ids[2])
	})
}

// TestRetainTimesOutDuringRetries: the caller's deadline ends while Retain waits to retry a
// per-key SlowDown: Retain stops, says the wait was cut short, and reports the version as
// not deleted (it was not).
func TestRetainTimesOutDuringRetries(t *testing.T) {
	b, ids := threeVersions(t)
	b.FailDelete(ids[0], "SlowDown", "Please reduce your request rate.", 0)
	c := newClient(t, b, func(o *s3diff.Options) { o.RetryWait = func(int) time.Duration { return time.Hour } })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	res, err := c.Retain(ctx, "bucket", "k", 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Len(t, res.Failed, 1)
	assert.Equal(t, ids[0], res.Failed[0].Version.VersionID)
	assert.Equal(t, []string{ids[1]}, versionIDs(res.Deleted))
	assert.Contains(t, b.VersionIDs("bucket", "k"), ids[0], "still there")
}
