// Package lifecycle gates EC2 Auto Scaling launches on real application readiness and
// completes launch lifecycle hooks reliably: it probes the application the way an ALB health
// check would, heartbeats the lifecycle action while it waits, completes it with CONTINUE
// when the application is ready and with ABANDON (configurable) when it never gets ready, so
// the group replaces the instance at once instead of after the heartbeat timeout.
//
// # Usage
//
//	gate, err := lifecycle.NewFromConfig(cfg) // an error only for options that can't work
//	target, err := gate.Discover(ctx, imdsClient, lifecycle.DiscoverOptions{})
//	probe, err := lifecycle.NewHTTPProbe("http://127.0.0.1:8080/health", "200", 5*time.Second)
//	// or NewTCPProbe("127.0.0.1:8080", ...), NewCommandProbe("/opt/app/check", ...): each
//	// constructor refuses a typo before anything touches the lifecycle action
//	outcome, err := gate.Run(ctx, target, probe)
//	// outcome.Result is CONTINUE or ABANDON; outcome.NoActiveAction says the action was
//	// already completed or expired (not an error, never retried).
//
// Discovery needs no CloudFormation lookup: the instance id comes from IMDS, the group from
// the instance tag aws:autoscaling:groupName when tags are enabled in metadata (else, and
// when metadata is disabled, unreachable or failing, one DescribeAutoScalingInstances call:
// with the instance id given, no metadata is needed at all), the launch hooks and their
// timeouts from DescribeLifecycleHooks. Every launch hook is completed, unless names are given.
// The metadata's group tag is the host's: with an instance id given, it is used only when
// metadata says the host is that instance, else Auto Scaling is asked. An answer that lists
// the instance in several groups is refused (ErrSeveralGroups, naming them): which group's
// hooks to complete is never guessed.
//
// The hook messages Auto Scaling sends (to SNS, SQS or EventBridge) are this package's to
// read: ParseHookMessage (the notification, out of its envelopes: package envelope) and
// ParseHookEvent (an EventBridge lifecycle action's detail) give a HookMessage, whose Target
// is what Heartbeat and Complete take.
//
// For instances resumed from a warm pool, where user data does not run again, run
// GateOnInService from a service: it watches the IMDS target lifecycle state and runs the
// gate each time the instance is headed for InService.
//
// # Timing
//
// Probe rounds run every Options.Interval; HealthyThreshold passing rounds in a row make the
// instance ready. Heartbeats go every third of the hook's HeartbeatTimeout. The wait is cut
// so that the decision is always sent before the hook's global timeout
// (min(48 h, 100 x HeartbeatTimeout)) lapses to its default result. All waiting goes through
// Options.Clock and the caller's context; clocktest.New (package clock/clocktest)
// makes an hour pass at once.
// A command probe whose command the shell cannot start (exit 126 or 127) can never pass: the
// gate decides at the first round instead of waiting out its timeout.
//
// # Errors
//
// ErrNoActiveAction (Auto Scaling's "ValidationError: No active Lifecycle Action found": the
// one error recognised by its message, since its code is shared by every validation error),
// ErrNoLaunchHook, ErrNotInGroup, ErrSeveralGroups, ErrInvalidInput, and ErrPermanent for probes that can never
// pass. Throttling and server errors are retried by the AWS SDK's retryer alone
// (Options.MaxAttempts, 5, attempts per call); the SDK's error stays reachable with errors.As.
//
// # Concurrency
//
// A Gate is safe for concurrent use; Run blocks until the decision is sent. A decision once
// made is delivered on a context that survives the caller's cancellation (for one minute).
//
// # Testing
//
// Package lifecycletest has a stateful fake of Auto Scaling's lifecycle hooks (heartbeat
// and global timeouts, default results, the no-active-action error) driven by a clock/clocktest clock, and a
// wire server speaking Auto Scaling's query/XML protocol for tests of a real SDK client.
// The CloudFormation snippet and the minimal IAM policy are in docs/lifecycle.md.
package lifecycle
