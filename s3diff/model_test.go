package s3diff_test

// The model the adversarial tests of the prefix pass use: a model of what each key should keep,
// and a guard around an S3API that checks every DeleteObjects input against the contract
// (explicit version ids only, versions listed in this pass only, never a version the model
// says must stay) and lets a test rewrite S3's answers.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// model is a fake bucket with the knowledge of which entries are delete markers.
type model struct {
	fs      *fakeStore
	markers map[string]bool     // version id -> is a delete marker
	start   map[string][]string // key -> entries newest first, at snapshot time
}

func newModel(t *testing.T) *model {
	return &model{fs: newFakeStore(t).(*fakeStore), markers: map[string]bool{}}
}

func (m *model) api() s3diff.S3API        { return m.fs.s }
func (m *model) fake() *s3difftest.Bucket { return m.fs.s }
func (m *model) bucket() string           { return m.fs.name }
func (m *model) put(key string) string    { return m.fs.s.Put(m.fs.name, key, []byte(key)) }
func (m *model) del(key string) string {
	id := m.fs.s.Delete(m.fs.name, key)
	m.markers[id] = true
	return id
}
func (m *model) ids(key string) []string { return m.fs.s.VersionIDs(m.fs.name, key) }

// snapshot records every key's entries as the state a run starts from.
func (m *model) snapshot(keys []string) {
	m.start = map[string][]string{}
	for _, k := range keys {
		m.start[k] = m.ids(k)
	}
}

// kept is what the rules of retain keep of entries (newest first): the latest entry, and
// the newest keep object versions.
func (m *model) kept(entries []string, keep int) []string {
	var out []string
	n := 0
	for i, id := range entries {
		switch {
		case i == 0:
			out = append(out, id)
			if !m.markers[id] {
				n++
			}
		case !m.markers[id] && n < keep:
			out = append(out, id)
			n++
		}
	}
	return out
}

// mustStay reports whether (key, id) is one of the entries the start state keeps.
func (m *model) mustStay(keep int) func(key, id string) bool {
	stay := map[[2]string]bool{}
	for k, entries := range m.start {
		for _, id := range m.kept(entries, keep) {
			stay[[2]string{k, id}] = true
		}
	}
	return func(key, id string) bool { return stay[[2]string{key, id}] }
}

// done reports whether key is in its pruned state.
func (m *model) done(key string, keep int) bool {
	return fmt.Sprint(m.ids(key)) == fmt.Sprint(m.kept(m.start[key], keep))
}

// untouched reports whether key still has all its entries.
func (m *model) untouched(key string) bool {
	return fmt.Sprint(m.ids(key)) == fmt.Sprint(m.start[key])
}

// guard wraps an S3API: it records what was listed, checks every deletion, and lets a test
// rewrite answers.
type guard struct {
	s3diff.S3API
	prefix   string
	mustStay func(key, id string) bool // optional

	// listHook rewrites the n-th (1-based) listing answer; delHook the n-th DeleteObjects
	// call (next sends it on).
	listHook func(n int, in *s3.ListObjectVersionsInput, out *s3.ListObjectVersionsOutput, err error) (*s3.ListObjectVersionsOutput, error)
	delHook  func(ctx context.Context, n int, in *s3.DeleteObjectsInput, next func(*s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error)) (*s3.DeleteObjectsOutput, error)

	mu         sync.Mutex
	nList      int
	nDel       int
	listed     map[[2]string]bool
	sent       [][2]string
	violations []string
}

func (g *guard) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	g.mu.Lock()
	g.nList++
	n := g.nList
	if n > 10000 {
		g.mu.Unlock()
		return nil, fmt.Errorf("guard: more than 10000 listing calls: the client loops")
	}
	g.mu.Unlock()
	out, err := g.S3API.ListObjectVersions(ctx, in, optFns...)
	if g.listHook != nil {
		out, err = g.listHook(n, in, out, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.listed == nil {
		g.listed = map[[2]string]bool{}
	}
	if out != nil {
		for _, v := range out.Versions {
			g.listed[[2]string{aws.ToString(v.Key), aws.ToString(v.VersionId)}] = true
		}
		for _, v := range out.DeleteMarkers {
			g.listed[[2]string{aws.ToString(v.Key), aws.ToString(v.VersionId)}] = true
		}
	}
	return out, err
}

func (g *guard) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	g.mu.Lock()
	g.nDel++
	n := g.nDel
	for _, o := range in.Delete.Objects {
		k, id := aws.ToString(o.Key), aws.ToString(o.VersionId)
		g.sent = append(g.sent, [2]string{k, id})
		switch {
		case o.VersionId == nil || id == "":
			g.violations = append(g.violations, fmt.Sprintf("delete of %q without a version id", k))
		case !g.listed[[2]string{k, id}]:
			g.violations = append(g.violations, fmt.Sprintf("delete of %q %s, never listed", k, id))
		case !strings.HasPrefix(k, g.prefix):
			g.violations = append(g.violations, fmt.Sprintf("delete of %q %s outside the prefix %q", k, id, g.prefix))
		case g.mustStay != nil && g.mustStay(k, id):
			g.violations = append(g.violations, fmt.Sprintf("delete of %q %s, which must stay", k, id))
		}
	}
	g.mu.Unlock()
	next := func(in *s3.DeleteObjectsInput) (*s3.DeleteObjectsOutput, error) {
		return g.S3API.DeleteObjects(ctx, in, optFns...)
	}
	if g.delHook != nil {
		return g.delHook(ctx, n, in, next)
	}
	return next(in)
}

func (g *guard) check(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, v := range g.violations {
		t.Errorf("contract violation: %s", v)
	}
}

func (g *guard) deleteCalls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nDel
}

// collector gathers OnDelete calls.
type collector struct {
	mu sync.Mutex
	vs []s3diff.Version
}

func (c *collector) add(v s3diff.Version) { c.mu.Lock(); c.vs = append(c.vs, v); c.mu.Unlock() }
func (c *collector) set() map[[2]string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[[2]string]int{}
	for _, v := range c.vs {
		out[[2]string{v.Key, v.VersionID}]++
	}
	return out
}

// checkResume asserts the contract of StartAfter: every key under the prefix up to it (and
// after the run's own StartAfter) is done, and every key is either done or untouched... or
// partly pruned only when it is after StartAfter.
func checkResume(t *testing.T, m *model, keys []string, keep int, from string, res *s3diff.PrefixRetainResult) {
	t.Helper()
	if res == nil {
		t.Fatalf("no result")
	}
	if res.Complete {
		t.Errorf("Complete although the run stopped early")
	}
	if res.StartAfter == "" {
		// "stopped before any key was done": nothing is promised, but a StartAfter of ""
		// means a rerun from the start, which is safe.
		return
	}
	if res.StartAfter <= from {
		t.Errorf("StartAfter %q does not move past the run's own start %q", res.StartAfter, from)
	}
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	for _, k := range sorted {
		if k <= from {
			continue
		}
		if k > res.StartAfter {
			break
		}
		if !m.done(k, keep) {
			t.Errorf("StartAfter %q says key %q is done, but it has %v (want %v)", res.StartAfter, k, m.ids(k), m.kept(m.start[k], keep))
		}
	}
}

// page builds a ListObjectVersions answer.
type pageEntry struct {
	key, id        string
	latest, marker bool
	noID           bool
}

func buildPage(entries []pageEntry, truncated bool, nextKey, nextID *string) *s3.ListObjectVersionsOutput {
	out := &s3.ListObjectVersionsOutput{IsTruncated: aws.Bool(truncated), NextKeyMarker: nextKey, NextVersionIdMarker: nextID}
	for _, e := range entries {
		var id *string
		if !e.noID {
			id = aws.String(e.id)
		}
		if e.marker {
			out.DeleteMarkers = append(out.DeleteMarkers, types.DeleteMarkerEntry{Key: aws.String(e.key), VersionId: id, IsLatest: aws.Bool(e.latest)})
		} else {
			out.Versions = append(out.Versions, types.ObjectVersion{Key: aws.String(e.key), VersionId: id, IsLatest: aws.Bool(e.latest), Size: aws.Int64(1)})
		}
	}
	return out
}
