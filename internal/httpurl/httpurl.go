// Package httpurl checks, before anything is sent, that a URL given by an operator can be
// fetched over HTTP at all: http or https, a host, a port from 1 to 65535 when one is given.
package httpurl

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// Check says what makes rawURL impossible to fetch, if anything. what names the URL in the
// message ("health URL"), like shows a good one ("like http://127.0.0.1:8080/health").
func Check(what, rawURL, like string) error {
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		return fmt.Errorf("%s %q is not a URL %s: %v", what, rawURL, like, errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%s %q is not an http(s) URL %s", what, rawURL, like)
	case u.Hostname() == "":
		return fmt.Errorf("%s %q has no host: want one %s", what, rawURL, like)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s %q: port %q is not a number from 1 to 65535", what, rawURL, port)
		}
	}
	return nil
}
