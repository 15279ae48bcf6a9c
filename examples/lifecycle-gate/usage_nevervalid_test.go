package main

import (
	"testing"

	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
)

// Values that can never work, beyond the usage table: each is exit 2, one line naming the
// flag, no request (a gate that can never pass would ABANDON, and the instance be replaced,
// on a typo).
func TestValuesThatCanNeverWorkAreUsageErrors(t *testing.T) {
	url := "http://127.0.0.1:8080/health"
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: []string{"-health-url", url, "-health-status", "600"}, Flag: "-health-status"},
		{Args: []string{"-health-url", url, "-health-status", "99"}, Flag: "-health-status"},
		{Args: []string{"-health-url", url, "-health-status", "0"}, Flag: "-health-status"},
		{Args: []string{"-health-url", url, "-health-status", "299-200"}, Flag: "-health-status"},
		{Args: []string{"-tcp", "127.0.0.1:99999"}, Flag: "-tcp"},
		{Args: []string{"-tcp", "127.0.0.1:-1"}, Flag: "-tcp"},
		{Args: []string{"-tcp", "bad host:80"}, Flag: "-tcp"},
		{Args: []string{"-health-url", "http://bad host:8080/health"}, Flag: "-health-url"},
		{Args: []string{"-health-url", url, "-probe-timeout", "0s"}, Flag: "-probe-timeout"},
		{Args: []string{"-health-url", url, "-interval", "0s"}, Flag: "-interval"},
		{Args: []string{"-health-url", url, "-healthy-threshold", "-1"}, Flag: "-healthy-threshold"},
		{Args: []string{"-health-url", url, "-hook", "  "}, Flag: "-hook"},
		{Args: []string{"-health-url", url, "-token", "  "}, Flag: "-token"},
		{Args: []string{"-health-url", url, "-group", "  "}, Flag: "-group"},
		{Args: []string{"-health-url", url, "-instance-id", "i-0123456789ABCDEF0"}, Flag: "-instance-id"},
		{Args: []string{"-health-url", url, "-instance-id", "i-1"}, Flag: "-instance-id"},
		{Args: []string{"-health-url", url, "-timeout", "-1m"}, Flag: "-timeout"},
		// the wait can never be long enough for the threshold
		{Args: []string{"-health-url", url, "-timeout", "10s", "-interval", "10s", "-healthy-threshold", "3"}, Flag: "-timeout"},
	}, func(args []string) (int, string) {
		code, _, stderr := gate(args...)
		return code, stderr
	})
}
