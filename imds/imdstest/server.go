// Package imdstest is an in-process EC2 instance metadata service (IMDS) for tests: an
// httptest server with IMDSv2 session tokens, an instance role with rotating credentials,
// instance id, region, identity document, Spot and rebalance notices, the Auto Scaling
// target lifecycle state and instance tags, plus fault injection (dropped token PUT, 401,
// 429, 5xx, delays, N failures) and a count of every request.
//
// It is safe for concurrent use and for parallel tests (each Server has its own state).
// Point an imds.Client at it with imds.Options.Endpoint = srv.URL.
package imdstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/imds"
)

// Options are the optional settings of a Server.
type Options struct {
	// Clock is the time of token and credential lifetimes: give the server the clock the
	// imds.Client under test uses (clocktest.NewManual). Default: the wall clock.
	Clock interface{ Now() time.Time }
}

// Fault changes how the server answers matching requests.
type Fault struct {
	// Method and Path select requests ("" matches any). Path is exact, e.g.
	// "/latest/api/token".
	Method, Path string
	// Status answers with this HTTP status and an empty body (401, 429, 500, 503, ...).
	Status int
	// RetryAfter, with Status, sets the Retry-After header.
	RetryAfter string
	// Drop never answers: the request is held until the client gives up (as a container
	// with hop limit 1 sees the token PUT).
	Drop bool
	// Delay waits this long (real time) before answering normally or with Status.
	Delay time.Duration
	// Times is how many matching requests the fault applies to; 0 means until ClearFaults.
	Times int
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Status int // 0 when the request was dropped
	Token  bool
}

// Server is a fake IMDS. Its zero state (after NewServer or Reset) serves IMDSv2 only, with
// role "shipshape-test-role", credentials valid 6 hours and rotated 30 minutes before they
// expire, instance "i-0123456789abcdef0" in us-east-1a, no Spot or rebalance notice, target
// lifecycle state InService, no scheduled maintenance, and tags Name=shipshape-test.
type Server struct {
	URL string

	ts      *httptest.Server
	now     func() time.Time
	closing chan struct{}

	mu           sync.Mutex
	imdsv1       bool
	tokens       map[string]time.Time
	role         string
	creds        imds.Credentials
	fixedCreds   bool
	lifetime     time.Duration
	rotateBefore time.Duration
	minted       int
	instanceID   string
	region, az   string
	doc          *imds.IdentityDocument
	spot         imds.SpotAction
	rebalance    time.Time
	lifecycle    imds.LifecycleState
	maintenance  []imds.MaintenanceEvent
	tags         map[string]string
	bodies       map[string]rawBody
	faults       []*Fault
	requests     []Request
}

type rawBody struct {
	status int
	body   string
}

// NewServer starts a Server; Close it when done (t.Cleanup(srv.Close)).
func NewServer(optFns ...func(*Options)) *Server {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	s := &Server{now: o.Clock.Now, closing: make(chan struct{})}
	s.Reset()
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	return s
}

// Close stops the server, releasing any dropped requests.
func (s *Server) Close() {
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	s.ts.Close()
}

// Reset restores the default state and clears faults, tokens and the request log.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.imdsv1 = false
	s.tokens = make(map[string]time.Time)
	s.role = "shipshape-test-role"
	s.creds, s.fixedCreds, s.minted = imds.Credentials{}, false, 0
	s.lifetime, s.rotateBefore = 6*time.Hour, 30*time.Minute
	s.instanceID, s.region, s.az = "i-0123456789abcdef0", "us-east-1", "us-east-1a"
	s.doc = nil
	s.spot = imds.SpotAction{Action: imds.SpotNone}
	s.rebalance = time.Time{}
	s.lifecycle = imds.LifecycleInService
	s.maintenance = nil
	s.tags = map[string]string{"Name": "shipshape-test"}
	s.bodies = make(map[string]rawBody)
	s.faults = nil
	s.requests = nil
}

// SetMaintenance sets the scheduled maintenance events, served as IMDS writes them (times
// like "21 Jan 2019 09:00:43 GMT"); none (the default) is a 404. An event's BadTimes, when
// set, are served instead of its times, to test unreadable ones.
func (s *Server) SetMaintenance(events ...imds.MaintenanceEvent) {
	s.locked(func() { s.maintenance = slices.Clone(events) })
}

// SetIMDSv1 allows (true) or refuses (false, the default) requests without a token.
func (s *Server) SetIMDSv1(allowed bool) { s.locked(func() { s.imdsv1 = allowed }) }

// SetRole sets the instance profile's role; "" means no role attached.
func (s *Server) SetRole(name string) { s.locked(func() { s.role = name }) }

// SetCredentials serves exactly c (no rotation) from now on.
func (s *Server) SetCredentials(c imds.Credentials) {
	s.locked(func() { s.creds, s.fixedCreds = c, true })
}

// SetCredentialLifetime makes the server mint new credentials (a new AccessKeyId) valid for
// lifetime whenever the current ones have less than rotateBefore left, as IMDS does.
func (s *Server) SetCredentialLifetime(lifetime, rotateBefore time.Duration) {
	s.locked(func() { s.lifetime, s.rotateBefore, s.fixedCreds = lifetime, rotateBefore, false })
}

// CurrentCredentials returns the credentials the server serves now (minting them if due).
func (s *Server) CurrentCredentials() imds.Credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.currentCreds()
}

// Minted is how many credential sets the server has minted.
func (s *Server) Minted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minted
}

// SetInstance sets the instance id, region and availability zone.
func (s *Server) SetInstance(instanceID, region, az string) {
	s.locked(func() { s.instanceID, s.region, s.az = instanceID, region, az })
}

// SetIdentityDocument serves doc instead of one derived from SetInstance.
func (s *Server) SetIdentityDocument(doc imds.IdentityDocument) { s.locked(func() { s.doc = &doc }) }

// SetSpotAction publishes a Spot interruption notice; Action SpotNone withdraws it (404).
func (s *Server) SetSpotAction(a imds.SpotAction) { s.locked(func() { s.spot = a }) }

// SetRebalance publishes a rebalance recommendation; the zero time withdraws it (404).
func (s *Server) SetRebalance(noticeTime time.Time) { s.locked(func() { s.rebalance = noticeTime }) }

// SetLifecycleState sets the Auto Scaling target lifecycle state; "" means none (404).
func (s *Server) SetLifecycleState(state imds.LifecycleState) {
	s.locked(func() { s.lifecycle = state })
}

// SetTags sets the instance tags; nil means tags are not enabled in metadata (404).
func (s *Server) SetTags(tags map[string]string) {
	s.locked(func() {
		s.tags = nil
		if tags != nil {
			s.tags = make(map[string]string, len(tags))
			for k, v := range tags {
				s.tags[k] = v
			}
		}
	})
}

// SetBody makes path answer status with body verbatim (after the token check), for bad
// input: HTML from a proxy, broken JSON, several role names, huge bodies.
func (s *Server) SetBody(path string, status int, body string) {
	s.locked(func() { s.bodies[path] = rawBody{status, body} })
}

// AddFault adds a fault; faults are matched in the order added.
func (s *Server) AddFault(f Fault) { s.locked(func() { s.faults = append(s.faults, &f) }) }

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.locked(func() { s.faults = nil }) }

// InvalidateTokens forgets every issued token, as an IMDS restart would: the next request
// with an old token gets 401.
func (s *Server) InvalidateTokens() {
	s.locked(func() { s.tokens = make(map[string]time.Time) })
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests matched method and path ("" matches any) and, when
// status is not 0, answered with that status.
func (s *Server) Count(method, path string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if (method == "" || r.Method == method) && (path == "" || r.Path == path) && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

// ResetRequests clears the request log.
func (s *Server) ResetRequests() { s.locked(func() { s.requests = nil }) }

func (s *Server) locked(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// currentCreds returns the served credentials, minting new ones when due. Needs s.mu.
func (s *Server) currentCreds() imds.Credentials {
	if s.fixedCreds {
		return s.creds
	}
	now := s.now()
	if s.creds.AccessKeyID == "" || !now.Before(s.creds.Expiration.Add(-s.rotateBefore)) {
		s.minted++
		s.creds = imds.Credentials{
			AccessKeyID:     fmt.Sprintf("ASIATEST%012d", s.minted),
			SecretAccessKey: "secret-" + randomHex(16),
			Token:           "token-" + randomHex(32),
			Expiration:      now.Add(s.lifetime).UTC().Truncate(time.Second),
			LastUpdated:     now.UTC().Truncate(time.Second),
			Type:            "AWS-HMAC",
		}
	}
	return s.creds
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// takeFault returns the first fault matching r, consuming one of its Times. Needs s.mu.
func (s *Server) takeFault(r *http.Request) *Fault {
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && (f.Path == "" || f.Path == r.URL.Path) {
			fault := *f
			if f.Times > 0 {
				f.Times--
				if f.Times == 0 {
					s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
				}
			}
			return &fault
		}
	}
	return nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fault := s.takeFault(r)
	s.mu.Unlock()
	rec := Request{Method: r.Method, Path: r.URL.Path, Token: r.Header.Get("X-aws-ec2-metadata-token") != ""}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
	}()

	if fault != nil {
		if fault.Delay > 0 {
			select {
			case <-time.After(fault.Delay):
			case <-r.Context().Done():
				return
			case <-s.closing:
				return
			}
		}
		if fault.Drop {
			select {
			case <-r.Context().Done():
			case <-s.closing:
			}
			return
		}
		if fault.Status != 0 {
			if fault.RetryAfter != "" {
				w.Header().Set("Retry-After", fault.RetryAfter)
			}
			rec.Status = fault.Status
			w.WriteHeader(fault.Status)
			return
		}
	}
	rec.Status = s.answer(w, r)
}

// answer writes the normal answer to r and returns its status.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	text := func(status int, body string) int {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "text/plain")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return status
	}

	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			return text(http.StatusMethodNotAllowed, "")
		}
		ttl, err := strconv.Atoi(r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
		if err != nil || ttl < 1 || ttl > 21600 {
			return text(http.StatusBadRequest, "")
		}
		tok := randomHex(24)
		s.tokens[tok] = now.Add(time.Duration(ttl) * time.Second)
		w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", strconv.Itoa(ttl))
		return text(http.StatusOK, tok)
	}
	if r.Method != http.MethodGet {
		return text(http.StatusMethodNotAllowed, "")
	}
	tok := r.Header.Get("X-aws-ec2-metadata-token")
	if tok != "" {
		if exp, ok := s.tokens[tok]; !ok || !now.Before(exp) {
			return text(http.StatusUnauthorized, "")
		}
	} else if !s.imdsv1 {
		return text(http.StatusUnauthorized, "")
	}

	if b, ok := s.bodies[r.URL.Path]; ok {
		return text(b.status, b.body)
	}
	body, status := s.metadata(r.URL.Path, now)
	if status == http.StatusOK && strings.HasPrefix(body, "{") {
		w.Header().Set("Content-Type", "application/json")
	}
	return text(status, body)
}

// metadata returns the body of a metadata path. Needs s.mu.
func (s *Server) metadata(path string, now time.Time) (string, int) {
	notFound := func() (string, int) { return "", http.StatusNotFound }
	js := func(v any) (string, int) {
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b), http.StatusOK
	}
	const creds = "/latest/meta-data/iam/security-credentials"
	switch {
	case path == "/latest/meta-data/instance-id":
		return s.instanceID, http.StatusOK
	case path == "/latest/meta-data/placement/region":
		return s.region, http.StatusOK
	case path == "/latest/meta-data/placement/availability-zone":
		return s.az, http.StatusOK
	case path == "/latest/dynamic/instance-identity/document":
		if s.doc != nil {
			return js(s.doc)
		}
		return js(imds.IdentityDocument{
			AccountID: "123456789012", Architecture: "x86_64", AvailabilityZone: s.az, ImageID: "ami-0123456789abcdef0",
			InstanceID: s.instanceID, InstanceType: "m5.large", PendingTime: now.Add(-time.Hour).UTC().Truncate(time.Second),
			PrivateIP: "10.0.0.10", Region: s.region, Version: "2017-09-30",
		})
	case path == creds || path == creds+"/":
		if s.role == "" {
			return notFound()
		}
		return s.role, http.StatusOK
	case strings.HasPrefix(path, creds+"/"):
		if s.role == "" || strings.TrimPrefix(path, creds+"/") != s.role {
			return notFound()
		}
		c := s.currentCreds()
		return js(map[string]string{
			"Code": "Success", "LastUpdated": c.LastUpdated.UTC().Format(time.RFC3339), "Type": "AWS-HMAC",
			"AccessKeyId": c.AccessKeyID, "SecretAccessKey": c.SecretAccessKey, "Token": c.Token,
			"Expiration": c.Expiration.UTC().Format(time.RFC3339),
		})
	case path == "/latest/meta-data/spot/instance-action":
		if s.spot.Action == imds.SpotNone || s.spot.Action == "" {
			return notFound()
		}
		return js(map[string]string{"action": string(s.spot.Action), "time": s.spot.Time.UTC().Format(time.RFC3339)})
	case path == "/latest/meta-data/events/recommendations/rebalance":
		if s.rebalance.IsZero() {
			return notFound()
		}
		return js(map[string]string{"noticeTime": s.rebalance.UTC().Format(time.RFC3339)})
	case path == "/latest/meta-data/events/maintenance/scheduled":
		if len(s.maintenance) == 0 {
			return notFound()
		}
		list := make([]map[string]string, 0, len(s.maintenance))
		for _, e := range s.maintenance {
			m := map[string]string{"Code": string(e.Code), "Description": e.Description, "EventId": e.EventID, "State": string(e.State)}
			for name, t := range map[string]time.Time{"NotBefore": e.NotBefore, "NotAfter": e.NotAfter, "NotBeforeDeadline": e.NotBeforeDeadline} {
				if bad, ok := e.BadTimes[name]; ok {
					m[name] = bad
				} else if !t.IsZero() {
					m[name] = t.UTC().Format("2 Jan 2006 15:04:05 GMT")
				}
			}
			list = append(list, m)
		}
		return js(list)
	case path == "/latest/meta-data/autoscaling/target-lifecycle-state":
		if s.lifecycle == imds.LifecycleNone {
			return notFound()
		}
		return string(s.lifecycle), http.StatusOK
	case path == "/latest/meta-data/tags/instance" || path == "/latest/meta-data/tags/instance/":
		if s.tags == nil {
			return notFound()
		}
		keys := make([]string, 0, len(s.tags))
		for k := range s.tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return strings.Join(keys, "\n"), http.StatusOK
	case strings.HasPrefix(path, "/latest/meta-data/tags/instance/"):
		v, ok := s.tags[strings.TrimPrefix(path, "/latest/meta-data/tags/instance/")]
		if !ok {
			return notFound()
		}
		return v, http.StatusOK
	case path == "/latest/meta-data/" || path == "/latest/meta-data":
		return "ami-id\nautoscaling/\nevents/\niam/\ninstance-id\nplacement/\nspot/\ntags/", http.StatusOK
	}
	return notFound()
}
