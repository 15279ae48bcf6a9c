package cli

import "errors"

// NoRegion is the message of every binary whose AWS configuration has no region: exit 2,
// before any request.
const NoRegion = "set AWS_REGION (or use a profile with a region)"

// ErrNoRegion is the error of an AWS configuration without a region; it reads NoRegion.
var ErrNoRegion = errors.New(NoRegion)
