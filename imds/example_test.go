package imds_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

func ExampleClient_InstanceID() {
	srv := imdstest.NewServer() // on EC2, leave Endpoint empty
	defer srv.Close()

	client, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL })
	if err != nil {
		log.Fatal(err)
	}
	id, err := client.InstanceID(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id)
	// Output: i-0123456789abcdef0
}

func ExampleCredentialsProvider() {
	srv := imdstest.NewServer()
	defer srv.Close()
	client, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL })
	if err != nil {
		log.Fatal(err)
	}

	// With the AWS SDK: config.LoadDefaultConfig(ctx, config.WithCredentialsProvider(provider))
	provider, err := imds.NewCredentialsProvider(client)
	if err != nil {
		log.Fatal(err)
	}
	creds, err := provider.Retrieve(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(creds.AccessKeyID == srv.CurrentCredentials().AccessKeyID, creds.Source)
	// Printing Credentials by mistake reveals nothing secret:
	fmt.Println(imds.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "wJalr...", Token: "IQoJ...",
		Expiration: time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)})
	// Output:
	// true ShipshapeIMDS
	// imds.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: <redacted>, Token: <redacted>, Expiration: 2026-11-23T06:00:00Z}
}

func ExampleClient_WatchSpotAction() {
	clock := clocktest.NewManual() // on EC2: leave the clock out; the watcher polls every 5 s
	srv := imdstest.NewServer(func(o *imdstest.Options) { o.Clock = clock })
	defer srv.Close()
	client, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL; o.Clock = clock })
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	notices := make(chan imds.SpotAction, 1)
	done := make(chan error)
	go func() { done <- client.WatchSpotAction(ctx, func(a imds.SpotAction) { notices <- a }) }()
	if err := clock.BlockUntilSleeping(ctx, 1); err != nil { // the first poll saw nothing
		log.Fatal(err)
	}
	srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: clock.Now().Add(2 * time.Minute)})
	clock.Advance(5 * time.Second)
	a := <-notices // a real program would start draining here
	fmt.Println("spot:", a.Action)
	cancel()
	fmt.Println(<-done)
	// Output:
	// spot: terminate
	// context canceled
}
