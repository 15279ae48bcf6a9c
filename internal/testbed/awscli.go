package testbed

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// AWSCLI returns the path of the AWS CLI (v1 or v2) the test bed found or installed.
func AWSCLI(t testing.TB) string {
	t.Helper()
	return need(t, "AWS CLI", "SHIPSHAPE_AWS_CLI")[0]
}

// Request is one request the AWS CLI sent to a Recorder.
type Request struct {
	Method string
	Host   string // e.g. 123456789012.aws.invalid for S3 Control's host prefix
	Path   string
	Query  url.Values
	Header http.Header
	Body   string
}

// Answer is a Recorder's reply to one request.
type Answer struct {
	Status int // default 200
	Header map[string]string
	Body   string
}

// Recorder stands in for AWS behind the real AWS CLI: commands run by Run reach it as their
// HTTP proxy (so the host prefixes some services add, like S3 Control's account id, need no
// DNS), it records every request and answers with what the test's function says.
type Recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []Request
	answer func(Request) Answer
}

// NewRecorder starts a recorder; it stops when the test ends.
func NewRecorder(t testing.TB, answer func(Request) Answer) *Recorder {
	t.Helper()
	r := &Recorder{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *Recorder) serve(w http.ResponseWriter, hr *http.Request) {
	body, _ := io.ReadAll(hr.Body)
	req := Request{Method: hr.Method, Host: hr.Host, Path: hr.URL.Path, Query: hr.URL.Query(), Header: hr.Header.Clone(), Body: string(body)}
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	a := r.answer(req)
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
}

// Requests returns the requests recorded so far.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Run runs script with bash, where `aws` is the real AWS CLI pointed at the recorder (each
// call gets --endpoint-url http://aws.invalid and goes through the recorder as its proxy),
// with test credentials, region us-east-1, no config files, one attempt per call, and env
// added to the environment. It returns stdout, stderr and the script's error.
func (r *Recorder) Run(t testing.TB, script string, env ...string) (stdout, stderr string, err error) {
	t.Helper()
	cli := AWSCLI(t)
	prelude := `aws() { "$SHIPSHAPE_AWS_CLI" --endpoint-url http://aws.invalid "$@"; }` + "\nset -euo pipefail\n"
	cmd := exec.Command("bash", "-c", prelude+script)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "SHIPSHAPE_AWS_CLI=" + cli,
		"HTTP_PROXY=" + r.srv.URL, "http_proxy=" + r.srv.URL, "NO_PROXY=", "no_proxy=",
		"AWS_ACCESS_KEY_ID=AKIDRECORDER", "AWS_SECRET_ACCESS_KEY=recorder", "AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
	}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// ShellBlock returns the fenced code block that follows the line holding marker in a
// Markdown file, so that a test runs the very command the documentation shows.
func ShellBlock(t testing.TB, path, marker string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("%s has no %q", path, marker)
	}
	rest := text[i:]
	open := strings.Index(rest, "```")
	if open < 0 {
		t.Fatalf("%s: no code block after %q", path, marker)
	}
	rest = rest[open+3:]
	rest = rest[strings.Index(rest, "\n")+1:] // past the info string
	end := strings.Index(rest, "```")
	if end < 0 {
		t.Fatalf("%s: the code block after %q is not closed", path, marker)
	}
	return rest[:end]
}
