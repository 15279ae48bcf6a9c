package drtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/shipshape-dev/shipshape/fakeapi"
)

// S3 operation names for Fail, Calls and LoseAnswers.
const (
	OpPutObject = "PutObject"
	OpGetObject = "GetObject"
)

// S3 is a fake of the S3 calls a restore.Reporter makes, PutObject and GetObject, with S3's rule
// for a conditional put: with IfNoneMatch "*", a key that exists already is refused with
// 412 PreconditionFailed and keeps its object. Buckets exist when named in NewS3. It is safe
// for concurrent use.
type S3 struct {
	fakeapi.Script
	// IgnoreIfNoneMatch makes PutObject overwrite an existing key whatever IfNoneMatch says,
	// as an S3-compatible server that does not honour the header would.
	IgnoreIfNoneMatch bool

	mu      sync.Mutex
	buckets map[string]map[string][]byte
	lost    map[string]int
}

// NewS3 returns an S3 fake with the given (empty) buckets.
func NewS3(buckets ...string) *S3 {
	f := &S3{}
	f.Reset()
	for _, b := range buckets {
		f.buckets[b] = map[string][]byte{}
	}
	return f
}

// Reset forgets every object, fault and recorded call (the buckets stay, empty) and turns
// IgnoreIfNoneMatch off.
func (f *S3) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Script.Reset()
	f.IgnoreIfNoneMatch, f.lost = false, map[string]int{}
	if f.buckets == nil {
		f.buckets = map[string]map[string][]byte{}
	}
	for b := range f.buckets {
		f.buckets[b] = map[string][]byte{}
	}
}

// LoseAnswers makes the next times calls of op (OpPutObject) do their work and then fail
// with a 500 InternalError, as when the connection breaks after S3 stored the object.
func (f *S3) LoseAnswers(op string, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost[op] += times
}

// Put stores an object as it is (a report another run wrote, for tests).
func (f *S3) Put(bucket, key string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.buckets[bucket] == nil {
		f.buckets[bucket] = map[string][]byte{}
	}
	f.buckets[bucket][key] = append([]byte(nil), body...)
}

// Object returns an object's body (nil when there is none).
func (f *S3) Object(bucket, key string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.buckets[bucket][key]...)
}

// Keys returns the keys of a bucket, sorted.
func (f *S3) Keys(bucket string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for k := range f.buckets[bucket] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func etag(body []byte) string {
	sum := md5.Sum(body)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// PutObject stores an object; with IfNoneMatch "*" only when the key is new.
func (f *S3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := fakeapi.Call(ctx, &f.Script, OpPutObject, in); err != nil {
		return nil, err
	}
	var body []byte
	if in.Body != nil {
		var err error
		if body, err = io.ReadAll(in.Body); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	objects := f.buckets[aws.ToString(in.Bucket)]
	if objects == nil {
		return nil, fakeapi.Error("NoSuchBucket", "The specified bucket does not exist")
	}
	key := aws.ToString(in.Key)
	if _, exists := objects[key]; exists && aws.ToString(in.IfNoneMatch) == "*" && !f.IgnoreIfNoneMatch {
		return nil, fakeapi.Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	}
	objects[key] = body
	if f.lost[OpPutObject] > 0 {
		f.lost[OpPutObject]--
		return nil, fakeapi.Error("InternalError", "the connection broke after PutObject worked", "InternalError")
	}
	return &s3.PutObjectOutput{ETag: aws.String(etag(body))}, nil
}

// GetObject returns an object (NoSuchKey when there is none).
func (f *S3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if err := fakeapi.Call(ctx, &f.Script, OpGetObject, in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	objects := f.buckets[aws.ToString(in.Bucket)]
	if objects == nil {
		return nil, fakeapi.Error("NoSuchBucket", "The specified bucket does not exist")
	}
	body, ok := objects[aws.ToString(in.Key)]
	if !ok {
		return nil, &types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(body)), ETag: aws.String(etag(body)), ContentLength: aws.Int64(int64(len(body)))}, nil
}

// S3WireServer serves an S3 fake in S3's own wire protocol (REST, path-style addressing:
// PUT and GET /bucket/key, If-None-Match honoured as the fake does, errors as S3's XML with
// S3's status codes), for a real *s3.Client. Requests returns "METHOD /bucket/key" of every
// request received, in order.
type S3WireServer struct {
	*fakeapi.WireServer
	fake *S3
}

// NewS3WireServer starts an S3WireServer in front of fake; Close it when done.
func NewS3WireServer(fake *S3) *S3WireServer {
	w := &S3WireServer{fake: fake}
	w.WireServer = fakeapi.NewWireServer(w.serve)
	w.Start()
	return w
}

// Client returns a real SDK client for the server (region us-east-1, static credentials,
// path-style addressing).
func (w *S3WireServer) Client(optFns ...func(*s3.Options)) *s3.Client {
	return s3.New(s3.Options{BaseEndpoint: aws.String(w.URL), Region: "us-east-1", HTTPClient: fakeapi.HTTPClient(),
		Credentials: fakeapi.Credentials(), UsePathStyle: true}, optFns...)
}

// s3Status is the HTTP status S3 answers an error code with.
var s3Status = map[string]int{
	"NoSuchBucket": http.StatusNotFound, "NoSuchKey": http.StatusNotFound, "AccessDenied": http.StatusForbidden,
	"PreconditionFailed": http.StatusPreconditionFailed, "InternalError": http.StatusInternalServerError,
	"SlowDown": http.StatusServiceUnavailable,
}

func (w *S3WireServer) serve(rw http.ResponseWriter, r *http.Request) {
	w.Record(r.Method + " " + r.URL.Path)
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	var err error
	switch r.Method {
	case http.MethodPut:
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: r.Body}
		if v := r.Header.Get("If-None-Match"); v != "" {
			in.IfNoneMatch = aws.String(v)
		}
		var out *s3.PutObjectOutput
		if out, err = w.fake.PutObject(r.Context(), in); err == nil {
			rw.Header().Set("ETag", aws.ToString(out.ETag))
			rw.WriteHeader(http.StatusOK)
			return
		}
	case http.MethodGet:
		var out *s3.GetObjectOutput
		if out, err = w.fake.GetObject(r.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
			rw.Header().Set("ETag", aws.ToString(out.ETag))
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusOK)
			_, _ = io.Copy(rw, out.Body)
			return
		}
	default:
		err = fakeapi.Error("NotImplemented", "only PUT and GET of an object are served")
	}
	code, msg := "InternalError", err.Error()
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code, msg = apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	status, ok := s3Status[code]
	if !ok {
		status = http.StatusBadRequest
	}
	rw.Header().Set("Content-Type", "application/xml")
	rw.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = xml.NewEncoder(rw).Encode(struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string   `xml:"Code"`
		Message   string   `xml:"Message"`
		RequestID string   `xml:"RequestId"`
	}{Code: code, Message: msg, RequestID: "0"})
}
