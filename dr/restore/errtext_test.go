package restore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// TestErrorsNameThePackageOnce: each failure reads "dr: ...", naming the package once and
// first, so the binaries can print it as it is.
func TestErrorsNameThePackageOnce(t *testing.T) {
	ctx := context.Background()
	denied := drtest.APIError("AccessDenied", "not allowed")
	verifierOn := func(f *drtest.RDS) *restore.Verifier {
		v, err := restore.NewVerifier(f, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, dr.Database{Driver: "pgx", DSN: noDB},
			func(o *dr.VerifyOptions) { o.Clock = f.Clock(); o.Timeout = time.Minute })
		require.NoError(t, err)
		return v
	}
	cases := map[string]func(f *drtest.RDS) error{
		"no snapshot": func(f *drtest.RDS) error { _, err := verifierOn(drtest.New(nil)).Verify(ctx); return err },
		"restore denied": func(f *drtest.RDS) error {
			f.Fail(drtest.OpRestore, denied, 0)
			_, err := verifierOn(f).Verify(ctx)
			return err
		},
		"restore failed": func(f *drtest.RDS) error {
			f.RestoreOutcome = "storage-full"
			_, err := verifierOn(f).Verify(ctx)
			return err
		},
		"timed out": func(f *drtest.RDS) error { f.RestoreTime = time.Hour; _, err := verifierOn(f).Verify(ctx); return err },
		"cleanup denied": func(f *drtest.RDS) error {
			f.Fail(drtest.OpDeleteDB, denied, 0)
			_, err := verifierOn(f).Verify(ctx)
			return err
		},
		"foreign": func(f *drtest.RDS) error {
			_, _ = verifierOn(f).Start(ctx, "r")
			_, err := verifierOn(f).Start(ctx, "R")
			return err
		},
		"bad DSN": func(*drtest.RDS) error { _, err := restore.DSNTemplate("postgres://db", nil); return err },
		"unknown step": func(f *drtest.RDS) error {
			_, err := verifierOn(f).Step(ctx, "dance", "r", dr.VerifyState{})
			return err
		},
		"sanitize denied": func(f *drtest.RDS) error {
			f.Fail(drtest.OpRestore, denied, 0)
			s, err := restore.NewSanitizer(f, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, dr.Database{Driver: "pgx", DSN: noDB},
				restore.SanitizeOptions{Statements: []string{"x"}}, func(o *dr.VerifyOptions) { o.Clock = f.Clock() })
			require.NoError(t, err)
			_, _, err = s.Sanitize(ctx)
			return err
		},
		"report": func(*drtest.RDS) error {
			_, err := restore.NewReporter(func(o *restore.ReporterOptions) { o.Bucket = "reports" })
			return err
		},
		"sanitize statements": func(f *drtest.RDS) error {
			_, err := restore.NewSanitizer(f, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, dr.Database{Driver: "pgx", DSN: noDB}, restore.SanitizeOptions{Statements: []string{" "}})
			return err
		},
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
