package s3difftest

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/internal/awserr"
)

// WireServer serves a Bucket over HTTP in S3's own REST/XML protocol, path-style
// (http://host/bucket/key): ListObjectVersions (GET /bucket?versions, entries in S3's order),
// GetObject (GET /bucket/key?versionId=), DeleteObjects (POST /bucket?delete) and errors as
// <Error><Code>..</Code></Error> with S3's status codes. A real *s3.Client with
// BaseEndpoint=URL and UsePathStyle, or a binary given AWS_ENDPOINT_URL_S3=URL and
// path-style addressing, can be tested against it, faults and all.
type WireServer struct {
	*fakeapi.WireServer
	fake *Bucket
}

// NewWireServer starts a WireServer in front of fake; Close it when done.
func NewWireServer(fake *Bucket) *WireServer {
	w := &WireServer{fake: fake}
	w.WireServer = fakeapi.NewWireServer(w.serve)
	w.Start()
	return w
}

// Requests returns "METHOD /path?query" of every request received, in order.
func (w *WireServer) Requests() []string { return w.WireServer.Requests() }

const s3XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"

type wireVersion struct {
	XMLName      xml.Name
	Key          string `xml:"Key"`
	VersionID    string `xml:"VersionId"`
	IsLatest     bool   `xml:"IsLatest"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag,omitempty"`
	Size         *int64 `xml:"Size,omitempty"`
	StorageClass string `xml:"StorageClass,omitempty"`
}

type wireList struct {
	XMLName             xml.Name      `xml:"ListVersionsResult"`
	Xmlns               string        `xml:"xmlns,attr"`
	Name                string        `xml:"Name"`
	Prefix              string        `xml:"Prefix"`
	KeyMarker           string        `xml:"KeyMarker"`
	VersionIDMarker     string        `xml:"VersionIdMarker"`
	NextKeyMarker       string        `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string        `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int           `xml:"MaxKeys"`
	IsTruncated         bool          `xml:"IsTruncated"`
	Entries             []wireVersion `xml:",any"`
}

type wireDelete struct {
	Quiet   bool `xml:"Quiet"`
	Objects []struct {
		Key       string  `xml:"Key"`
		VersionID *string `xml:"VersionId"`
	} `xml:"Object"`
}

type wireDeleted struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

type wireDeleteError struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

type wireDeleteResult struct {
	XMLName xml.Name          `xml:"DeleteResult"`
	Xmlns   string            `xml:"xmlns,attr"`
	Deleted []wireDeleted     `xml:"Deleted"`
	Errors  []wireDeleteError `xml:"Error"`
}

func (w *WireServer) serve(rw http.ResponseWriter, r *http.Request) {
	w.Record(r.Method + " " + r.URL.RequestURI())
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && key == "" && q.Has("versions"):
		w.list(rw, r, bucket)
	case r.Method == http.MethodGet && key != "":
		w.get(rw, r, bucket, key)
	case r.Method == http.MethodPost && key == "" && q.Has("delete"):
		w.delete(rw, r, bucket)
	default:
		writeS3Error(rw, http.StatusNotImplemented, "NotImplemented", "s3difftest.WireServer serves ListObjectVersions, GetObject and DeleteObjects only")
	}
}

func (w *WireServer) list(rw http.ResponseWriter, r *http.Request, bucket string) {
	q := r.URL.Query()
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: optional(q.Get("prefix")),
		KeyMarker: optional(q.Get("key-marker")), VersionIdMarker: optional(q.Get("version-id-marker"))}
	if q.Has("delimiter") {
		in.Delimiter = aws.String(q.Get("delimiter"))
	}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeS3Error(rw, http.StatusBadRequest, "InvalidArgument", "max-keys is not a number")
			return
		}
		in.MaxKeys = aws.Int32(int32(n))
	}
	p, err := w.fake.listPage(r.Context(), in)
	if err != nil {
		writeError(rw, err)
		return
	}
	out := wireList{Xmlns: s3XMLNS, Name: bucket, Prefix: q.Get("prefix"), KeyMarker: q.Get("key-marker"),
		VersionIDMarker: q.Get("version-id-marker"), MaxKeys: p.maxKeys, IsTruncated: p.truncated}
	if p.truncated {
		out.NextKeyMarker, out.NextVersionIDMarker = p.nextKey, p.nextVersion
	}
	for _, l := range p.entries {
		v := wireVersion{Key: l.e.key, VersionID: l.e.versionID, IsLatest: l.latest,
			LastModified: l.e.lastModified.UTC().Format("2006-01-02T15:04:05.000Z")}
		if l.e.deleteMarker {
			v.XMLName = xml.Name{Local: "DeleteMarker"}
		} else {
			size := int64(len(l.e.data))
			v.XMLName, v.ETag, v.Size, v.StorageClass = xml.Name{Local: "Version"}, l.e.etag, &size, "STANDARD"
		}
		out.Entries = append(out.Entries, v)
	}
	writeXML(rw, out)
}

func (w *WireServer) get(rw http.ResponseWriter, r *http.Request, bucket, key string) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if r.URL.Query().Has("versionId") {
		in.VersionId = aws.String(r.URL.Query().Get("versionId"))
	}
	out, err := w.fake.GetObject(r.Context(), in)
	if err != nil {
		writeError(rw, err)
		return
	}
	defer out.Body.Close()
	h := rw.Header()
	h.Set("Content-Length", strconv.FormatInt(aws.ToInt64(out.ContentLength), 10))
	h.Set("ETag", aws.ToString(out.ETag))
	h.Set("x-amz-version-id", aws.ToString(out.VersionId))
	h.Set("Last-Modified", aws.ToTime(out.LastModified).UTC().Format(http.TimeFormat))
	rw.WriteHeader(http.StatusOK)
	_, _ = io.Copy(rw, out.Body)
}

func (w *WireServer) delete(rw http.ResponseWriter, r *http.Request, bucket string) {
	var body wireDelete
	if err := xml.NewDecoder(r.Body).Decode(&body); err != nil {
		writeS3Error(rw, http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
		return
	}
	in := &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Quiet: aws.Bool(body.Quiet)}}
	for _, o := range body.Objects {
		in.Delete.Objects = append(in.Delete.Objects, types.ObjectIdentifier{Key: aws.String(o.Key), VersionId: o.VersionID})
	}
	out, err := w.fake.DeleteObjects(r.Context(), in)
	if err != nil {
		writeError(rw, err)
		return
	}
	res := wireDeleteResult{Xmlns: s3XMLNS}
	for _, d := range out.Deleted {
		res.Deleted = append(res.Deleted, wireDeleted{Key: aws.ToString(d.Key), VersionID: aws.ToString(d.VersionId),
			DeleteMarker: aws.ToBool(d.DeleteMarker), DeleteMarkerVersionID: aws.ToString(d.DeleteMarkerVersionId)})
	}
	for _, e := range out.Errors {
		res.Errors = append(res.Errors, wireDeleteError{Key: aws.ToString(e.Key), VersionID: aws.ToString(e.VersionId),
			Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)})
	}
	writeXML(rw, res)
}

// statusOf is the HTTP status S3 answers an error code with.
var statusOf = map[string]int{
	"NoSuchBucket": http.StatusNotFound, "NoSuchKey": http.StatusNotFound, "NoSuchVersion": http.StatusNotFound,
	"AccessDenied": http.StatusForbidden, "SlowDown": http.StatusServiceUnavailable, "ServiceUnavailable": http.StatusServiceUnavailable,
	"InternalError": http.StatusInternalServerError, "NotImplemented": http.StatusNotImplemented,
}

// writeError answers with err as S3 would: its code and message, at the code's status.
func writeError(rw http.ResponseWriter, err error) {
	code, msg := awserr.Code(err), awserr.Message(err)
	if code == "" {
		code, msg = "InternalError", err.Error()
	}
	var notFound *types.NoSuchKey
	if errors.As(err, &notFound) {
		code = "NoSuchKey"
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusBadRequest
	}
	writeS3Error(rw, status, code, msg)
}

func writeS3Error(rw http.ResponseWriter, status int, code, message string) {
	rw.Header().Set("Content-Type", "application/xml")
	rw.WriteHeader(status)
	_ = xml.NewEncoder(rw).Encode(struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string   `xml:"Code"`
		Message   string   `xml:"Message"`
		RequestID string   `xml:"RequestId"`
	}{Code: code, Message: message, RequestID: strconv.FormatInt(time.Now().UnixNano(), 36)})
}

func writeXML(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/xml")
	rw.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(rw, xml.Header)
	_ = xml.NewEncoder(rw).Encode(v)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
