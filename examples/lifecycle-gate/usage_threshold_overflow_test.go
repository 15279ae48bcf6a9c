package main

import (
	"testing"

	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
)

// A -timeout that can never see -healthy-threshold rounds at -interval is refused even when
// (threshold - 1) x interval does not fit in a time.Duration (it wraps to 25 minutes here,
// under the 1h timeout): such a gate could only ever ABANDON. -healthy-threshold 0 is no gate.
func TestTimeoutThatCanNeverSeeAHugeThresholdIsAUsageError(t *testing.T) {
	url := "http://127.0.0.1:8080/health"
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{"-health-url", url, "-timeout", "1h", "-interval", "1h", "-healthy-threshold", "5124097"}, Flag: "-healthy-threshold"},
		{Args: []string{"-health-url", url, "-timeout", "15m", "-interval", "10s", "-healthy-threshold", "9223372036854775807"}, Flag: "-healthy-threshold"},
		{Args: []string{"-health-url", url, "-timeout", "15m", "-interval", "10s", "-healthy-threshold", "100"}, Flag: "-timeout"},
		{Args: []string{"-tcp", "127.0.0.1:8080", "-healthy-threshold", "0"}, Flag: "-healthy-threshold"},
		{Args: []string{"-health-url", "http://127.0.0.1:65536/health"}, Flag: "-health-url"},
		{Args: []string{"-health-url", "https://[::1]:0/health"}, Flag: "-health-url"},
	}, func(args []string) (int, string) {
		code, _, stderr := gate(args...)
		return code, stderr
	})
}
