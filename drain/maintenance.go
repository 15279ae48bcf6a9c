package drain

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shipshape-dev/shipshape/imds"
)

// maintenanceDrains reports whether a scheduled maintenance event of this code takes the
// instance's tasks down: a reboot, a stop or a retirement does; system-maintenance (network
// or power work on the host) does not. A code EC2 adds later counts as one that does: an
// unneeded drain moves tasks, a missed one loses them.
func maintenanceDrains(code imds.MaintenanceCode) bool {
	return code != imds.MaintenanceSystemMaintenance
}

// dueMaintenance returns the pending event, of a code that drains, that starts first among
// those whose NotBefore is within lead of now (or unreadable: it may start any time), and
// whether there is one.
func dueMaintenance(events []imds.MaintenanceEvent, now time.Time, lead time.Duration) (imds.MaintenanceEvent, bool) {
	var due imds.MaintenanceEvent
	found := false
	for _, e := range events {
		if !maintenanceDrains(e.Code) || !e.StartsBy(now.Add(lead)) {
			continue
		}
		if !found || e.NotBefore.Before(due.NotBefore) {
			due, found = e, true
		}
	}
	return due, found
}

// watchMaintenance watches the scheduled maintenance events (every IMDS poll, on the IMDS
// client's clock) and fires a trigger for the first one that drains once it is due by the
// Drainer's clock. It returns when ctx ends, or with imds.ErrDisabled; failed polls are
// logged by the IMDS watcher, which goes on.
func (d *Drainer) watchMaintenance(ctx context.Context, md *imds.Client, o WatchOptions, fire func(Trigger)) error {
	logged := map[string]bool{} // events already logged as not draining, by id
	every := func(w *imds.WatchOptions) { w.EveryPoll = true }
	return md.WatchMaintenance(ctx, func(events []imds.MaintenanceEvent) {
		for _, e := range events {
			if e.Pending() && !maintenanceDrains(e.Code) && !logged[e.EventID] {
				logged[e.EventID] = true
				d.log.Warn("drain: scheduled maintenance that neither reboots nor stops the instance; not draining for it",
					"event", e.EventID, "code", string(e.Code), "not_before", e.NotBefore)
			}
		}
		if e, ok := dueMaintenance(events, d.opts.Clock.Now(), o.MaintenanceLead); ok {
			fire(Trigger{Kind: KindMaintenance, Reason: maintenanceReason(e)})
		}
	}, append(slices.Clone(o.IMDS), every)...)
}

func maintenanceReason(e imds.MaintenanceEvent) string {
	if e.NotBefore.IsZero() {
		return fmt.Sprintf("scheduled maintenance %s (%s) at an unreadable time %q (draining now)", e.Code, e.EventID, e.BadTimes["NotBefore"])
	}
	return fmt.Sprintf("scheduled maintenance %s (%s) not before %s", e.Code, e.EventID, e.NotBefore.UTC().Format(time.RFC3339))
}
