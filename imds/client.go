package imds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/sync/singleflight"

	"github.com/shipshape-dev/shipshape/clock"
)

const (
	// DefaultIPv4Endpoint is the IMDS endpoint in IPv4 mode.
	DefaultIPv4Endpoint = "http://169.254.169.254"
	// DefaultIPv6Endpoint is the IMDS endpoint in IPv6 mode.
	DefaultIPv6Endpoint = "http://[fd00:ec2::254]"

	// MaxTokenTTL is the longest session token IMDS issues (6 hours).
	MaxTokenTTL = 6 * time.Hour

	tokenPath   = "/latest/api/token"
	ttlHeader   = "X-aws-ec2-metadata-token-ttl-seconds"
	tokenHeader = "X-aws-ec2-metadata-token"
)

// EndpointMode chooses the default endpoint's address family.
type EndpointMode string

// Endpoint modes, spelled as AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE spells them.
const (
	EndpointModeIPv4 EndpointMode = "IPv4"
	EndpointModeIPv6 EndpointMode = "IPv6"
)

// Options are the optional settings of a Client. A zero value means the default.
type Options struct {
	// Endpoint is the base URL of IMDS, e.g. "http://169.254.169.254".
	// Default: AWS_EC2_METADATA_SERVICE_ENDPOINT, else the endpoint of EndpointMode.
	Endpoint string

	// EndpointMode picks the default endpoint when Endpoint is empty.
	// Default: AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE, else IPv4.
	EndpointMode EndpointMode

	// Disabled turns every call into ErrDisabled.
	// Default: true when AWS_EC2_METADATA_DISABLED is "true" (any case).
	Disabled bool

	// AllowIMDSv1 lets the client fall back to IMDSv1 (no token) when a token can't be had
	// (dropped PUT, IMDSv2 not supported). Default: false, because IMDSv1 is what SSRF
	// attacks steal credentials through. While falling back, IMDSv2 is tried again every
	// IMDSv2RetryInterval rather than abandoned for the life of the process.
	AllowIMDSv1 bool

	// IMDSv2RetryInterval is how long a fallback to IMDSv1 lasts before IMDSv2 is tried
	// again. Default: 5 minutes.
	IMDSv2RetryInterval time.Duration

	// TokenTTL is the lifetime asked for a session token; the token is reused until shortly
	// before it ends and renewed at once when IMDS answers 401. Default and maximum: 6 hours.
	TokenTTL time.Duration

	// ConnectTimeout bounds connecting to IMDS. IMDS is link-local, so a connection that
	// takes longer is not going to work. Default: 100 ms.
	ConnectTimeout time.Duration

	// AttemptTimeout bounds one HTTP attempt, body included. Default: 500 ms.
	AttemptTimeout time.Duration

	// MaxAttempts is the number of attempts per request, retries included. Only connection
	// errors, 429 and 5xx are retried. Default: 3.
	MaxAttempts int

	// BackoffMin and BackoffMax bound the jittered exponential wait between attempts; a
	// Retry-After on 429/503 is honoured up to BackoffMax. Defaults: 25 ms and 1 s.
	BackoffMin, BackoffMax time.Duration

	// MaxBodyBytes caps a response body; a larger one is ErrBodyTooLarge. Default: 256 KiB.
	MaxBodyBytes int64

	// Transport carries the requests. Default: a pooled transport that never uses a proxy
	// (IMDS is link-local; a proxy from HTTP_PROXY would answer instead of IMDS).
	Transport http.RoundTripper

	// Logger receives Debug lines (retries, token renewals) and Warn lines (IMDSv1
	// fallback). Default: discard.
	Logger *slog.Logger

	// Clock is the time source of token lifetimes, credential refreshes and the watchers'
	// polling. Default: the wall clock. (The waits between retries of one request are
	// milliseconds long and always real.)
	Clock clock.Clock

	// Getenv reads the environment variables named above. Default: os.Getenv.
	Getenv func(string) string
}

// Client reads instance metadata over IMDSv2. It is safe for concurrent use; share one per
// process so that its session token is shared too.
type Client struct {
	opts     Options
	endpoint string
	http     *retryablehttp.Client
	probe    *http.Client
	log      *slog.Logger

	flight singleflight.Group // one token request at a time

	mu       sync.Mutex
	token    string
	renewAt  time.Time // when the cached token is renewed
	v1Until  time.Time // IMDSv1 fallback in effect until then
	tokenTTL time.Duration
}

// New returns a Client. It fails only on bad configuration (an endpoint that is not an
// http URL, an unknown endpoint mode, a token TTL over 6 hours), saying which setting.
func New(optFns ...func(*Options)) (*Client, error) {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if strings.EqualFold(strings.TrimSpace(o.Getenv("AWS_EC2_METADATA_DISABLED")), "true") {
		o.Disabled = true
	}
	if o.EndpointMode == "" {
		o.EndpointMode = EndpointMode(strings.TrimSpace(o.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")))
	}
	switch {
	case o.EndpointMode == "" || strings.EqualFold(string(o.EndpointMode), string(EndpointModeIPv4)):
		o.EndpointMode = EndpointModeIPv4
	case strings.EqualFold(string(o.EndpointMode), string(EndpointModeIPv6)):
		o.EndpointMode = EndpointModeIPv6
	default:
		return nil, fmt.Errorf("imds: endpoint mode %q is neither IPv4 nor IPv6 (check AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE)", o.EndpointMode)
	}
	if o.Endpoint == "" {
		o.Endpoint = strings.TrimSpace(o.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
	}
	if o.Endpoint == "" {
		o.Endpoint = DefaultIPv4Endpoint
		if o.EndpointMode == EndpointModeIPv6 {
			o.Endpoint = DefaultIPv6Endpoint
		}
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("imds: endpoint %q is not an http(s) URL like http://169.254.169.254 (check AWS_EC2_METADATA_SERVICE_ENDPOINT)", o.Endpoint)
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = MaxTokenTTL
	}
	if o.TokenTTL < time.Second || o.TokenTTL > MaxTokenTTL {
		return nil, fmt.Errorf("imds: TokenTTL %s is outside IMDS's range of 1s to 6h", o.TokenTTL)
	}
	setDefault(&o.IMDSv2RetryInterval, 5*time.Minute)
	setDefault(&o.ConnectTimeout, 100*time.Millisecond)
	setDefault(&o.AttemptTimeout, 500*time.Millisecond)
	setDefault(&o.BackoffMin, 25*time.Millisecond)
	setDefault(&o.BackoffMax, time.Second)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 256 << 10
	}
	if o.Transport == nil {
		o.Transport = &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Clock = clock.Or(o.Clock)

	c := &Client{
		opts:     o,
		endpoint: strings.TrimRight(o.Endpoint, "/"),
		log:      o.Logger,
		tokenTTL: o.TokenTTL,
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// Retries are go-retryablehttp's, not the AWS SDK's retryer that every other package
	// uses: instance metadata is plain HTTP with no SDK client, so there is no middleware
	// stack to plug the SDK's retryer into, and a loop of our own would be a second retry
	// layer written by hand. Its waits (BackoffMin to BackoffMax, milliseconds to a second)
	// are on the wall clock, not Options.Clock: they are short and bounded, and the long
	// waits (token lifetimes, refreshes, watcher polls) are on the Clock.
	c.http = &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: o.Transport, Timeout: o.AttemptTimeout, CheckRedirect: noRedirect},
		RetryWaitMin: o.BackoffMin,
		RetryWaitMax: o.BackoffMax,
		RetryMax:     o.MaxAttempts - 1,
		CheckRetry:   checkRetry,
		Backoff:      backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		RequestLogHook: func(_ retryablehttp.Logger, r *http.Request, attempt int) {
			if attempt > 0 {
				c.log.Debug("imds: retrying", "method", r.Method, "path", r.URL.Path, "attempt", attempt+1)
			}
		},
	}
	c.probe = &http.Client{Transport: o.Transport, Timeout: o.AttemptTimeout, CheckRedirect: noRedirect}
	return c, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Endpoint returns the base URL the client talks to.
func (c *Client) Endpoint() string { return c.endpoint }

// Get reads one metadata path and returns its body. path is either absolute
// ("/latest/meta-data/instance-id") or relative to /latest/ ("meta-data/instance-id").
// A 404 is an error matching ErrNotFound.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	p, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	return c.get(ctx, p)
}

func cleanPath(path string) (string, error) {
	if strings.TrimSpace(path) == "" || strings.ContainsAny(path, "?#\\ \t\r\n") || strings.Contains(path, "..") || strings.Contains(path, "://") {
		return "", fmt.Errorf("imds: path %q is not a metadata path like meta-data/instance-id", path)
	}
	if !strings.HasPrefix(path, "/") {
		path = "/latest/" + path
	}
	return path, nil
}

// get does a GET with the session token, renewing the token once on 401.
func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	if c.opts.Disabled {
		return nil, ErrDisabled
	}
	for renewed := false; ; renewed = true {
		token, err := c.sessionToken(ctx)
		if err != nil {
			return nil, err
		}
		status, body, _, err := c.send(ctx, http.MethodGet, path, token, "")
		if err != nil {
			return nil, err
		}
		switch {
		case status == http.StatusOK:
			return body, nil
		case status == http.StatusUnauthorized && !renewed:
			// The token expired or IMDS restarted: forget it and get a new one, once.
			c.log.Debug("imds: 401, renewing the session token", "path", path)
			c.forgetToken(token)
			continue
		}
		return nil, &ResponseError{Method: http.MethodGet, Path: path, StatusCode: status}
	}
}

// send does one request with retries and returns the status and the capped body.
func (c *Client) send(ctx context.Context, method, path, token, ttl string) (int, []byte, http.Header, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, method, c.endpoint+path, nil)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("imds: building %s %s: %w", method, path, err)
	}
	if token != "" {
		req.Header.Set(tokenHeader, token)
	}
	if ttl != "" {
		req.Header.Set(ttlHeader, ttl)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, fmt.Errorf("imds: %s %s: %w", method, path, ctx.Err())
		}
		return 0, nil, nil, fmt.Errorf("%w at %s: %s %s gave no answer after %d attempt(s): %w",
			ErrUnreachable, c.endpoint, method, path, c.opts.MaxAttempts, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBodyBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, fmt.Errorf("imds: %s %s: %w", method, path, ctx.Err())
		}
		return 0, nil, nil, fmt.Errorf("%w: reading the body of %s %s: %w", ErrUnreachable, method, path, err)
	}
	if int64(len(body)) > c.opts.MaxBodyBytes {
		return 0, nil, nil, fmt.Errorf("%w: %s %s returned more than %d bytes (Options.MaxBodyBytes)",
			ErrBodyTooLarge, method, path, c.opts.MaxBodyBytes)
	}
	return resp.StatusCode, body, resp.Header, nil
}

// tokenRequestKey marks the token PUT in its context, for checkRetry.
type tokenRequestKey struct{}

// checkRetry retries connection errors, 429 and 5xx; nothing else. A token PUT that timed
// out after connecting is not retried: that is the hop-limit symptom, diagnosed by the caller.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if ctx.Value(tokenRequestKey{}) != nil && isTimeout(err) && !isDialError(err) {
			return false, err
		}
		var netErr net.Error
		return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), err
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, nil
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

func isDialError(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// backoff waits min*2^attempt, capped at max, with equal jitter; a Retry-After in seconds on
// 429 or 503 replaces it, capped at max.
func backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			return minDuration(time.Duration(s)*time.Second, max)
		}
	}
	d := max
	if attempt < 30 {
		d = minDuration(min<<attempt, max)
	}
	half := d / 2
	return half + rand.N(half+1)
}

func minDuration(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}
