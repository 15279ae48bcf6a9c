package imds

import (
	"strings"
	"testing"
	"time"
)

func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte(`{"Code":"Success","LastUpdated":"2026-11-23T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIA1","SecretAccessKey":"SECRETVALUE","Token":"TOKENVALUE","Expiration":"2026-11-23T06:00:00Z"}`))
	f.Add([]byte(`{"Code":"Failure","Message":"SECRETVALUE"}`))
	f.Add([]byte(`<html>SECRETVALUE</html>`))
	f.Add([]byte(`{"Code":"Success","AccessKeyId":"A","SecretAccessKey":"SECRETVALUE","Token":"T","Expiration":"soon"}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseCredentials("role", body)
		if err != nil {
			// The secret is never quoted back (the fuzzer may put it in a Message, which is
			// quoted on purpose for Code errors; only the secret field matters).
			if strings.Contains(err.Error(), "SECRETVALUE") && !strings.Contains(err.Error(), "Code") {
				t.Fatalf("error quotes the body: %v", err)
			}
			return
		}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.Token == "" || c.Expiration.IsZero() {
			t.Fatalf("accepted incomplete credentials: %v", c)
		}
		// String must not depend on the secret or the token at all.
		other := c
		other.SecretAccessKey, other.Token = c.SecretAccessKey+"x", c.Token+"y"
		if c.String() != other.String() || c.GoString() != other.GoString() {
			t.Fatalf("String depends on the secret or the token")
		}
	})
}

func FuzzParseIdentityDocument(f *testing.F) {
	f.Add([]byte(`{"accountId":"123456789012","availabilityZone":"us-east-1a","instanceId":"i-1","region":"us-east-1","pendingTime":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"accountId":"1","instanceId":"i-1"}`))
	f.Add([]byte(`<!DOCTYPE html>`))
	f.Add([]byte(`{"pendingTime":"yesterday"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := parseIdentityDocument(body)
		if err != nil {
			return
		}
		if doc.InstanceID == "" || doc.Region == "" || doc.AccountID == "" || doc.AvailabilityZone == "" {
			t.Fatalf("accepted an incomplete document: %+v", doc)
		}
	})
}

func FuzzParseSpotAction(f *testing.F) {
	f.Add([]byte(`{"action":"terminate","time":"2026-11-23T00:02:00Z"}`))
	f.Add([]byte(`{"action":"hibernate"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := parseSpotAction(body)
		if err != nil {
			return
		}
		// A known action is a notice, whatever its time; a zero Time says the time was
		// missing or unreadable, and only then is BadTime set.
		if a.Action != SpotStop && a.Action != SpotTerminate && a.Action != SpotHibernate || a.BadTime != "" && !a.Time.IsZero() {
			t.Fatalf("accepted %+v", a)
		}
	})
}

func FuzzParseMaintenance(f *testing.F) {
	f.Add([]byte(`[{"NotBefore":"21 Jan 2019 09:00:43 GMT","Code":"system-reboot","Description":"scheduled reboot","EventId":"instance-event-0d59937288b749b32","NotAfter":"21 Jan 2019 09:17:23 GMT","State":"active"}]`))
	f.Add([]byte(`[{"EventId":"e","NotBefore":"32 Jan 2019 25:00:00 GMT"}]`))
	f.Add([]byte(`{"EventId":"e"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := parseMaintenance(body)
		if err != nil {
			if events != nil {
				t.Fatalf("a partial list with an error: %v", events)
			}
			return
		}
		for _, e := range events {
			if strings.TrimSpace(e.EventID) == "" {
				t.Fatalf("accepted an event without an id: %+v", events)
			}
			for name, text := range e.BadTimes {
				if text == "" || (name != "NotBefore" && name != "NotAfter" && name != "NotBeforeDeadline") {
					t.Fatalf("bad time %q=%q", name, text)
				}
			}
			// A pending event whose start is unknown may start at any time: it is due now.
			if e.Pending() && e.NotBefore.IsZero() && !e.StartsBy(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("a pending event with an unknown start is not due: %+v", e)
			}
		}
	})
}
