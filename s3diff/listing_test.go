package s3diff_test

// The listing rules every read goes through (listing.go): exactly one latest entry per fully
// listed key, and pages that always end. A listing that breaks them is ErrMalformedResponse
// before anything of the key is planned, so nothing is deleted.

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
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

// readers are the package's calls that list versions; each must refuse a bad listing.
var readers = map[string]func(ctx context.Context, c *s3diff.Client, bucket, key string) error{
	"Retain": func(ctx context.Context, c *s3diff.Client, bucket, key string) error {
		_, err := c.Retain(ctx, bucket, key, 1)
		return err
	},
	"RetainPrefix": func(ctx context.Context, c *s3diff.Client, bucket, key string) error {
		_, err := c.RetainPrefix(ctx, bucket, key, 1)
		return err
	},
	"Versions": func(ctx context.Context, c *s3diff.Client, bucket, key string) error {
		_, err := c.Versions(ctx, bucket, key)
		return err
	},
	"Diff": func(ctx context.Context, c *s3diff.Client, bucket, key string) error {
		_, err := c.Diff(ctx, bucket, key)
		return err
	},
	"Changes": func(ctx context.Context, c *s3diff.Client, bucket, key string) error {
		return c.Changes(ctx, bucket, key, time.Unix(1, 0), func(s3diff.Change) error { return nil })
	},
}

// latestEdits break the IsLatest marks of a listing, in Go and in S3's XML.
var latestEdits = map[string]struct {
	edit func(*s3.ListObjectVersionsOutput)
	xml  func([]byte) []byte
}{
	"no entry marked latest": {
		edit: func(out *s3.ListObjectVersionsOutput) {
			for i := range out.Versions {
				out.Versions[i].IsLatest = aws.Bool(false)
			}
			for i := range out.DeleteMarkers {
				out.DeleteMarkers[i].IsLatest = aws.Bool(false)
			}
		},
		xml: func(b []byte) []byte {
			return regexp.MustCompile(`<IsLatest>true</IsLatest>`).ReplaceAll(b, []byte("<IsLatest>false</IsLatest>"))
		},
	},
	"two entries marked latest": {
		edit: func(out *s3.ListObjectVersionsOutput) {
			out.Versions[len(out.Versions)-1].IsLatest = aws.Bool(true) // the oldest too
		},
		xml: func(b []byte) []byte {
			return regexp.MustCompile(`<IsLatest>false</IsLatest>`).ReplaceAll(b, []byte("<IsLatest>true</IsLatest>"))
		},
	},
}

func TestListingRefusesAKeyWithoutExactlyOneLatestEntry(t *testing.T) {
	for name, e := range latestEdits {
		t.Run("fake/"+name, func(t *testing.T) {
			st := newFakeStore(t).(*fakeStore)
			checkLatestRefused(t, st, &rewriting{S3API: st.s, list: e.edit}, func() int { return st.s.Calls(s3difftest.OpDeleteObjects) })
		})
		t.Run("wire/"+name, func(t *testing.T) {
			st := newFakeStore(t).(*fakeStore)
			srv := s3difftest.NewWireServer(st.s)
			t.Cleanup(srv.Close)
			proxy := rewritingProxy(t, srv.URL, func(r *http.Request, body []byte) []byte {
				if r.URL.Query().Has("versions") {
					return e.xml(body)
				}
				return body
			})
			checkLatestRefused(t, st, wireClient(proxy), func() int { return st.s.Calls(s3difftest.OpDeleteObjects) })
		})
	}
}

func TestIntegrationVersityListingWithoutExactlyOneLatestEntryIsRefused(t *testing.T) {
	ep := testbed.S3(t)
	for name, e := range latestEdits {
		t.Run(name, func(t *testing.T) {
			st := newVersityStore(t)
			deletes := 0
			proxy := rewritingProxy(t, ep.URL, func(r *http.Request, body []byte) []byte {
				switch {
				case r.URL.Query().Has("versions"):
					return e.xml(body)
				case r.URL.Query().Has("delete"):
					deletes++
				}
				return body
			})
			api := s3.New(s3.Options{BaseEndpoint: aws.String(proxy), Region: ep.Region, UsePathStyle: true,
				Credentials: credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, "")})
			checkLatestRefused(t, st, api, func() int { return deletes })
			vs, err := newClient(t, st.api()).Versions(context.Background(), st.bucket(), "p/k")
			require.NoError(t, err)
			assert.Len(t, vs, 3, "nothing deleted")
		})
	}
}

func checkLatestRefused(t *testing.T, st store, api s3diff.S3API, deletes func() int) {
	for range 3 {
		st.put(t, "p/k", []byte("x"))
	}
	for name, read := range readers {
		err := read(context.Background(), newClient(t, api), st.bucket(), "p/k")
		require.ErrorIs(t, err, s3diff.ErrMalformedResponse, name)
		assert.ErrorContains(t, err, "latest", name)
	}
	assert.Zero(t, deletes(), "nothing deleted on such a listing")
}

// pager answers ListObjectVersions from a script: page n (1-based) for the request made.
type pager struct {
	s3diff.S3API
	page  func(n int, in *s3.ListObjectVersionsInput) *s3.ListObjectVersionsOutput
	calls int
}

func (p *pager) ListObjectVersions(_ context.Context, in *s3.ListObjectVersionsInput, _ ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	p.calls++
	if p.calls > 1000 {
		return nil, fmt.Errorf("the listing was followed for 1000 pages")
	}
	return p.page(p.calls, in), nil
}

func entry(key, id string, latest bool) types.ObjectVersion {
	return types.ObjectVersion{Key: aws.String(key), VersionId: aws.String(id), IsLatest: aws.Bool(latest), LastModified: aws.Time(time.Unix(1e9, 0))}
}

func truncated(next [2]string, vs ...types.ObjectVersion) *s3.ListObjectVersionsOutput {
	return &s3.ListObjectVersionsOutput{Versions: vs, IsTruncated: aws.Bool(true),
		NextKeyMarker: aws.String(next[0]), NextVersionIdMarker: aws.String(next[1])}
}

func TestListingThatLoopsEndsInMalformedResponse(t *testing.T) {
	for name, tc := range map[string]struct {
		page     func(n int, in *s3.ListObjectVersionsInput) *s3.ListObjectVersionsOutput
		maxPages int
		// prefixOnly: the single-key reads stop at the first key, before the bad marker.
		prefixOnly bool
	}{
		"markers that cycle A, B, A": {
			page: func(n int, in *s3.ListObjectVersionsInput) *s3.ListObjectVersionsOutput {
				next := [][2]string{{"p/a", "1"}, {"p/a", "2"}}[n%2]
				return truncated(next, entry("p/a", fmt.Sprint(n), n == 1))
			},
			maxPages: 3,
		},
		"a longer cycle, A, B, C, D, A": {
			page: func(n int, in *s3.ListObjectVersionsInput) *s3.ListObjectVersionsOutput {
				return truncated([2]string{"p/a", fmt.Sprint(n % 4)}, entry("p/a", fmt.Sprint(n), n == 1))
			},
			maxPages: 5,
		},
		"the same page again and again, with fresh markers": {
			page: func(n int, in *s3.ListObjectVersionsInput) *s3.ListObjectVersionsOutput {
				return truncated([2]string{"p/a", fmt.Sprintf("fresh-%d", n)}, entry("p/a", "1", true), entry("p/a", "2", false))
			},
			maxPages: 4,
		},
		"empty truncated pages with fresh markers": {
			page: func(n int, in *s3.ListObjectVersionsInput) *s3.ListObjectVersionsOutput {
				return truncated([2]string{"p/a", fmt.Sprintf("fresh-%d", n)})
			},
			maxPages: 3,
		},
		"a next key marker that goes back": {
			page: func(n int, in *s3.ListObjectVersionsInput) *s3.ListObjectVersionsOutput {
				if n == 1 {
					return truncated([2]string{"p/b", "1"}, entry("p/a", "1", true), entry("p/b", "1", true))
				}
				return truncated([2]string{"p/", "x"}, entry("p/b", "2", false))
			},
			maxPages:   2,
			prefixOnly: true,
		},
	} {
		for readerName, read := range readers {
			if tc.prefixOnly && readerName != "RetainPrefix" && readerName != "Changes" {
				continue
			}
			t.Run(name+"/"+readerName, func(t *testing.T) {
				st := newFakeStore(t).(*fakeStore)
				p := &pager{S3API: st.s, page: tc.page}
				err := read(context.Background(), newClient(t, p), st.name, "p/")
				require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
				assert.ErrorContains(t, err, "refusing to loop")
				assert.LessOrEqual(t, p.calls, tc.maxPages, "ended within a bounded number of pages")
				assert.Zero(t, st.s.Calls(s3difftest.OpDeleteObjects))
			})
		}
	}
}

// TestListingOfManyPagesEnds: an honest listing over many small pages is not mistaken for a
// loop, on the fake, through the wire, and (in the integration test) on Versity.
func TestListingOfManyPagesEnds(t *testing.T) {
	st := newFakeStore(t).(*fakeStore)
	for i := range 40 {
		st.put(t, fmt.Sprintf("p/%02d", i%7), []byte{byte(i)})
	}
	c := newClient(t, st.s, func(o *s3diff.Options) { o.PageSize = 1 })
	res, err := c.RetainPrefix(context.Background(), st.name, "p/", 2)
	require.NoError(t, err)
	assert.True(t, res.Complete)
	assert.Equal(t, 7, res.Keys)
}

func TestIntegrationVersityListingWhoseMarkersCycleIsRefused(t *testing.T) {
	ep := testbed.S3(t)
	st := newVersityStore(t)
	for i := range 6 {
		st.put(t, "p/k", []byte{byte('a' + i)})
	}
	nextVersion := regexp.MustCompile(`<NextVersionIdMarker>[^<]*</NextVersionIdMarker>`)
	var first []byte
	lists := 0
	proxy := rewritingProxy(t, ep.URL, func(r *http.Request, body []byte) []byte {
		if !r.URL.Query().Has("versions") {
			return body
		}
		lists++
		switch lists {
		case 1:
			first = nextVersion.Find(body)
		case 3: // back to the markers of page 1: the next page would be page 2 again
			return nextVersion.ReplaceAll(body, first)
		}
		return body
	})
	api := s3.New(s3.Options{BaseEndpoint: aws.String(proxy), Region: ep.Region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, "")})
	_, err := newClient(t, api, func(o *s3diff.Options) { o.PageSize = 2 }).Retain(context.Background(), st.bucket(), "p/k", 1)
	require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
	assert.Equal(t, 3, lists)
	vs, err := newClient(t, st.api()).Versions(context.Background(), st.bucket(), "p/k")
	require.NoError(t, err)
	assert.Len(t, vs, 6, "nothing deleted")

	res, err := newClient(t, st.api(), func(o *s3diff.Options) { o.PageSize = 2 }).RetainPrefix(context.Background(), st.bucket(), "p/", 2)
	require.NoError(t, err, "an honest listing of small pages ends")
	assert.True(t, res.Complete)

	// Versity 1.8.0 starts a page AT the version id marker, not after it (the entry is
	// listed again and counted once). With one-entry pages it therefore never moves: page 2
	// is page 1 again, with the same markers. Without the guard, that is an endless loop.
	_, err = newClient(t, st.api(), func(o *s3diff.Options) { o.PageSize = 1 }).Versions(context.Background(), st.bucket(), "p/k")
	require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
	assert.ErrorContains(t, err, "page 2")
}
