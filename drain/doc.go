// Package drain empties ECS container instances before Auto Scaling or a Spot interruption
// terminates them: it sets the instance to DRAINING, waits until no task is left (counting
// the stopping ones that runningTasksCount misses) and then lets the termination go on.
//
// Status: planned (issue 6); the package has no API yet.
package drain
