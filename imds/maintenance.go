package imds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

const pathMaintenance = "/latest/meta-data/events/maintenance/scheduled"

// maintenanceTimeLayout is how IMDS writes a maintenance event's times: "21 Jan 2019
// 09:00:43 GMT", not RFC 3339. The day may come with or without a leading zero; "2" parses
// both.
const maintenanceTimeLayout = "2 Jan 2006 15:04:05 MST"

// MaintenanceCode is what a scheduled maintenance event will do to the instance.
type MaintenanceCode string

// The codes EC2 documents. An event with another code is still returned, with that code: a
// new kind of event is no reason to hide one.
const (
	MaintenanceInstanceReboot     MaintenanceCode = "instance-reboot"
	MaintenanceSystemReboot       MaintenanceCode = "system-reboot"
	MaintenanceSystemMaintenance  MaintenanceCode = "system-maintenance"
	MaintenanceInstanceRetirement MaintenanceCode = "instance-retirement"
	MaintenanceInstanceStop       MaintenanceCode = "instance-stop"
)

// MaintenanceState is where a scheduled maintenance event stands.
type MaintenanceState string

// The states EC2 documents. A canceled or completed event stays listed for a while (up to a
// week); only an active one is still to come.
const (
	MaintenanceActive    MaintenanceState = "active"
	MaintenanceCanceled  MaintenanceState = "canceled"
	MaintenanceCompleted MaintenanceState = "completed"
)

// MaintenanceEvent is one scheduled maintenance event of the instance.
type MaintenanceEvent struct {
	EventID     string
	Code        MaintenanceCode
	State       MaintenanceState
	Description string
	// NotBefore is the earliest the event may start; NotAfter the latest it may end;
	// NotBeforeDeadline the latest NotBefore may be moved to by rescheduling. A time IMDS
	// left out is zero. A time IMDS gave but that could not be read is zero too, and its
	// text is kept in BadTimes (field name: text), so a caller can tell "unknown" from
	// "not given".
	NotBefore         time.Time
	NotAfter          time.Time
	NotBeforeDeadline time.Time
	BadTimes          map[string]string
}

// Pending reports whether the event may still come: its state is not canceled or completed
// (compared without regard to case or surrounding blanks; active, missing and any state EC2
// may add count as pending, since a drain for nothing is safer than a missed one) and its
// description does not start with "[Completed]" or "[Canceled]" (any case), which EC2 puts
// there when the event is over.
func (e MaintenanceEvent) Pending() bool {
	switch MaintenanceState(strings.ToLower(strings.TrimSpace(string(e.State)))) {
	case MaintenanceCanceled, MaintenanceCompleted:
		return false
	}
	d := strings.ToLower(strings.TrimSpace(e.Description))
	return !strings.HasPrefix(d, "[completed]") && !strings.HasPrefix(d, "[canceled]") && !strings.HasPrefix(d, "[cancelled]")
}

// StartsBy reports whether a pending event may start by t: its NotBefore is at or before t,
// or unknown (zero), which counts as now because the event may start at any time.
func (e MaintenanceEvent) StartsBy(t time.Time) bool {
	return e.Pending() && (e.NotBefore.IsZero() || !e.NotBefore.After(t))
}

func (e MaintenanceEvent) equal(o MaintenanceEvent) bool {
	return e.EventID == o.EventID && e.Code == o.Code && e.State == o.State && e.Description == o.Description &&
		e.NotBefore.Equal(o.NotBefore) && e.NotAfter.Equal(o.NotAfter) && e.NotBeforeDeadline.Equal(o.NotBeforeDeadline) &&
		maps.Equal(e.BadTimes, o.BadTimes)
}

// ScheduledMaintenance returns the instance's scheduled maintenance events, as IMDS lists
// them (canceled and completed ones included: see Pending; an event id listed twice is kept
// twice). None scheduled (IMDS answers 404, or an empty list) is an empty slice and no error.
// A body that is not a JSON list of events (null and an empty body included: they could hide
// an event), or an event without an EventId, is a *MalformedError; an unreadable time, of
// whatever JSON type, is not (see MaintenanceEvent.BadTimes).
func (c *Client) ScheduledMaintenance(ctx context.Context) ([]MaintenanceEvent, error) {
	body, err := c.get(ctx, pathMaintenance)
	if errors.Is(err, ErrNotFound) {
		return []MaintenanceEvent{}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseMaintenance(body)
}

func parseMaintenance(body []byte) ([]MaintenanceEvent, error) {
	var raw []*struct {
		Code              string          `json:"Code"`
		Description       string          `json:"Description"`
		EventID           string          `json:"EventId"`
		NotBefore         json.RawMessage `json:"NotBefore"`
		NotAfter          json.RawMessage `json:"NotAfter"`
		NotBeforeDeadline json.RawMessage `json:"NotBeforeDeadline"`
		State             string          `json:"State"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, &MalformedError{Path: pathMaintenance, Reason: notJSON(body) + " (want a JSON list of events)"}
	}
	events := make([]MaintenanceEvent, 0, len(raw))
	for i, r := range raw {
		if r == nil || strings.TrimSpace(r.EventID) == "" {
			return nil, &MalformedError{Path: pathMaintenance, Reason: fmt.Sprintf("event %d has no EventId", i+1)}
		}
		e := MaintenanceEvent{
			EventID:     r.EventID,
			Code:        MaintenanceCode(r.Code),
			State:       MaintenanceState(r.State),
			Description: r.Description,
		}
		for _, f := range []struct {
			name string
			raw  json.RawMessage
			into *time.Time
		}{{"NotBefore", r.NotBefore, &e.NotBefore}, {"NotAfter", r.NotAfter, &e.NotAfter}, {"NotBeforeDeadline", r.NotBeforeDeadline, &e.NotBeforeDeadline}} {
			text, given := timeText(f.raw)
			if !given {
				continue
			}
			t, err := parseMaintenanceTime(text)
			if err != nil || t.IsZero() {
				if e.BadTimes == nil {
					e.BadTimes = map[string]string{}
				}
				e.BadTimes[f.name] = snippet([]byte(text))
				continue
			}
			*f.into = t
		}
		events = append(events, e)
	}
	return events, nil
}

// timeText is a time field's text: a JSON string's content, or any other JSON value as
// written (a number, an object: unreadable, but given). Absent, null or "" is not given.
func timeText(raw json.RawMessage) (string, bool) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, strings.TrimSpace(s) != ""
	}
	return t, true
}

// parseMaintenanceTime reads "21 Jan 2019 09:00:43 GMT" (also with UTC, and with a one-digit
// day), and an RFC 3339 time for servers that write one.
func parseMaintenanceTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(maintenanceTimeLayout, s); err == nil {
		if name, _ := t.Zone(); name != "GMT" && name != "UTC" {
			return time.Time{}, fmt.Errorf("time zone %s is not GMT", name)
		}
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC), nil
	}
	return time.Parse(time.RFC3339, s)
}

// WatchMaintenance polls the scheduled maintenance events and calls fn with the whole list
// each time it changes (an event added, gone, rescheduled, canceled or completed), starting
// with the first list that is not empty; with WatchOptions.EveryPoll, after every poll that
// succeeds, empty lists included. fn gets a copy of its own: changing it changes nothing
// the watcher sees. Otherwise it behaves like WatchSpotAction: poll errors (a malformed
// answer included) are logged and the watch goes on; it returns when ctx ends or with
// ErrDisabled.
func (c *Client) WatchMaintenance(ctx context.Context, fn func([]MaintenanceEvent), optFns ...func(*WatchOptions)) error {
	return watchFunc(ctx, c, c.ScheduledMaintenance, func(events []MaintenanceEvent) { fn(cloneEvents(events)) }, []MaintenanceEvent{},
		func(a, b []MaintenanceEvent) bool { return slices.EqualFunc(a, b, MaintenanceEvent.equal) }, optFns)
}

func cloneEvents(events []MaintenanceEvent) []MaintenanceEvent {
	out := slices.Clone(events)
	for i := range out {
		if out[i].BadTimes != nil {
			out[i].BadTimes = maps.Clone(out[i].BadTimes)
		}
	}
	return out
}
