package restoring

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// Ready checks once whether the instance is available (step 2): dr.ErrNotReady while it is
// still being created, a *dr.RestoreFailedError (ErrRestoreFailed) in a terminal state.
func (v *Verifier) Ready(ctx context.Context, st *dr.VerifyState) (host string, port int32, err error) {
	if st.Cluster {
		return v.readyCluster(ctx, st)
	}
	inst, found, err := v.DescribeInstance(ctx, st.Instance)
	switch {
	case err != nil:
		return "", 0, err
	case !found:
		return "", 0, fmt.Errorf("dr: the temporary instance %s is gone", st.Instance)
	}
	s := aws.ToString(inst.DBInstanceStatus)
	switch {
	case dr.IsTerminal(s):
		return "", 0, &dr.RestoreFailedError{Instance: st.Instance, State: s}
	case s != "available" || inst.Endpoint == nil:
		return "", 0, fmt.Errorf("%w: %s is %s", dr.ErrNotReady, st.Instance, s)
	}
	return aws.ToString(inst.Endpoint.Address), aws.ToInt32(inst.Endpoint.Port), nil
}

// WaitReady waits for the temporary instance and records the wait step.
func (v *Verifier) WaitReady(ctx context.Context, st *dr.VerifyState) (host string, port int32, err error) {
	err = v.WaitFor(ctx, "the restore of "+st.Instance, func() error {
		var rerr error
		host, port, rerr = v.Ready(ctx, st)
		return rerr
	})
	if err != nil {
		st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "wait", Detail: errtext.Strip("dr", err.Error())})
		return "", 0, err
	}
	st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "wait", OK: true, Detail: st.Instance + " available"})
	return host, port, nil
}

// WaitFor polls check until it stops answering dr.ErrNotReady, and never past Timeout: each
// sleep is clipped to what is left, and the last check is at the deadline.
func (v *Verifier) WaitFor(ctx context.Context, what string, check func() error) error {
	c := v.Opts.Clock
	deadline := c.Now().Add(v.Opts.Timeout)
	for round := 1; ; round++ {
		err := check()
		if !errors.Is(err, dr.ErrNotReady) {
			return err
		}
		left := deadline.Sub(c.Now())
		if left <= 0 {
			return fmt.Errorf("%w: %s after %s: %s", dr.ErrTimedOut, what, v.Opts.Timeout, errtext.Strip("dr", err.Error()))
		}
		v.Progress("waiting (round %d, %s left): %s", round, left.Round(time.Second), errtext.Strip("dr", err.Error()))
		if serr := c.Sleep(ctx, min(v.Opts.Poll, left)); serr != nil {
			return serr
		}
	}
}
