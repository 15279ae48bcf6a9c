package dr_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
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
