package s3diff_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

func ExampleClient_Diff() {
	bucket := s3difftest.New() // in production: s3.NewFromConfig(cfg)
	bucket.CreateBucket("configs")
	bucket.Put("configs", "app.yaml", []byte("replicas: 2\nimage: api:1.4\n"))
	bucket.Put("configs", "app.yaml", []byte("replicas: 3\nimage: api:1.4\n"))

	client, err := s3diff.New(bucket)
	if err != nil {
		log.Fatal(err) // options that can't work; New makes no call
	}
	r, err := client.Diff(context.Background(), "configs", "app.yaml")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Status, r.LinesAdded, r.LinesRemoved)
	fmt.Print(r.WordDiff())
	// Output:
	// changed 1 1
	// @@ -1,2 +1,2 @@
	// replicas: [-2-]{+3+}
	// image: api:1.4
}

func ExampleClient_Retain() {
	bucket := s3difftest.New()
	bucket.CreateBucket("configs")
	for i := range 5 {
		bucket.Put("configs", "app.yaml", []byte(fmt.Sprintf("version %d\n", i)))
	}
	bucket.Put("configs", "app.yaml.bak", []byte("a sibling key, never touched"))

	client, err := s3diff.New(bucket)
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.Retain(context.Background(), "configs", "app.yaml", 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("kept %d, deleted %d in %d DeleteObjects call(s)\n", len(res.Kept), len(res.Deleted), res.DeleteCalls)
	fmt.Println(len(bucket.VersionIDs("configs", "app.yaml.bak")))
	// Output:
	// kept 2, deleted 3 in 1 DeleteObjects call(s)
	// 1
}
