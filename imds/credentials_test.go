package imds_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

const credsPath = "/latest/meta-data/iam/security-credentials/shipshape-test-role"
const rolesPath = "/latest/meta-data/iam/security-credentials/"

func TestCredentialsAreRedacted(t *testing.T) {
	c := imds.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "s3cr3t-value", Token: "t0ken-value",
		Expiration: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("creds", "c", c)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("creds", "c", c)
	js, err := json.Marshal(c)
	require.NoError(t, err)
	for _, out := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c, c), fmt.Sprintf("%v", &c),
		logs.String(), string(js), fmt.Sprintf("%v", []imds.Credentials{c}),
	} {
		assert.NotContains(t, out, "s3cr3t-value")
		assert.NotContains(t, out, "t0ken-value")
		assert.Contains(t, out, "ASIAEXAMPLE")
	}
}

func provider(b *bed, optFns ...func(*imds.ProviderOptions)) *imds.CredentialsProvider {
	p, err := imds.NewCredentialsProvider(b.client, optFns...)
	if err != nil {
		panic(err) // the tests' options are fixed and valid
	}
	return p
}

func TestProviderOptionsThatCantWork(t *testing.T) {
	b := newBed(t)
	for _, fn := range []func(*imds.ProviderOptions){
		func(o *imds.ProviderOptions) { o.StaleMin, o.StaleMax = 10*time.Minute, 5*time.Minute },
		func(o *imds.ProviderOptions) { o.RefreshWindow = -time.Minute },
		func(o *imds.ProviderOptions) { o.RoleName = "a/b" },
	} {
		_, err := imds.NewCredentialsProvider(b.client, fn)
		require.Error(t, err)
	}
	_, err := imds.NewCredentialsProvider(nil)
	require.Error(t, err)
}

func TestProviderSteadyStateIsOneRequestPerRefresh(t *testing.T) {
	b := newBed(t)
	p := provider(b)
	ctx := context.Background()

	first, err := p.Retrieve(ctx)
	require.NoError(t, err)
	assert.Equal(t, b.srv.CurrentCredentials().AccessKeyID, first.AccessKeyID)
	assert.Equal(t, imds.ProviderSource, first.Source)
	assert.True(t, first.CanExpire)
	real := b.srv.CurrentCredentials().Expiration
	// Refreshes 15 to 20 minutes before the real expiration.
	assert.False(t, first.Expires.After(real.Add(-15*time.Minute)))
	assert.False(t, first.Expires.Before(real.Add(-20*time.Minute)))
	assert.Equal(t, 3, len(b.srv.Requests()), "token, role, credentials")

	// Until then: no request at all.
	b.srv.ResetRequests()
	b.clock.Advance(first.Expires.Sub(b.clock.Now()) - time.Second)
	again, err := p.Retrieve(ctx)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Empty(t, b.srv.Requests())

	// Then one request: the credentials (token and role are cached).
	b.clock.Advance(2 * time.Second)
	next, err := p.Retrieve(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessKeyID, next.AccessKeyID)
	assert.Equal(t, []imdstest.Request{{Method: http.MethodGet, Path: credsPath, Status: 200, Token: true}}, b.srv.Requests())
}

func TestProviderConcurrentCallersShareOneRefresh(t *testing.T) {
	b := newBed(t)
	p := provider(b)
	var wg sync.WaitGroup
	keys := make([]string, 100)
	errs := make([]error, 100)
	start := make(chan struct{})
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := p.Retrieve(context.Background())
			keys[i], errs[i] = c.AccessKeyID, err
		}()
	}
	close(start)
	wg.Wait()
	for i := range 100 {
		require.NoError(t, errs[i])
		require.Equal(t, keys[0], keys[i])
	}
	assert.Equal(t, 1, b.srv.Count(http.MethodPut, tokenPath, 0))
	assert.Equal(t, 1, b.srv.Count(http.MethodGet, rolesPath, 0))
	assert.Equal(t, 1, b.srv.Count(http.MethodGet, credsPath, 0))
}

func TestProviderStaticStability(t *testing.T) {
	t.Run("IMDS down during refresh", func(t *testing.T) {
		b := newBed(t)
		p := provider(b)
		ctx := context.Background()
		good, err := p.Retrieve(ctx)
		require.NoError(t, err)

		b.clock.Advance(6 * time.Hour) // past the real expiration
		b.srv.AddFault(imdstest.Fault{Status: 500})
		stale, err := p.Retrieve(ctx)
		require.NoError(t, err, "the last good credentials are served")
		assert.Equal(t, good.AccessKeyID, stale.AccessKeyID)
		ext := stale.Expires.Sub(b.clock.Now())
		assert.GreaterOrEqual(t, ext, 5*time.Minute)
		assert.Less(t, ext, 15*time.Minute)
		assert.Contains(t, b.logs.String(), "serving the previous credentials")
		assert.NotContains(t, b.logs.String(), b.srv.CurrentCredentials().SecretAccessKey)

		// No request until the extension ends; then IMDS is back and new credentials come.
		b.srv.ClearFaults()
		b.srv.ResetRequests()
		_, err = p.Retrieve(ctx)
		require.NoError(t, err)
		assert.Empty(t, b.srv.Requests())
		b.clock.Advance(ext)
		fresh, err := p.Retrieve(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, good.AccessKeyID, fresh.AccessKeyID)
	})

	t.Run("IMDS hands back expired credentials", func(t *testing.T) {
		b := newBed(t)
		p := provider(b)
		ctx := context.Background()
		good, err := p.Retrieve(ctx)
		require.NoError(t, err)
		b.clock.Advance(6*time.Hour + time.Minute)
		b.srv.SetCredentials(imds.Credentials{AccessKeyID: "ASIAEXPIRED", SecretAccessKey: "x", Token: "y",
			Expiration: b.clock.Now().Add(-time.Minute)})
		stale, err := p.Retrieve(ctx)
		require.NoError(t, err)
		assert.Equal(t, good.AccessKeyID, stale.AccessKeyID, "the expired ones are not taken")
		assert.Contains(t, b.logs.String(), "already expired")
	})

	t.Run("credentials that were never valid are never extended", func(t *testing.T) {
		b := newBed(t)
		b.srv.SetCredentials(imds.Credentials{AccessKeyID: "ASIAEXPIRED", SecretAccessKey: "x", Token: "y",
			Expiration: b.clock.Now().Add(-time.Minute)})
		_, err := provider(b).Retrieve(context.Background())
		require.ErrorIs(t, err, imds.ErrCredentialsExpired)
	})

	t.Run("IMDS down from the start", func(t *testing.T) {
		b := newBed(t)
		b.srv.AddFault(imdstest.Fault{Status: 503})
		_, err := provider(b).Retrieve(context.Background())
		require.Error(t, err)
		var re *imds.ResponseError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 503, re.StatusCode)
	})
}

func TestProviderRidesOutA429Storm(t *testing.T) {
	b := newBed(t)
	b.srv.AddFault(imdstest.Fault{Path: credsPath, Status: 429, Times: 2})
	c, err := provider(b).Retrieve(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, c.AccessKeyID)
	assert.Equal(t, 3, b.srv.Count(http.MethodGet, credsPath, 0))
}

func TestProviderTokenExpiresMidRun(t *testing.T) {
	b := newBed(t)
	p := provider(b)
	ctx := context.Background()
	_, err := p.Retrieve(ctx)
	require.NoError(t, err)
	b.srv.InvalidateTokens()
	b.clock.Advance(6 * time.Hour)
	c, err := p.Retrieve(ctx)
	require.NoError(t, err)
	assert.Equal(t, b.srv.CurrentCredentials().AccessKeyID, c.AccessKeyID)
}

func TestProviderRole(t *testing.T) {
	t.Run("given: the role list is never read", func(t *testing.T) {
		b := newBed(t)
		_, err := provider(b, func(o *imds.ProviderOptions) { o.RoleName = "shipshape-test-role" }).Retrieve(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 0, b.srv.Count("", rolesPath, 0))
	})
	t.Run("discovered again when the instance profile changes", func(t *testing.T) {
		b := newBed(t)
		p := provider(b)
		ctx := context.Background()
		_, err := p.Retrieve(ctx)
		require.NoError(t, err)
		b.srv.SetRole("new-role")
		b.clock.Advance(6 * time.Hour)
		_, err = p.Retrieve(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, b.srv.Count(http.MethodGet, rolesPath+"new-role", 200))
		assert.Equal(t, 2, b.srv.Count(http.MethodGet, rolesPath, 0))
	})
}

func TestProviderWorksBehindCredentialsCache(t *testing.T) {
	b := newBed(t)
	cache := aws.NewCredentialsCache(provider(b))
	c, err := cache.Retrieve(context.Background())
	require.NoError(t, err)
	assert.Equal(t, b.srv.CurrentCredentials().AccessKeyID, c.AccessKeyID)
	assert.Equal(t, b.srv.CurrentCredentials().Token, c.SessionToken)
}

func TestProviderRespectsCallerContext(t *testing.T) {
	b := newBed(t)
	b.srv.AddFault(imdstest.Fault{Path: credsPath, Delay: time.Second, Times: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := provider(b).Retrieve(ctx)
	require.ErrorIs(t, err, context.Canceled)
}
