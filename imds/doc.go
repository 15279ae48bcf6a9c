// Package imds reads EC2 instance metadata and instance-profile credentials over IMDSv2,
// with fewer requests and clearer failures than the AWS SDK's client, and is the base that
// the lifecycle and drain packages use on the instance.
//
// # Usage
//
// One Client per process: it caches the session token (6 hours by default) and shares it
// between every read.
//
//	client, err := imds.New() // endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT, else 169.254.169.254
//	if err != nil { ... }     // only bad configuration fails here
//	id, err := client.InstanceID(ctx)
//	action, err := client.SpotAction(ctx) // Action == imds.SpotNone when no interruption is due
//
// For credentials, use the provider with the AWS SDK:
//
//	provider, err := imds.NewCredentialsProvider(client)
//	cfg, err := config.LoadDefaultConfig(ctx, config.WithCredentialsProvider(provider))
//
// In steady state a refresh costs one request (the role name and the token are cached), it
// happens 15 to 20 minutes before the credentials expire, and when IMDS is down, or hands
// back credentials that have already expired, the provider keeps serving the last good
// credentials for another 5 to 15 minutes (logging a warning) instead of failing every AWS
// call. Credentials that were never valid are never served.
//
// To react to Spot interruptions, rebalance recommendations, Auto Scaling lifecycle changes
// or scheduled maintenance, use WatchSpotAction, WatchRebalance, WatchTargetLifecycleState and
// WatchMaintenance: they poll (every 5 s by default) and call back once per new state.
// ScheduledMaintenance reads the maintenance events once; their times, which IMDS writes as
// "21 Jan 2019 09:00:43 GMT", come back as time.Time, and MaintenanceEvent.Pending tells a
// coming event from a canceled or completed one.
//
// # Requests and failures
//
// Only connection errors, 429 and 5xx are retried (3 attempts, jittered exponential backoff,
// Retry-After honoured), each attempt bounded (100 ms to connect, 500 ms in all), so that
// off EC2 a call fails in well under a second. A token PUT that connects but gets no answer
// while a plain GET does is reported as ErrHopLimit: in a container this means the
// instance's hop limit is 1 and must be raised to 2. IMDSv1 is never used unless
// Options.AllowIMDSv1 is set; even then IMDSv2 is tried again every 5 minutes.
//
// # Concurrency
//
// Client and CredentialsProvider are safe for concurrent use. Concurrent callers share one
// token request and one credentials refresh. The Watch methods block until their context
// ends; run each in its own goroutine.
//
// # Errors
//
// Branch with errors.Is on the sentinels (ErrUnreachable, ErrHopLimit, ErrNotFound,
// ErrThrottled, ErrMalformed, ErrNoRole, ErrTagsNotEnabled, ErrCredentialsExpired,
// ErrDisabled, ...) and errors.As on *ResponseError, *MalformedError,
// *CredentialsCodeError and *RoleListError. Errors never contain a secret key or token,
// and neither do String, GoString, MarshalJSON or slog output of Credentials;
// CredentialProcessJSON and ShellExports are the two explicit ways to print them.
//
// # Testing
//
// Package imdstest is an in-process IMDS (httptest) with rotating credentials, Spot,
// rebalance and lifecycle notices, scheduled maintenance, tags, and fault injection (dropped
// token PUT, 401, 429, 5xx, delays); point Options.Endpoint at its URL. One behaviour suite
// runs against it and against AWS's amazon-ec2-metadata-mock (see scripts/testbed).
package imds
