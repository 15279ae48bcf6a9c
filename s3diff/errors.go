package s3diff

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; branch on them with errors.Is.
var (
	// ErrInvalidKeep: a retention count below 1. Zero is never read as "delete everything".
	ErrInvalidKeep = errors.New("s3diff: keep must be at least 1 (the newest version is always kept)")

	// ErrVersionNotFound: a version id that is not a version of the key.
	ErrVersionNotFound = errors.New("s3diff: version not found")

	// ErrNoPredecessor: the version to diff is the oldest one; there is nothing to diff against.
	ErrNoPredecessor = errors.New("s3diff: the version has no older version to diff against")

	// ErrNoVersions: the key has no versions at all (never written, or wrong key).
	ErrNoVersions = errors.New("s3diff: the key has no versions")

	// ErrDeleteFailed: some planned deletions failed after retries; RetainResult.Failed lists them.
	ErrDeleteFailed = errors.New("s3diff: some versions could not be deleted")

	// ErrMalformedResponse: S3 (or an S3-compatible server) answered with something that
	// can't be acted on safely, such as a listed version without a version id. Nothing is
	// deleted on such an answer.
	ErrMalformedResponse = errors.New("s3diff: malformed answer from S3")

	// ErrInvalidInput: a bucket, key, option or event that can't be right.
	ErrInvalidInput = errors.New("s3diff: invalid input")
)

// Codes of DeleteFailure that come from s3diff rather than from S3.
const (
	// CodeNotConfirmed: S3 answered the DeleteObjects call but neither listed the version
	// under Deleted nor reported an error naming it (or reported one without a version id,
	// which is never retried). The version may or may not be gone: list the key to see.
	CodeNotConfirmed = "NotConfirmed"
	// CodeMarkerCreated: the server answered a delete by version id by creating a delete
	// marker, which hides the object. The message names the marker to delete to restore it.
	CodeMarkerCreated = "DeleteMarkerCreated"
	// CodeStopped: the run stopped (cancelled, its deadline, or an earlier answer that can't
	// be trusted) before the version was deleted: it was never sent, or its call was cut off
	// and a fresh listing shows the version still there. Nothing failed; run again.
	CodeStopped = "Stopped"
	// CodeOutcomeUnknown: the answer to the DeleteObjects call was lost and the listing that
	// should have told whether the version is gone could not be made. List the key to see.
	CodeOutcomeUnknown = "OutcomeUnknown"
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}

// ValidBucketName checks that name can be an S3 bucket name: 3 to 255 characters (63 for
// buckets made since 2018; older us-east-1 buckets and some S3-compatible servers allow
// more), only letters, digits, dots, hyphens and underscores, starting and ending with a
// letter or digit. It catches what can never name a bucket (an s3:// URL, a path, a space)
// before any request; the error wraps ErrInvalidInput.
func ValidBucketName(name string) error {
	switch {
	case name == "" || strings.TrimSpace(name) == "":
		return invalid("the bucket name is empty")
	case strings.HasPrefix(strings.ToLower(name), "s3://"):
		return invalid("bucket name %q is a URL: give the bucket's name alone (%q)", name, strings.SplitN(name[5:], "/", 2)[0])
	case strings.Contains(name, "/"):
		return invalid("bucket name %q holds a '/': give the bucket's name alone, and the key or prefix in its own setting", name)
	case len(name) < 3 || len(name) > 255:
		return invalid("bucket name %q must be 3 to 255 characters", name)
	}
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		switch {
		case !alnum && c != '.' && c != '-' && c != '_':
			return invalid("bucket name %q holds %q: bucket names are letters, digits, dots and hyphens", name, string(c))
		case !alnum && (i == 0 || i == len(name)-1):
			return invalid("bucket name %q must start and end with a letter or digit", name)
		}
	}
	return nil
}

func checkBucketKey(bucket, key string) error {
	if err := ValidBucketName(bucket); err != nil {
		return err
	}
	switch {
	case key == "":
		return invalid("the object key is empty")
	case len(key) > 1024:
		return invalid("object key is %d bytes; S3 keys are at most 1024", len(key))
	}
	return nil
}
