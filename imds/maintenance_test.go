package imds_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
)

const pathMaintenance = "/latest/meta-data/events/maintenance/scheduled"

func TestScheduledMaintenanceReadsTheTimesAsIMDSWritesThem(t *testing.T) {
	b := newBed(t)
	// As the EC2 user guide shows it, and with a one-digit day and no deadline.
	b.srv.SetBody(pathMaintenance, http.StatusOK, `[
	  {"NotBefore":"21 Jan 2019 09:00:43 GMT","Code":"system-reboot","Description":"scheduled reboot",
	   "EventId":"instance-event-0d59937288b749b32","NotAfter":"21 Jan 2019 09:17:23 GMT","State":"active",
	   "NotBeforeDeadline":"24 Jan 2019 09:00:43 GMT"},
	  {"NotBefore":"3 Feb 2019 10:00:00 GMT","Code":"instance-retirement","Description":"retirement",
	   "EventId":"instance-event-1","NotAfter":"3 Feb 2019 12:00:00 GMT","State":"active"}]`)
	got, err := b.client.ScheduledMaintenance(context.Background())
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, imds.MaintenanceEvent{
		EventID: "instance-event-0d59937288b749b32", Code: imds.MaintenanceSystemReboot, State: imds.MaintenanceActive,
		Description: "scheduled reboot",
		NotBefore:   time.Date(2019, 1, 21, 9, 0, 43, 0, time.UTC), NotAfter: time.Date(2019, 1, 21, 9, 17, 23, 0, time.UTC),
		NotBeforeDeadline: time.Date(2019, 1, 24, 9, 0, 43, 0, time.UTC),
	}, got[0])
	assert.Equal(t, time.Date(2019, 2, 3, 10, 0, 0, 0, time.UTC), got[1].NotBefore)
	assert.Equal(t, imds.MaintenanceInstanceRetirement, got[1].Code)
	assert.True(t, got[1].NotBeforeDeadline.IsZero(), "a deadline IMDS left out is zero")
	assert.Empty(t, got[1].BadTimes)
}

func TestNoScheduledMaintenanceIsAnEmptyList(t *testing.T) {
	b := newBed(t)
	got, err := b.client.ScheduledMaintenance(context.Background())
	require.NoError(t, err, "IMDS answers 404 when nothing is scheduled")
	assert.Empty(t, got)
	b.srv.SetBody(pathMaintenance, http.StatusOK, `[]`)
	got, err = b.client.ScheduledMaintenance(context.Background())
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestScheduledMaintenanceRefusesWhatIsNotAListOfEvents(t *testing.T) {
	for name, body := range map[string]string{
		"html":             `<html>proxy</html>`,
		"an object":        `{"Code":"system-reboot","EventId":"instance-event-1"}`,
		"no event id":      `[{"Code":"system-reboot","State":"active","NotBefore":"21 Jan 2019 09:00:43 GMT"}]`,
		"null":             `null`,
		"an empty body":    ``,
		"a null event":     `[{"EventId":"instance-event-1","Code":"system-reboot"},null]`,
		"a blank event id": `[{"EventId":"  ","Code":"instance-stop"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			b := newBed(t)
			b.srv.SetBody(pathMaintenance, http.StatusOK, body)
			got, err := b.client.ScheduledMaintenance(context.Background())
			require.ErrorIs(t, err, imds.ErrMalformed)
			var me *imds.MalformedError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, pathMaintenance, me.Path)
			assert.Nil(t, got, "no partial list with an error")
		})
	}
}

func TestAnUnreadableMaintenanceTimeKeepsTheEventAndCountsAsNow(t *testing.T) {
	b := newBed(t)
	b.srv.SetBody(pathMaintenance, http.StatusOK, `[{"EventId":"instance-event-1","Code":"instance-stop","State":"active",
	  "NotBefore":"next Tuesday","NotAfter":"21 Jan 2019 09:17:23 PST","NotBeforeDeadline":"2019-01-24T09:00:43Z"}]`)
	got, err := b.client.ScheduledMaintenance(context.Background())
	require.NoError(t, err, "the event still stands: hiding it would hide a stop")
	require.Len(t, got, 1)
	e := got[0]
	assert.True(t, e.NotBefore.IsZero())
	assert.True(t, e.NotAfter.IsZero(), "a zone other than GMT or UTC is not guessed at")
	assert.Equal(t, map[string]string{"NotBefore": "next Tuesday", "NotAfter": "21 Jan 2019 09:17:23 PST"}, e.BadTimes)
	assert.Equal(t, time.Date(2019, 1, 24, 9, 0, 43, 0, time.UTC), e.NotBeforeDeadline, "RFC 3339 is read too")
	assert.True(t, e.StartsBy(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)), "an unknown start may be any time: now")
}

func TestOnlyActiveMaintenanceIsPending(t *testing.T) {
	start := time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		e       imds.MaintenanceEvent
		pending bool
	}{
		{imds.MaintenanceEvent{State: imds.MaintenanceActive, NotBefore: start}, true},
		{imds.MaintenanceEvent{NotBefore: start}, true},
		{imds.MaintenanceEvent{State: imds.MaintenanceCanceled, NotBefore: start}, false},
		{imds.MaintenanceEvent{State: imds.MaintenanceCompleted, NotBefore: start}, false},
		{imds.MaintenanceEvent{State: imds.MaintenanceActive, Description: "[Completed] scheduled reboot", NotBefore: start}, false},
		{imds.MaintenanceEvent{State: imds.MaintenanceActive, Description: " [Canceled] scheduled reboot", NotBefore: start}, false},
	} {
		assert.Equal(t, tc.pending, tc.e.Pending(), "%+v", tc.e)
		assert.Equal(t, tc.pending, tc.e.StartsBy(start), "%+v", tc.e)
		assert.False(t, tc.e.StartsBy(start.Add(-time.Second)), "not yet due: %+v", tc.e)
	}
}

func TestWatchMaintenanceCallsOncePerChange(t *testing.T) {
	b := newBed(t)
	got := make(chan []imds.MaintenanceEvent, 10)
	tick, stop := runWatch(t, b.clock, func(ctx context.Context) error {
		return b.client.WatchMaintenance(ctx, func(e []imds.MaintenanceEvent) { got <- e })
	})
	tick() // nothing scheduled: no call
	reboot := imds.MaintenanceEvent{EventID: "instance-event-1", Code: imds.MaintenanceSystemReboot, State: imds.MaintenanceActive,
		NotBefore: b.clock.Now().UTC().Add(48 * time.Hour).Truncate(time.Second), NotAfter: b.clock.Now().UTC().Add(50 * time.Hour).Truncate(time.Second)}
	b.srv.SetMaintenance(reboot)
	tick() // the poll that sees it
	tick() // the same list again: no second call
	moved := reboot
	moved.NotBefore = moved.NotBefore.Add(24 * time.Hour)
	b.srv.SetMaintenance(moved)
	tick() // rescheduled
	b.srv.AddFault(imdstest.Fault{Path: pathMaintenance, Status: 500, Times: 3})
	tick() // a failed poll is logged and changes nothing
	canceled := moved
	canceled.State = imds.MaintenanceCanceled
	b.srv.SetMaintenance(canceled)
	tick()
	tick()
	require.ErrorIs(t, stop(), context.Canceled)
	close(got)
	var calls [][]imds.MaintenanceEvent
	for e := range got {
		calls = append(calls, e)
	}
	assert.Equal(t, [][]imds.MaintenanceEvent{{reboot}, {moved}, {canceled}}, calls)
	assert.Contains(t, b.logs.String(), "watch poll failed")
}

func TestAnEventIDListedTwiceHidesNeitherEvent(t *testing.T) {
	b := newBed(t)
	b.srv.SetBody(pathMaintenance, http.StatusOK, `[{"EventId":"instance-event-1","Code":"system-reboot","State":"active","NotBefore":"21 Jan 2019 09:00:43 GMT"},
	  {"EventId":"instance-event-1","Code":"instance-stop","State":"active","NotBefore":"20 Jan 2019 09:00:43 GMT"}]`)
	got, err := b.client.ScheduledMaintenance(context.Background())
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, imds.MaintenanceInstanceStop, got[1].Code)
}

func TestAMaintenanceTimeOfAnyJSONTypeIsUnreadableNotMalformed(t *testing.T) {
	b := newBed(t)
	b.srv.SetBody(pathMaintenance, http.StatusOK, `[{"EventId":"e1","Code":"instance-stop","State":"active","NotBefore":1548061243,
	  "NotAfter":{"at":"soon"},"NotBeforeDeadline":"1 Jan 0001 00:00:00 GMT"},
	  {"EventId":"e2","Code":"instance-stop","State":"active","NotBefore":null,"NotAfter":""}]`)
	got, err := b.client.ScheduledMaintenance(context.Background())
	require.NoError(t, err, "the events stand; only their times are unknown")
	require.Len(t, got, 2)
	assert.Equal(t, map[string]string{"NotBefore": "1548061243", "NotAfter": `{"at":"soon"}`, "NotBeforeDeadline": "1 Jan 0001 00:00:00 GMT"}, got[0].BadTimes,
		"a time that reads as the zero time is kept as unreadable, not taken for 'not given'")
	assert.Empty(t, got[1].BadTimes, "null and empty are not given")
	assert.True(t, got[0].StartsBy(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)))
}

func TestPendingReadsStatesAndMarkersInAnyCase(t *testing.T) {
	for _, tc := range []struct {
		state, description string
		pending            bool
	}{
		{"Canceled", "", false}, {"COMPLETED", "", false}, {" canceled ", "", false},
		{"active", "[completed] scheduled reboot", false}, {"active", "[CANCELED] scheduled reboot", false},
		{"Active", "", true}, {"scheduled", "", true}, {"", "scheduled reboot", true},
	} {
		e := imds.MaintenanceEvent{State: imds.MaintenanceState(tc.state), Description: tc.description}
		assert.Equal(t, tc.pending, e.Pending(), "%q %q", tc.state, tc.description)
	}
}

func TestWatchMaintenanceHandsOutACopy(t *testing.T) {
	b := newBed(t)
	b.srv.SetMaintenance(imds.MaintenanceEvent{EventID: "e1", Code: imds.MaintenanceSystemReboot, State: imds.MaintenanceActive,
		BadTimes: map[string]string{"NotBefore": "soon"}})
	calls := 0
	tick, stop := runWatch(t, b.clock, func(ctx context.Context) error {
		return b.client.WatchMaintenance(ctx, func(e []imds.MaintenanceEvent) {
			calls++
			e[0].State, e[0].BadTimes["NotBefore"] = imds.MaintenanceCanceled, "edited"
		})
	})
	for range 4 {
		tick()
	}
	require.ErrorIs(t, stop(), context.Canceled)
	assert.Equal(t, 1, calls, "what the callback did to its copy is no change IMDS made")
}

func TestWatchMaintenanceTakesAMalformedAnswerForAFailedPoll(t *testing.T) {
	b := newBed(t)
	b.srv.SetMaintenance(imds.MaintenanceEvent{EventID: "e1", Code: imds.MaintenanceSystemReboot, State: imds.MaintenanceActive})
	var calls [][]imds.MaintenanceEvent
	tick, stop := runWatch(t, b.clock, func(ctx context.Context) error {
		return b.client.WatchMaintenance(ctx, func(e []imds.MaintenanceEvent) { calls = append(calls, e) })
	})
	tick()
	b.srv.SetBody(pathMaintenance, http.StatusOK, `null`)
	tick()
	tick()
	require.ErrorIs(t, stop(), context.Canceled)
	require.Len(t, calls, 1, "null is a failed poll, not the events gone")
	assert.Contains(t, b.logs.String(), "watch poll failed")
}
