package dr_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/failover"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// TestErrorsNameThePackageOnce: each failure reads "dr: ...", naming the package once and
// first, so the binaries can print it as it is.
func TestErrorsNameThePackageOnce(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	denied := drtest.APIError("AccessDenied", "not allowed")
	verifierOn := func(f *drtest.RDS) *restore.Verifier {
		v, err := restore.NewVerifier(f, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, dr.Database{Driver: "pgx", DSN: noDB},
			func(o *dr.VerifyOptions) { o.Clock = f.Clock(); o.Timeout = time.Minute })
		require.NoError(t, err)
		return v
	}
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
		"bad DSN":       func(*drtest.RDS) error { _, err := restore.DSNTemplate("postgres://db", nil); return err },
		"bad options":   func(f *drtest.RDS) error { _, err := dr.NewRecovery(f, f, dr.Origin{}); return err },
		"bad retention": func(*drtest.RDS) error { _, err := dr.ParseRetention("0", ""); return err },
		"bad event":     func(*drtest.RDS) error { _, err := dr.ParseEvents([]byte(`{`)); return err },
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
		"failover foreign": func(f *drtest.RDS) error {
			_, err := f.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("shipshape-orders-db"),
				DBSnapshotIdentifier: aws.String("shipshape-dr-orders-db-202611220300")})
			require.NoError(t, err)
			r, err := failover.NewRestorer(f, failover.FailoverTarget{SourceInstance: "orders-db", TargetID: "shipshape-orders-db", InstanceClass: "db.r6g.large"}, func(o *failover.FailoverOptions) { o.Clock = f.Clock() })
			require.NoError(t, err)
			_, err = r.Failover(ctx)
			return err
		},
		"failover terminal": func(f *drtest.RDS) error {
			f.RestoreOutcome = "failed"
			r, err := failover.NewRestorer(f, failover.FailoverTarget{SourceCluster: "orders-db", TargetID: "shipshape-x", InstanceClass: "db.r6g.large"}, func(o *failover.FailoverOptions) { o.Clock = f.Clock() })
			require.NoError(t, err)
			_, err = r.Rehearse(ctx, dr.Database{Driver: "pgx", DSN: noDB}, dr.Checks{})
			return err
		},
		"failover options": func(f *drtest.RDS) error {
			_, err := failover.NewRestorer(f, failover.FailoverTarget{SourceInstance: "orders-db", TargetID: "shipshape-x", InstanceClass: "db.r6g.large"},
				func(o *failover.FailoverOptions) { o.DNS = &failover.DNSRecord{ZoneID: "Z", Name: "db.example.com"} })
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
