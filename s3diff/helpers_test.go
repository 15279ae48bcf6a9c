package s3diff_test

import (
	"testing"

	"github.com/shipshape-dev/shipshape/s3diff"
)

// newClient is s3diff.New for tests: the options are the test's own, so an error fails it.
func newClient(t testing.TB, api s3diff.S3API, optFns ...func(*s3diff.Options)) *s3diff.Client {
	t.Helper()
	c, err := s3diff.New(api, optFns...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
