package imds_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

const tokenPath = "/latest/api/token"

func TestTypedReads(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	spotAt := b.clock.Now().Add(2 * time.Minute)
	b.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: spotAt})
	b.srv.SetRebalance(b.clock.Now())
	b.srv.SetLifecycleState(imds.LifecycleWarmedStopped)
	b.srv.SetTags(map[string]string{"Name": "web-1", "team": "payments"})
	b.srv.SetInstance("i-0abc", "eu-west-1", "eu-west-1b")

	id, err := b.client.InstanceID(ctx)
	require.NoError(t, err)
	assert.Equal(t, "i-0abc", id)
	region, err := b.client.Region(ctx)
	require.NoError(t, err)
	assert.Equal(t, "eu-west-1", region)
	az, err := b.client.AvailabilityZone(ctx)
	require.NoError(t, err)
	assert.Equal(t, "eu-west-1b", az)
	doc, err := b.client.IdentityDocument(ctx)
	require.NoError(t, err)
	assert.Equal(t, "i-0abc", doc.InstanceID)
	assert.Equal(t, "eu-west-1", doc.Region)
	assert.Equal(t, "123456789012", doc.AccountID)
	role, err := b.client.RoleName(ctx)
	require.NoError(t, err)
	assert.Equal(t, "shipshape-test-role", role)
	creds, err := b.client.Credentials(ctx, role)
	require.NoError(t, err)
	assert.Equal(t, b.srv.CurrentCredentials().AccessKeyID, creds.AccessKeyID)
	assert.Equal(t, b.clock.Now().Add(6*time.Hour), creds.Expiration)
	spot, err := b.client.SpotAction(ctx)
	require.NoError(t, err)
	assert.Equal(t, imds.SpotAction{Action: imds.SpotTerminate, Time: spotAt}, spot)
	rb, err := b.client.RebalanceRecommendation(ctx)
	require.NoError(t, err)
	assert.True(t, rb.Recommended)
	state, err := b.client.TargetLifecycleState(ctx)
	require.NoError(t, err)
	assert.Equal(t, imds.LifecycleWarmedStopped, state)
	tags, err := b.client.Tags(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"Name": "web-1", "team": "payments"}, tags)
	v, found, err := b.client.Tag(ctx, "team")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "payments", v)
	_, found, err = b.client.Tag(ctx, "missing")
	require.NoError(t, err)
	assert.False(t, found)
	raw, err := b.client.Get(ctx, "meta-data/placement/availability-zone")
	require.NoError(t, err)
	assert.Equal(t, "eu-west-1b", string(raw))

	// Every read above shared one session token.
	assert.Equal(t, 1, b.srv.Count(http.MethodPut, tokenPath, 0))
}

func TestOptionalPathsMeanNone(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	b.srv.SetLifecycleState(imds.LifecycleNone)
	b.srv.SetTags(nil)

	spot, err := b.client.SpotAction(ctx)
	require.NoError(t, err)
	assert.Equal(t, imds.SpotNone, spot.Action)
	rb, err := b.client.RebalanceRecommendation(ctx)
	require.NoError(t, err)
	assert.False(t, rb.Recommended)
	state, err := b.client.TargetLifecycleState(ctx)
	require.NoError(t, err)
	assert.Equal(t, imds.LifecycleNone, state)
	_, err = b.client.Tags(ctx)
	require.ErrorIs(t, err, imds.ErrTagsNotEnabled)
	assert.Contains(t, err.Error(), "--instance-metadata-tags enabled")
	_, _, err = b.client.Tag(ctx, "Name")
	require.ErrorIs(t, err, imds.ErrTagsNotEnabled)
	_, err = b.client.Get(ctx, "meta-data/nothing-here")
	require.ErrorIs(t, err, imds.ErrNotFound)
	b.srv.SetRole("")
	_, err = b.client.RoleName(ctx)
	require.ErrorIs(t, err, imds.ErrNoRole)
}

func TestTokenLifetime(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	for range 5 {
		_, err := b.client.InstanceID(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, 1, b.srv.Count(http.MethodPut, tokenPath, 0), "the token is reused")

	// Renewed shortly before its 6 h TTL runs out, without ever seeing a 401.
	b.clock.Advance(6*time.Hour - 4*time.Minute)
	_, err := b.client.InstanceID(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, b.srv.Count(http.MethodPut, tokenPath, 0))
	assert.Equal(t, 0, b.srv.Count("", "", http.StatusUnauthorized))
}

func TestTokenRenewedOn401(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	_, err := b.client.InstanceID(ctx)
	require.NoError(t, err)
	b.srv.InvalidateTokens() // as if IMDS restarted mid-run

	id, err := b.client.InstanceID(ctx)
	require.NoError(t, err)
	assert.Equal(t, "i-0123456789abcdef0", id)
	assert.Equal(t, 2, b.srv.Count(http.MethodPut, tokenPath, 0))
	assert.Equal(t, 1, b.srv.Count(http.MethodGet, "", http.StatusUnauthorized))
}

func TestDroppedTokenPUTIsDiagnosed(t *testing.T) {
	b := newBed(t, func(o *imds.Options) { o.AttemptTimeout = 100 * time.Millisecond })
	b.srv.AddFault(imdstest.Fault{Method: http.MethodPut, Path: tokenPath, Drop: true})

	_, err := b.client.InstanceID(context.Background())
	require.ErrorIs(t, err, imds.ErrHopLimit)
	assert.Contains(t, err.Error(), "token request timed out but metadata is reachable: the hop limit is probably 1, raise it to 2 for containers")
	// One PUT (not retried: waiting again would not help), one probe GET, no IMDSv1 read.
	assert.Equal(t, 1, b.srv.Count(http.MethodPut, tokenPath, 0))
	assert.Equal(t, 0, b.srv.Count(http.MethodGet, "/latest/meta-data/instance-id", 0))
}

func TestIMDSv1FallbackIsOptInAndTemporary(t *testing.T) {
	b := newBed(t, func(o *imds.Options) {
		o.AttemptTimeout = 100 * time.Millisecond
		o.AllowIMDSv1 = true
		o.IMDSv2RetryInterval = 10 * time.Minute
	})
	b.srv.SetIMDSv1(true)
	b.srv.AddFault(imdstest.Fault{Method: http.MethodPut, Path: tokenPath, Drop: true, Times: 1})
	ctx := context.Background()

	id, err := b.client.InstanceID(ctx)
	require.NoError(t, err)
	assert.Equal(t, "i-0123456789abcdef0", id)
	_, err = b.client.Region(ctx)
	require.NoError(t, err)
	assert.False(t, lastRequest(t, b.srv, "/latest/meta-data/placement/region").Token, "fell back to IMDSv1")
	assert.Equal(t, 1, b.srv.Count(http.MethodPut, tokenPath, 0), "no new PUT during the fallback")
	assert.Contains(t, b.logs.String(), "falling back to IMDSv1")

	// After the interval IMDSv2 is tried again, and used since the PUT works now.
	b.clock.Advance(11 * time.Minute)
	_, err = b.client.InstanceID(ctx)
	require.NoError(t, err)
	assert.True(t, lastRequest(t, b.srv, "/latest/meta-data/instance-id").Token, "back on IMDSv2")
	assert.Equal(t, 2, b.srv.Count(http.MethodPut, tokenPath, 0))
}

func lastRequest(t *testing.T, srv *imdstest.Server, path string) imdstest.Request {
	t.Helper()
	reqs := srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == path {
			return reqs[i]
		}
	}
	t.Fatalf("no request for %s", path)
	return imdstest.Request{}
}

func TestRetryPolicy(t *testing.T) {
	cases := []struct {
		name      string
		fault     imdstest.Fault
		wantErr   error
		wantCalls int
	}{
		{"429 twice then ok", imdstest.Fault{Status: 429, Times: 2}, nil, 3},
		{"500 twice then ok", imdstest.Fault{Status: 500, Times: 2}, nil, 3},
		{"503 with Retry-After", imdstest.Fault{Status: 503, RetryAfter: "0", Times: 1}, nil, 2},
		{"429 storm outlasts the retries", imdstest.Fault{Status: 429}, imds.ErrThrottled, 3},
		{"404 is not retried", imdstest.Fault{Status: 404}, imds.ErrNotFound, 1},
		{"400 is not retried", imdstest.Fault{Status: 400}, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t)
			tc.fault.Path = "/latest/meta-data/instance-id"
			b.srv.AddFault(tc.fault)
			_, err := b.client.InstanceID(context.Background())
			switch {
			case tc.name == "400 is not retried":
				var re *imds.ResponseError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, 400, re.StatusCode)
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
			default:
				require.NoError(t, err)
			}
			assert.Equal(t, tc.wantCalls, b.srv.Count(http.MethodGet, "/latest/meta-data/instance-id", 0))
		})
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	c, err := imds.New(func(o *imds.Options) {
		o.Endpoint = "http://" + addr
		o.Getenv = func(string) string { return "" }
		o.BackoffMin, o.BackoffMax = time.Millisecond, 2*time.Millisecond
	})
	require.NoError(t, err)
	_, err = c.InstanceID(context.Background())
	require.ErrorIs(t, err, imds.ErrUnreachable)
	assert.NotErrorIs(t, err, imds.ErrHopLimit)
	assert.Contains(t, err.Error(), addr)
}

func TestContextCancelStopsRetries(t *testing.T) {
	b := newBed(t)
	b.srv.AddFault(imdstest.Fault{Path: "/latest/meta-data/instance-id", Drop: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.client.InstanceID(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, imds.ErrUnreachable)
}

func TestConfiguration(t *testing.T) {
	env := func(kv ...string) func(*imds.Options) {
		return func(o *imds.Options) {
			o.Getenv = func(k string) string {
				for i := 0; i < len(kv); i += 2 {
					if kv[i] == k {
						return kv[i+1]
					}
				}
				return ""
			}
		}
	}
	c, err := imds.New(env())
	require.NoError(t, err)
	assert.Equal(t, imds.DefaultIPv4Endpoint, c.Endpoint())

	c, err = imds.New(env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipv6"))
	require.NoError(t, err)
	assert.Equal(t, imds.DefaultIPv6Endpoint, c.Endpoint())

	c, err = imds.New(env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338/"))
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1338", c.Endpoint(), "the CLI's trailing slash is accepted")

	c, err = imds.New(env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338"), func(o *imds.Options) { o.Endpoint = "http://10.0.0.1" })
	require.NoError(t, err)
	assert.Equal(t, "http://10.0.0.1", c.Endpoint(), "the option wins over the environment")

	_, err = imds.New(env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5"))
	require.ErrorContains(t, err, `endpoint mode "IPv5" is neither IPv4 nor IPv6`)
	_, err = imds.New(env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "169.254.169.254"))
	require.ErrorContains(t, err, "is not an http(s) URL")
	_, err = imds.New(env(), func(o *imds.Options) { o.TokenTTL = 7 * time.Hour })
	require.ErrorContains(t, err, "outside IMDS's range")

	b := newBed(t)
	c, err = imds.New(env("AWS_EC2_METADATA_DISABLED", "TRUE"), func(o *imds.Options) { o.Endpoint = b.srv.URL })
	require.NoError(t, err)
	_, err = c.InstanceID(context.Background())
	require.ErrorIs(t, err, imds.ErrDisabled)
	assert.Empty(t, b.srv.Requests(), "a disabled client sends nothing")

	_, err = b.client.Get(context.Background(), "../../etc/passwd")
	require.ErrorContains(t, err, "is not a metadata path")
}

func TestBadInput(t *testing.T) {
	const rolePath = "/latest/meta-data/iam/security-credentials/shipshape-test-role"
	const secret = "wJalrXUtnFEMI-SECRET"
	cases := []struct {
		name    string
		path    string
		body    string
		read    func(context.Context, *imds.Client) error
		wantErr error
		wantMsg string
	}{
		{"HTML from a captive proxy", rolePath, "<html><body>Please log in</body></html>", readCreds, imds.ErrMalformed, "a proxy"},
		{"broken JSON", rolePath, `{"Code":"Success","AccessKeyId":"AKIA","SecretAccessKey":"` + secret, readCreds, imds.ErrMalformed, "not a JSON credentials document"},
		{"Code not Success", rolePath, `{"Code":"AssumeRoleUnauthorizedAccess","Message":"EC2 cannot assume the role"}`, readCreds, nil, `Code "AssumeRoleUnauthorizedAccess"`},
		{"missing Expiration", rolePath, `{"Code":"Success","AccessKeyId":"AKIA","SecretAccessKey":"` + secret + `","Token":"t"}`, readCreds, imds.ErrMalformed, "missing Expiration"},
		{"malformed Expiration", rolePath, `{"Code":"Success","AccessKeyId":"AKIA","SecretAccessKey":"` + secret + `","Token":"t","Expiration":"tomorrow"}`, readCreds, imds.ErrMalformed, "Expiration is not an RFC 3339 time"},
		{"oversize body", rolePath, strings.Repeat("x", 300<<10), readCreds, imds.ErrBodyTooLarge, "more than 262144 bytes"},
		{"empty role list", "/latest/meta-data/iam/security-credentials/", "\n", readRole, imds.ErrNoRole, "attach an instance profile"},
		{"multi-line role list", "/latest/meta-data/iam/security-credentials/", "role-a\nrole-b\n", readRole, imds.ErrMalformed, "name the role explicitly"},
		{"HTML role list", "/latest/meta-data/iam/security-credentials/", "<html>hi</html>", readRole, imds.ErrMalformed, "a proxy"},
		{"identity document not JSON", "/latest/dynamic/instance-identity/document", "<!DOCTYPE html>", readDoc, imds.ErrMalformed, "HTML or XML"},
		{"identity document missing fields", "/latest/dynamic/instance-identity/document", `{"instanceId":"i-1"}`, readDoc, imds.ErrMalformed, "missing accountId, region, availabilityZone"},
		{"unknown spot action", "/latest/meta-data/spot/instance-action", `{"action":"explode","time":"2026-01-01T00:00:00Z"}`, readSpot, imds.ErrMalformed, `unknown action "explode"`},
		{"instance id on two lines", "/latest/meta-data/instance-id", "i-1\ni-2", readID, imds.ErrMalformed, "several lines"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t)
			b.srv.SetBody(tc.path, http.StatusOK, tc.body)
			err := tc.read(context.Background(), b.client)
			require.Error(t, err)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			}
			assert.Contains(t, err.Error(), tc.wantMsg)
			assert.NotContains(t, err.Error(), secret, "errors never quote credentials")
		})
	}
	var codeErr *imds.CredentialsCodeError
	b := newBed(t)
	b.srv.SetBody("/latest/meta-data/iam/security-credentials/shipshape-test-role", 200, `{"Code":"Failure"}`)
	require.ErrorAs(t, readCreds(context.Background(), b.client), &codeErr)
	assert.Equal(t, "Failure", codeErr.Code)
}

func readCreds(ctx context.Context, c *imds.Client) error {
	_, err := c.Credentials(ctx, "shipshape-test-role")
	return err
}
func readRole(ctx context.Context, c *imds.Client) error { _, err := c.RoleName(ctx); return err }
func readDoc(ctx context.Context, c *imds.Client) error {
	_, err := c.IdentityDocument(ctx)
	return err
}
func readSpot(ctx context.Context, c *imds.Client) error { _, err := c.SpotAction(ctx); return err }
func readID(ctx context.Context, c *imds.Client) error   { _, err := c.InstanceID(ctx); return err }

func TestErrorsAreClassified(t *testing.T) {
	err := &imds.ResponseError{Method: "GET", Path: "/x", StatusCode: 429}
	assert.True(t, errors.Is(err, imds.ErrThrottled))
	assert.False(t, errors.Is(err, imds.ErrNotFound))
	assert.Equal(t, "imds: GET /x: HTTP 429 Too Many Requests", err.Error())
}
