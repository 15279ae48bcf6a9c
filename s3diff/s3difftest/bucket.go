// Package s3difftest is an in-memory, versioned S3 for tests of code that uses s3diff (or
// any code that lists, reads and deletes object versions). It implements s3diff.S3API with
// S3's semantics: keys in ascending order and each key's versions newest first, at most
// 1000 entries a page with KeyMarker/VersionIdMarker pagination, delete markers, LastModified
// with whole-second resolution, DeleteObjects with at most 1000 keys and per-key errors, and
// S3's error codes. Faults can be injected per operation and per version.
package s3difftest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/fakeapi"
	"github.com/shipshape-dev/shipshape/s3diff"
)

var _ s3diff.S3API = (*Bucket)(nil)

// Operation names for Fail and Calls.
const (
	OpListObjectVersions = "ListObjectVersions"
	OpGetObject          = "GetObject"
	OpDeleteObjects      = "DeleteObjects"
)

// Options are the optional settings of a Bucket.
type Options struct {
	// Clock gives LastModified (truncated to whole seconds, as S3 reports it). Default: the
	// wall clock; clocktest.New gives a fake one.
	Clock interface{ Now() time.Time }
}

type entry struct {
	key          string
	versionID    string
	data         []byte
	etag         string
	lastModified time.Time
	deleteMarker bool
	seq          int // creation order, for newest-first
}

type deleteFault struct {
	code, message string
	times         int
}

// Bucket is an in-memory S3 holding any number of versioned buckets. It is safe for
// concurrent use. Its embedded Script gives the fault API every fake of the module has:
// Fail(op, err, times), Calls(op), fakeapi.Inputs (the typed *Input of each call) and Total().
type Bucket struct {
	fakeapi.Script
	now func() time.Time

	mu           sync.Mutex
	buckets      map[string]map[string][]*entry // bucket -> key -> versions, newest first
	sorted       map[string][]string            // bucket -> its keys, ascending; nil when stale
	seq          int
	deleteFaults map[string]*deleteFault // version id -> fault
	deleteSizes  []int
}

// New returns an empty S3; create buckets with CreateBucket.
func New(optFns ...func(*Options)) *Bucket {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	b := &Bucket{now: o.Clock.Now}
	b.Reset()
	return b
}

// Reset removes every bucket, fault and recorded call.
func (b *Bucket) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buckets = make(map[string]map[string][]*entry)
	b.sorted = make(map[string][]string)
	b.Script.Reset()
	b.deleteFaults = make(map[string]*deleteFault)
	b.deleteSizes = nil
}

// CreateBucket creates an empty bucket with versioning enabled.
func (b *Bucket) CreateBucket(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets[name] == nil {
		b.buckets[name] = make(map[string][]*entry)
	}
}

// Put stores a new version of key and returns its version id.
func (b *Bucket) Put(bucket, key string, body []byte) string {
	sum := md5.Sum(body)
	return b.add(bucket, &entry{key: key, data: bytes.Clone(body), etag: `"` + hex.EncodeToString(sum[:]) + `"`})
}

// Delete puts a delete marker on key (as DeleteObject without a version id does) and returns
// the marker's version id.
func (b *Bucket) Delete(bucket, key string) string {
	return b.add(bucket, &entry{key: key, deleteMarker: true})
}

func (b *Bucket) add(bucket string, e *entry) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	keys := b.buckets[bucket]
	if keys == nil {
		keys = make(map[string][]*entry)
		b.buckets[bucket] = keys
	}
	if keys[e.key] == nil {
		delete(b.sorted, bucket)
	}
	b.seq++
	e.seq = b.seq
	e.versionID = newVersionID()
	e.lastModified = b.now().UTC().Truncate(time.Second)
	keys[e.key] = append([]*entry{e}, keys[e.key]...)
	return e.versionID
}

// newVersionID returns an opaque id like S3's: random, so that nothing can sort by it.
func newVersionID() string {
	var raw [20]byte
	_, _ = rand.Read(raw[:])
	return strings.TrimRight(base32.StdEncoding.EncodeToString(raw[:]), "=")
}

// VersionIDs returns the version ids of key (delete markers included), newest first.
func (b *Bucket) VersionIDs(bucket, key string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for _, e := range b.buckets[bucket][key] {
		ids = append(ids, e.versionID)
	}
	return ids
}

// FailDelete makes DeleteObjects report a per-key error (code, e.g. "SlowDown" or
// "AccessDenied") for versionID, the next times times (0: always).
func (b *Bucket) FailDelete(versionID, code, message string, times int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deleteFaults[versionID] = &deleteFault{code: code, message: message, times: times}
}

// DeleteBatchSizes returns the number of keys in each DeleteObjects call, in order.
func (b *Bucket) DeleteBatchSizes() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.deleteSizes...)
}

func apiError(code, msg string) error { return fakeapi.Error(code, msg) }

func (b *Bucket) bucket(name *string) (map[string][]*entry, error) {
	keys, ok := b.buckets[aws.ToString(name)]
	if !ok {
		return nil, &types.NoSuchBucket{Message: aws.String("The specified bucket does not exist")}
	}
	return keys, nil
}

// ListObjectVersions lists versions and delete markers as S3 does.
func (b *Bucket) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, _ ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	page, err := b.listPage(ctx, in)
	if err != nil {
		return nil, err
	}
	out := &s3.ListObjectVersionsOutput{
		Name: in.Bucket, Prefix: in.Prefix, KeyMarker: in.KeyMarker, VersionIdMarker: in.VersionIdMarker,
		MaxKeys: aws.Int32(int32(page.maxKeys)), IsTruncated: aws.Bool(page.truncated),
	}
	if page.truncated {
		out.NextKeyMarker, out.NextVersionIdMarker = aws.String(page.nextKey), aws.String(page.nextVersion)
	}
	for _, l := range page.entries {
		e := l.e
		if e.deleteMarker {
			out.DeleteMarkers = append(out.DeleteMarkers, types.DeleteMarkerEntry{
				Key: aws.String(e.key), VersionId: aws.String(e.versionID), IsLatest: aws.Bool(l.latest),
				LastModified: aws.Time(e.lastModified),
			})
		} else {
			out.Versions = append(out.Versions, types.ObjectVersion{
				Key: aws.String(e.key), VersionId: aws.String(e.versionID), IsLatest: aws.Bool(l.latest),
				LastModified: aws.Time(e.lastModified), Size: aws.Int64(int64(len(e.data))), ETag: aws.String(e.etag),
				StorageClass: types.ObjectVersionStorageClassStandard,
			})
		}
	}
	return out, nil
}

// listed is one entry of a listing page, in S3's order.
type listed struct {
	e      *entry
	latest bool
}

// page is one page of ListObjectVersions, in S3's order: keys ascending, each key's versions
// and delete markers interleaved newest first.
type page struct {
	entries              []listed
	maxKeys              int
	truncated            bool
	nextKey, nextVersion string
}

// listPage applies ListObjectVersions' rules (prefix, markers, max keys).
func (b *Bucket) listPage(ctx context.Context, in *s3.ListObjectVersionsInput) (page, error) {
	if err := ctx.Err(); err != nil {
		return page{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := fakeapi.Enter(&b.Script, OpListObjectVersions, in); err != nil {
		return page{}, err
	}
	keys, err := b.bucket(in.Bucket)
	if err != nil {
		return page{}, err
	}
	if in.Delimiter != nil {
		return page{}, apiError("NotImplemented", "s3difftest does not implement Delimiter")
	}
	maxKeys := int(aws.ToInt32(in.MaxKeys))
	if maxKeys <= 0 || maxKeys > 1000 {
		maxKeys = 1000
	}
	prefix, keyMarker, versionMarker := aws.ToString(in.Prefix), aws.ToString(in.KeyMarker), aws.ToString(in.VersionIdMarker)
	if versionMarker != "" && keyMarker == "" {
		return page{}, apiError("InvalidArgument", "A version-id marker cannot be specified without a key marker.")
	}

	names, ok := b.sorted[aws.ToString(in.Bucket)]
	if !ok {
		names = make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		b.sorted[aws.ToString(in.Bucket)] = names
	}
	from := max(keyMarker, prefix)
	p := page{maxKeys: maxKeys}
	var last *entry
	for _, k := range names[sort.SearchStrings(names, from):] {
		if !strings.HasPrefix(k, prefix) {
			break
		}
		versions := keys[k]
		start := 0
		if k == keyMarker {
			if versionMarker == "" {
				continue // the key marker's key itself was listed completely
			}
			start = len(versions) // unknown marker: nothing more of this key
			for i, e := range versions {
				if e.versionID == versionMarker {
					start = i + 1
					break
				}
			}
		}
		for i, e := range versions[start:] {
			if len(p.entries) == maxKeys {
				p.truncated, p.nextKey, p.nextVersion = true, last.key, last.versionID
				return p, nil
			}
			p.entries = append(p.entries, listed{e: e, latest: start+i == 0})
			last = e
		}
	}
	return p, nil
}

// GetObject returns a version's content (the latest when VersionId is nil).
func (b *Bucket) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := fakeapi.Enter(&b.Script, OpGetObject, in); err != nil {
		return nil, err
	}
	keys, err := b.bucket(in.Bucket)
	if err != nil {
		return nil, err
	}
	versions := keys[aws.ToString(in.Key)]
	var e *entry
	if in.VersionId == nil {
		if len(versions) == 0 || versions[0].deleteMarker {
			return nil, &types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
		}
		e = versions[0]
	} else {
		for _, v := range versions {
			if v.versionID == aws.ToString(in.VersionId) {
				e = v
			}
		}
		switch {
		case e == nil:
			return nil, apiError("NoSuchVersion", "The specified version does not exist.")
		case e.deleteMarker:
			return nil, apiError("MethodNotAllowed", "The specified method is not allowed against this resource.")
		}
	}
	return &s3.GetObjectOutput{
		Body: io.NopCloser(bytes.NewReader(e.data)), ContentLength: aws.Int64(int64(len(e.data))),
		ETag: aws.String(e.etag), VersionId: aws.String(e.versionID), LastModified: aws.Time(e.lastModified),
	}, nil
}

// DeleteObjects deletes up to 1000 versions (or puts delete markers for keys without a
// version id), reporting per-key errors as S3 does.
func (b *Bucket) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, _ ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	if err := fakeapi.Enter(&b.Script, OpDeleteObjects, in); err != nil {
		b.mu.Unlock()
		return nil, err
	}
	keys, err := b.bucket(in.Bucket)
	if err != nil {
		b.mu.Unlock()
		return nil, err
	}
	if in.Delete == nil || len(in.Delete.Objects) == 0 || len(in.Delete.Objects) > 1000 {
		b.mu.Unlock()
		return nil, apiError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema (1 to 1000 keys).")
	}
	b.deleteSizes = append(b.deleteSizes, len(in.Delete.Objects))
	quiet := aws.ToBool(in.Delete.Quiet)
	out := &s3.DeleteObjectsOutput{}
	var markers []*entry
	doomed := make(map[string]map[string]bool) // key -> version ids to delete
	for _, obj := range in.Delete.Objects {
		key, id := aws.ToString(obj.Key), aws.ToString(obj.VersionId)
		if f := b.deleteFaults[id]; id != "" && f != nil {
			out.Errors = append(out.Errors, types.Error{Key: obj.Key, VersionId: obj.VersionId, Code: aws.String(f.code), Message: aws.String(f.message)})
			if f.times > 0 {
				if f.times--; f.times == 0 {
					delete(b.deleteFaults, id)
				}
			}
			continue
		}
		if id == "" {
			markers = append(markers, &entry{key: key, deleteMarker: true})
			continue
		}
		if doomed[key] == nil {
			doomed[key] = make(map[string]bool)
		}
		doomed[key][id] = true
		if !quiet {
			out.Deleted = append(out.Deleted, types.DeletedObject{Key: obj.Key, VersionId: obj.VersionId})
		}
	}
	for key, ids := range doomed {
		kept := keys[key][:0:0]
		for _, v := range keys[key] {
			if !ids[v.versionID] {
				kept = append(kept, v)
			}
		}
		if len(kept) == 0 {
			delete(keys, key)
			delete(b.sorted, aws.ToString(in.Bucket))
		} else {
			keys[key] = kept
		}
	}
	b.mu.Unlock()
	for _, m := range markers {
		id := b.add(aws.ToString(in.Bucket), m)
		if !quiet {
			out.Deleted = append(out.Deleted, types.DeletedObject{Key: aws.String(m.key), DeleteMarker: aws.Bool(true), DeleteMarkerVersionId: aws.String(id)})
		}
	}
	return out, nil
}

// String describes the bucket's content, for test failure messages.
func (b *Bucket) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	for name, keys := range b.buckets {
		fmt.Fprintf(&sb, "%s: %d keys\n", name, len(keys))
	}
	return sb.String()
}
