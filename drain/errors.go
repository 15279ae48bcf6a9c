package drain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shipshape-dev/shipshape/internal/errtext"
)

var (
	// ErrNotInCluster: no container instance of the cluster runs on that EC2 instance.
	ErrNotInCluster = errors.New("drain: the EC2 instance is not a container instance of the cluster")
	// ErrTimeout: the maximum drain time passed with tasks still on the instance; the hook
	// was completed with CONTINUE so that the group is not held forever.
	ErrTimeout = errors.New("drain: maximum drain time reached with tasks still running")
	// ErrInvalidInput: bad configuration or event.
	ErrInvalidInput = errors.New("drain: invalid input")
	// ErrWrongInstance: ECS answered with a container instance of another EC2 instance than
	// the one asked for; nothing was set DRAINING. Returned as a *WrongInstanceError.
	ErrWrongInstance = errors.New("drain: ECS named a container instance of another EC2 instance")
	// ErrAmbiguousInstance: several container instances of the cluster run on the EC2
	// instance and no single one has its agent connected. Returned as an
	// *AmbiguousInstanceError.
	ErrAmbiguousInstance = errors.New("drain: several container instances run on the EC2 instance")
	// ErrProtectionNotRestored: Replace turned the instance's scale-in protection off, did
	// not terminate the instance, and could not turn the protection back on. Returned as a
	// *ProtectionError, which names the command to run by hand.
	ErrProtectionNotRestored = errors.New("drain: the scale-in protection could not be turned back on")
	// ErrIncompleteAnswer: ECS answered a describe of a container instance or a task without
	// saying what became of it (no entry for it, and no MISSING failure naming it: a failure
	// such as ACCESS_DENIED, or one naming something else). It is never taken for "gone" or
	// "stopped": the drain ends at once, the hook untouched. Returned as an
	// *IncompleteAnswerError.
	ErrIncompleteAnswer = errors.New("drain: ECS's answer does not say what became of what was asked about")
	// ErrTerminationUnknown: Replace's termination call failed and the group could not be
	// read after it, so whether the instance is terminating is not known. Returned as a
	// *TerminationUnknownError, which says what to check.
	ErrTerminationUnknown = errors.New("drain: whether the instance was terminated is unknown")
)

// IncompleteAnswerError: a DescribeContainerInstances or DescribeTasks answer that has no
// entry for ARN and no MISSING failure naming it. Only MISSING of the very ARN asked for
// means gone (a container instance deregistered, a task ECS forgot); an answer that merely
// leaves it out says nothing, and taking it for gone would end a drain, complete a hook or
// terminate an instance while its tasks run. It matches ErrIncompleteAnswer with errors.Is.
type IncompleteAnswerError struct {
	// Op is the call: "DescribeContainerInstances" or "DescribeTasks".
	Op      string
	Cluster string
	// ARN is the container instance or task asked about.
	ARN string
	// Reason is the failure's reason when one named ARN (e.g. ACCESS_DENIED); "" when
	// nothing in the answer named it.
	Reason string
}

func (e *IncompleteAnswerError) Error() string {
	what := "neither an entry nor a MISSING failure for it"
	if e.Reason != "" {
		what = "a failure " + e.Reason + " for it"
	}
	return fmt.Sprintf("drain: in cluster %s, ECS's %s answer about %s has %s: not taken as gone; nothing more was done "+
		"(check the permissions for %s and the ECS endpoint, then run again)", e.Cluster, e.Op, e.ARN, what, "ecs:"+e.Op)
}

// Unwrap makes errors.Is(err, ErrIncompleteAnswer) true.
func (e *IncompleteAnswerError) Unwrap() error { return ErrIncompleteAnswer }

// WrongInstanceError: the container instance ECS returned for an EC2 instance runs on
// another EC2 instance (or ECS named none). A real ECS never answers so; an implementation
// that ignores ListContainerInstances' filter and lists the whole cluster does. Nothing was
// set DRAINING: draining it would empty someone else's instance while the one leaving keeps
// its tasks. It matches ErrWrongInstance with errors.Is.
type WrongInstanceError struct {
	Cluster string
	// Asked is the EC2 instance to drain.
	Asked string
	// Found are the EC2 instance ids ECS gave instead, in its order, without repeats (""
	// for an answer that named none).
	Found []string
	// ContainerInstanceARN is the container instance refused, when the check was on one
	// (Step); empty when Find refused a whole listing.
	ContainerInstanceARN string
}

func (e *WrongInstanceError) Error() string {
	found := make([]string, 0, 4)
	for i, id := range e.Found {
		if i == 3 {
			found = append(found, fmt.Sprintf("and %d more", len(e.Found)-3))
			break
		}
		if id == "" {
			id = "(none)"
		}
		found = append(found, id)
	}
	what := "the lookup of " + e.Asked
	if e.ContainerInstanceARN != "" {
		what = "container instance " + e.ContainerInstanceARN + ", found for " + e.Asked + ","
	}
	return fmt.Sprintf("drain: in cluster %s, ECS says %s runs on EC2 instance %s, not on %s (does this ECS endpoint ignore "+
		"ListContainerInstances' ec2InstanceId filter?); nothing was set DRAINING", e.Cluster, what, strings.Join(found, ", "), e.Asked)
}

// Unwrap makes errors.Is(err, ErrWrongInstance) true.
func (e *WrongInstanceError) Unwrap() error { return ErrWrongInstance }

// AmbiguousInstanceError: ECS lists several container instances on one EC2 instance (its
// RegisterContainerInstance is not idempotent: an agent that lost its state registers
// again, and the old registration stays until deregistered), and not exactly one of them has
// its agent connected. Draining the wrong one would find no task and report the instance
// empty while its tasks still run, so nothing was set DRAINING. It matches
// ErrAmbiguousInstance with errors.Is.
type AmbiguousInstanceError struct {
	Cluster       string
	EC2InstanceID string
	// ContainerInstanceARNs are the container instances on EC2InstanceID.
	ContainerInstanceARNs []string
}

func (e *AmbiguousInstanceError) Error() string {
	return fmt.Sprintf("drain: in cluster %s, %d container instances run on EC2 instance %s (%s) and not exactly one has its "+
		"agent connected; deregister the stale registration and run again; nothing was set DRAINING",
		e.Cluster, len(e.ContainerInstanceARNs), e.EC2InstanceID, strings.Join(e.ContainerInstanceARNs, ", "))
}

// Unwrap makes errors.Is(err, ErrAmbiguousInstance) true.
func (e *AmbiguousInstanceError) Unwrap() error { return ErrAmbiguousInstance }

// ProtectionError: Replace turned the scale-in protection of InstanceID off, did not
// terminate it, and could not turn the protection back on (nor read it back as on): the
// group may now pick the instance in a scale-in. Command is what to run by hand. It matches
// ErrProtectionNotRestored and Err with errors.Is and errors.As.
type ProtectionError struct {
	Group, InstanceID string
	// Err is why: the failed SetInstanceProtection, and the failed read-back when there was one.
	Err error
}

func (e *ProtectionError) Error() string {
	why := "no reason given"
	if e.Err != nil {
		why = errtext.Strip("drain", e.Err.Error())
	}
	return fmt.Sprintf("drain: the scale-in protection of %s in group %s is off, or may be, and could not be turned back on (%s); "+
		"turn it on by hand: %s", e.InstanceID, e.Group, why, e.Command(""))
}

// Unwrap makes the error match ErrProtectionNotRestored and Err.
func (e *ProtectionError) Unwrap() []error { return []error{ErrProtectionNotRestored, e.Err} }

// Command is the AWS CLI command that turns the protection back on; region "" leaves
// --region out.
func (e *ProtectionError) Command(region string) string {
	return cliCommand(region, "aws", "autoscaling", "set-instance-protection", "--auto-scaling-group-name", e.Group,
		"--instance-ids", e.InstanceID, "--protected-from-scale-in")
}

// TerminationUnknownError: Replace drained the instance and called
// TerminateInstanceInAutoScalingGroup; the call failed (its answer may have been lost after
// it took effect) and the group could not be read after it, or does not list the instance in
// its group with a state that says it stays (InService, Standby) or is terminating.
// Whether the instance is terminating is not known, so neither "terminated" nor "not
// terminated" is claimed. CheckCommand reads the group; then:
//
//   - Terminating, or no longer listed: the replacement goes on. Replace completed none of
//     the termination hooks: they end at their heartbeat timeout with their default result.
//   - InService: it was not terminated. Its container instance is DRAINING (it takes no new
//     tasks): run Replace again, or set it ACTIVE.
//
// It matches ErrTerminationUnknown and Err with errors.Is and errors.As.
type TerminationUnknownError struct {
	Group, InstanceID string
	// Err is why: the failed termination call and the failed read of the group.
	Err error
	// WasProtected: Replace had turned the scale-in protection off. It tried to turn it
	// back on (right if the instance was not terminated, harmless if it was).
	WasProtected bool
	// ProtectionErr is why turning it back on failed; nil when it is on again (or
	// WasProtected is false).
	ProtectionErr error
}

func (e *TerminationUnknownError) Error() string {
	why := "no reason given"
	if e.Err != nil {
		why = errtext.Strip("drain", e.Err.Error())
	}
	msg := fmt.Sprintf("drain: whether %s was terminated is unknown: the termination call failed and group %s could not be read after it (%s); "+
		"check it: %s. Terminating, or not listed: the group replaces it (its termination hooks were not completed: they end at their "+
		"heartbeat timeout); InService: it was not terminated and its container instance is DRAINING: run the replacement again",
		e.InstanceID, e.Group, why, e.CheckCommand(""))
	switch {
	case e.WasProtected && e.ProtectionErr == nil:
		msg += "; its scale-in protection was turned back on"
	case e.WasProtected:
		msg += fmt.Sprintf("; turning its scale-in protection back on failed (%s): if it is InService, do it by hand: %s",
			errtext.Strip("drain", e.ProtectionErr.Error()), e.ProtectCommand(""))
	}
	return msg
}

// Unwrap makes the error match ErrTerminationUnknown and Err.
func (e *TerminationUnknownError) Unwrap() []error { return []error{ErrTerminationUnknown, e.Err} }

// CheckCommand is the AWS CLI command that reads the instance's state in its group; region
// "" leaves --region out.
func (e *TerminationUnknownError) CheckCommand(region string) string {
	return cliCommand(region, "aws", "autoscaling", "describe-auto-scaling-instances", "--instance-ids", e.InstanceID)
}

// ProtectCommand is the AWS CLI command that turns the scale-in protection back on (for an
// instance found InService); region "" leaves --region out.
func (e *TerminationUnknownError) ProtectCommand(region string) string {
	return (&ProtectionError{Group: e.Group, InstanceID: e.InstanceID}).Command(region)
}
