package imds_test

// Benchmarks behind docs/PERFORMANCE.md. Run with `make bench`, or:
//
//	go test -run '^$' -bench . -benchmem ./imds/
//
// Each comparison runs ours and aws-sdk-go-v2's client side by side against the same
// counting imdstest server in the same run.

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	sdkimds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

// BenchmarkRetrieveWarm: Retrieve when the cached credentials are fresh (target < 100 ns,
// 0 allocs).
func BenchmarkRetrieveWarm(b *testing.B) {
	srv := imdstest.NewServer()
	defer srv.Close()
	client, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL })
	if err != nil {
		b.Fatal(err)
	}
	p, err := imds.NewCredentialsProvider(client)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.Retrieve(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Retrieve(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSimulatedDay counts requests to IMDS over 24 simulated hours of an application
// asking for credentials every minute; credentials are valid 6 h (IMDS rotates them 30 min
// before they end) and our token TTL is 6 h.
//
// Ours runs on a fake clock shared with the server. The SDK's client and cache read the real
// clock (an internal package variable we can't set), so its schedule is replayed: its
// ec2rolecreds provider caps Expires at 1 hour, so LoadDefaultConfig's cache refreshes once
// an hour, and its 5-minute token (fixed default) has always expired by then; each hourly
// refresh therefore runs on a fresh SDK client, which makes exactly the requests the
// long-lived client makes in production (token PUT, role list, credentials).
func BenchmarkSimulatedDay(b *testing.B) {
	const day, step = 24 * time.Hour, time.Minute
	b.Run("shipshape", func(b *testing.B) {
		var requests, refreshes int
		for b.Loop() {
			clk := newClock()
			srv := imdstest.NewServer(func(o *imdstest.Options) { o.Clock = clk })
			srv.SetCredentialLifetime(6*time.Hour, 30*time.Minute)
			client, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL; o.Clock = clk })
			if err != nil {
				b.Fatal(err)
			}
			p, err := imds.NewCredentialsProvider(client)
			if err != nil {
				b.Fatal(err)
			}
			for t := time.Duration(0); t < day; t += step {
				if _, err := p.Retrieve(context.Background()); err != nil {
					b.Fatal(err)
				}
				clk.Advance(step)
			}
			requests += len(srv.Requests())
			refreshes += srv.Count(http.MethodGet, "/latest/meta-data/iam/security-credentials/shipshape-test-role", 200)
			srv.Close()
		}
		b.ReportMetric(float64(requests)/float64(b.N), "requests/day")
		b.ReportMetric(float64(requests)/float64(refreshes), "requests/refresh")
	})
	b.Run("aws-sdk-go-v2", func(b *testing.B) {
		var requests, refreshes int
		for b.Loop() {
			srv := imdstest.NewServer()
			for t := time.Duration(0); t < day; t += time.Hour {
				sdk := sdkimds.New(sdkimds.Options{Endpoint: srv.URL})
				p := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = sdk })
				if _, err := p.Retrieve(context.Background()); err != nil {
					b.Fatal(err)
				}
				refreshes++
			}
			requests += len(srv.Requests())
			srv.Close()
		}
		b.ReportMetric(float64(requests)/float64(b.N), "requests/day")
		b.ReportMetric(float64(requests)/float64(refreshes), "requests/refresh")
	})
}

// BenchmarkTimeToErrorUnreachable: how long a read takes to fail when nothing answers.
// "refused" is a closed port on 127.0.0.1; "blackhole" is a dial that never completes (as
// off EC2 where 169.254.169.254 drops packets), simulated in-process with the same 100 ms
// connect bound as the default transport.
func BenchmarkTimeToErrorUnreachable(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	b.Run("shipshape/refused", func(b *testing.B) {
		c, err := imds.New(func(o *imds.Options) { o.Endpoint = closed })
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := c.InstanceID(context.Background()); !errors.Is(err, imds.ErrUnreachable) {
				b.Fatal(err)
			}
		}
	})
	b.Run("aws-sdk-go-v2/refused", func(b *testing.B) {
		c := sdkimds.New(sdkimds.Options{Endpoint: closed})
		for b.Loop() {
			if _, err := c.GetMetadata(context.Background(), &sdkimds.GetMetadataInput{Path: "instance-id"}); err == nil {
				b.Fatal("no error")
			}
		}
	})
	b.Run("shipshape/blackhole", func(b *testing.B) {
		blackhole := &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			select {
			case <-time.After(100 * time.Millisecond):
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: timeoutError{}}
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}}
		c, err := imds.New(func(o *imds.Options) { o.Endpoint = "http://169.254.169.254"; o.Transport = blackhole })
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := c.InstanceID(context.Background()); !errors.Is(err, imds.ErrUnreachable) {
				b.Fatal(err)
			}
		}
	})
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// BenchmarkTimeToOutcomeDroppedPUT: the token PUT connects but never gets an answer (a
// container with hop limit 1). Ours reports ErrHopLimit; the SDK stalls, then falls back to
// IMDSv1 (the server allows it here, as most instances still do) and returns the data.
func BenchmarkTimeToOutcomeDroppedPUT(b *testing.B) {
	newSrv := func() *imdstest.Server {
		srv := imdstest.NewServer()
		srv.SetIMDSv1(true)
		srv.AddFault(imdstest.Fault{Method: http.MethodPut, Path: "/latest/api/token", Drop: true})
		return srv
	}
	b.Run("shipshape", func(b *testing.B) {
		srv := newSrv()
		defer srv.Close()
		for b.Loop() {
			c, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL })
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.InstanceID(context.Background()); !errors.Is(err, imds.ErrHopLimit) {
				b.Fatal(err)
			}
		}
	})
	b.Run("aws-sdk-go-v2", func(b *testing.B) {
		srv := newSrv()
		defer srv.Close()
		for b.Loop() {
			c := sdkimds.New(sdkimds.Options{Endpoint: srv.URL})
			if _, err := c.GetMetadata(context.Background(), &sdkimds.GetMetadataInput{Path: "instance-id"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
