package imdstest_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

func do(t *testing.T, method, url string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestTokensFollowIMDSRules(t *testing.T) {
	clock := clocktest.NewManual()
	srv := imdstest.NewServer(func(o *imdstest.Options) { o.Clock = clock })
	defer srv.Close()
	const ttl = "X-aws-ec2-metadata-token-ttl-seconds"

	for _, bad := range []string{"", "0", "21601", "abc"} {
		status, _ := do(t, http.MethodPut, srv.URL+"/latest/api/token", ttl, bad)
		assert.Equal(t, http.StatusBadRequest, status, "ttl %q", bad)
	}
	status, _ := do(t, http.MethodGet, srv.URL+"/latest/meta-data/instance-id")
	assert.Equal(t, http.StatusUnauthorized, status, "IMDSv2 only by default")

	status, tok := do(t, http.MethodPut, srv.URL+"/latest/api/token", ttl, "60")
	require.Equal(t, http.StatusOK, status)
	status, id := do(t, http.MethodGet, srv.URL+"/latest/meta-data/instance-id", "X-aws-ec2-metadata-token", tok)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "i-0123456789abcdef0", id)

	clock.Advance(61 * time.Second)
	status, _ = do(t, http.MethodGet, srv.URL+"/latest/meta-data/instance-id", "X-aws-ec2-metadata-token", tok)
	assert.Equal(t, http.StatusUnauthorized, status, "an expired token is refused")

	srv.SetIMDSv1(true)
	status, _ = do(t, http.MethodGet, srv.URL+"/latest/meta-data/instance-id")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, 2, srv.Count(http.MethodGet, "/latest/meta-data/instance-id", http.StatusOK))
}

func TestFaultsApplyTheirNumberOfTimes(t *testing.T) {
	srv := imdstest.NewServer()
	defer srv.Close()
	srv.SetIMDSv1(true)
	srv.AddFault(imdstest.Fault{Path: "/latest/meta-data/instance-id", Status: 429, RetryAfter: "1", Times: 2})
	var got []int
	for range 3 {
		status, _ := do(t, http.MethodGet, srv.URL+"/latest/meta-data/instance-id")
		got = append(got, status)
	}
	assert.Equal(t, []int{429, 429, 200}, got)
	assert.Equal(t, 2, srv.Count("", "", 429))
}
