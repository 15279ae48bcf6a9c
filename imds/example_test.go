package imds_test

import (
	"context"
	"fmt"
	"log"
	"time"

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
	provider := imds.NewCredentialsProvider(client)
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
	srv := imdstest.NewServer()
	defer srv.Close()
	client, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL })
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	notices := make(chan imds.SpotAction, 1)
	done := make(chan error)
	go func() {
		done <- client.WatchSpotAction(ctx, func(a imds.SpotAction) { notices <- a },
			func(o *imds.WatchOptions) { o.Ticks = ticks }) // on EC2: the default 5 s interval
	}()
	ticks <- time.Time{} // the first poll saw nothing
	srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: time.Now().Add(2 * time.Minute)})
	ticks <- time.Time{}
	a := <-notices // a real program would start draining here
	fmt.Println("spot:", a.Action)
	cancel()
	fmt.Println(<-done)
	// Output:
	// spot: terminate
	// context canceled
}
