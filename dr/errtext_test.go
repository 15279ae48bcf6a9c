package dr_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// TestErrorsNameThePackageOnce: each failure reads "dr: ...", naming the package once and
// first, so the binaries can print it as it is.
func TestErrorsNameThePackageOnce(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	denied := drtest.APIError("AccessDenied", "not allowed")
	cases := map[string]func(f *drtest.RDS) error{
		"bad snapshot id": func(f *drtest.RDS) error { _, err := source(t, f).CopyAutomated(ctx, "rds:a--b"); return err },
		"describe denied": func(f *drtest.RDS) error {
			f.Fail(drtest.OpDescribe, denied, 0)
			_, err := source(t, f).CopyAutomated(ctx, "rds:orders-db-2026-11-23-03-00")
			return err
		},
		"copy denied": func(f *drtest.RDS) error {
			f.Fail(drtest.OpCopy, denied, 0)
			_, err := source(t, f).CopyAutomated(ctx, "rds:orders-db-2026-11-23-03-00")
			return err
		},
		"quota": func(f *drtest.RDS) error {
			f.ManualQuota = 2
			_, err := source(t, f).CopyAutomated(ctx, f.AddAutomated("orders-db", created.Add(time.Hour), ""))
			return err
		},
		"quota from RDS": func(f *drtest.RDS) error {
			f.ManualQuota = 2
			f.Fail(drtest.OpAccount, denied, 0)
			_, err := source(t, f).CopyAutomated(ctx, f.AddAutomated("orders-db", created.Add(time.Hour), ""))
			return err
		},
		"share denied": func(f *drtest.RDS) error {
			f.Fail(drtest.OpModifyAttribute, denied, 0)
			_, err := source(t, f, func(o *dr.SourceOptions) { o.ShareWith = []string{recovery} }).ShareAvailable(ctx)
			return err
		},
		"retention delete denied": func(f *drtest.RDS) error {
			f.Fail(drtest.OpDelete, denied, 0)
			_, err := source(t, f).Scheduled(ctx, dr.Retention{Keep: 1})
			return err
		},
		"cancelled": func(f *drtest.RDS) error {
			_, err := source(t, f).Scheduled(cancelled, dr.Retention{Keep: 1})
			return err
		},
		"recovery listing denied": func(f *drtest.RDS) error {
			rec, err := dr.NewRecovery(f, f, origin)
			require.NoError(t, err)
			f.Fail(drtest.OpDescribe, denied, 0)
			_, err = rec.CopyShared(ctx)
			return err
		},
		"bad options": func(f *drtest.RDS) error { _, err := dr.NewRecovery(f, f, dr.Origin{}); return err },
		"bad event":   func(*drtest.RDS) error { _, err := dr.ParseEvents([]byte(`{`)); return err },
	}
	for name, produce := range cases {
		t.Run(name, func(t *testing.T) {
			f := drtest.New(nil)
			f.AddAutomated("orders-db", created, "")
			f.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", created, map[string]string{dr.TagDR: "true"})
			f.AddManual("shipshape-dr-orders-db-202611220300", "orders-db", created.Add(-24*time.Hour), map[string]string{dr.TagDR: "true"})
			err := produce(f)
			require.Error(t, err)
			// errors.Join of several failures (a scheduled run's steps) gives one line each.
			for _, msg := range strings.Split(err.Error(), "\n") {
				// Counted where "dr: " starts a word: snapshot ids end in "-dr" ("shipshape-dr-orders-db-202611230300: ...").
				assert.Equal(t, 1, errtext.Count(" dr", " "+msg), "%s", msg)
				assert.True(t, strings.HasPrefix(msg, "dr: "), "%s", msg)
			}
		})
	}
}
