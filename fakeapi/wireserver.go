package fakeapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// WireServer is what every <pkg>test wire server embeds: a running httptest.Server (so its
// URL, Close and the rest are the wire server's) and the log of the requests it received,
// a line each in the format of the package, which its handler writes with Record. The
// embedding type promotes Record and Requests; where its package documents the log under
// another name (Actions, Targets) that method returns Requests. It is safe for concurrent
// use.
type WireServer struct {
	*httptest.Server

	mu       sync.Mutex
	requests []string
}

// NewWireServer returns a WireServer that will answer with handler, not started yet: store
// it where the handler reads it, then call Start (and Close when done). Starting it only
// then orders the store before every request, which the race detector can't see through
// a socket.
func NewWireServer(handler http.HandlerFunc) *WireServer {
	return &WireServer{Server: httptest.NewUnstartedServer(handler)}
}

// Record adds a request's line to the log.
func (w *WireServer) Record(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests = append(w.requests, line)
}

// Requests returns the recorded line of every request received, in order.
func (w *WireServer) Requests() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.requests...)
}

// Credentials are static credentials for a real SDK client of a wire server (the servers
// check no signature).
func Credentials() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDFAKEAPI", SecretAccessKey: "fakeapi"}, nil
	})
}

// HTTPClient is the HTTP client for a real SDK client of a wire server. Its transport hands
// net/http a copy of each request body: the SDK closes the body it built as soon as the
// response headers arrive, and a local server answers so fast that net/http may still be
// finishing the write then; it closes the connection and a large answer (a page of 100
// snapshots) fails half read, a retry that a real service, much slower to answer, never
// causes. Request counts are exact with it.
func HTTPClient() *http.Client {
	return &http.Client{Transport: ownBody{http.DefaultTransport}}
}

type ownBody struct{ next http.RoundTripper }

func (o ownBody) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		data, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(data))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	}
	return o.next.RoundTrip(r)
}
