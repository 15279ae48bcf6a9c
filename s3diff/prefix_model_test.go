package s3diff_test

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

// oddPieces make keys that sort oddly: empty-ish, unicode (precomposed and combining),
// '/', '.', trailing spaces, case, control characters, very long.
var oddPieces = []string{"", "a", "A", "a ", "a.", "a/", "/", ".", "é", "e\u0301", "\u00ff", "~", "-", "0", "\t", " ",
	"\U0001F600", "a.bak", "a/b", "%2F", "+", strings.Repeat("x", 300)}

func oddKeys(rng *rand.Rand, prefix string, n int) []string {
	seen := map[string]bool{}
	keys := []string{prefix} // a key equal to the prefix itself
	seen[prefix] = true
	for len(keys) < n {
		k := prefix
		for range 1 + rng.Intn(3) {
			k += oddPieces[rng.Intn(len(oddPieces))]
		}
		if len(k) > 1024 || seen[k] {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
	}
	return keys
}

// TestPrefixRandomBuckets: random odd keys with random histories of uploads and
// deletes, random keep, page size, concurrency and resume point; the end state must be the
// rules of retain for every key after StartAfter, keys before it and outside the prefix
// untouched, and the counts and OnDelete calls must match what happened.
func TestPrefixRandomBuckets(t *testing.T) { randomBuckets(t, 150, false) }

// TestPrefixRandomBucketsThroughTheWire: the same with the real SDK client against the
// fake's wire server (keys go through URL and XML encoding both ways).
func TestPrefixRandomBucketsThroughTheWire(t *testing.T) { randomBuckets(t, 40, true) }

func randomBuckets(t *testing.T, seeds int64, wire bool) {
	ctx := context.Background()
	for seed := int64(1); seed <= seeds; seed++ {
		rng := rand.New(rand.NewSource(seed))
		m := newModel(t)
		prefix := []string{"p/", "p", ""}[rng.Intn(3)]
		keys := oddKeys(rng, prefix, 3+rng.Intn(10))
		outside := []string{}
		for _, k := range []string{"o", "o/a", strings.TrimSuffix(prefix, "/"), "q"} {
			if k != "" && !strings.HasPrefix(k, prefix) {
				outside = append(outside, k)
			}
		}
		all := append(append([]string(nil), keys...), outside...)
		for _, k := range all {
			if k == "" {
				continue
			}
			for range 1 + rng.Intn(7) {
				if rng.Intn(10) < 3 {
					m.del(k)
				} else {
					m.put(k)
				}
			}
		}
		var present []string // under the prefix, non-empty
		for _, k := range keys {
			if k != "" && strings.HasPrefix(k, prefix) {
				present = append(present, k)
			}
		}
		m.snapshot(append(present, outside...))
		keep := 1 + rng.Intn(4)
		pageSize := int32(1 + rng.Intn(4))
		if rng.Intn(5) == 0 {
			pageSize = 1000
		}
		conc := 1 + rng.Intn(3)
		startAfter := ""
		if rng.Intn(3) == 0 {
			startAfter = prefix + oddPieces[rng.Intn(len(oddPieces))]
		}
		var api s3diff.S3API = m.api()
		if wire {
			srv := s3difftest.NewWireServer(m.fake())
			t.Cleanup(srv.Close)
			api = s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", UsePathStyle: true,
				Credentials: credentials.NewStaticCredentialsProvider("AKIDWIRE", "wire", "")})
		}
		g := &guard{S3API: api, prefix: prefix, mustStay: m.mustStay(keep)}
		c := newClient(t, g, func(o *s3diff.Options) { o.PageSize = pageSize })
		var col collector
		name := fmt.Sprintf("wire %v", wire)
		name += fmt.Sprintf(" seed %d prefix %q keep %d page %d conc %d start %q", seed, prefix, keep, pageSize, conc, startAfter)
		res, err := c.RetainPrefix(ctx, m.bucket(), prefix, keep, func(o *s3diff.PrefixRetainOptions) {
			o.Concurrency, o.StartAfter, o.OnDelete = conc, startAfter, col.add
		})
		require.NoError(t, err, name)
		g.check(t)
		assert.True(t, res.Complete, name)
		assert.Empty(t, res.StartAfter, name)
		wantDeleted := map[[2]string]int{}
		wantKeys, wantVersions := 0, 0
		for _, k := range present {
			if k <= startAfter {
				assert.True(t, m.untouched(k), "%s: key %q is before StartAfter: untouched", name, k)
				continue
			}
			wantKeys++
			wantVersions += len(m.start[k])
			assert.True(t, m.done(k, keep), "%s: key %q has %v, want %v (markers %v)", name, k, m.ids(k), m.kept(m.start[k], keep), m.markers)
			stay := map[string]bool{}
			for _, id := range m.kept(m.start[k], keep) {
				stay[id] = true
			}
			for _, id := range m.start[k] {
				if !stay[id] {
					wantDeleted[[2]string{k, id}] = 1
				}
			}
		}
		for _, k := range outside {
			assert.True(t, m.untouched(k), "%s: key %q is outside the prefix", name, k)
		}
		assert.Equal(t, wantKeys, res.Keys, name)
		assert.Equal(t, wantVersions, res.Versions, name)
		assert.Equal(t, len(wantDeleted), res.Planned, name)
		assert.Equal(t, len(wantDeleted), res.Deleted, name)
		assert.Equal(t, wantDeleted, col.set(), "%s: OnDelete once per deleted version", name)
		if t.Failed() {
			return
		}
	}
}

// TestPrefixDryRunRandom: a dry run plans exactly what a real run deletes, and sends
// no DeleteObjects.
func TestPrefixDryRunRandom(t *testing.T) {
	ctx := context.Background()
	for seed := int64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewSource(seed))
		m := newModel(t)
		keys := oddKeys(rng, "d/", 6)
		for _, k := range keys {
			for range 1 + rng.Intn(6) {
				if rng.Intn(10) < 3 {
					m.del(k)
				} else {
					m.put(k)
				}
			}
		}
		m.snapshot(keys)
		keep := 1 + rng.Intn(3)
		g := &guard{S3API: m.api(), prefix: "d/"}
		c := newClient(t, g, func(o *s3diff.Options) { o.PageSize = int32(1 + rng.Intn(3)) })
		var dry collector
		res, err := c.RetainPrefix(ctx, m.bucket(), "d/", keep, func(o *s3diff.PrefixRetainOptions) { o.DryRun, o.OnDelete = true, dry.add })
		require.NoError(t, err)
		assert.Zero(t, g.deleteCalls(), "seed %d: a dry run deletes nothing", seed)
		assert.Zero(t, res.Deleted, "seed %d", seed)
		for _, k := range keys {
			assert.True(t, m.untouched(k))
		}
		var real collector
		res2, err := c.RetainPrefix(ctx, m.bucket(), "d/", keep, func(o *s3diff.PrefixRetainOptions) { o.OnDelete = real.add })
		require.NoError(t, err)
		assert.Equal(t, res.Planned, res2.Deleted, "seed %d", seed)
		assert.Equal(t, dry.set(), real.set(), "seed %d: the dry run's plan is what the real run deletes", seed)
	}
}

// TestPrefixVersionsSpanPages: one key whose versions and delete markers straddle every
// page boundary, between siblings, for page sizes 1 to 3 and keep 1 to 4.
func TestPrefixVersionsSpanPages(t *testing.T) {
	ctx := context.Background()
	histories := []string{
		"PPPPPPP", "PDPDPDP", "DDDPPPD", "PPPDDDD", "DPPPPPP", "PPDPPDPPD", "D", "P", "DD", "DP",
	}
	for _, hist := range histories {
		for _, pageSize := range []int32{1, 2, 3} {
			for keep := 1; keep <= 4; keep++ {
				m := newModel(t)
				keys := []string{"k/a", "k/a ", "k/a.bak", "k/a/b", "k/b"}
				for _, k := range keys {
					for _, op := range hist {
						if op == 'D' {
							m.del(k)
						} else {
							m.put(k)
						}
					}
				}
				m.snapshot(keys)
				g := &guard{S3API: m.api(), prefix: "k/", mustStay: m.mustStay(keep)}
				c := newClient(t, g, func(o *s3diff.Options) { o.PageSize = pageSize })
				res, err := c.RetainPrefix(ctx, m.bucket(), "k/", keep, func(o *s3diff.PrefixRetainOptions) { o.Concurrency = 1 })
				name := fmt.Sprintf("history %s page %d keep %d", hist, pageSize, keep)
				require.NoError(t, err, name)
				g.check(t)
				assert.True(t, res.Complete, name)
				for _, k := range keys {
					assert.True(t, m.done(k, keep), "%s: %q has %v want %v", name, k, m.ids(k), m.kept(m.start[k], keep))
				}
			}
		}
	}
}

// TestPrefixArguments: bad arguments are errors, never a run with defaults, and never
// a panic.
func TestPrefixArguments(t *testing.T) {
	ctx := context.Background()
	m := newModel(t)
	for range 3 {
		m.put("x/a")
	}
	c := newClient(t, m.api())
	for _, keep := range []int{0, -1, -1 << 62} {
		_, err := c.RetainPrefix(ctx, m.bucket(), "x/", keep)
		assert.ErrorIs(t, err, s3diff.ErrInvalidKeep, "keep %d", keep)
	}
	for _, tc := range []struct {
		name   string
		bucket string
		fn     func(*s3diff.PrefixRetainOptions)
	}{
		{"empty bucket", "", nil},
		{"blank bucket", "   ", nil},
		{"negative concurrency", m.bucket(), func(o *s3diff.PrefixRetainOptions) { o.Concurrency = -1 }},
		{"StartAfter outside the prefix", m.bucket(), func(o *s3diff.PrefixRetainOptions) { o.StartAfter = "w/zzz" }},
		{"StartAfter before the prefix (a prefix of it)", m.bucket(), func(o *s3diff.PrefixRetainOptions) { o.StartAfter = "x" }},
	} {
		var fns []func(*s3diff.PrefixRetainOptions)
		if tc.fn != nil {
			fns = append(fns, tc.fn)
		}
		_, err := c.RetainPrefix(ctx, tc.bucket, "x/", 1, fns...)
		assert.ErrorIs(t, err, s3diff.ErrInvalidInput, tc.name)
	}
	assert.Len(t, m.ids("x/a"), 3, "nothing deleted by a bad call")

	// keep at the other edge: nothing to delete.
	res, err := c.RetainPrefix(ctx, m.bucket(), "x/", 1<<62)
	require.NoError(t, err)
	assert.True(t, res.Complete)
	assert.Zero(t, res.Planned)
	assert.Len(t, m.ids("x/a"), 3)

	// Concurrency far above the number of batches is fine.
	res, err = c.RetainPrefix(ctx, m.bucket(), "x/", 1, func(o *s3diff.PrefixRetainOptions) { o.Concurrency = 1 << 20 })
	require.NoError(t, err)
	assert.True(t, res.Complete)
	assert.Len(t, m.ids("x/a"), 1)

	// An empty prefix is the whole bucket; a bucket with nothing under the prefix completes.
	res, err = c.RetainPrefix(ctx, m.bucket(), "nothing-here/", 1)
	require.NoError(t, err)
	assert.True(t, res.Complete)
	assert.Zero(t, res.Keys)

	// A bucket that does not exist is an error, not an empty success.
	res, err = c.RetainPrefix(ctx, "no-such-bucket", "x/", 1)
	require.Error(t, err)
	if res != nil {
		assert.False(t, res.Complete, "a run on a missing bucket is not complete")
	}
}

// TestPrefixStartAfterNotAKey: StartAfter need not be a key: keys after it are done,
// keys up to it untouched, and a key equal to it is skipped.
func TestPrefixStartAfterNotAKey(t *testing.T) {
	ctx := context.Background()
	keys := []string{"s/", "s/a", "s/b", "s/b ", "s/b0", "s/b/c", "s/c"}
	for _, sa := range []string{"s/", "s/a", "s/b", "s/b!", "s/b.", "s/b\x00", "s/bz", "s/zzz", "s/\U0010FFFF"} {
		m := newModel(t)
		for _, k := range keys {
			for range 3 {
				m.put(k)
			}
		}
		m.snapshot(keys)
		c := newClient(t, m.api(), func(o *s3diff.Options) { o.PageSize = 2 })
		res, err := c.RetainPrefix(ctx, m.bucket(), "s/", 1, func(o *s3diff.PrefixRetainOptions) { o.StartAfter = sa })
		require.NoError(t, err, "StartAfter %q", sa)
		assert.True(t, res.Complete)
		n := 0
		for _, k := range keys {
			if k <= sa {
				assert.True(t, m.untouched(k), "StartAfter %q: %q is skipped", sa, k)
			} else {
				n++
				assert.True(t, m.done(k, 1), "StartAfter %q: %q is pruned", sa, k)
			}
		}
		assert.Equal(t, n, res.Keys, "StartAfter %q", sa)
	}
}

// sortedCopy returns keys sorted.
func sortedCopy(keys []string) []string {
	out := append([]string(nil), keys...)
	sort.Strings(out)
	return out
}
