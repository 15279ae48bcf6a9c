package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

func init() {
	chapters = append(chapters, chapter{order: 1, name: "imds: instance-profile credentials and a Spot notice", run: tourIMDS})
}

// tourClock is a settable clock so the tour can skip hours without waiting.
type tourClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tourClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *tourClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func tourIMDS(ctx context.Context, say func(string, ...any)) error {
	clk := &tourClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	srv := imdstest.NewServer(func(o *imdstest.Options) { o.Now = clk.Now })
	defer srv.Close()
	say("an in-process IMDS (imdstest) at %s, IMDSv2 only, role %q, credentials valid 6 h", srv.URL, "shipshape-test-role")

	client, err := imds.New(func(o *imds.Options) { o.Endpoint = srv.URL; o.Now = clk.Now })
	if err != nil {
		return err
	}
	id, err := client.InstanceID(ctx)
	if err != nil {
		return err
	}
	say("instance id: %s", id)

	provider := imds.NewCredentialsProvider(client, func(o *imds.ProviderOptions) { o.Now = clk.Now })
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
	ticks := make(chan time.Time)
	notices := make(chan imds.SpotAction, 1)
	done := make(chan error, 1)
	go func() {
		done <- client.WatchSpotAction(watchCtx, func(a imds.SpotAction) { notices <- a },
			func(o *imds.WatchOptions) { o.Ticks = ticks })
	}()
	say("watching spot/instance-action (every 5 s on a real instance)")
	ticks <- clk.Now()
	due := clk.Now().Add(2 * time.Minute)
	srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: due})
	say("EC2 posts a Spot interruption notice")
	ticks <- clk.Now()
	a := <-notices
	say("watcher called back: %s at %s, two minutes to drain", a.Action, a.Time.Format("15:04:05"))
	stop()
	if err := <-done; err != context.Canceled {
		return fmt.Errorf("watch ended with %v", err)
	}
	return nil
}
