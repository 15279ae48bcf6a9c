// Package lifecycle gates EC2 Auto Scaling launches on real application readiness and
// completes lifecycle hooks reliably: heartbeats while work goes on, one completion per
// action even under retries and redelivered events, and no error when the action already
// ended.
//
// Status: planned (issue 5); the package has no API yet.
package lifecycle
