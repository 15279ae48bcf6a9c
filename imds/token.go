package imds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// sessionToken returns the cached IMDSv2 token, or fetches one. It returns "" (and no
// error) while an IMDSv1 fallback is in effect.
func (c *Client) sessionToken(ctx context.Context) (string, error) {
	if tok, v1, ok := c.cachedToken(); ok || v1 {
		return tok, nil
	}
	// One PUT for all concurrent callers. It runs detached from the first caller's context
	// (bounded by the attempt timeouts) so that one caller giving up doesn't fail the others.
	ch := c.flight.DoChan("token", func() (any, error) {
		return c.fetchToken(context.WithoutCancel(ctx))
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("imds: waiting for a session token: %w", ctx.Err())
	}
}

// cachedToken returns the cached token if it is still fresh (ok), or v1=true when the
// IMDSv1 fallback is in effect.
func (c *Client) cachedToken() (token string, v1, ok bool) {
	now := c.opts.Clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && now.Before(c.renewAt) {
		return c.token, false, true
	}
	return "", c.opts.AllowIMDSv1 && now.Before(c.v1Until), false
}

// forgetToken drops token from the cache if it is still the cached one.
func (c *Client) forgetToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == token {
		c.token = ""
	}
}

func (c *Client) fetchToken(ctx context.Context) (string, error) {
	if tok, v1, ok := c.cachedToken(); ok || v1 {
		return tok, nil // another flight just finished
	}
	ttl := strconv.Itoa(int(c.tokenTTL / time.Second))
	start := c.opts.Clock.Now()
	status, body, hdr, err := c.send(context.WithValue(ctx, tokenRequestKey{}, true), http.MethodPut, tokenPath, "", ttl)
	if err == nil && status != http.StatusOK {
		err = &ResponseError{Method: http.MethodPut, Path: tokenPath, StatusCode: status}
		switch status {
		case http.StatusForbidden:
			err = errtext.Join("imds", ErrTokenRefused, err)
		case http.StatusBadRequest:
			err = errtext.Wrap("imds", fmt.Sprintf("the token request was rejected (is TokenTTL %s accepted by this endpoint?)", c.tokenTTL), err)
		}
	}
	if err != nil {
		if isTimeout(err) && !isDialError(err) && c.reachable(ctx) {
			err = fmt.Errorf("%w (PUT %s%s gave no answer within %s)", ErrHopLimit, c.endpoint, tokenPath, c.opts.AttemptTimeout)
		}
		return c.fallBack(err)
	}
	token := strings.TrimSpace(string(body))
	if token == "" || strings.ContainsAny(token, " \r\n\t") {
		return c.fallBack(&MalformedError{Path: tokenPath, Reason: "the session token is empty or not one line"})
	}
	lifetime := c.tokenTTL
	if s, err := strconv.Atoi(hdr.Get(ttlHeader)); err == nil && s > 0 && time.Duration(s)*time.Second < lifetime {
		lifetime = time.Duration(s) * time.Second
	}
	// Renew a little before the end: a tenth of the lifetime, between 1 s and 5 min.
	margin := min(max(lifetime/10, time.Second), 5*time.Minute)
	c.mu.Lock()
	c.token, c.renewAt, c.v1Until = token, start.Add(lifetime-margin), time.Time{}
	c.mu.Unlock()
	c.log.Debug("imds: new session token", "ttl", lifetime)
	return token, nil
}

// fallBack decides what a failed token request means: an IMDSv1 fallback when allowed and
// sensible (token dropped or not supported), else the error.
func (c *Client) fallBack(err error) (string, error) {
	var re *ResponseError
	notSupported := errors.As(err, &re) && (re.StatusCode == http.StatusNotFound || re.StatusCode == http.StatusMethodNotAllowed)
	if !c.opts.AllowIMDSv1 || !(errors.Is(err, ErrHopLimit) || notSupported) {
		return "", errtext.Wrap("imds", "getting a session token", err)
	}
	until := c.opts.Clock.Now().Add(c.opts.IMDSv2RetryInterval)
	c.mu.Lock()
	c.v1Until = until
	c.mu.Unlock()
	c.log.Warn("imds: falling back to IMDSv1 (no session token); IMDSv2 will be tried again",
		"retry_v2_after", c.opts.IMDSv2RetryInterval, "reason", err.Error())
	return "", nil
}

// reachable reports whether a plain GET to the endpoint gets any HTTP answer (200, or 401
// from an IMDSv2-only instance): one attempt, no token.
func (c *Client) reachable(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"/latest/meta-data/", nil)
	if err != nil {
		return false
	}
	resp, err := c.probe.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
