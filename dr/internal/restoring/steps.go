package restoring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// FinishReport makes the state's report ready to deliver (the state machine's Report step):
// a report the cleanup step never completed (its answers were all failures, so the state is
// cleanup's input) gets its database and run (its start only from the state: without one it
// has none, and is keyed by its run alone), the error an earlier step's Catch
// caught, and, from the Cleanup state's Catch, why cleanup failed in its cleanup field and
// what may be left behind. Such a report is never OK.
func (v *Verifier) FinishReport(st *dr.VerifyState) {
	// No start time is made up here: every delivery of the step would make up another one,
	// and the report's key and bytes must be the same each time (Reporter.Key).
	v.CompleteReport(st, time.Time{})
	RecordCaught(st)
	if st.CleanupError == nil {
		return
	}
	left := "what it made may be left behind: delete what is tagged " + dr.TagRun + "=" + st.Run
	if strings.TrimSpace(st.Run) == "" {
		left = "what it made may be left behind"
	}
	st.Report.Cleanup = "FAILED after the state machine's retries: " + caughtText(st.CleanupError) + "; " + left
	st.Report.OK = false
	st.CleanupError = nil
}

// Step runs one named step of a verification on a serialisable state, for a state machine
// (AWS Step Functions) that drives the waiting: "start" restores, "ready" answers
// dr.ErrNotReady until the instance is available (ErrRestoreFailed in a terminal state,
// dr.ErrTimedOut once dr.VerifyOptions.Timeout has passed since start), "check" runs the SQL
// checks, "cleanup" deletes the instance and finishes the report. run is the execution's
// name ($$.Execution.Name): every step gets it, so cleanup finds the instance even when
// start's answer was lost. Every failure path of the state machine must lead to "cleanup";
// ErrorType names the errors for its Retry and Catch rules.
func (v *Verifier) Step(ctx context.Context, step, run string, st dr.VerifyState) (dr.VerifyState, error) {
	if err := OfRun(&st, run); err != nil {
		return st, err
	}
	switch step {
	case "start":
		return v.Start(ctx, run)
	case "ready":
		host, port, err := v.Ready(ctx, &st)
		if errors.Is(err, dr.ErrNotReady) {
			if started, perr := time.Parse(time.RFC3339, st.Started); perr == nil && v.Opts.Clock.Now().Sub(started) >= v.Opts.Timeout {
				err = fmt.Errorf("%w: %s not available %s after the restore started: %v", dr.ErrTimedOut, st.Instance, v.Opts.Timeout, errtext.Strip("dr", err.Error()))
			}
		}
		if err != nil {
			if !errors.Is(err, dr.ErrNotReady) {
				st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "wait", Detail: errtext.Strip("dr", err.Error())})
			}
			return st, err
		}
		st.Host, st.Port = host, port
		st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "wait", OK: true, Detail: st.Instance + " available"})
		return st, nil
	case "check":
		v.Check(ctx, &st, st.Host, st.Port)
		return st, nil
	case "cleanup":
		v.CompleteReport(&st, v.Opts.Clock.Now().UTC())
		RecordCaught(&st)
		err := v.Cleanup(ctx, &st)
		st.Report.Finished = v.Opts.Clock.Now().UTC()
		st.Report.OK = err == nil && AllOK(st.Report.Steps) && len(st.Report.Steps) >= 3
		return st, err
	}
	return st, fmt.Errorf("%w: unknown step %q (start, ready, check or cleanup)", dr.ErrInvalidInput, step)
}

// CompleteReport fills what a report needs to be delivered and told apart when the state
// holds no report (a Catch after a failed start passes the execution's input): the database,
// kind and region, the run, and the start (the state's, else otherwise: the Cleanup step's
// time, which the state then carries to the Report step; zero for none).
func (v *Verifier) CompleteReport(st *dr.VerifyState, otherwise time.Time) {
	if st.Report.Database != "" {
		return
	}
	started, err := time.Parse(time.RFC3339, st.Started)
	if err != nil {
		started = otherwise
	}
	if !st.Report.Started.IsZero() {
		started = st.Report.Started
	}
	r := v.newReport(st.Run, started)
	st.Report.Database, st.Report.Account, st.Report.Kind, st.Report.Region, st.Report.Started = r.Database, r.Account, r.Kind, r.Region, r.Started
	if st.Report.Run == "" {
		st.Report.Run = st.Run
	}
}

// newReport starts the report of a run.
func (v *Verifier) newReport(run string, now time.Time) dr.Report {
	kind := "instance"
	if IsCluster(v.Target) {
		kind = "cluster"
	}
	return dr.Report{Database: DatabaseOf(v.Target), Account: v.Target.SourceAccount, Kind: kind, Region: v.Opts.Region, Run: run, Started: now}
}
