package dr_test

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

// The production side: an event copies one snapshot; the scheduled run sweeps up what lost
// events missed, shares, and trims.
func ExampleSource_Scheduled() {
	rdsFake := drtest.New(nil) // in production: dr.NewSourceFromConfig(cfg, ...)
	now := rdsFake.Clock().Now()
	older := rdsFake.AddAutomated("orders-db", now.Add(-24*time.Hour), "")
	rdsFake.AddAutomated("orders-db", now, "") // its event is lost

	src, err := dr.NewSource(rdsFake, func(o *dr.SourceOptions) {
		o.ShareWith = []string{"222222222222"}
		o.Clock = rdsFake.Clock()
	})
	if err != nil {
		log.Fatal(err) // options that can't work; NewSource makes no call
	}
	sum, err := src.CopyAutomated(context.Background(), older) // on the RDS event
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("event:", sum.Copied[0].ID)
	sum, err = src.Scheduled(context.Background(), dr.Retention{Keep: 7}) // every 15 minutes
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sweep:", sum.Copied[0].ID)
	// Output:
	// event: shipshape-dr-orders-db-202611220900
	// sweep: shipshape-dr-orders-db-202611230900
}

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
