package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/internal/httpurl"
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

// NewHTTPProbe checks the URL and the status list ("200", "200-299", "200,204"). A URL that
// can never be fetched (not http or https, no host, a port outside 1 to 65535) is an input
// error, so a typo is never probed for the whole timeout and then taken for an application
// that never got ready.
func NewHTTPProbe(rawURL, statuses string, timeout time.Duration) (*HTTPProbe, error) {
	if err := checkHealthURL(rawURL); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	codes, err := parseStatuses(statuses)
	if err != nil {
		return nil, err
	}
	if timeout < 0 {
		return nil, fmt.Errorf("%w: probe timeout %s is negative", ErrInvalidInput, timeout)
	}
	return &HTTPProbe{URL: rawURL, Statuses: codes, Timeout: timeout}, nil
}

// checkHealthURL says what makes rawURL impossible to fetch, if anything.
func checkHealthURL(rawURL string) error {
	return httpurl.Check("health URL", rawURL, "like http://127.0.0.1:8080/health")
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
	if err := checkHealthURL(p.URL); err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err) // an HTTPProbe built without NewHTTPProbe
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

// NewTCPProbe checks addr ("host:port", "[::1]:8080", ":8080" for this host) before any
// probe runs, so a typo such as "localhost8080" is an input error, not an ABANDON.
func NewTCPProbe(addr string, timeout time.Duration) (*TCPProbe, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || strings.ContainsAny(host, " /") {
		return nil, fmt.Errorf("%w: TCP address %q is not host:port, e.g. 127.0.0.1:8080", ErrInvalidInput, addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("%w: TCP address %q: port %q is not a number from 1 to 65535", ErrInvalidInput, addr, port)
	}
	if timeout < 0 {
		return nil, fmt.Errorf("%w: probe timeout %s is negative", ErrInvalidInput, timeout)
	}
	return &TCPProbe{Addr: addr, Timeout: timeout}, nil
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

	shell bool // Argv is /bin/sh -c COMMAND: exit 126 and 127 mean "could not start"
}

// Exit statuses with which a POSIX shell says it could not start a command.
const (
	shellNotExecutable = 126
	shellNotFound      = 127
)

// NewCommandProbe returns a probe that runs command with /bin/sh -c, healthy when it exits 0.
// An empty command is an input error (an unset variable in user data must not pass every
// check), and so is a command whose first word is an absolute path that does not exist or
// is not executable. A command the shell cannot start at run time (it exits 126 or 127: not
// executable, not found) can never pass: Check returns ErrPermanent and the gate decides at
// once instead of waiting out its timeout.
func NewCommandProbe(command string, timeout time.Duration) (*CommandProbe, error) {
	fields := strings.Fields(command)
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: the command is empty (an unset variable?); a probe must check something", ErrInvalidInput)
	}
	if first := fields[0]; strings.HasPrefix(first, "/") {
		info, err := os.Stat(first)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: command %q: %s does not exist", ErrInvalidInput, command, first)
		case info.IsDir() || info.Mode()&0o111 == 0:
			return nil, fmt.Errorf("%w: command %q: %s is not an executable file", ErrInvalidInput, command, first)
		}
	}
	if timeout < 0 {
		return nil, fmt.Errorf("%w: probe timeout %s is negative", ErrInvalidInput, timeout)
	}
	return &CommandProbe{Argv: []string{"/bin/sh", "-c", command}, Timeout: timeout, shell: true}, nil
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
	if err == nil {
		return nil
	}
	last := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	if len(last) > 200 {
		last = last[:200]
	}
	var exit *exec.ExitError
	if p.shell && ctx.Err() == nil && errors.As(err, &exit) {
		if code := exit.ExitCode(); code == shellNotFound || code == shellNotExecutable {
			return fmt.Errorf("%w: %s: the shell could not start it (exit %d): %s", ErrPermanent, p, code, last)
		}
	}
	return fmt.Errorf("%s: %v: %s", p, err, last)
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
