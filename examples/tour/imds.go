package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

func init() {
	chapters = append(chapters, chapter{order: 1, name: "imds: instance-profile credentials and a Spot notice", run: tourIMDS})
}

func tourIMDS(ctx context.Context, say func(string, ...any)) error {
	clk := clocktest.NewManual() // hours pass when the tour says so
	srv := imdstest.NewServer(func(o *imdstest.Options) { o.Clock = clk })
	defer srv.Close()
	say("an in-process IMDS (imdstest) at %s, IMDSv2 only, role %q, credentials valid 6 h", srv.URL, "shipshape-test-role")

	client, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL; o.Clock = clk })
	if err != nil {
		return err
	}
	id, err := client.InstanceID(ctx)
	if err != nil {
		return err
	}
	say("instance id: %s", id)

	provider, err := imds.NewCredentialsProvider(client)
	if err != nil {
		return err
	}
	creds, err := provider.Retrieve(ctx)
	if err != nil {
		return err
	}
	say("credentials %s, next refresh at %s (before they expire at %s)", creds.AccessKeyID,
		creds.Expires.Format("15:04"), srv.CurrentCredentials().Expiration.Format("15:04"))
	say("requests so far: %d (token PUT, instance id, role, credentials)", len(srv.Requests()))

	srv.ResetRequests()
	for range 1000 {
		if _, err := provider.Retrieve(ctx); err != nil {
			return err
		}
	}
	say("1000 more Retrieve calls from the cache: %d requests", len(srv.Requests()))

	clk.Advance(creds.Expires.Sub(clk.Now()))
	srv.ResetRequests()
	next, err := provider.Retrieve(ctx)
	if err != nil {
		return err
	}
	say("at %s the refresh is due: new credentials %s for %d request (token and role cached)",
		clk.Now().Format("15:04"), next.AccessKeyID, len(srv.Requests()))

	clk.Advance(6 * time.Hour)
	srv.AddFault(imdstest.Fault{Status: http.StatusInternalServerError})
	stale, err := provider.Retrieve(ctx)
	if err != nil {
		return err
	}
	say("IMDS answers 500 at %s: still serving %s until %s (static stability), no error for the app",
		clk.Now().Format("15:04"), stale.AccessKeyID, stale.Expires.Format("15:04"))
	srv.ClearFaults()

	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	notices := make(chan imds.SpotAction, 1)
	done := make(chan error, 1)
	go func() {
		done <- client.WatchSpotAction(watchCtx, func(a imds.SpotAction) { notices <- a })
	}()
	say("watching spot/instance-action (every 5 s)")
	if err := clk.BlockUntilSleeping(watchCtx, 1); err != nil { // the first poll saw no notice
		return err
	}
	due := clk.Now().Add(2 * time.Minute)
	srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: due})
	say("EC2 posts a Spot interruption notice")
	clk.Advance(5 * time.Second)
	a := <-notices
	say("watcher called back: %s at %s, two minutes to drain", a.Action, a.Time.Format("15:04:05"))
	stop()
	if err := <-done; err != context.Canceled {
		return fmt.Errorf("watch ended with %v", err)
	}
	return nil
}
