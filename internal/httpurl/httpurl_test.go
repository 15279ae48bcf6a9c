package httpurl_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shipshape-dev/shipshape/internal/httpurl"
)

func TestCheck(t *testing.T) {
	for raw, why := range map[string]string{
		"http://localhost:99999/v1/metadata": `agent URL "http://localhost:99999/v1/metadata": port "99999" is not a number from 1 to 65535`,
		"http://localhost:0/":                `port "0" is not a number from 1 to 65535`,
		"ftp://localhost/v1/metadata":        `agent URL "ftp://localhost/v1/metadata" is not an http(s) URL like http://x/`,
		"localhost:51678/v1/metadata":        "is not",
		"http:///v1/metadata":                "has no host: want one like http://x/",
		"http://local host/":                 "is not a URL like http://x/",
		"":                                   "is not an http(s) URL",
	} {
		err := httpurl.Check("agent URL", raw, "like http://x/")
		if assert.Error(t, err, "%q", raw) {
			assert.Contains(t, err.Error(), why, "%q", raw)
		}
	}
	for _, raw := range []string{"http://localhost:51678/v1/metadata", "https://[::1]:443/", "HTTP://app.internal:1/", "http://127.0.0.1:65535/"} {
		assert.NoError(t, httpurl.Check("agent URL", raw, "like http://x/"), "%q", raw)
	}
}
