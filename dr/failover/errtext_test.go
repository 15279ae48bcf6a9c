package failover_test

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
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// TestErrorsNameThePackageOnce: each failure reads "dr: ...", naming the package once and
// first, so the binaries can print it as it is.
func TestErrorsNameThePackageOnce(t *testing.T) {
	ctx := context.Background()
	cases := map[string]func(f *drtest.RDS) error{
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
