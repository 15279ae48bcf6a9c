package restore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

// Verify restores the newest DR snapshot into a temporary instance and always deletes it; a
// restore that ends in a terminal state fails at once.
func ExampleVerifier_Verify() {
	rdsFake := drtest.New(nil)
	rdsFake.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", rdsFake.Clock().Now().Add(-6*time.Hour), map[string]string{dr.TagDR: "true"})
	rdsFake.RestoreOutcome = "incompatible-restore"
	v, err := restore.NewVerifier(rdsFake, dr.VerifyTarget{SourceInstance: "orders-db", InstanceClass: "db.t4g.medium"},
		dr.Database{Driver: "pgx", DSN: func(host string, port int32) string { return "" }},
		func(o *dr.VerifyOptions) { o.Clock = rdsFake.Clock() })
	if err != nil {
		log.Fatal(err)
	}
	report, err := v.Verify(context.Background())
	var failed *dr.RestoreFailedError
	if errors.As(err, &failed) {
		fmt.Println("restore failed:", failed.State)
	}
	fmt.Println("ok:", report.OK, "instances left:", len(rdsFake.Instances()))
	// Output:
	// restore failed: incompatible-restore
	// ok: false instances left: 0
}
