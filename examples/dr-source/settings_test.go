package main

// Adversarial tests of dr-source: its settings are checked when the Lambda starts, and an
// event it can't act on changes nothing. A failing test is a bug found.

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr/drtest"
)

func TestBadSettingsRefusedAtStart(t *testing.T) {
	for name, bad := range map[string]map[string]string{
		"DR_DATABASES with an empty cluster": {"DR_DATABASES": "orders-db,cluster:"},
		"DR_DATABASES with a bad name":       {"DR_DATABASES": "orders_db"},
		"DR_SHARE_WITH of 21 accounts": {"DR_SHARE_WITH": "100000000001,100000000002,100000000003,100000000004,100000000005,100000000006,100000000007," +
			"100000000008,100000000009,100000000010,100000000011,100000000012,100000000013,100000000014,100000000015,100000000016,100000000017," +
			"100000000018,100000000019,100000000020,100000000021"},
		"DR_KEEP negative":   {"DR_KEEP": "-1"},
		"DR_MAX_AGE zero":    {"DR_MAX_AGE": "0s"},
		"DR_KEEP with space": {"DR_KEEP": " 7"},
	} {
		t.Run(name, func(t *testing.T) {
			f := drtest.New(nil)
			_, err := newHandler(f, drtest.NewKMS(f), func(k string) string { return bad[k] }, slog.New(slog.DiscardHandler))
			assert.Error(t, err)
			assert.Zero(t, f.Total())
		})
	}
}

// TestEventsThatAreNotOursCopyNothing: a manual snapshot's event, another event ID, a
// malformed id, a snapshot of a database not protected: nothing is copied.
func TestEventsThatAreNotOursCopyNothing(t *testing.T) {
	f := drtest.New(nil)
	f.AddAutomated("orders-db", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), "")
	f.AddAutomated("orders-db-archive", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), "")
	env := map[string]string{"DR_DATABASES": "orders-db"}
	h, err := newHandler(f, drtest.NewKMS(f), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	ev := func(id, msg, src string) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"detail-type": "RDS DB Snapshot Event", "source": "aws.rds",
			"detail": map[string]string{"EventID": id, "Message": msg, "SourceIdentifier": src}})
		return b
	}
	for _, e := range []json.RawMessage{
		ev("RDS-EVENT-0042", "Manual snapshot created", "orders-db-by-hand"),
		ev("RDS-EVENT-0090", "Creating automated snapshot", "rds:orders-db-2026-11-23-03-00"),
		ev("RDS-EVENT-0091", "Automated snapshot created", "rds:orders-db-archive-2026-11-23-03-00"),
		ev("RDS-EVENT-0091", "Automated snapshot created", "rds:"),
	} {
		sum, _ := h(context.Background(), e)
		assert.Empty(t, sum.Copied, string(e))
	}
	assert.Zero(t, f.Calls(drtest.OpCopy))
}
