package snaps

import (
	"log/slog"

	"github.com/shipshape-dev/shipshape/clock"
)

// defaultMaxAttempts is how many times one RDS or KMS call is sent in all, by the SDK's
// standard retryer, unless the options say otherwise.
const defaultMaxAttempts = 5

// Defaults fills the settings the options of every type share, where they are zero: the wall
// clock, defaultMaxAttempts, and a logger that discards.
func Defaults(c *clock.Clock, maxAttempts *int, logger **slog.Logger) {
	*c = clock.Or(*c)
	if *maxAttempts == 0 {
		*maxAttempts = defaultMaxAttempts
	}
	if *logger == nil {
		*logger = slog.New(slog.DiscardHandler)
	}
}
