// Package drenv reads the settings the dr snapshot Lambdas (dr-source, dr-recovery) take from
// their environment into the library's types, so that package dr parses no text settings.
package drenv

import (
	"fmt"
	"strconv"
	"time"

	"github.com/shipshape-dev/shipshape/dr"
)

// Retention reads DR_KEEP and DR_MAX_AGE: keep is a whole number of snapshots per database
// (default 7), maxAge a Go duration such as "720h" (empty: no age limit). Errors wrap
// dr.ErrInvalidInput and name the setting.
func Retention(keep, maxAge string) (dr.Retention, error) {
	r := dr.Retention{Keep: 7}
	if keep != "" {
		n, err := strconv.Atoi(keep)
		if err != nil || n < 1 {
			return r, fmt.Errorf("%w: DR_KEEP %q: want a whole number, 1 or more", dr.ErrInvalidInput, keep)
		}
		r.Keep = n
	}
	if maxAge != "" {
		d, err := time.ParseDuration(maxAge)
		if err != nil || d <= 0 {
			return r, fmt.Errorf("%w: DR_MAX_AGE %q: want a duration like 720h", dr.ErrInvalidInput, maxAge)
		}
		r.MaxAge = d
	}
	return r, nil
}
