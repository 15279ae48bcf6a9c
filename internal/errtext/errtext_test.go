package errtext

import (
	"errors"
	"fmt"
	"testing"
)

func TestWrapNamesThePackageOnce(t *testing.T) {
	base := errors.New("s3diff: version not found")
	err := Wrap("s3diff", "diff of s3://b/k", Wrap("s3diff", "listing", base))
	if got, want := err.Error(), "s3diff: diff of s3://b/k: listing: version not found"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !errors.Is(err, base) {
		t.Fatal("the wrapped error must stay reachable")
	}
	foreign := fmt.Errorf("operation error S3: ListObjectVersions")
	if got := Wrap("s3diff", "listing", foreign).Error(); got != "s3diff: listing: operation error S3: ListObjectVersions" {
		t.Fatalf("got %q", got)
	}
	if Wrap("x", "y", nil) != nil {
		t.Fatal("nil stays nil")
	}
	if Count("s3diff", err.Error()) != 1 {
		t.Fatal("named once")
	}
}
