package drain

import "errors"

var (
	// ErrNotInCluster: no container instance of the cluster runs on that EC2 instance.
	ErrNotInCluster = errors.New("drain: the EC2 instance is not a container instance of the cluster")
	// ErrTimeout: the maximum drain time passed with tasks still on the instance; the hook
	// was completed with CONTINUE so that the group is not held forever.
	ErrTimeout = errors.New("drain: maximum drain time reached with tasks still running")
	// ErrInvalidInput: bad configuration or event.
	ErrInvalidInput = errors.New("drain: invalid input")
)
