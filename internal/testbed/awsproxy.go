package testbed

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// AWSProxy stands between a binary and the local AWS (moto), which makes everything
// available at once and never fails: it records every operation and, when a test asks,
// refuses a call, loses an answer after the call took effect, or rewrites an answer (an
// instance kept "creating"). It understands the three AWS protocols by their requests: the
// JSON protocol's X-Amz-Target, the query protocol's Action, and REST paths (S3, Route 53),
// which it names METHOD /path.
type AWSProxy struct {
	URL string

	mu      sync.Mutex
	ops     []string
	forms   map[string][]url.Values // query-protocol requests by operation, as the client sent them
	rules   map[string][]*rule
	targetU *url.URL
}

type rule struct {
	times   int // 0: every time
	refuse  *apiFault
	lose    bool
	rewrite func([]byte) []byte
	request func(url.Values) // query protocol: edits the request's form before it is passed on
	answer  []byte           // answered without passing the call on
}

type apiFault struct {
	status        int
	code, message string
}

// NewAWSProxy starts a proxy in front of target (the local AWS's URL) for the test's life.
func NewAWSProxy(t testing.TB, target string) *AWSProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("AWS proxy target %q: %v", target, err)
	}
	p := &AWSProxy{rules: map[string][]*rule{}, forms: map[string][]url.Values{}, targetU: u}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Refuse answers the next times calls of op (0: every call) with an AWS error, without
// passing them on: status 400 for a client error such as ThrottlingException, 500 or 503 for
// a server error.
func (p *AWSProxy) Refuse(op string, times, status int, code, message string) {
	p.add(op, &rule{times: times, refuse: &apiFault{status: status, code: code, message: message}})
}

// LoseAnswer passes the next times calls of op (0: every call) on, so that they take effect,
// and then answers 500 InternalFailure instead of what the service said.
func (p *AWSProxy) LoseAnswer(op string, times int) {
	p.add(op, &rule{times: times, lose: true})
}

// Rewrite passes calls of op on and edits the body of the answer (every call while the rule
// stands; Clear removes it).
func (p *AWSProxy) Rewrite(op string, edit func(body []byte) []byte) {
	p.add(op, &rule{rewrite: edit})
}

// RewriteRequest edits the form of every query-protocol call of op before it is passed on:
// a test's workaround for a fault of the local AWS itself (the binary's request is recorded
// as it was sent). moto does not check signatures, so the edited request still goes through.
func (p *AWSProxy) RewriteRequest(op string, edit func(form url.Values)) {
	p.add(op, &rule{request: edit})
}

// Answer answers every call of op with body (status 200, XML) without passing it on: the
// documented answer of an operation the local AWS does not implement (moto has no RDS
// DescribeAccountAttributes, for one).
func (p *AWSProxy) Answer(op string, body string) {
	p.add(op, &rule{answer: []byte(body)})
}

// Clear removes every rule for op.
func (p *AWSProxy) Clear(op string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.rules, op)
}

// Calls counts the calls of op that reached the proxy.
func (p *AWSProxy) Calls(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, o := range p.ops {
		if o == op {
			n++
		}
	}
	return n
}

// Forms returns the query-protocol requests of op (RDS, STS, SNS, Auto Scaling...) as the
// client sent them, in order.
func (p *AWSProxy) Forms(op string) []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.forms[op]...)
}

// Ops lists the operations in the order they came.
func (p *AWSProxy) Ops() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.ops...)
}

func (p *AWSProxy) add(op string, r *rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules[op] = append(p.rules[op], r)
}

// take returns the rules that apply to this call of op, using one of each one's times. A
// refusal or an answer ends the list: what comes after it does not apply to this call.
func (p *AWSProxy) take(op string) []*rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ops = append(p.ops, op)
	var out, keep []*rule
	for _, r := range p.rules[op] {
		stop := len(out) > 0 && (out[len(out)-1].refuse != nil || out[len(out)-1].answer != nil)
		if stop {
			keep = append(keep, r)
			continue
		}
		out = append(out, r)
		if r.times > 0 {
			r.times--
			if r.times == 0 {
				continue
			}
		}
		keep = append(keep, r)
	}
	p.rules[op] = keep
	return out
}

// operation names a request: X-Amz-Target's operation (JSON protocol), the Action field
// (query protocol), or METHOD /path (REST).
func operation(r *http.Request, body []byte) (op string, proto protocol) {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		_, name, _ := strings.Cut(target, ".")
		return name, protoJSON
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			return form.Get("Action"), protoQuery
		}
	}
	if a := r.URL.Query().Get("Action"); a != "" {
		return a, protoQuery
	}
	return r.Method + " " + r.URL.Path, protoREST
}

type protocol int

const (
	protoJSON protocol = iota
	protoQuery
	protoREST
)

func (p *AWSProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	op, proto := operation(r, body)
	if proto == protoQuery {
		if form, err := url.ParseQuery(string(body)); err == nil {
			p.mu.Lock()
			p.forms[op] = append(p.forms[op], form)
			p.mu.Unlock()
		}
	}
	rules := p.take(op)
	lose := false
	for _, rl := range rules {
		switch {
		case rl.refuse != nil:
			writeFault(w, proto, *rl.refuse)
			return
		case rl.answer != nil:
			w.Header().Set("Content-Type", "text/xml")
			w.Header().Set("Content-Length", strconv.Itoa(len(rl.answer)))
			_, _ = w.Write(rl.answer)
			return
		case rl.request != nil && proto == protoQuery:
			if form, err := url.ParseQuery(string(body)); err == nil {
				rl.request(form)
				body = []byte(form.Encode())
			}
		case rl.lose:
			lose = true
		}
	}
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	rec := httptest.NewRecorder()
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(p.targetU)
		pr.Out.Host = pr.In.Host // the signature covers the Host header
	}}
	r.Body = io.NopCloser(bytes.NewReader(body))
	proxy.ServeHTTP(rec, r)
	if lose {
		writeFault(w, proto, apiFault{status: http.StatusInternalServerError, code: "InternalFailure",
			message: "the test bed's proxy lost the answer after the call took effect"})
		return
	}
	out := rec.Body.Bytes()
	for _, rl := range rules {
		if rl.rewrite != nil {
			out = rl.rewrite(out)
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(out)
}

// writeFault answers an AWS error in the request's protocol.
func writeFault(w http.ResponseWriter, proto protocol, f apiFault) {
	switch proto {
	case protoJSON:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", f.code)
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, f.code, f.message)
		return
	case protoREST:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `<Error><Code>%s</Code><Message>%s</Message><RequestId>testbed-proxy</RequestId></Error>`, f.code, f.message)
		return
	}
	kind := "Sender"
	if f.status >= 500 {
		kind = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(f.status)
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>testbed-proxy</RequestId></ErrorResponse>`,
		kind, f.code, f.message)
}
