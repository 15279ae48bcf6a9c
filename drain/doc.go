// Package drain empties ECS container instances before Auto Scaling or a Spot interruption
// takes them away: it sets the instance DRAINING, waits until every task on it has really
// stopped (lastStatus STOPPED: tasks still DEACTIVATING, STOPPING or DEPROVISIONING count,
// which runningTasksCount does not), and completes the termination lifecycle hook.
//
// # Usage
//
// A drain is a reconcile step, not a sleep loop. Drivers repeat Step:
//
//	d, err := drain.NewFromConfig(cfg) // an error only for options that can't work
//	in, err := d.Find(ctx, "i-0123456789abcdef0", "prod") // one filtered ListContainerInstances
//	res, err := d.Drain(ctx, in, drain.DrainOptions{AutoScaling: asg, Hook: &target}) // CLI, agent
//
// In Lambda, feed a Handler from an SQS queue (EventBridge -> SQS -> Lambda): each invocation
// does one step per message, and an unfinished drain goes back to the queue as a batch item
// failure, delivered again after the visibility timeout. Nothing is re-published, so
// Lambda's recursive-loop detection (which stops SNS/SQS -> Lambda -> SNS chains after 16
// hops) never applies, and a duplicate delivery only repeats an idempotent step.
//
// On the instance, Watch waits for instance metadata to say the instance is leaving and
// drains it: a Spot interruption notice (the drain is bounded by the notice's time, two
// minutes later, or by MaxDrain when that is earlier; what could not stop by then is logged
// and ErrSpotDeadline returned; a time more than MaxSpotNotice ahead is logged as suspicious
// and bounded by MaxDrain and MaxSpotNotice, a missing or unreadable time is logged and
// bounded by MaxDrain and SpotWarning; a notice seen during a drain moves its end earlier,
// never later), the
// Auto Scaling target lifecycle state Terminated (the termination hooks are found,
// heartbeated and completed), or, opted in, a rebalance recommendation or a scheduled
// maintenance event that reboots, stops or retires the instance (drained MaintenanceLead
// before its NotBefore; never for a canceled or completed event). Replace does a
// planned replacement: scale-in protection off, drain, TerminateInstanceInAutoScalingGroup
// without decrementing the desired capacity; it terminates nothing unless the drain finished,
// and then says what it left: ReplaceResult.ProtectionRestored (a protection it could not
// turn back on is a *ProtectionError with the command to run by hand) and LeftDraining. A
// termination call that failed while the group can't be read after it is
// TerminationUnknown (*TerminationUnknownError, with the command that checks): nothing
// about the instance is claimed then. An instance listed in several groups is refused.
//
// # Rules
//
// Nothing is drained on ECS's word alone: the container instance Find returns is described
// before it is set DRAINING, and one that runs on another EC2 instance than the one asked
// for (an ECS implementation that ignores ListContainerInstances' filter answers with any
// instance of the cluster) is refused with a *WrongInstanceError naming both, the drain
// ended at once and the hook untouched. When the lookup lists several container instances,
// Find describes them (one call, at most 100) and takes the one on the EC2 instance; of
// several registrations of one EC2 instance (ECS can register an instance twice), the only
// one whose agent is connected, else an *AmbiguousInstanceError.
//
// An instance already DRAINING is handled like any other (never "done at once"). Tasks not in
// a service, which DRAINING never stops, follow Options.Standalone (wait, stop after a grace
// period, or ignore); tasks of DAEMON services, which ECS stops last, are ignored by default.
// An instance that is gone (terminated, deregistered) counts as drained, and a task ECS no
// longer knows as stopped, only on ECS's word about that very one: a MISSING failure naming
// the ARN asked for, the status INACTIVE or DEREGISTERING, or a cluster that no longer exists.
// An answer that leaves it out (no entry, a failure such as ACCESS_DENIED, a MISSING naming
// another ARN) is an *IncompleteAnswerError: the drain ends at once, the hook untouched,
// nothing terminated. Past the maximum
// drain time the hook is completed with CONTINUE and a loud log line: the group is never held
// forever. "No active lifecycle action" means someone else finished: reported, not retried.
// Throttling and server errors are retried by the AWS SDK's retryer alone
// (Options.MaxAttempts, 5, attempts per call). Payloads come out of their envelopes once
// (package envelope: SQS, SNS, an SNS envelope in SQS, EventBridge), then ParseRequest reads
// each message: Auto Scaling notifications (lifecycle.ParseHookMessage), EventBridge
// lifecycle actions, Spot interruption warnings (drained until the instance is reclaimed,
// SpotWarning after the notice) and rebalance recommendations (drained within the maximum
// drain time); neither has a hook to complete. Test notifications and launch transitions
// are ignored.
//
// # Errors
//
// ErrInvalidInput (bad options or input, before any call), ErrNotInCluster, ErrTimeout
// (MaxDrain passed with tasks left) and ErrSpotDeadline (the Spot notice's time came; it
// wraps ErrTimeout), ErrWrongInstance (*WrongInstanceError) and ErrAmbiguousInstance
// (*AmbiguousInstanceError): nothing was drained, ErrIncompleteAnswer
// (*IncompleteAnswerError: an answer that does not say what became of the container
// instance or a task; the drain ended, nothing completed or terminated), ErrProtectionNotRestored
// (*ProtectionError, from Replace, with the command to run by hand), ErrTerminationUnknown
// (*TerminationUnknownError, from Replace: whether the instance is terminating is not known;
// check it with CheckCommand), lifecycle.ErrSeveralGroups (Auto Scaling lists the instance
// in several groups: nothing was changed). The SDK's error stays
// reachable with errors.As.
//
// # Concurrency
//
// Drainer and Handler are safe for concurrent use. A State belongs to one drain.
//
// # Testing
//
// Package draintest has a stateful fake ECS (tasks walk the stopping states over fake time)
// and a wire server in ECS's JSON protocol; lifecycle/lifecycletest has the Auto Scaling side.
package drain
