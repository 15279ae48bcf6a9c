package imds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/sync/singleflight"

	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// ProviderSource is the Source of the aws.Credentials the provider returns.
const ProviderSource = "ShipshapeIMDS"

// Credentials are instance-profile credentials as IMDS serves them. String, GoString,
// MarshalJSON and slog output redact SecretAccessKey and Token, so logging the value by
// mistake leaks nothing; read the fields to use them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	Token           string
	Expiration      time.Time
	LastUpdated     time.Time
	Type            string
}

func (c Credentials) redacted() string {
	return fmt.Sprintf("imds.Credentials{AccessKeyID: %q, SecretAccessKey: <redacted>, Token: <redacted>, Expiration: %s}",
		c.AccessKeyID, c.Expiration.UTC().Format(time.RFC3339))
}

// String redacts the secret and the token.
func (c Credentials) String() string { return c.redacted() }

// GoString redacts the secret and the token (for %#v).
func (c Credentials) GoString() string { return c.redacted() }

// LogValue redacts the secret and the token in slog output.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("secret_access_key", "<redacted>"),
		slog.String("token", "<redacted>"),
		slog.Time("expiration", c.Expiration),
	)
}

// MarshalJSON redacts the secret and the token. Code that must print the secret (a
// credential_process helper) builds its own structure on purpose.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		AccessKeyID     string    `json:"AccessKeyId"`
		SecretAccessKey string    `json:"SecretAccessKey"`
		Token           string    `json:"Token"`
		Expiration      time.Time `json:"Expiration"`
	}{c.AccessKeyID, "<redacted>", "<redacted>", c.Expiration})
}

// Credentials reads the credentials of role (see RoleName). They are returned as IMDS gives
// them, even if already expired: the provider decides what to do with those.
func (c *Client) Credentials(ctx context.Context, role string) (Credentials, error) {
	if role == "" || strings.ContainsAny(role, "/?# \r\n") {
		return Credentials{}, fmt.Errorf("imds: role name %q is not valid (empty, or has '/', '?', '#' or spaces)", role)
	}
	body, err := c.get(ctx, pathRoles+url.PathEscape(role))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Credentials{}, errtext.Wrap("imds", fmt.Sprintf("no credentials for role %q (is that the instance profile's role?)", role), err)
		}
		return Credentials{}, err
	}
	return parseCredentials(role, body)
}

// parseCredentials validates a credentials document. Its errors never quote the body.
func parseCredentials(role string, body []byte) (Credentials, error) {
	path := pathRoles + role
	var raw struct {
		Code            string
		Message         string
		LastUpdated     string
		Type            string
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		Token           string
		Expiration      string
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		reason := notJSON(body)
		if reason == "not JSON" {
			reason = "not a JSON credentials document"
		}
		return Credentials{}, &MalformedError{Path: path, Reason: reason}
	}
	if raw.Code != "Success" {
		msg := raw.Message
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return Credentials{}, &CredentialsCodeError{Role: role, Code: snippet([]byte(raw.Code)), Message: snippet([]byte(msg))}
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"AccessKeyId", raw.AccessKeyID}, {"SecretAccessKey", raw.SecretAccessKey},
		{"Token", raw.Token}, {"Expiration", raw.Expiration},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Credentials{}, &MalformedError{Path: path, Reason: "missing " + strings.Join(missing, ", ")}
	}
	exp, err := time.Parse(time.RFC3339, raw.Expiration)
	if err != nil {
		return Credentials{}, &MalformedError{Path: path, Reason: "Expiration is not an RFC 3339 time"}
	}
	creds := Credentials{
		AccessKeyID: raw.AccessKeyID, SecretAccessKey: raw.SecretAccessKey, Token: raw.Token,
		Expiration: exp, Type: raw.Type,
	}
	if t, err := time.Parse(time.RFC3339, raw.LastUpdated); err == nil {
		creds.LastUpdated = t
	}
	return creds, nil
}

// ProviderOptions are the optional settings of a CredentialsProvider.
type ProviderOptions struct {
	// RoleName is the instance profile's role. Default: read from IMDS on the first refresh,
	// then cached (read again only if IMDS stops knowing it).
	RoleName string

	// RefreshWindow is how long before Expiration the provider refreshes. Default: 15 min.
	RefreshWindow time.Duration

	// RefreshJitter adds up to this much more, at random, to RefreshWindow, so that a fleet
	// started together doesn't refresh together. Default: 5 min.
	RefreshJitter time.Duration

	// StaleMin and StaleMax bound how long the last good credentials keep being served when a
	// refresh fails (IMDS down, or credentials handed back already expired); the next
	// refresh is tried after a random time in that range. Defaults: 5 and 15 minutes.
	StaleMin, StaleMax time.Duration

	// Logger receives a Warn line each time stale credentials are served. Default: the
	// client's logger.
	Logger *slog.Logger
}

// CredentialsProvider serves instance-profile credentials as an aws.CredentialsProvider
// (use it with config.WithCredentialsProvider, or wrap it in aws.NewCredentialsCache; it
// caches on its own too). In steady state a refresh is one request: the role name and the
// session token are cached.
//
// The aws.Credentials it returns carry Expires set to the moment it will refresh, which is
// before the real expiration (RefreshWindow plus jitter), so that caches in front of it ask
// again in time; Client.Credentials gives the real Expiration.
type CredentialsProvider struct {
	client *Client
	opts   ProviderOptions
	log    *slog.Logger

	state  atomic.Pointer[providerState]
	flight singleflight.Group

	roleMu sync.Mutex
	role   string
}

type providerState struct {
	creds     aws.Credentials // Expires == refreshAt
	refreshAt time.Time
	realExp   time.Time // the real expiration of creds
}

var _ aws.CredentialsProvider = (*CredentialsProvider)(nil)

// NewCredentialsProvider returns a provider that reads credentials through client. The
// error is for options that can't work (a negative duration, StaleMax below StaleMin, a
// role name with '/'); it makes no request.
func NewCredentialsProvider(client *Client, optFns ...func(*ProviderOptions)) (*CredentialsProvider, error) {
	var o ProviderOptions
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case client == nil:
		return nil, errors.New("imds: NewCredentialsProvider needs a Client")
	case o.RefreshWindow < 0 || o.RefreshJitter < 0 || o.StaleMin < 0 || o.StaleMax < 0:
		return nil, errors.New("imds: RefreshWindow, RefreshJitter, StaleMin and StaleMax can't be negative")
	case o.StaleMin > 0 && o.StaleMax > 0 && o.StaleMax < o.StaleMin:
		return nil, fmt.Errorf("imds: StaleMax %s is below StaleMin %s", o.StaleMax, o.StaleMin)
	case o.RoleName != "" && strings.ContainsAny(o.RoleName, "/?# \r\n"):
		return nil, fmt.Errorf("imds: role name %q is not valid (it has '/', '?', '#' or spaces)", o.RoleName)
	}
	setDefault(&o.RefreshWindow, 15*time.Minute)
	setDefault(&o.RefreshJitter, 5*time.Minute)
	setDefault(&o.StaleMin, 5*time.Minute)
	setDefault(&o.StaleMax, max(15*time.Minute, o.StaleMin))
	if o.Logger == nil {
		o.Logger = client.log
	}
	return &CredentialsProvider{client: client, opts: o, log: o.Logger, role: o.RoleName}, nil
}

// Retrieve returns credentials, refreshing them when due. Concurrent callers share one
// refresh. On a warm cache it makes no request and allocates nothing.
func (p *CredentialsProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if s := p.state.Load(); s != nil && p.client.opts.Clock.Now().Before(s.refreshAt) {
		return s.creds, nil
	}
	ch := p.flight.DoChan("refresh", func() (any, error) {
		return p.refresh(context.WithoutCancel(ctx))
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return aws.Credentials{Source: ProviderSource}, r.Err
		}
		return r.Val.(aws.Credentials), nil
	case <-ctx.Done():
		return aws.Credentials{Source: ProviderSource}, fmt.Errorf("imds: waiting for credentials: %w", ctx.Err())
	}
}

func (p *CredentialsProvider) refresh(ctx context.Context) (aws.Credentials, error) {
	now := p.client.opts.Clock.Now()
	prev := p.state.Load()
	if prev != nil && now.Before(prev.refreshAt) {
		return prev.creds, nil // a refresh that finished just before this one started
	}
	creds, err := p.fetch(ctx)
	if err == nil && !creds.Expiration.After(now) {
		err = fmt.Errorf("%w (Expiration %s)", ErrCredentialsExpired, creds.Expiration.UTC().Format(time.RFC3339))
	}
	if err != nil {
		return p.serveStale(prev, now, err)
	}

	refreshAt := creds.Expiration.Add(-p.opts.RefreshWindow - jitter(p.opts.RefreshJitter))
	if lifetime := creds.Expiration.Sub(now); !refreshAt.After(now) {
		// Short-lived credentials: refresh half-way through what is left.
		refreshAt = now.Add(lifetime / 2)
	}
	s := &providerState{
		creds: aws.Credentials{
			AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.Token,
			Source: ProviderSource, CanExpire: true, Expires: refreshAt,
		},
		refreshAt: refreshAt,
		realExp:   creds.Expiration,
	}
	p.state.Store(s)
	p.log.Debug("imds: credentials refreshed", "access_key_id", creds.AccessKeyID,
		"expiration", creds.Expiration, "next_refresh", refreshAt)
	return s.creds, nil
}

// serveStale keeps the last good credentials when a refresh fails ("static stability"), with
// the next attempt 5 to 15 minutes out. Credentials that were never valid are never served.
func (p *CredentialsProvider) serveStale(prev *providerState, now time.Time, cause error) (aws.Credentials, error) {
	if prev == nil {
		return aws.Credentials{Source: ProviderSource}, errtext.Wrap("imds", "retrieving instance-profile credentials", cause)
	}
	next := now.Add(p.opts.StaleMin + jitter(p.opts.StaleMax-p.opts.StaleMin))
	if prev.realExp.After(now) && prev.realExp.Before(next) {
		// Still valid for a while: try again when they really expire, not later.
		next = prev.realExp
	}
	s := &providerState{creds: prev.creds, refreshAt: next, realExp: prev.realExp}
	s.creds.Expires = next
	p.state.Store(s)
	p.log.Warn("imds: credentials refresh failed; serving the previous credentials until the next attempt",
		"access_key_id", prev.creds.AccessKeyID, "real_expiration", prev.realExp, "next_attempt", next, "error", cause.Error())
	return s.creds, nil
}

// fetch reads the credentials, discovering the role once and again if IMDS forgets it.
func (p *CredentialsProvider) fetch(ctx context.Context) (Credentials, error) {
	role, discovered, err := p.roleName(ctx)
	if err != nil {
		return Credentials{}, err
	}
	creds, err := p.client.Credentials(ctx, role)
	if errors.Is(err, ErrNotFound) && discovered {
		// The instance profile may have been swapped: read the role again, once.
		p.setRole("")
		if role, _, err = p.roleName(ctx); err != nil {
			return Credentials{}, err
		}
		creds, err = p.client.Credentials(ctx, role)
	}
	return creds, err
}

func (p *CredentialsProvider) roleName(ctx context.Context) (role string, discovered bool, err error) {
	p.roleMu.Lock()
	role = p.role
	p.roleMu.Unlock()
	if role != "" {
		return role, p.opts.RoleName == "", nil
	}
	if role, err = p.client.RoleName(ctx); err != nil {
		return "", true, err
	}
	p.setRole(role)
	return role, true, nil
}

func (p *CredentialsProvider) setRole(role string) {
	p.roleMu.Lock()
	p.role = role
	p.roleMu.Unlock()
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
