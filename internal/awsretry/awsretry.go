// Package awsretry builds the one retry layer of the packages' AWS calls: the SDK's own
// standard retryer (exponential backoff with jitter, a retry quota, throttling and 5xx
// detection), with the number of attempts and extra retryable codes each package documents.
// Packages set it on every call through the client's per-operation options, so a logical call
// goes out at most MaxAttempts times whatever client the user passed; nothing retries around
// it.
package awsretry

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/shipshape-dev/shipshape/clock"
)

// Options configure New.
type Options struct {
	// Clock times the backoff. On a fake clock (a clock.Advancer) the clock is advanced by
	// each wait instead and the SDK does not sleep, so tests of retries take no time.
	Clock clock.Clock
	// MaxAttempts is the number of attempts in all, the first one included.
	MaxAttempts int
	// Codes are API error codes to retry besides the SDK's (throttling, 5xx, timeouts).
	Codes []string
	// OnRetry, when set, is called with the error of each attempt that will be retried. The
	// SDK drops that error when the context ends during the backoff; a package can keep the
	// last one to say what was being retried when time ran out.
	OnRetry func(err error)
}

// New returns the SDK's standard retryer configured by o.
func New(o Options) aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = o.MaxAttempts
		so.Backoff = backoff{o: o, base: retry.NewExponentialJitterBackoff(so.MaxBackoff)}
		if len(o.Codes) > 0 {
			set := make(map[string]struct{}, len(o.Codes))
			for _, code := range o.Codes {
				set[code] = struct{}{}
			}
			so.Retryables = append(so.Retryables, retry.RetryableErrorCode{Codes: set})
		}
	})
}

type backoff struct {
	o    Options
	base retry.BackoffDelayer
}

func (b backoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	if b.o.OnRetry != nil {
		b.o.OnRetry(err)
	}
	d, berr := b.base.BackoffDelay(attempt, err)
	if a, ok := b.o.Clock.(clock.Advancer); ok && berr == nil {
		a.Advance(d)
		return 0, nil
	}
	return d, berr
}
