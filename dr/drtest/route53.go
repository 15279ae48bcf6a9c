package drtest

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/fakeapi"
)

// Route 53 operation names for Fail and Calls.
const (
	OpChangeRecords = "ChangeResourceRecordSets"
	OpListRecords   = "ListResourceRecordSets"
	OpGetChange     = "GetChange"
)

// Route53 is a stateful fake of the Route 53 record calls dr uses, with Route 53's rules: a
// record must be inside its zone, CREATE refuses an existing record, DELETE needs the exact
// record (TTL and values), a change is PENDING for ChangeTime, then INSYNC; the modeled
// errors (NoSuchHostedZone, InvalidChangeBatch, NoSuchChange). It is safe for concurrent use.
type Route53 struct {
	fakeapi.Script
	// ChangeTime is how long a change stays PENDING. Default: 30 s.
	ChangeTime time.Duration

	clock   *clocktest.Clock
	mu      sync.Mutex
	zones   map[string]*zone
	changes map[string]time.Time // id -> when it is INSYNC
}

type zone struct {
	name    string // with the trailing dot
	records map[string]r53.ResourceRecordSet
}

// NewRoute53 returns an empty fake on clock (nil: a new one).
func NewRoute53(clock *clocktest.Clock) *Route53 {
	if clock == nil {
		clock = clocktest.New()
	}
	f := &Route53{clock: clock}
	f.Reset()
	return f
}

// Reset removes every zone, change, fault and recorded call.
func (f *Route53) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Script.Reset()
	f.ChangeTime = 30 * time.Second
	f.zones, f.changes = map[string]*zone{}, map[string]time.Time{}
}

func fqdn(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) + "." }

// AddZone adds a hosted zone (e.g. "Z0123", "internal.example.com").
func (f *Route53) AddZone(id, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.zones[id] = &zone{name: fqdn(name), records: map[string]r53.ResourceRecordSet{}}
}

// Record returns the values of a CNAME record ("" when there is none).
func (f *Route53) Record(zoneID, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	z := f.zones[zoneID]
	if z == nil {
		return ""
	}
	rr, ok := z.records[fqdn(name)+" CNAME"]
	if !ok || len(rr.ResourceRecords) == 0 {
		return ""
	}
	return aws.ToString(rr.ResourceRecords[0].Value)
}

// Names returns every record name of a zone, sorted.
func (f *Route53) Names(zoneID string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	if z := f.zones[zoneID]; z != nil {
		for _, rr := range z.records {
			out = append(out, aws.ToString(rr.Name))
		}
	}
	sort.Strings(out)
	return out
}

func zoneID(id *string) string { return strings.TrimPrefix(aws.ToString(id), "/hostedzone/") }

// zone is the hosted zone id names ("Z0123" or "/hostedzone/Z0123"). Needs the lock.
func (f *Route53) zone(id *string) (*zone, error) {
	z := f.zones[zoneID(id)]
	if z == nil {
		return nil, &r53.NoSuchHostedZone{Message: aws.String("No hosted zone found with ID: " + zoneID(id))}
	}
	return z, nil
}

func invalidBatch(msg string) error {
	return &r53.InvalidChangeBatch{Message: aws.String(msg), Messages: []string{msg}}
}

// ChangeResourceRecordSets applies a batch atomically (all or nothing).
func (f *Route53) ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	if err := fakeapi.Call(ctx, &f.Script, OpChangeRecords, in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	z, err := f.zone(in.HostedZoneId)
	if err != nil {
		return nil, err
	}
	if in.ChangeBatch == nil || len(in.ChangeBatch.Changes) == 0 {
		return nil, invalidBatch("the change batch is empty")
	}
	next := map[string]r53.ResourceRecordSet{}
	for k, v := range z.records {
		next[k] = v
	}
	for _, c := range in.ChangeBatch.Changes {
		rr := c.ResourceRecordSet
		if rr == nil {
			return nil, invalidBatch("a change has no record set")
		}
		name := fqdn(aws.ToString(rr.Name))
		switch {
		case name != z.name && !strings.HasSuffix(name, "."+z.name):
			return nil, invalidBatch("RRSet with DNS name " + name + " is not permitted in zone " + z.name)
		case rr.Type == r53.RRTypeCname && name == z.name:
			return nil, invalidBatch("RRSet of type CNAME with DNS name " + name + " is not permitted at apex in zone " + z.name)
		}
		key := name + " " + string(rr.Type)
		stored := *rr
		stored.Name = aws.String(name)
		old, exists := next[key]
		switch c.Action {
		case r53.ChangeActionCreate:
			if exists {
				return nil, invalidBatch("Tried to create resource record set [name='" + name + "', type='" + string(rr.Type) + "'] but it already exists")
			}
			next[key] = stored
		case r53.ChangeActionUpsert:
			next[key] = stored
		case r53.ChangeActionDelete:
			if !exists || aws.ToInt64(old.TTL) != aws.ToInt64(rr.TTL) || !sameValues(old.ResourceRecords, rr.ResourceRecords) {
				return nil, invalidBatch("Tried to delete resource record set [name='" + name + "', type='" + string(rr.Type) + "'] but it was not found")
			}
			delete(next, key)
		default:
			return nil, invalidBatch("unknown action " + string(c.Action))
		}
	}
	z.records = next
	id := "/change/C" + strconv.Itoa(len(f.changes)+1)
	f.changes[id] = f.clock.Now().Add(f.ChangeTime)
	return &route53.ChangeResourceRecordSetsOutput{ChangeInfo: f.info(id)}, nil
}

func sameValues(a, b []r53.ResourceRecord) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if aws.ToString(a[i].Value) != aws.ToString(b[i].Value) {
			return false
		}
	}
	return true
}

// info describes a change. Needs the lock.
func (f *Route53) info(id string) *r53.ChangeInfo {
	status := r53.ChangeStatusInsync
	if f.clock.Now().Before(f.changes[id]) {
		status = r53.ChangeStatusPending
	}
	return &r53.ChangeInfo{Id: aws.String(id), Status: status, SubmittedAt: aws.Time(f.clock.Now())}
}

// ListResourceRecordSets lists a zone's records in name and type order from a start.
func (f *Route53) ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error) {
	if err := fakeapi.Call(ctx, &f.Script, OpListRecords, in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	z, err := f.zone(in.HostedZoneId)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range z.records {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	start := ""
	if in.StartRecordName != nil {
		start = fqdn(aws.ToString(in.StartRecordName)) + " " + string(in.StartRecordType)
	}
	limit := int(aws.ToInt32(in.MaxItems))
	if limit <= 0 || limit > 300 {
		limit = 300
	}
	out := &route53.ListResourceRecordSetsOutput{MaxItems: aws.Int32(int32(limit))}
	for _, k := range keys {
		if k < start {
			continue
		}
		if len(out.ResourceRecordSets) == limit {
			out.IsTruncated = true
			rr := z.records[k]
			out.NextRecordName, out.NextRecordType = rr.Name, rr.Type
			break
		}
		out.ResourceRecordSets = append(out.ResourceRecordSets, z.records[k])
	}
	return out, nil
}

// GetChange says whether a change is PENDING or INSYNC.
func (f *Route53) GetChange(ctx context.Context, in *route53.GetChangeInput, _ ...func(*route53.Options)) (*route53.GetChangeOutput, error) {
	if err := fakeapi.Call(ctx, &f.Script, OpGetChange, in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.Id)
	if !strings.HasPrefix(id, "/change/") {
		id = "/change/" + id
	}
	if _, ok := f.changes[id]; !ok {
		return nil, &r53.NoSuchChange{Message: aws.String("A change with the specified change ID does not exist.")}
	}
	return &route53.GetChangeOutput{ChangeInfo: f.info(id)}, nil
}

const r53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

// Route53WireServer serves a Route53 fake in Route 53's own wire protocol (REST-XML:
// POST /2013-04-01/hostedzone/{Id}/rrset/ with an XML change batch, GET .../rrset?name=&type=
// &maxitems=, GET /2013-04-01/change/{Id}; errors as <ErrorResponse> or <InvalidChangeBatch>),
// for a real *route53.Client or a binary given AWS_ENDPOINT_URL_ROUTE_53=URL.
type Route53WireServer struct {
	*fakeapi.WireServer
	fake *Route53
}

// NewRoute53WireServer starts a Route53WireServer in front of fake; Close it when done.
func NewRoute53WireServer(fake *Route53) *Route53WireServer {
	w := &Route53WireServer{fake: fake}
	w.WireServer = fakeapi.NewWireServer(w.serve)
	w.Start()
	return w
}

// Client returns a real SDK client for the server (static credentials).
func (w *Route53WireServer) Client(optFns ...func(*route53.Options)) *route53.Client {
	return route53.New(route53.Options{BaseEndpoint: aws.String(w.URL), Region: "us-east-1", HTTPClient: fakeapi.HTTPClient(),
		Credentials: fakeapi.Credentials()}, optFns...)
}

// Requests returns "METHOD path" of every request received, in order.
func (w *Route53WireServer) Requests() []string { return w.WireServer.Requests() }

type xmlRecord struct {
	Name            string   `xml:"Name"`
	Type            string   `xml:"Type"`
	TTL             *int64   `xml:"TTL"`
	ResourceRecords []string `xml:"ResourceRecords>ResourceRecord>Value"`
}

type xmlChangeRequest struct {
	XMLName xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	Comment string   `xml:"ChangeBatch>Comment"`
	Changes []struct {
		Action string    `xml:"Action"`
		Record xmlRecord `xml:"ResourceRecordSet"`
	} `xml:"ChangeBatch>Changes>Change"`
}

func (r xmlRecord) sdk() *r53.ResourceRecordSet {
	rr := &r53.ResourceRecordSet{Name: aws.String(r.Name), Type: r53.RRType(r.Type), TTL: r.TTL}
	for _, v := range r.ResourceRecords {
		rr.ResourceRecords = append(rr.ResourceRecords, r53.ResourceRecord{Value: aws.String(v)})
	}
	return rr
}

func changeInfoXML(c *r53.ChangeInfo) string {
	return fmt.Sprintf("<ChangeInfo><Id>%s</Id><Status>%s</Status><SubmittedAt>%s</SubmittedAt></ChangeInfo>",
		esc(aws.ToString(c.Id)), c.Status, aws.ToTime(c.SubmittedAt).UTC().Format(time.RFC3339))
}

func (w *Route53WireServer) serve(rw http.ResponseWriter, r *http.Request) {
	w.Record(r.Method + " " + r.URL.Path)
	path := strings.TrimPrefix(r.URL.Path, "/2013-04-01")
	ctx := r.Context()
	var body string
	var err error
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/hostedzone/") && strings.HasSuffix(strings.TrimSuffix(path, "/"), "/rrset"):
		id := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(path, "/hostedzone/"), "/"), "/rrset")
		raw, _ := io.ReadAll(r.Body)
		var req xmlChangeRequest
		if xerr := xml.Unmarshal(raw, &req); xerr != nil {
			writeR53Error(rw, http.StatusBadRequest, "MalformedXML", xerr.Error())
			return
		}
		in := &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(id), ChangeBatch: &r53.ChangeBatch{Comment: aws.String(req.Comment)}}
		for _, c := range req.Changes {
			in.ChangeBatch.Changes = append(in.ChangeBatch.Changes, r53.Change{Action: r53.ChangeAction(c.Action), ResourceRecordSet: c.Record.sdk()})
		}
		var out *route53.ChangeResourceRecordSetsOutput
		if out, err = w.fake.ChangeResourceRecordSets(ctx, in); err == nil {
			body = fmt.Sprintf(`<ChangeResourceRecordSetsResponse xmlns="%s">%s</ChangeResourceRecordSetsResponse>`, r53NS, changeInfoXML(out.ChangeInfo))
		}
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/hostedzone/") && strings.HasSuffix(path, "/rrset"):
		q := r.URL.Query()
		in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(strings.TrimSuffix(strings.TrimPrefix(path, "/hostedzone/"), "/rrset"))}
		if v := q.Get("name"); v != "" {
			in.StartRecordName = aws.String(v)
		}
		in.StartRecordType = r53.RRType(q.Get("type"))
		if n, perr := strconv.Atoi(q.Get("maxitems")); perr == nil {
			in.MaxItems = aws.Int32(int32(n))
		}
		var out *route53.ListResourceRecordSetsOutput
		if out, err = w.fake.ListResourceRecordSets(ctx, in); err == nil {
			var b strings.Builder
			for _, rr := range out.ResourceRecordSets {
				fmt.Fprintf(&b, "<ResourceRecordSet><Name>%s</Name><Type>%s</Type>", esc(aws.ToString(rr.Name)), rr.Type)
				if rr.TTL != nil {
					fmt.Fprintf(&b, "<TTL>%d</TTL>", *rr.TTL)
				}
				b.WriteString("<ResourceRecords>")
				for _, v := range rr.ResourceRecords {
					fmt.Fprintf(&b, "<ResourceRecord><Value>%s</Value></ResourceRecord>", esc(aws.ToString(v.Value)))
				}
				b.WriteString("</ResourceRecords></ResourceRecordSet>")
			}
			next := ""
			if out.IsTruncated {
				next = fmt.Sprintf("<NextRecordName>%s</NextRecordName><NextRecordType>%s</NextRecordType>", esc(aws.ToString(out.NextRecordName)), out.NextRecordType)
			}
			body = fmt.Sprintf(`<ListResourceRecordSetsResponse xmlns="%s"><ResourceRecordSets>%s</ResourceRecordSets><IsTruncated>%t</IsTruncated>%s<MaxItems>%d</MaxItems></ListResourceRecordSetsResponse>`,
				r53NS, b.String(), out.IsTruncated, next, aws.ToInt32(out.MaxItems))
		}
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/change/"):
		var out *route53.GetChangeOutput
		if out, err = w.fake.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(strings.TrimPrefix(path, "/change/"))}); err == nil {
			body = fmt.Sprintf(`<GetChangeResponse xmlns="%s">%s</GetChangeResponse>`, r53NS, changeInfoXML(out.ChangeInfo))
		}
	default:
		writeR53Error(rw, http.StatusNotFound, "UnknownOperationException", r.Method+" "+r.URL.Path)
		return
	}
	if err != nil {
		var batch *r53.InvalidChangeBatch
		var apiErr smithy.APIError
		switch {
		case errors.As(err, &batch):
			rw.Header().Set("Content-Type", "text/xml")
			rw.WriteHeader(http.StatusBadRequest)
			var msgs strings.Builder
			for _, m := range batch.Messages {
				fmt.Fprintf(&msgs, "<Message>%s</Message>", esc(m))
			}
			fmt.Fprintf(rw, `<InvalidChangeBatch xmlns="%s"><Messages>%s</Messages><RequestId>0</RequestId></InvalidChangeBatch>`, r53NS, msgs.String())
		case errors.As(err, &apiErr):
			status := http.StatusBadRequest
			if strings.HasPrefix(apiErr.ErrorCode(), "NoSuch") {
				status = http.StatusNotFound
			} else if apiErr.ErrorFault() == smithy.FaultServer {
				status = http.StatusServiceUnavailable
			}
			writeR53Error(rw, status, apiErr.ErrorCode(), apiErr.ErrorMessage())
		default:
			writeR53Error(rw, http.StatusInternalServerError, "InternalFailure", err.Error())
		}
		return
	}
	rw.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(rw, body)
}

func writeR53Error(rw http.ResponseWriter, status int, code, message string) {
	rw.Header().Set("Content-Type", "text/xml")
	rw.WriteHeader(status)
	kind := "Sender"
	if status >= 500 {
		kind = "Receiver"
	}
	fmt.Fprintf(rw, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>0</RequestId></ErrorResponse>`,
		r53NS, kind, esc(code), esc(message))
}
