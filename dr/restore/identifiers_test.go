package restore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

// TestIdentifiersGivenInUpperCaseAreRefused: RDS stores every identifier in lower case, and
// the IAM policies name them so. An identifier given with upper case (a source database
// "Orders-db" matches no DR copy; a sanitized snapshot id "shipshape-sanitized-X" is never
// the snapshot RDS answers with) is refused by every constructor, before any call.
func TestIdentifiersGivenInUpperCaseAreRefused(t *testing.T) {
	f := drtest.New(nil)
	db := dr.Database{Driver: "pgx", DSN: func(string, int32) string { return "" }}
	verify := func(target dr.VerifyTarget) error {
		target.InstanceClass = "db.t4g.medium"
		_, err := restore.NewVerifier(f, target, db)
		return err
	}
	for name, err := range map[string]error{
		"a verification's source instance": verify(dr.VerifyTarget{SourceInstance: "Orders-db"}),
		"a verification's source cluster":  verify(dr.VerifyTarget{SourceCluster: "LEDGER"}),
		"a verification's snapshot":        verify(dr.VerifyTarget{SnapshotID: "shipshape-DR-orders-db-202611230300"}),
		"a sanitized snapshot id": func() error {
			_, err := restore.NewSanitizer(f, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"}, db,
				restore.SanitizeOptions{Statements: []string{"SELECT 1"}, SnapshotID: "shipshape-sanitized-Orders"})
			return err
		}(),
	} {
		assert.ErrorIs(t, err, dr.ErrInvalidInput, name)
	}
	assert.Zero(t, f.Total())
}
