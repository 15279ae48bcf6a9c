package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Probe checks readiness once. An error wrapping ErrPermanent means it can never succeed
// (a command that does not exist), so the gate gives up at once instead of waiting.
type Probe interface {
	Check(ctx context.Context) error
	String() string
}

// ErrPermanent marks a probe failure that retrying can't fix.
var ErrPermanent = errors.New("lifecycle: probe can never succeed")

// HTTPProbe mirrors an ALB target-group health check: GET URL, healthy when the status is one
// of Statuses.
type HTTPProbe struct {
	URL      string
	Statuses []int         // default: 200
	Timeout  time.Duration // per try; default 5 s
	Client   *http.Client  // default: one without proxy and without following redirects
}

// NewHTTPProbe checks the URL and the status list ("200", "200-299", "200,204").
func NewHTTPProbe(rawURL, statuses string, timeout time.Duration) (*HTTPProbe, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: health URL %q is not an http(s) URL like http://127.0.0.1:8080/health", ErrInvalidInput, rawURL)
	}
	codes, err := parseStatuses(statuses)
	if err != nil {
		return nil, err
	}
	return &HTTPProbe{URL: rawURL, Statuses: codes, Timeout: timeout}, nil
}

// parseStatuses reads ALB's matcher syntax: "200", "200,202", "200-299".
func parseStatuses(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return []int{200}, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
			return nil, fmt.Errorf("%w: status matcher %q: want codes like 200, 200,202 or 200-299", ErrInvalidInput, s)
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out, nil
}

func (p *HTTPProbe) String() string { return "GET " + p.URL }

// Check does one GET.
func (p *HTTPProbe) Check(ctx context.Context) error {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	client := p.Client
	if client == nil {
		client = &http.Client{
			Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", p.URL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	statuses := p.Statuses
	if len(statuses) == 0 {
		statuses = []int{200}
	}
	if !slices.Contains(statuses, resp.StatusCode) {
		return fmt.Errorf("GET %s: HTTP %d", p.URL, resp.StatusCode)
	}
	return nil
}

// TCPProbe is healthy when a TCP connection to Addr opens.
type TCPProbe struct {
	Addr    string        // host:port
	Timeout time.Duration // per try; default 5 s
}

func (p *TCPProbe) String() string { return "TCP " + p.Addr }

// Check opens and closes one connection.
func (p *TCPProbe) Check(ctx context.Context) error {
	if _, _, err := net.SplitHostPort(p.Addr); err != nil {
		return fmt.Errorf("%w: TCP address %q is not host:port", ErrPermanent, p.Addr)
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// CommandProbe is healthy when the command exits 0.
type CommandProbe struct {
	Argv    []string
	Timeout time.Duration // per try; default 30 s
}

func (p *CommandProbe) String() string { return "command " + strings.Join(p.Argv, " ") }

// Check runs the command once.
func (p *CommandProbe) Check(ctx context.Context) error {
	if len(p.Argv) == 0 {
		return fmt.Errorf("%w: empty command", ErrPermanent)
	}
	if _, err := exec.LookPath(p.Argv[0]); err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, p.Argv[0], p.Argv[1:]...).CombinedOutput()
	if err != nil {
		last := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(last, '\n'); i >= 0 {
			last = last[i+1:]
		}
		if len(last) > 200 {
			last = last[:200]
		}
		return fmt.Errorf("%s: %v: %s", p, err, last)
	}
	return nil
}

// All is healthy when every probe is (checked in order; the first failure is returned).
type All []Probe

func (a All) String() string {
	parts := make([]string, len(a))
	for i, p := range a {
		parts[i] = p.String()
	}
	return strings.Join(parts, " and ")
}

// Check runs the probes in order.
func (a All) Check(ctx context.Context) error {
	for _, p := range a {
		if err := p.Check(ctx); err != nil {
			return err
		}
	}
	return nil
}
