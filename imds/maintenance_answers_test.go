package imds_test

// What IMDS may answer for the scheduled maintenance events, and how each answer is read:
// bodies that are no list, times of every shape and zone, states in any case, and a watcher
// that sees only the changes IMDS made.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

// "A body that is not a JSON list of events ... is a *MalformedError": null, a string, a
// number, a list of lists, a list with a null entry (an event without an EventId), an
// EventId that is only blanks.
func TestScheduledMaintenanceRefusesNonLists(t *testing.T) {
	for name, body := range map[string]string{
		"null":                `null`,
		"a string":            `"[]"`,
		"a number":            `42`,
		"a list of lists":     `[[]]`,
		"a list of strings":   `["instance-event-1"]`,
		"null entry":          `[null]`,
		"null among events":   `[{"EventId":"instance-event-1","Code":"instance-stop","State":"active"},null]`,
		"blank event id":      `[{"EventId":"   ","Code":"instance-stop","State":"active"}]`,
		"trailing garbage":    `[]x`,
		"two lists":           `[] []`,
		"empty body with 200": ``,
	} {
		t.Run(name, func(t *testing.T) {
			b := newBed(t)
			b.srv.SetBody(pathMaintenance, http.StatusOK, body)
			got, err := b.client.ScheduledMaintenance(context.Background())
			require.ErrorIs(t, err, imds.ErrMalformed, "got %+v", got)
			var me *imds.MalformedError
			require.ErrorAs(t, err, &me)
			assert.Nil(t, got)
		})
	}
}

// An unreadable time is not a *MalformedError, whatever JSON type it has: the event is kept,
// the time zero, its text in BadTimes.
func TestScheduledMaintenanceNonStringTimesAreUnreadableNotMalformed(t *testing.T) {
	for name, v := range map[string]string{
		"number": `1548061243`,
		"bool":   `true`,
		"object": `{"t":"21 Jan 2019 09:00:43 GMT"}`,
		"list":   `["21 Jan 2019 09:00:43 GMT"]`,
	} {
		t.Run(name, func(t *testing.T) {
			b := newBed(t)
			b.srv.SetBody(pathMaintenance, http.StatusOK, `[{"EventId":"instance-event-1","Code":"instance-stop","State":"active","NotBefore":`+v+`}]`)
			got, err := b.client.ScheduledMaintenance(context.Background())
			require.NoError(t, err, "an unreadable time is not a *MalformedError: the stop would be hidden")
			require.Len(t, got, 1)
			assert.True(t, got[0].NotBefore.IsZero())
			assert.NotEmpty(t, got[0].BadTimes["NotBefore"])
			assert.True(t, got[0].StartsBy(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)))
		})
	}
}

// Every time given is either read (to the right instant) or kept in BadTimes: never silently
// lost, never read in a wrong zone.
func TestScheduledMaintenanceTimesAreReadRightOrKept(t *testing.T) {
	want := time.Date(2019, 1, 21, 9, 0, 43, 0, time.UTC)
	for _, tc := range []struct {
		text string
		at   time.Time // the instant, if read; zero: must be kept in BadTimes
	}{
		{"21 Jan 2019 09:00:43 GMT", want},
		{"21 Jan 2019 09:00:43 UTC", want},
		{"21 Jan 2019 09:00:43 gmt", want},
		{"  21 Jan 2019 09:00:43 GMT  ", want},
		{"21  Jan 2019 09:00:43 GMT", want},
		{"Mon, 21 Jan 2019 09:00:43 GMT", want},
		{"2019-01-21T09:00:43Z", want},
		{"2019-01-21T10:00:43+01:00", want},
		{"21 Jan 2019 10:00:43 +0100", want},
		{"21 Jan 2019 09:00:43 EST", want.Add(5 * time.Hour)},
		{"21 Jan 2019 09:00:43 CET", want.Add(-time.Hour)},
		{"21 Jan 2019 09:00:43 PST", want.Add(8 * time.Hour)},
		{"21 Jan 2019 09:00:43 XYZ", time.Time{}},
		{"21 Jan 2019 09:00:43", want},
		{"32 Jan 2019 09:00:43 GMT", time.Time{}},
		{"29 Feb 2019 09:00:43 GMT", time.Time{}},
		{"21 Jan 2019 25:00:43 GMT", time.Time{}},
		{"21 Foo 2019 09:00:43 GMT", time.Time{}},
		{"21 Jan 0000 09:00:43 GMT", time.Date(0, 1, 21, 9, 0, 43, 0, time.UTC)},
		{"1 Jan 0001 00:00:00 GMT", time.Time{}}, // reads as the zero time: must not look "not given"
		{"21 Jan 2019 09:00:43.500 GMT", want.Add(500 * time.Millisecond)},
		{"21 January 2019 09:00:43 GMT", want},
		{"", time.Time{}},
	} {
		t.Run(tc.text, func(t *testing.T) {
			b := newBed(t)
			b.srv.SetBody(pathMaintenance, http.StatusOK, fmt.Sprintf(`[{"EventId":"instance-event-1","Code":"instance-stop","State":"active","NotBefore":%q}]`, tc.text))
			got, err := b.client.ScheduledMaintenance(context.Background())
			require.NoError(t, err)
			require.Len(t, got, 1)
			e := got[0]
			bad, kept := e.BadTimes["NotBefore"]
			switch {
			case tc.text == "":
				// An empty string: "not given" or unreadable are both defensible; the event
				// must still count as starting now.
				assert.True(t, e.NotBefore.IsZero())
			case !e.NotBefore.IsZero():
				require.False(t, tc.at.IsZero(), "%q was read as %s; it should have been kept as unreadable", tc.text, e.NotBefore)
				// Within a second: a fraction of a second dropped is no harm.
				assert.WithinDuration(t, tc.at, e.NotBefore, time.Second, "%q read as %s, is %s", tc.text, e.NotBefore, tc.at)
				assert.False(t, kept)
			default:
				assert.True(t, kept, "%q was neither read nor kept: it looks like \"not given\"", tc.text)
				assert.Equal(t, tc.text, bad)
			}
			assert.True(t, e.Pending())
		})
	}
}

// A huge list is read whole, in order (or refused as too big, never truncated silently).
func TestScheduledMaintenanceHugeList(t *testing.T) {
	b := newBed(t)
	var sb strings.Builder
	sb.WriteString("[")
	const n = 5000
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"EventId":"instance-event-%05d","Code":"system-reboot","State":"active","NotBefore":"21 Jan 2019 09:00:43 GMT","Description":"%s"}`, i, strings.Repeat("x", 100))
	}
	sb.WriteString("]")
	b.srv.SetBody(pathMaintenance, http.StatusOK, sb.String())
	got, err := b.client.ScheduledMaintenance(context.Background())
	if err != nil {
		t.Logf("refused (%d bytes): %v", sb.Len(), err) // loudly, by Options.MaxBodyBytes: fine
		assert.Nil(t, got)
		return
	}
	require.Len(t, got, n)
	assert.Equal(t, "instance-event-00000", got[0].EventID)
	assert.Equal(t, fmt.Sprintf("instance-event-%05d", n-1), got[n-1].EventID)
}

// Pending: "its state is active (or missing)". Other states, in any case, are not pending
// if they say canceled or completed.
func TestPendingStates(t *testing.T) {
	for _, tc := range []struct {
		state   imds.MaintenanceState
		desc    string
		pending bool
	}{
		{"active", "", true},
		{"", "", true},
		{"Canceled", "", false},
		{"CANCELED", "", false},
		{"Completed", "", false},
		{" canceled", "", false},
		{"canceled ", "", false},
		{"active", "[completed] reboot", false},
		{"active", "[CANCELED] reboot", false},
		{"active", "\t[Completed] reboot", false},
		{"active", "\n[Canceled] reboot", false},
		// The doc: pending only when the state is active or missing. A state that is
		// neither (a new one EC2 adds) is not "active".
		{"scheduled", "", true}, // a state EC2 may add: pending (a drain for nothing beats a missed one)
		// Not a prefix: the marker later in the text does not end the event.
		{"active", "reboot, previously [Canceled]", true},
	} {
		e := imds.MaintenanceEvent{EventID: "instance-event-1", Code: imds.MaintenanceInstanceStop, State: tc.state, Description: tc.desc}
		assert.Equal(t, tc.pending, e.Pending(), "state %q description %q", tc.state, tc.desc)
	}
}

// StartsBy: "at or before t", and never for an event that is not pending, even with an unknown
// (zero) NotBefore.
func TestStartsByEdges(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e := imds.MaintenanceEvent{EventID: "instance-event-1", State: imds.MaintenanceActive, NotBefore: at}
	assert.True(t, e.StartsBy(at))
	assert.True(t, e.StartsBy(at.In(time.FixedZone("X", 3600))), "the same instant in another zone")
	assert.False(t, e.StartsBy(at.Add(-time.Nanosecond)))
	unknown := imds.MaintenanceEvent{EventID: "instance-event-2", State: imds.MaintenanceActive, BadTimes: map[string]string{"NotBefore": "soon"}}
	assert.True(t, unknown.StartsBy(time.Time{}), "unknown counts as now, even for the zero t")
	over := unknown
	over.State = imds.MaintenanceCanceled
	assert.False(t, over.StartsBy(at.Add(24*time.Hour)))
	assert.False(t, imds.MaintenanceEvent{State: imds.MaintenanceCompleted}.StartsBy(at))
}

// WatchMaintenance: a list, then gone (404), then back: three calls, the middle one empty.
// A failed or malformed poll in between is no change and no call.
func TestWatchMaintenanceGoneAndBackAndMalformed(t *testing.T) {
	b := newBed(t)
	got := make(chan []imds.MaintenanceEvent, 20)
	tick, stop := runWatch(t, b.clock, func(ctx context.Context) error {
		return b.client.WatchMaintenance(ctx, func(e []imds.MaintenanceEvent) { got <- e })
	})
	ev := imds.MaintenanceEvent{EventID: "instance-event-1", Code: imds.MaintenanceInstanceStop, State: imds.MaintenanceActive,
		NotBefore: b.clock.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)}
	tick()
	b.srv.SetMaintenance(ev)
	tick() // listed: call 1
	b.srv.SetMaintenance()
	tick() // gone: call 2 (empty)
	b.srv.SetMaintenance(ev)
	tick() // back: call 3
	b.srv.AddFault(imdstest.Fault{Path: pathMaintenance, Status: 500})
	tick() // failed: no call
	tick()
	b.srv.ClearFaults()
	tick() // same as before the failure: no call
	b.srv.SetBody(pathMaintenance, http.StatusOK, `{"not":"a list"}`)
	tick() // malformed: no call (it is no "gone")
	b.srv.SetBody(pathMaintenance, http.StatusOK, `null`)
	tick() // null: not a list, no call
	require.ErrorIs(t, stop(), context.Canceled)
	close(got)
	var calls [][]imds.MaintenanceEvent
	for e := range got {
		calls = append(calls, e)
	}
	require.Len(t, calls, 3, "%+v", calls)
	assert.Equal(t, []imds.MaintenanceEvent{ev}, calls[0])
	assert.Empty(t, calls[1])
	assert.Equal(t, []imds.MaintenanceEvent{ev}, calls[2])
}

// An unreadable time that changes to another unreadable text is a reschedule: a call.
func TestWatchMaintenanceUnreadableTimeChangedIsAChange(t *testing.T) {
	b := newBed(t)
	got := make(chan []imds.MaintenanceEvent, 20)
	tick, stop := runWatch(t, b.clock, func(ctx context.Context) error {
		return b.client.WatchMaintenance(ctx, func(e []imds.MaintenanceEvent) { got <- e })
	})
	body := func(nb string) string {
		return fmt.Sprintf(`[{"EventId":"instance-event-1","Code":"instance-stop","State":"active","NotBefore":%q}]`, nb)
	}
	b.srv.SetBody(pathMaintenance, http.StatusOK, body("soon"))
	tick()
	tick()
	b.srv.SetBody(pathMaintenance, http.StatusOK, body("later"))
	tick()
	require.ErrorIs(t, stop(), context.Canceled)
	close(got)
	var texts []string
	for e := range got {
		require.Len(t, e, 1)
		texts = append(texts, e[0].BadTimes["NotBefore"])
	}
	assert.Equal(t, []string{"soon", "later"}, texts)
}

// A callback that changes the list it was given must not make the watcher see a change that
// IMDS never made (the list handed out is the caller's).
func TestWatchMaintenanceCallbackMutationIsNotAChange(t *testing.T) {
	b := newBed(t)
	calls := 0
	tick, stop := runWatch(t, b.clock, func(ctx context.Context) error {
		return b.client.WatchMaintenance(ctx, func(e []imds.MaintenanceEvent) {
			calls++
			for i := range e {
				e[i].EventID = "mutated"
				e[i].NotBefore = time.Time{}
			}
		})
	})
	b.srv.SetMaintenance(imds.MaintenanceEvent{EventID: "instance-event-1", Code: imds.MaintenanceInstanceStop, State: imds.MaintenanceActive,
		NotBefore: b.clock.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)})
	tick()
	tick()
	tick()
	require.ErrorIs(t, stop(), context.Canceled)
	assert.Equal(t, 1, calls)
}

// EveryPoll: a call after every poll that succeeds (changed or not), none after a failed one.
func TestWatchMaintenanceEveryPoll(t *testing.T) {
	b := newBed(t)
	got := make(chan []imds.MaintenanceEvent, 20)
	tick, stop := runWatch(t, b.clock, func(ctx context.Context) error {
		return b.client.WatchMaintenance(ctx, func(e []imds.MaintenanceEvent) { got <- e }, func(o *imds.WatchOptions) { o.EveryPoll = true })
	})
	b.srv.SetMaintenance(imds.MaintenanceEvent{EventID: "instance-event-1", Code: imds.MaintenanceInstanceStop, State: imds.MaintenanceActive,
		NotBefore: b.clock.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)})
	tick()
	tick()
	tick()
	b.srv.AddFault(imdstest.Fault{Path: pathMaintenance, Status: 500})
	tick()
	tick()
	b.srv.ClearFaults()
	tick()
	require.ErrorIs(t, stop(), context.Canceled)
	close(got)
	n := 0
	for e := range got {
		n++
		assert.Len(t, e, 1)
	}
	// Polls: the first (before any tick, possibly before SetMaintenance) and one per tick: 7
	// in all, 2 of them failed. The first may have seen nothing.
	assert.GreaterOrEqual(t, n, 4)
	assert.LessOrEqual(t, n, 5)
}

// ErrDisabled: WatchMaintenance and ScheduledMaintenance on a disabled client.
func TestMaintenanceDisabled(t *testing.T) {
	b := newBed(t, func(o *imds.Options) { o.Disabled = true })
	_, err := b.client.ScheduledMaintenance(context.Background())
	require.ErrorIs(t, err, imds.ErrDisabled)
	done := make(chan error, 1)
	go func() {
		done <- b.client.WatchMaintenance(context.Background(), func([]imds.MaintenanceEvent) { t.Error("no call") })
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, imds.ErrDisabled)
	case <-time.After(10 * time.Second):
		t.Fatal("WatchMaintenance on a disabled client did not return")
	}
	assert.Empty(t, b.srv.Requests())
}

// A context cancelled before WatchMaintenance: it returns ctx's error, calling nothing.
func TestWatchMaintenanceCancelledBefore(t *testing.T) {
	b := newBed(t)
	b.srv.SetMaintenance(imds.MaintenanceEvent{EventID: "instance-event-1", Code: imds.MaintenanceInstanceStop, State: imds.MaintenanceActive})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		done <- b.client.WatchMaintenance(ctx, func([]imds.MaintenanceEvent) { t.Error("no call after cancel") })
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("did not return")
	}
}
