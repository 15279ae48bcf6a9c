package secretsenv_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// TestWireLostAnswerIsRetried: the first answer is lost (the connection drops after the
// service read the request); reading a secret changes nothing, so the SDK's retry of it is
// safe, and the load succeeds with the second answer.
func TestWireLostAnswerIsRetried(t *testing.T) {
	fake := secretsenvtest.NewSecretsManager()
	fake.PutString("s", `{"A":"1"}`)
	srv := secretsenvtest.NewWireServer(fake)
	defer srv.Close()
	target, err := url.Parse(srv.URL)
	require.NoError(t, err)
	var requests atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r) // the service answers...
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close() // ...and the answer is lost on the way back
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	client := secretsmanager.New(secretsmanager.Options{BaseEndpoint: aws.String(front.URL), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDWIRE", "wire", "")})
	l, err := secretsenv.New(client, func(o *secretsenv.Options) { o.Environ = []string{}; o.Clock = clocktest.New() })
	require.NoError(t, err)
	vars, err := l.Load(context.Background(), []secretsenv.Secret{{ID: "s"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"A": "1"}, vars)
	assert.Equal(t, 2, fake.Calls(secretsenvtest.OpGetSecretValue), "the service saw the lost request and its retry")
}

// TestLoadAgainGivesTheSame: a wrapper runs again on every cold start (a redelivery of the
// same work): the same secrets give the same variables, fetched again, nothing cached.
func TestLoadAgainGivesTheSame(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("s", `{"A":"1","B":"two"}`)
	l := b.loader()
	first, err := load(t, l, "s")
	require.NoError(t, err)
	second, err := load(t, l, "s")
	require.NoError(t, err)
	assert.Equal(t, first, second)
	assert.Equal(t, 2, b.sm.Calls(secretsenvtest.OpGetSecretValue))
}

// TestCancelledLoadReturnsNothing: a load cancelled halfway returns the context's error and
// no variables at all (never a partial environment).
func TestCancelledLoadReturnsNothing(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("a", `{"A":"1"}`)
	b.sm.PutString("b", `{"B":"2"}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	vars, err := b.loader().Load(ctx, []secretsenv.Secret{{ID: "a"}, {ID: "b"}})
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, vars)
}
