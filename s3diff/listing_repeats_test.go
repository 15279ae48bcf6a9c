package s3diff_test

// Listings that repeat an entry under another shape: the latest entry's id again as an old
// delete marker, again without its latest flag (in the same page or the next one), a latest
// delete marker dated before the versions it hides. "An entry listed twice counts once" and
// "the latest entry is never deleted" must both hold: whatever the run decides, nothing the
// rules keep is deleted.

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

func TestAListingThatRepeatsTheLatestEntryNeverDeletesIt(t *testing.T) {
	// all is l/a's 5 versions (newest first, the first latest), l/b's, l/c's (a marker in
	// the middle), l/d's.
	lies := []listingLie{
		{name: "the latest version's id again as an old delete marker of its key", lenient: true,
			pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
				return func(n int) (*s3.ListObjectVersionsOutput, error) {
					p := append([]pageEntry(nil), all...)
					p = append(p, pageEntry{key: "l/a", id: all[0].id, marker: true})
					return buildPage(p, false, nil, nil), nil
				}
			}},
		{name: "the latest version repeated at the end of its key without the latest flag", lenient: true,
			pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
				return func(n int) (*s3.ListObjectVersionsOutput, error) {
					var p []pageEntry
					for i, e := range all {
						p = append(p, e)
						if i == 4 { // l/a's last
							p = append(p, pageEntry{key: "l/a", id: all[0].id})
						}
					}
					return buildPage(p, false, nil, nil), nil
				}
			}},
		{name: "the latest version repeated on the next page without the latest flag", lenient: true,
			pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
				return func(n int) (*s3.ListObjectVersionsOutput, error) {
					switch n {
					case 1:
						return buildPage(all[:2], true, aws.String("l/a"), aws.String(all[1].id)), nil
					default:
						p := append([]pageEntry{{key: "l/a", id: all[0].id}}, all[2:]...)
						return buildPage(p, false, nil, nil), nil
					}
				}
			}},
		{name: "the latest version repeated on the next page, after the key's other entries", lenient: true,
			pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
				return func(n int) (*s3.ListObjectVersionsOutput, error) {
					switch n {
					case 1:
						return buildPage(all[:1], true, aws.String("l/a"), aws.String(all[0].id)), nil
					default:
						p := append([]pageEntry(nil), all[1:5]...)
						p = append(p, pageEntry{key: "l/a", id: all[0].id})
						p = append(p, all[5:]...)
						return buildPage(p, false, nil, nil), nil
					}
				}
			}},
		{name: "a kept version's id again as an old delete marker of its key", lenient: true,
			pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
				return func(n int) (*s3.ListObjectVersionsOutput, error) {
					p := append([]pageEntry(nil), all...)
					p = append(p, pageEntry{key: "l/a", id: all[1].id, marker: true})
					return buildPage(p, false, nil, nil), nil
				}
			}},
		{name: "a latest version's id listed as another key's old version", lenient: true,
			pages: func(all []pageEntry) func(int) (*s3.ListObjectVersionsOutput, error) {
				return func(n int) (*s3.ListObjectVersionsOutput, error) {
					var p []pageEntry
					for i, e := range all {
						p = append(p, e)
						if i == 9 { // l/b's last: l/a's latest id under l/b
							p = append(p, pageEntry{key: "l/b", id: all[0].id})
						}
					}
					return buildPage(p, false, nil, nil), nil
				}
			}},
	}
	for _, la := range lies {
		for _, keep := range []int{1, 2, 5} {
			t.Run(fmt.Sprintf("%s keep %d", la.name, keep), func(t *testing.T) {
				runListingAttack(t, la, keep)
			})
		}
	}
}

// TestALatestMarkerDatedBeforeTheVersionsIsNeverDeleted: the server flags a delete marker
// latest but dates it before the versions (a clock that went back, a server that keeps the
// time a marker was restored). The marker hides the object: deleting it brings the object
// back, and the newest keep versions stay.
func TestALatestMarkerDatedBeforeTheVersionsIsNeverDeleted(t *testing.T) {
	ctx := context.Background()
	for _, keep := range []int{1, 2} {
		for _, prefix := range []bool{false, true} {
			t.Run(fmt.Sprintf("keep %d prefix %v", keep, prefix), func(t *testing.T) {
				m := newModel(t)
				key := "p/k"
				v1, v2, v3 := m.put(key), m.put(key), m.put(key)
				mk := m.del(key)
				m.snapshot([]string{key})
				rw := &rewriting{S3API: m.api(), list: func(out *s3.ListObjectVersionsOutput) {
					for i := range out.DeleteMarkers {
						if aws.ToString(out.DeleteMarkers[i].VersionId) == mk {
							out.DeleteMarkers[i].LastModified = aws.Time(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
						}
					}
				}}
				g := &guard{S3API: rw, prefix: "p/", mustStay: m.mustStay(keep)}
				c := newClient(t, g)
				var err error
				if prefix {
					_, err = c.RetainPrefix(ctx, m.bucket(), "p/", keep)
				} else {
					_, err = c.Retain(ctx, m.bucket(), key, keep)
				}
				g.check(t)
				ids := m.ids(key)
				assert.Contains(t, ids, mk, "the marker that hides the object stays")
				assert.Contains(t, ids, v3, "the newest version stays")
				if keep == 2 {
					assert.Contains(t, ids, v2)
				}
				if err == nil {
					assert.NotContains(t, ids, v1)
				}
			})
		}
	}
}

// TestRetainPrefixResumeWithAServerThatIgnoresTheKeyMarker: a server that ignores
// KeyMarker lists from the start again; keys up to StartAfter are skipped by the contract,
// so they are either left alone or the run refuses the listing, never half pruned with a
// resume point that lies.
func TestRetainPrefixResumeWithAServerThatIgnoresTheKeyMarker(t *testing.T) {
	m := newModel(t)
	keys := []string{"l/a", "l/b", "l/c", "l/d"}
	for _, k := range keys {
		for range 4 {
			m.put(k)
		}
	}
	m.snapshot(keys)
	g := &guard{S3API: m.api(), prefix: "l/", mustStay: m.mustStay(1)}
	g.listHook = func(n int, in *s3.ListObjectVersionsInput, out *s3.ListObjectVersionsOutput, err error) (*s3.ListObjectVersionsOutput, error) {
		in2 := *in
		in2.KeyMarker, in2.VersionIdMarker = nil, nil
		return m.api().ListObjectVersions(context.Background(), &in2)
	}
	res, err := newClient(t, g, func(o *s3diff.Options) { o.PageSize = 1000 }).
		RetainPrefix(context.Background(), m.bucket(), "l/", 1, func(o *s3diff.PrefixRetainOptions) { o.StartAfter = "l/b" })
	g.check(t)
	require.NotNil(t, res)
	t.Logf("err %v, %+v", err, res.PrefixProgress)
	for _, k := range keys[:2] {
		if err == nil {
			assert.True(t, m.untouched(k), "%s is before -start-after: %v", k, m.ids(k))
		}
	}
	assert.Equal(t, res.Planned, res.Deleted+res.Failed+res.Stopped+res.Unknown)
}
