package drtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"

	"github.com/shipshape-dev/shipshape/fakeapi"
)

const rdsNS = "http://rds.amazonaws.com/doc/2014-10-31/"

// WireServer serves an RDS fake over HTTP in RDS's own wire protocol (the AWS query
// protocol: form-encoded POSTs with Action=..., lists as Name.Member.N, XML responses with
// lists as <Name><Member>...</Member></Name>, errors as <ErrorResponse><Error><Code>...), so
// that a real *rds.Client, or a binary given AWS_ENDPOINT_URL_RDS=URL, can be tested
// against it: error codes, pagination markers and retries as the SDK sees them.
type WireServer struct {
	*fakeapi.WireServer
	fake *RDS
}

// NewWireServer starts a WireServer in front of fake; Close it when done.
func NewWireServer(fake *RDS) *WireServer {
	w := &WireServer{fake: fake}
	w.WireServer = fakeapi.NewWireServer(w.serve)
	w.Start()
	return w
}

// Client returns a real SDK client for the server (the fake's region, static credentials).
// The dr types set their own retryer on every call; optFns adjust the client further. Its
// HTTP client is fakeapi.HTTPClient, with which request counts are exact.
func (w *WireServer) Client(optFns ...func(*rds.Options)) *rds.Client {
	return rds.New(rds.Options{BaseEndpoint: aws.String(w.URL), Region: w.fake.Region, HTTPClient: fakeapi.HTTPClient(),
		Credentials: fakeapi.Credentials()}, optFns...)
}

// Actions returns the Action of every request received, in order.
func (w *WireServer) Actions() []string { return w.Requests() }

// Count returns how many requests of action were received.
func (w *WireServer) Count(action string) int {
	n := 0
	for _, a := range w.Actions() {
		if a == action {
			n++
		}
	}
	return n
}

type handler func(ctx context.Context, form url.Values) (any, error)

// wireOp adapts one fake method: the form decodes into its input, its output encodes as XML.
func wireOp[In any, Out any](fn func(context.Context, *In, ...func(*rds.Options)) (*Out, error)) handler {
	return func(ctx context.Context, form url.Values) (any, error) {
		var in In
		decodeForm(form, "", reflect.ValueOf(&in).Elem())
		return fn(ctx, &in)
	}
}

func (w *WireServer) handlers() map[string]handler {
	f := w.fake
	return map[string]handler{
		OpDescribe: wireOp(f.DescribeDBSnapshots),
		OpCopy: func(ctx context.Context, form url.Values) (any, error) {
			var in rds.CopyDBSnapshotInput
			decodeForm(form, "", reflect.ValueOf(&in).Elem())
			in.SourceRegion = presignedRegion(in.PreSignedUrl)
			return f.CopyDBSnapshot(ctx, &in)
		},
		OpDescribeAttrs:            wireOp(f.DescribeDBSnapshotAttributes),
		OpModifyAttribute:          wireOp(f.ModifyDBSnapshotAttribute),
		OpDelete:                   wireOp(f.DeleteDBSnapshot),
		OpAddTags:                  wireOp(f.AddTagsToResource),
		OpRestore:                  wireOp(f.RestoreDBInstanceFromDBSnapshot),
		OpDescribeDB:               wireOp(f.DescribeDBInstances),
		OpDeleteDB:                 wireOp(f.DeleteDBInstance),
		OpCreateSnapshot:           wireOp(f.CreateDBSnapshot),
		OpAccount:                  wireOp(f.DescribeAccountAttributes),
		OpDescribeClusterSnapshots: wireOp(f.DescribeDBClusterSnapshots),
		OpCopyCluster: func(ctx context.Context, form url.Values) (any, error) {
			var in rds.CopyDBClusterSnapshotInput
			decodeForm(form, "", reflect.ValueOf(&in).Elem())
			in.SourceRegion = presignedRegion(in.PreSignedUrl)
			return f.CopyDBClusterSnapshot(ctx, &in)
		},
		OpDescribeClusterAttrs:   wireOp(f.DescribeDBClusterSnapshotAttributes),
		OpModifyClusterAttribute: wireOp(f.ModifyDBClusterSnapshotAttribute),
		OpDeleteCluster:          wireOp(f.DeleteDBClusterSnapshot),
		OpRestoreCluster:         wireOp(f.RestoreDBClusterFromSnapshot),
		OpDescribeClusters:       wireOp(f.DescribeDBClusters),
		OpDeleteDBCluster:        wireOp(f.DeleteDBCluster),
		OpCreateInstance:         wireOp(f.CreateDBInstance),
		OpCreateClusterSnapshot:  wireOp(f.CreateDBClusterSnapshot),
	}
}

// presignedRegion is the source region of a cross-region copy: the SDK does not send
// SourceRegion but a URL presigned in that region (X-Amz-Credential=.../REGION/rds/...), as
// RDS reads it.
func presignedRegion(presigned *string) *string {
	u, err := url.Parse(aws.ToString(presigned))
	if err != nil || presigned == nil {
		return nil
	}
	parts := strings.Split(u.Query().Get("X-Amz-Credential"), "/")
	if len(parts) >= 3 {
		return aws.String(parts[2])
	}
	return nil
}

func (w *WireServer) serve(rw http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		fakeapi.WriteQueryError(rw, http.StatusBadRequest, rdsNS, "Sender", "InvalidRequest", "expected a form-encoded POST")
		return
	}
	action := r.PostForm.Get("Action")
	w.Record(action)
	h, ok := w.handlers()[action]
	if !ok {
		fakeapi.WriteQueryError(rw, http.StatusBadRequest, rdsNS, "Sender", "InvalidAction", "unsupported action "+action)
		return
	}
	out, err := h(r.Context(), r.PostForm)
	if err != nil {
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) {
			fakeapi.WriteQueryError(rw, http.StatusInternalServerError, rdsNS, "Receiver", "InternalFailure", err.Error())
			return
		}
		status, kind := http.StatusBadRequest, "Sender"
		switch {
		case apiErr.ErrorFault() == smithy.FaultServer:
			status, kind = http.StatusServiceUnavailable, "Receiver"
		case strings.HasSuffix(apiErr.ErrorCode(), "NotFound") || strings.HasSuffix(apiErr.ErrorCode(), "NotFoundFault"):
			status = http.StatusNotFound
		}
		fakeapi.WriteQueryError(rw, status, rdsNS, kind, apiErr.ErrorCode(), apiErr.ErrorMessage())
		return
	}
	var b strings.Builder
	v := reflect.ValueOf(out).Elem()
	for i := 0; i < v.NumField(); i++ {
		if field := v.Type().Field(i); field.IsExported() && field.Name != "ResultMetadata" {
			encodeXML(&b, field.Name, v.Field(i))
		}
	}
	body := fmt.Sprintf(`<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></%sResponse>`,
		action, rdsNS, action, b.String(), action, action)
	rw.Header().Set("Content-Type", "text/xml")
	rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = io.WriteString(rw, body)
}

var timeType = reflect.TypeOf(time.Time{})

// decodeForm fills v from the query-protocol form: scalars as Prefix.Name, lists as
// Prefix.Name.Member.N (whatever the member's name), structures field by field.
func decodeForm(form url.Values, prefix string, v reflect.Value) {
	key := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			if t, err := time.Parse(time.RFC3339, form.Get(prefix)); err == nil {
				v.Set(reflect.ValueOf(t))
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if field := v.Type().Field(i); field.IsExported() {
				decodeForm(form, key(field.Name), v.Field(i))
			}
		}
	case reflect.Pointer:
		if !present(form, prefix) {
			return
		}
		n := reflect.New(v.Type().Elem())
		decodeForm(form, prefix, n.Elem())
		v.Set(n)
	case reflect.Slice:
		// Prefix.Member.N...: collect the indices N.
		indices := map[int]string{}
		for k := range form {
			rest, ok := strings.CutPrefix(k, prefix+".")
			if !ok {
				continue
			}
			parts := strings.SplitN(rest, ".", 3)
			if len(parts) < 2 {
				continue
			}
			if n, err := strconv.Atoi(parts[1]); err == nil {
				indices[n] = prefix + "." + parts[0] + "." + parts[1]
			}
		}
		ns := make([]int, 0, len(indices))
		for n := range indices {
			ns = append(ns, n)
		}
		sort.Ints(ns)
		if len(ns) == 0 {
			return
		}
		s := reflect.MakeSlice(v.Type(), len(ns), len(ns))
		for i, n := range ns {
			decodeForm(form, indices[n], s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		v.SetString(form.Get(prefix))
	case reflect.Bool:
		v.SetBool(form.Get(prefix) == "true")
	case reflect.Int32, reflect.Int64, reflect.Int:
		n, _ := strconv.ParseInt(form.Get(prefix), 10, 64)
		v.SetInt(n)
	}
}

func present(form url.Values, prefix string) bool {
	if _, ok := form[prefix]; ok {
		return true
	}
	for k := range form {
		if strings.HasPrefix(k, prefix+".") {
			return true
		}
	}
	return false
}

// memberNames are the XML names of list members where they are not the element type's name.
var memberNames = map[string]string{
	"AttributeValues":   "AttributeValue",
	"AvailabilityZones": "AvailabilityZone",
	"ValuesToAdd":       "AttributeValue",
}

// encodeXML writes v as the element name, lists wrapped in their members as RDS sends them.
func encodeXML(b *strings.Builder, name string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			encodeXML(b, name, v.Elem())
		}
	case reflect.Struct:
		if v.Type() == timeType {
			fmt.Fprintf(b, "<%s>%s</%s>", name, v.Interface().(time.Time).UTC().Format(time.RFC3339), name)
			return
		}
		fmt.Fprintf(b, "<%s>", name)
		for i := 0; i < v.NumField(); i++ {
			if field := v.Type().Field(i); field.IsExported() {
				encodeXML(b, field.Name, v.Field(i))
			}
		}
		fmt.Fprintf(b, "</%s>", name)
	case reflect.Slice:
		if v.Len() == 0 {
			return
		}
		member := memberNames[name]
		if t := v.Type().Elem(); member == "" && t.Kind() == reflect.Struct {
			member = t.Name()
		}
		if member == "" {
			member = "member"
		}
		fmt.Fprintf(b, "<%s>", name)
		for i := 0; i < v.Len(); i++ {
			encodeXML(b, member, v.Index(i))
		}
		fmt.Fprintf(b, "</%s>", name)
	case reflect.String:
		if v.String() != "" {
			fmt.Fprintf(b, "<%s>%s</%s>", name, esc(v.String()), name)
		}
	case reflect.Bool:
		fmt.Fprintf(b, "<%s>%t</%s>", name, v.Bool(), name)
	case reflect.Int32, reflect.Int64, reflect.Int:
		fmt.Fprintf(b, "<%s>%d</%s>", name, v.Int(), name)
	}
}

func asAPIError(err error, target *smithy.APIError) bool { return errors.As(err, target) }

func esc(s string) string { return fakeapi.EscapeXML(s) }
