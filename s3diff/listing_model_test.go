package s3diff_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff"
)

// entries returns the bucket's listing of keys (sorted), as S3 orders it.
func (m *model) entries(keys []string) []pageEntry {
	var out []pageEntry
	for _, k := range sortedCopy(keys) {
		for i, id := range m.ids(k) {
			out = append(out, pageEntry{key: k, id: id, latest: i == 0, marker: m.markers[id]})
		}
	}
	return out
}

// pagesOf cuts entries into truthful pages of size n: page i (0-based) and whether it is
// the last.
func pagesOf(entries []pageEntry, n int) [][]pageEntry {
	var out [][]pageEntry
	for len(entries) > n {
		out = append(out, entries[:n])
		entries = entries[n:]
	}
	return append(out, entries)
}

func truthful(p []pageEntry, last bool) *s3.ListObjectVersionsOutput {
	if last {
		return buildPage(p, false, nil, nil)
	}
	e := p[len(p)-1]
	return buildPage(p, true, aws.String(e.key), aws.String(e.id))
}

// listingLie runs RetainPrefix over "l/" with a listing the test makes up from the
// bucket's true entries; the guard checks that nothing that must stay is deleted.
type listingLie struct {
	name  string
	pages func(all []pageEntry) func(n int) (*s3.ListObjectVersionsOutput, error)
	// wantErr: the run must fail with ErrMalformedResponse (the answer is impossible).
	wantErr bool
	// lenient: a run that succeeds may keep more than the rules say (it may not delete more).
	lenient bool
}

func runListingAttack(t *testing.T, la listingLie, keep int) {
	t.Helper()
	m := newModel(t)
	keys := []string{"l/a", "l/b", "l/c", "l/d"}
	for _, k := range keys {
		for range 5 {
			m.put(k)
		}
	}
	m.del("l/c")
	m.put("l/c")
	m.snapshot(keys)
	script := la.pages(m.entries(keys))
	g := &guard{S3API: m.api(), prefix: "l/", mustStay: m.mustStay(keep)}
	g.listHook = func(n int, in *s3.ListObjectVersionsInput, out *s3.ListObjectVersionsOutput, err error) (*s3.ListObjectVersionsOutput, error) {
		return script(n)
	}
	c := newClient(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.RetainPrefix(ctx, m.bucket(), "l/", keep, func(o *s3diff.PrefixRetainOptions) { o.Concurrency = 1 })
	g.check(t)
	assert.Less(t, g.nList, 1000, "%s: the listing loops (%d calls)", la.name, g.nList)
	if la.wantErr {
		require.Error(t, err, la.name)
		assert.ErrorIs(t, err, s3diff.ErrMalformedResponse, la.name)
		require.NotNil(t, res, la.name)
		assert.False(t, res.Complete, la.name)
		checkResume(t, m, keys, keep, "", res)
		return
	}
	if err != nil {
		// Refusing an impossible answer is fine; then StartAfter must be safe.
		assert.ErrorIs(t, err, s3diff.ErrMalformedResponse, la.name)
		if res != nil {
			checkResume(t, m, keys, keep, "", res)
		}
		return
	}
	if la.lenient {
		return
	}
	for _, k := range keys {
		assert.True(t, m.done(k, keep), "%s: a run that reports success leaves %q with %v (want %v)", la.name, k, m.ids(k), m.kept(m.start[k], keep))
	}
}

func TestListing(t *testing.T) {
	lies := []listingLie{
		{name: "truncated page without next markers", wantErr: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				return buildPage(all[:7], true, nil, nil), nil
			}
		}},
		{name: "truncated page with a version marker but no key marker", wantErr: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				return buildPage(all[:7], true, nil, aws.String(all[6].id)), nil
			}
		}},
		{name: "truncated empty page whose markers do not move", wantErr: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				if n == 1 {
					return truthful(all[:3], false), nil
				}
				return buildPage(nil, true, aws.String(all[2].key), aws.String(all[2].id)), nil
			}
		}},
		{name: "markers that go backwards (the listing starts over)", wantErr: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			ps := pagesOf(all, 3)
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				i := (n - 1) % 3 // pages 0,1,2,0,1,2,...
				return truthful(ps[i], false), nil
			}
		}},
		{name: "a page that repeats the whole previous page", pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			ps := pagesOf(all, 4)
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				i := n - 1
				if n >= 3 {
					i = n - 2 // page 1 twice
				}
				return truthful(ps[i], i == len(ps)-1), nil
			}
		}},
		{name: "each page repeats the last two entries of the one before", pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			// pages of 4 that move on by 2
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				from := (n - 1) * 2
				to := min(from+4, len(all))
				return truthful(all[from:to], to == len(all)), nil
			}
		}},
		{name: "one version listed twice in one page", pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				p := append([]pageEntry(nil), all[:2]...)
				p = append(p, all[1]) // l/a: v5, v4, v4, v3, ...
				p = append(p, all[2:]...)
				return buildPage(p, false, nil, nil), nil
			}
		}},
		{name: "keys go backwards across pages", wantErr: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			// l/a's first three, then l/b entirely, then the rest of l/a, then the rest.
			var a, b, rest []pageEntry
			for _, e := range all {
				switch e.key {
				case "l/a":
					a = append(a, e)
				case "l/b":
					b = append(b, e)
				default:
					rest = append(rest, e)
				}
			}
			ps := [][]pageEntry{a[:3], b, a[3:], rest}
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				return truthful(ps[n-1], n == len(ps)), nil
			}
		}},
		{name: "keys go backwards inside one page", wantErr: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			var a, b, rest []pageEntry
			for _, e := range all {
				switch e.key {
				case "l/a":
					a = append(a, e)
				case "l/b":
					b = append(b, e)
				default:
					rest = append(rest, e)
				}
			}
			p := append(append(append(append([]pageEntry(nil), a[:2]...), b...), a[2:]...), rest...)
			return func(n int) (*s3.ListObjectVersionsOutput, error) { return buildPage(p, false, nil, nil), nil }
		}},
		{name: "an entry without a version id on the second page of a key", wantErr: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			ps := pagesOf(all, 3)
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				p := append([]pageEntry(nil), ps[n-1]...)
				if n == 2 {
					p[1].noID = true
				}
				return truthful(p, n == len(ps)), nil
			}
		}},
		{name: "an entry whose version id is empty", wantErr: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			ps := pagesOf(all, 3)
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				p := append([]pageEntry(nil), ps[n-1]...)
				if n == 4 {
					p[0].id = ""
				}
				return truthful(p, n == len(ps)), nil
			}
		}},
		{name: "a delete marker without a version id", wantErr: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				p := append([]pageEntry(nil), all...)
				for i := range p {
					if p[i].marker {
						p[i].noID = true
					}
				}
				return buildPage(p, false, nil, nil), nil
			}
		}},
		{name: "entries outside the prefix (the server ignored it)", pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				p := []pageEntry{{key: "k/z", id: "outside-1", latest: true}, {key: "k/z", id: "outside-2"}, {key: "k/z", id: "outside-3"}}
				p = append(p, all...)
				p = append(p, pageEntry{key: "m/a", id: "outside-4", latest: true}, pageEntry{key: "m/a", id: "outside-5"})
				return buildPage(p, false, nil, nil), nil
			}
		}},
		{name: "the latest flag on the second entry of a key", lenient: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				p := append([]pageEntry(nil), all...)
				p[0].latest, p[1].latest = false, true // l/a: the server says its second entry is the latest
				return buildPage(p, false, nil, nil), nil
			}
		}},
		{name: "no entry of a key is flagged latest", lenient: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				p := append([]pageEntry(nil), all...)
				p[0].latest = false
				return buildPage(p, false, nil, nil), nil
			}
		}},
		{name: "an entry without a key", wantErr: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				out := buildPage(all, false, nil, nil)
				out.Versions[3].Key = nil
				return out, nil
			}
		}},
		{name: "IsTruncated missing (nil) on the last page", pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			return func(n int) (*s3.ListObjectVersionsOutput, error) {
				out := buildPage(all, false, nil, nil)
				out.IsTruncated = nil
				return out, nil
			}
		}},
		{name: "a nil answer without an error", wantErr: true, pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
			return func(n int) (*s3.ListObjectVersionsOutput, error) { return nil, nil }
		}},
	}
	for _, la := range lies {
		for _, keep := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s keep %d", la.name, keep), func(t *testing.T) {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				runListingAttack(t, la, keep)
			})
		}
	}
}

// TestUploadsDuringThePass: after every listing page, a new version goes to the key
// whose entries the listing has just returned (its listing has begun, so the upload is not
// in this pass), to the first key, to a key not yet listed and to a new key; nothing that
// was not listed is deleted, and no upload to a key the listing had already reached is.
func TestUploadsDuringThePass(t *testing.T) {
	for _, pageSize := range []int32{1, 2, 3, 1000} {
		m := newModel(t)
		keys := []string{"u/a", "u/b", "u/c", "u/d", "u/e"}
		for _, k := range keys {
			for range 4 {
				m.put(k)
			}
		}
		m.snapshot(keys)
		var fresh [][2]string
		g := &guard{S3API: m.api(), prefix: "u/"}
		g.listHook = func(n int, in *s3.ListObjectVersionsInput, out *s3.ListObjectVersionsOutput, err error) (*s3.ListObjectVersionsOutput, error) {
			if out != nil && len(out.Versions) > 0 {
				last := aws.ToString(out.Versions[len(out.Versions)-1].Key)
				for _, k := range []string{last, "u/a"} {
					fresh = append(fresh, [2]string{k, m.put(k)})
				}
				m.put("u/e")
				m.put("u/new")
			}
			return out, err
		}
		c := newClient(t, g, func(o *s3diff.Options) { o.PageSize = pageSize })
		res, err := c.RetainPrefix(context.Background(), m.bucket(), "u/", 1)
		g.check(t)
		require.NoError(t, err)
		assert.True(t, res.Complete)
		for _, f := range fresh {
			assert.Contains(t, m.ids(f[0]), f[1], "page size %d: an upload during the pass to %q is never deleted", pageSize, f[0])
		}
	}
}

// TestVersionsOldestFirst: an S3-compatible server that lists each key's versions
// oldest first, with IsLatest on the last one. The latest entry is never deleted, by Retain
// or by RetainPrefix (which versions are kept is S3's order: not checked here).
func TestVersionsOldestFirst(t *testing.T) {
	for _, pageSize := range []int{2, 1000} {
		m := newModel(t)
		keys := []string{"o/a", "o/b"}
		for _, k := range keys {
			for range 4 {
				m.put(k)
			}
		}
		m.snapshot(keys)
		all := m.entries(keys)
		var reversed []pageEntry
		for _, k := range keys {
			var these []pageEntry
			for _, e := range all {
				if e.key == k {
					these = append([]pageEntry{e}, these...)
				}
			}
			reversed = append(reversed, these...)
		}
		ps := pagesOf(reversed, pageSize)
		lister := func(n int, in *s3.ListObjectVersionsInput, out *s3.ListObjectVersionsOutput, err error) (*s3.ListObjectVersionsOutput, error) {
			// serve the page that follows the request's markers
			i := 0
			if in.KeyMarker != nil {
				for j, p := range ps {
					if l := p[len(p)-1]; l.key == aws.ToString(in.KeyMarker) && l.id == aws.ToString(in.VersionIdMarker) {
						i = j + 1
					}
				}
			}
			return truthful(ps[i], i == len(ps)-1), nil
		}
		latest := map[string]string{}
		for _, k := range keys {
			latest[k] = m.start[k][0]
		}

		g := &guard{S3API: m.api(), prefix: "o/", listHook: lister}
		c := newClient(t, g)
		_, _ = c.Retain(context.Background(), m.bucket(), "o/a", 1)
		assert.Equal(t, latest["o/a"], m.ids("o/a")[0], "page size %d: Retain keeps the latest entry", pageSize)

		g = &guard{S3API: m.api(), prefix: "o/", listHook: lister}
		c = newClient(t, g, func(o *s3diff.Options) { o.PageSize = int32(pageSize) })
		_, err := c.RetainPrefix(context.Background(), m.bucket(), "o/", 1)
		g.check(t)
		for _, k := range keys {
			assert.Contains(t, m.ids(k), latest[k], "page size %d: RetainPrefix deleted the latest version of %q (err %v)", pageSize, k, err)
		}
	}
}
