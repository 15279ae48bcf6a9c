// Package clitest helps the example binaries' tests prove that a usage error makes no
// request: Recorder points every AWS endpoint and instance metadata at one local server that
// counts what reaches it.
package clitest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/fakeapi"
)

// Recorder is a local HTTP server that answers 500 to everything and remembers each request:
// its Requests are "GET /path?query", its URL is where the environment points.
type Recorder struct {
	*fakeapi.WireServer
}

// NewRecorder starts a Recorder and points the standard AWS SDK environment at it for the
// rest of the test (t.Setenv, so the test must not run in parallel): AWS_ENDPOINT_URL,
// AWS_EC2_METADATA_SERVICE_ENDPOINT, a region, static credentials, and empty shared config
// files, so nothing on the machine is read.
func NewRecorder(t *testing.T) *Recorder {
	t.Helper()
	r := &Recorder{}
	r.WireServer = fakeapi.NewWireServer(func(w http.ResponseWriter, req *http.Request) {
		r.Record(req.Method + " " + req.URL.String())
		http.Error(w, "clitest.Recorder: no request was expected", http.StatusInternalServerError)
	})
	r.Start()
	t.Cleanup(r.Close)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":                  r.URL,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": r.URL + "/",
		"AWS_REGION":                        "us-east-1",
		"AWS_ACCESS_KEY_ID":                 "AKIDCLITEST",
		"AWS_SECRET_ACCESS_KEY":             "clitest-secret",
		"AWS_SESSION_TOKEN":                 "",
		"AWS_PROFILE":                       "",
		"AWS_CONFIG_FILE":                   "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE":       "/dev/null",
	} {
		t.Setenv(k, v)
	}
	return r
}

// UsageCase is one bad invocation of a binary.
type UsageCase struct {
	Args []string
	Env  map[string]string
	// Flag is what the one-line message must name (e.g. "-timeout"), case-sensitive.
	Flag string
}

// Name is a readable subtest name.
func (c UsageCase) Name() string {
	parts := append([]string(nil), c.Args...)
	for k, v := range c.Env {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

// CheckUsage runs each case through run (which returns the exit code and what went to
// stderr) and asserts exit 2, exactly one line on stderr that names the flag, and no request
// to the Recorder.
func CheckUsage(t *testing.T, cases []UsageCase, run func(args []string) (code int, stderr string)) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			rec := NewRecorder(t)
			for k, v := range c.Env {
				t.Setenv(k, v)
			}
			code, stderr := run(c.Args)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (usage error); stderr:\n%s", code, stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || lines[0] == "" {
				t.Errorf("want exactly one line on stderr, got %d:\n%s", len(lines), stderr)
			}
			if !strings.Contains(stderr, c.Flag) {
				t.Errorf("the message does not name %s:\n%s", c.Flag, stderr)
			}
			if reqs := rec.Requests(); len(reqs) > 0 {
				t.Errorf("a usage error made %d request(s): %v", len(reqs), reqs)
			}
		})
	}
}
