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
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}

func checkBucketKey(bucket, key string) error {
	switch {
	case strings.TrimSpace(bucket) == "":
		return invalid("the bucket name is empty")
	case len(bucket) < 3 || len(bucket) > 255:
		return invalid("bucket name %q must be 3 to 255 characters", bucket)
	case key == "":
		return invalid("the object key is empty")
	case len(key) > 1024:
		return invalid("object key is %d bytes; S3 keys are at most 1024", len(key))
	}
	return nil
}
