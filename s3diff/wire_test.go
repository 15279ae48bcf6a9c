package s3diff_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// wireStore is the in-memory bucket behind its S3 wire server, read by the real SDK client.
type wireStore struct {
	fakeStore
	client *s3.Client
	srv    *s3difftest.WireServer
}

func (w *wireStore) api() s3diff.S3API { return w.client }

func newWireStore(t *testing.T) store {
	f := newFakeStore(t).(*fakeStore)
	srv := s3difftest.NewWireServer(f.s)
	t.Cleanup(srv.Close)
	return &wireStore{fakeStore: *f, client: wireClient(srv.URL), srv: srv}
}

// wireClient is a real SDK client for a wire server.
func wireClient(url string) *s3.Client {
	return s3.New(s3.Options{BaseEndpoint: aws.String(url), Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDWIRE", "wire", "")})
}

// TestBehaviourThroughTheWire runs the behaviour suite with the real SDK client against the
// fake's S3 wire server, as against Versity.
func TestBehaviourThroughTheWire(t *testing.T) { runSuite(t, newWireStore) }

// TestWireRequestsPerLogicalCallUnderThrottling: whole S3 calls are retried by the SDK's
// retryer alone, so a call throttled every time goes out exactly MaxAttempts times (3 by
// default); a per-key SlowDown inside a DeleteObjects answer is retried by Retain itself,
// DeleteAttempts times in all.
func TestWireRequestsPerLogicalCallUnderThrottling(t *testing.T) {
	ctx := context.Background()
	for _, maxAttempts := range []int{0, 5} {
		st := newWireStore(t).(*wireStore)
		st.put(t, "k", []byte("1"))
		st.s.Fail(s3difftest.OpListObjectVersions, &smithy.GenericAPIError{Code: "SlowDown", Message: "Please reduce your request rate."}, 0)
		clock := clocktest.New()
		start := clock.Now()
		c := newClient(t, st.client, func(o *s3diff.Options) { o.Clock, o.MaxAttempts = clock, maxAttempts })
		_, err := c.Versions(ctx, st.bucket(), "k")
		require.ErrorContains(t, err, "SlowDown")
		want := maxAttempts
		if want == 0 {
			want = 3
		}
		assert.Len(t, st.srv.Requests(), want, "MaxAttempts %d: %v", maxAttempts, st.srv.Requests())
		assert.True(t, clock.Now().After(start), "the SDK's backoff ran on the fake clock")
	}

	st := newWireStore(t).(*wireStore)
	var ids []string
	for _, body := range []string{"1", "2", "3"} {
		ids = append(ids, st.put(t, "k", []byte(body)))
	}
	st.s.FailDelete(ids[0], "SlowDown", "Please reduce your request rate.", 0)
	c := newClient(t, st.client, func(o *s3diff.Options) { o.Clock = clocktest.New() })
	res, err := c.Retain(ctx, st.bucket(), "k", 1)
	require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
	assert.Equal(t, 3, res.DeleteCalls, "the per-key SlowDown is tried DeleteAttempts (3) times")
	assert.Equal(t, 3, st.s.Calls(s3difftest.OpDeleteObjects), "and the SDK added no request of its own")
	assert.Equal(t, []string{ids[1]}, versionIDs(res.Deleted))
}
