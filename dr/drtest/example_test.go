package drtest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

// The wire server lets the real SDK client (or a binary given AWS_ENDPOINT_URL_RDS) talk to
// the fake in RDS's own protocol.
func ExampleWireServer() {
	rdsFake := drtest.New(nil)
	rdsFake.AddManual("shipshape-dr-orders-db-202611230300", "orders-db", rdsFake.Clock().Now(), map[string]string{dr.TagDR: "true"})
	srv := drtest.NewWireServer(rdsFake)
	defer srv.Close()
	src, err := dr.NewSource(srv.Client(), func(o *dr.SourceOptions) { o.Clock = rdsFake.Clock() })
	if err != nil {
		log.Fatal(err)
	}
	sum, err := src.Retain(context.Background(), dr.Retention{Keep: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(sum.Deleted), srv.Actions())
	// Output:
	// 0 [DescribeDBSnapshots DescribeDBClusterSnapshots]
}
