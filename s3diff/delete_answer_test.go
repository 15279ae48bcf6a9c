package s3diff_test

// The rule: a DeleteObjects answer that may have created a delete marker, or that lists a
// deletion nobody asked for, is never counted as a deletion; it stops the pass (no further
// batch, no retry), the result names the version (DeleteMarkerCreated or NotConfirmed), the
// error is both ErrDeleteFailed and ErrMalformedResponse, and no resume point lies past it.
// The same answers are served by the fake (rewritten in Go), by the fake's wire server and by
// Versity (rewritten in the XML on the way back), to Retain, RetainPrefix, Handle and
// HandleBatch.

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// answerShape is one shape of answer to a DeleteObjects call, made by editing the real
// answer's Deleted entries. target is the version whose entry is edited: an old object
// version or an old delete marker of the key.
type answerShape struct {
	name     string
	target   string // "version" or "marker"
	edit     func(e *types.DeletedObject) []types.DeletedObject
	wantCode string // "" for an honest answer, which counts as a deletion
}

func answerShapes() []answerShape {
	one := func(e *types.DeletedObject) []types.DeletedObject { return []types.DeletedObject{*e} }
	return []answerShape{
		{name: "an old version answered with a new marker id", target: "version", wantCode: s3diff.CodeMarkerCreated,
			edit: func(e *types.DeletedObject) []types.DeletedObject {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(true), aws.String("fresh-marker")
				return one(e)
			}},
		{name: "an old version answered DeleteMarker=true and no marker id", target: "version", wantCode: s3diff.CodeMarkerCreated,
			edit: func(e *types.DeletedObject) []types.DeletedObject {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(true), nil
				return one(e)
			}},
		{name: "an old delete marker answered with a new marker id", target: "marker", wantCode: s3diff.CodeMarkerCreated,
			edit: func(e *types.DeletedObject) []types.DeletedObject {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(true), aws.String("fresh-marker")
				return one(e)
			}},
		{name: "an old version called a delete marker", target: "version", wantCode: s3diff.CodeNotConfirmed,
			edit: func(e *types.DeletedObject) []types.DeletedObject {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(true), aws.String(aws.ToString(e.VersionId))
				return one(e)
			}},
		{name: "an entry for another key", target: "version", wantCode: s3diff.CodeNotConfirmed,
			edit: func(e *types.DeletedObject) []types.DeletedObject {
				e.Key = aws.String("someone-elses-key")
				return one(e)
			}},
		{name: "an entry for another version of the key", target: "version", wantCode: s3diff.CodeNotConfirmed,
			edit: func(e *types.DeletedObject) []types.DeletedObject {
				e.VersionId = aws.String("a-version-nobody-named")
				return one(e)
			}},
		{name: "an entry without a version id (a delete that made a marker)", target: "version", wantCode: s3diff.CodeMarkerCreated,
			edit: func(e *types.DeletedObject) []types.DeletedObject {
				e.VersionId, e.DeleteMarker, e.DeleteMarkerVersionId = nil, aws.Bool(true), aws.String("fresh-marker")
				return one(e)
			}},
		{name: "an entry listed twice", target: "version", wantCode: "",
			edit: func(e *types.DeletedObject) []types.DeletedObject { return []types.DeletedObject{*e, *e} }},
		// Honest answers: what S3, Versity and moto send.
		{name: "honest: an old delete marker answered with its own id", target: "marker",
			edit: func(e *types.DeletedObject) []types.DeletedObject {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(true), aws.String(aws.ToString(e.VersionId))
				return one(e)
			}},
		{name: "honest: an old delete marker answered with neither field", target: "marker",
			edit: func(e *types.DeletedObject) []types.DeletedObject {
				e.DeleteMarker, e.DeleteMarkerVersionId = nil, nil
				return one(e)
			}},
		{name: "honest: an old version answered with its own id", target: "version",
			edit: func(e *types.DeletedObject) []types.DeletedObject {
				e.DeleteMarker, e.DeleteMarkerVersionId = aws.Bool(false), aws.String(aws.ToString(e.VersionId))
				return one(e)
			}},
	}
}

// untrusted reports whether the answer must stop the pass. An entry listed twice names no
// failed version of its own: the version was listed under Deleted, but the answer as a
// whole is not one S3 gives.
func (a answerShape) untrusted() bool { return a.wantCode != "" || strings.Contains(a.name, "twice") }

// editDeleted applies the answer's edit to the entry of version id among deleted.
func (a answerShape) editDeleted(deleted []types.DeletedObject, id string) []types.DeletedObject {
	var out []types.DeletedObject
	for i := range deleted {
		if aws.ToString(deleted[i].VersionId) == id {
			out = append(out, a.edit(&deleted[i])...)
			continue
		}
		out = append(out, deleted[i])
	}
	return out
}

// answerStore is a store whose DeleteObjects answers a test can edit, and that counts them.
type answerStore struct {
	store
	client  s3diff.S3API
	edit    func([]types.DeletedObject) []types.DeletedObject
	deletes int
}

func (a *answerStore) api() s3diff.S3API { return a.client }

// answerStores are the places the same answer comes from: the fake (edited in Go) and the
// fake's wire server (edited in the XML, read by the real SDK client); versityAnswerStore is
// the third, for the integration test.
func answerStores() map[string]func(t *testing.T) *answerStore {
	return map[string]func(t *testing.T) *answerStore{
		"fake": func(t *testing.T) *answerStore {
			st := newFakeStore(t)
			a := &answerStore{store: st}
			a.client = &rewriting{S3API: st.api(), del: func(_ *s3.DeleteObjectsInput, out *s3.DeleteObjectsOutput) {
				a.deletes++
				if a.edit != nil {
					out.Deleted = a.edit(out.Deleted)
				}
			}}
			return a
		},
		"wire": func(t *testing.T) *answerStore {
			st := newFakeStore(t)
			srv := s3difftest.NewWireServer(st.(*fakeStore).s)
			t.Cleanup(srv.Close)
			return behindAnswerProxy(t, st, srv.URL, func(u string) *s3.Client { return wireClient(u) })
		},
	}
}

func versityAnswerStore(t *testing.T) *answerStore {
	ep := testbed.S3(t)
	return behindAnswerProxy(t, newVersityStore(t), ep.URL, func(u string) *s3.Client {
		return s3.New(s3.Options{BaseEndpoint: aws.String(u), Region: ep.Region, UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, "")})
	})
}

// behindAnswerProxy serves st through an HTTP proxy that edits DeleteObjects answers.
func behindAnswerProxy(t *testing.T, st store, target string, client func(url string) *s3.Client) *answerStore {
	a := &answerStore{store: st}
	proxy := rewritingProxy(t, target, func(r *http.Request, body []byte) []byte {
		if r.Method != http.MethodPost || !r.URL.Query().Has("delete") {
			return body
		}
		a.deletes++
		if a.edit == nil {
			return body
		}
		return rewriteDeleteResult(t, body, a.edit)
	})
	a.client = client(proxy)
	return a
}

// xmlDeleteResult is DeleteObjects' answer in S3's XML.
type xmlDeleteResult struct {
	XMLName xml.Name     `xml:"DeleteResult"` // any namespace: Versity sends none
	Xmlns   string       `xml:"xmlns,attr,omitempty"`
	Deleted []xmlDeleted `xml:"Deleted"`
	Errors  []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId,omitempty"`
		Code      string `xml:"Code"`
		Message   string `xml:"Message"`
	} `xml:"Error"`
}

type xmlDeleted struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          *bool  `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

// rewriteDeleteResult applies edit to the Deleted entries of a DeleteObjects answer's XML.
func rewriteDeleteResult(t *testing.T, body []byte, edit func([]types.DeletedObject) []types.DeletedObject) []byte {
	var res xmlDeleteResult
	if err := xml.Unmarshal(body, &res); err != nil {
		t.Errorf("the DeleteObjects answer does not parse: %v\n%s", err, body)
		return body
	}
	var deleted []types.DeletedObject
	for _, d := range res.Deleted {
		e := types.DeletedObject{Key: aws.String(d.Key), DeleteMarker: d.DeleteMarker}
		if d.VersionID != "" {
			e.VersionId = aws.String(d.VersionID)
		}
		if d.DeleteMarkerVersionID != "" {
			e.DeleteMarkerVersionId = aws.String(d.DeleteMarkerVersionID)
		}
		deleted = append(deleted, e)
	}
	res.Deleted = nil
	for _, e := range edit(deleted) {
		res.Deleted = append(res.Deleted, xmlDeleted{Key: aws.ToString(e.Key), VersionID: aws.ToString(e.VersionId),
			DeleteMarker: e.DeleteMarker, DeleteMarkerVersionID: aws.ToString(e.DeleteMarkerVersionId)})
	}
	out, err := xml.Marshal(res)
	require.NoError(t, err)
	return append([]byte(xml.Header), out...)
}

// oldVersionAndMarker gives key the entries v1, marker, v2, v3, v4 (latest), and returns the
// ids of v1 (an old object version) and of the marker: keep 1 deletes both.
func oldVersionAndMarker(t *testing.T, st store, key string) (version, marker string) {
	version = st.put(t, key, []byte("v1 "+key))
	marker = st.del(t, key)
	for _, b := range []string{"v2", "v3", "v4"} {
		st.put(t, key, []byte(b+" "+key))
	}
	return version, marker
}

func TestDeleteAnswersThatMayHaveCreatedAMarkerAreNeverDeletions(t *testing.T) {
	for name, newStore := range answerStores() {
		t.Run(name, func(t *testing.T) { checkDeleteAnswers(t, newStore) })
	}
}

func TestIntegrationVersityDeleteAnswersThatMayHaveCreatedAMarker(t *testing.T) {
	checkDeleteAnswers(t, versityAnswerStore)
}

// checkDeleteAnswers serves every answer shape to Retain and (the untrusted ones) to
// RetainPrefix.
func checkDeleteAnswers(t *testing.T, newStore func(t *testing.T) *answerStore) {
	ctx := context.Background()
	for _, ans := range answerShapes() {
		t.Run("Retain/"+ans.name, func(t *testing.T) {
			st := newStore(t)
			version, marker := oldVersionAndMarker(t, st, "k")
			target := map[string]string{"version": version, "marker": marker}[ans.target]
			st.edit = func(d []types.DeletedObject) []types.DeletedObject { return ans.editDeleted(d, target) }
			res, err := newClient(t, st.api(), func(o *s3diff.Options) { o.RetryWait = noWait }).Retain(ctx, st.bucket(), "k", 1)
			if !ans.untrusted() {
				require.NoError(t, err)
				assert.Contains(t, versionIDs(res.Deleted), target)
				assert.Len(t, res.Deleted, 4)
				return
			}
			require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
			require.ErrorIs(t, err, s3diff.ErrMalformedResponse, "never retried by a caller: the server's answer is not one S3 gives")
			assert.Equal(t, 1, st.deletes, "no retry and no further batch after such an answer")
			if ans.wantCode != "" {
				assert.NotContains(t, versionIDs(res.Deleted), target, "never counted as deleted")
				assert.Equal(t, ans.wantCode, codeOf(res.Failed, target), "%+v", res.Failed)
			}
		})
		if !ans.untrusted() {
			continue
		}
		t.Run("RetainPrefix/"+ans.name, func(t *testing.T) {
			st := newStore(t)
			targets := map[string]string{}
			for _, k := range []string{"p/a", "p/b", "p/c"} {
				v, m := oldVersionAndMarker(t, st, k)
				targets[k] = map[string]string{"version": v, "marker": m}[ans.target]
			}
			st.edit = func(d []types.DeletedObject) []types.DeletedObject { return ans.editDeleted(d, targets["p/b"]) }
			var mu sync.Mutex
			var recorded []string
			res, err := newClient(t, st.api(), func(o *s3diff.Options) { o.RetryWait, o.PageSize = noWait, 4 }).
				RetainPrefix(ctx, st.bucket(), "p/", 1, func(o *s3diff.PrefixRetainOptions) {
					o.OnDelete = func(v s3diff.Version) { mu.Lock(); recorded = append(recorded, v.VersionID); mu.Unlock() }
				})
			require.ErrorIs(t, err, s3diff.ErrDeleteFailed)
			require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
			assert.False(t, res.Complete)
			assert.Less(t, res.StartAfter, "p/b", "no resume point at or past the key the answer concerns")
			assert.Equal(t, 1, st.deletes)
			if ans.wantCode != "" {
				assert.NotContains(t, recorded, targets["p/b"])
				assert.Equal(t, ans.wantCode, codeOf(res.Failures, targets["p/b"]), "%+v", res.Failures)
			}
			assert.Equal(t, res.Deleted, len(recorded), "the record and the count agree")
		})
	}
}

// TestRetainPrefixSendsNoFurtherBatchAfterAnUntrustedAnswer: with more than 1000 deletions
// there are two batches; the first one's answer can't be trusted, so the second is never
// sent and the listing stops.
func TestRetainPrefixSendsNoFurtherBatchAfterAnUntrustedAnswer(t *testing.T) {
	st := newFakeStore(t).(*fakeStore)
	for i := range 1200 {
		k := fmt.Sprintf("p/%05d", i)
		st.put(t, k, []byte("old"))
		st.put(t, k, []byte("new"))
	}
	calls := 0
	rw := &rewriting{S3API: st.s, del: func(_ *s3.DeleteObjectsInput, out *s3.DeleteObjectsOutput) {
		calls++
		out.Deleted[500].DeleteMarker, out.Deleted[500].DeleteMarkerVersionId = aws.Bool(true), aws.String("fresh-marker")
	}}
	res, err := newClient(t, rw).RetainPrefix(context.Background(), st.name, "p/", 1, func(o *s3diff.PrefixRetainOptions) { o.Concurrency = 1 })
	require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
	assert.Equal(t, 1, calls, "the second batch is never sent")
	assert.Equal(t, 999, res.Deleted)
	assert.Equal(t, 1, res.Failed)
	assert.Less(t, res.StartAfter, "p/00500")
	left := 0
	for i := range 1200 {
		left += len(st.s.VersionIDs(st.name, fmt.Sprintf("p/%05d", i))) - 1
	}
	assert.Equal(t, 200, left, "the first batch went through (the answer lied about one version); the second was never sent")
}

func TestHandlersStopAtAnAnswerThatMayHaveCreatedAMarker(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*answerStore, map[string]string) {
		st := answerStores()["fake"](t)
		targets := map[string]string{}
		for _, k := range []string{"a", "b"} {
			v, _ := oldVersionAndMarker(t, st, k)
			targets[k] = v
		}
		st.edit = func(d []types.DeletedObject) []types.DeletedObject {
			return answerShapes()[0].editDeleted(d, targets["a"]) // a new marker for a's old version
		}
		return st, targets
	}

	t.Run("HandleBatch: the task fails for good and no later task runs", func(t *testing.T) {
		st, _ := setup(t)
		resp := newBatchHandler(t, st.api(), func(o *s3diff.HandlerOptions) { o.Keep = 1 }).
			HandleBatch(ctx, batchEvent(t, st.bucket(), nil, "a", "b"))
		codes := resultCodes(resp)
		assert.Equal(t, s3diff.BatchPermanentFailure, codes["task-0"], "%+v", resp.Results)
		assert.Equal(t, s3diff.BatchPermanentFailure, codes["task-1"], "%+v", resp.Results)
		assert.Contains(t, resp.Results[1].ResultString, "not run")
		assert.Equal(t, 1, st.deletes, "b's versions are never sent")
	})

	t.Run("Handle: retention of later records is not run", func(t *testing.T) {
		st, _ := setup(t)
		h, err := s3diff.NewHandler(newClient(t, st.api()), func(o *s3diff.HandlerOptions) { o.Keep = 1 })
		require.NoError(t, err)
		latest := func(k string) string { return st.store.(*fakeStore).s.VersionIDs(st.bucket(), k)[0] }
		ev := fmt.Sprintf(`{"Records":[%s,%s]}`, s3Record(st.bucket(), "a", latest("a")), s3Record(st.bucket(), "b", latest("b")))
		_, err = h.Handle(ctx, []byte(ev))
		require.ErrorIs(t, err, s3diff.ErrMalformedResponse)
		assert.Equal(t, 1, st.deletes)
		assert.Len(t, st.store.(*fakeStore).s.VersionIDs(st.bucket(), "b"), 5, "b untouched")
	})
}

func s3Record(bucket, key, version string) string {
	return fmt.Sprintf(`{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q,"versionId":%q}}}`, bucket, key, version)
}

func codeOf(fs []s3diff.DeleteFailure, id string) string {
	for _, f := range fs {
		if f.Version.VersionID == id {
			return f.Code
		}
	}
	return ""
}
