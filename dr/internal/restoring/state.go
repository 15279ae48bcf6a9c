package restoring

import (
	"encoding/json"
	"fmt"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// RecordCaught moves a caught error into the report as a failed step.
func RecordCaught(st *dr.VerifyState) {
	if st.Error == nil {
		return
	}
	st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "error", Detail: caughtText(st.Error)})
	st.Error = nil
}

// caughtText is the caught error as a line: its type and the Lambda's error message.
func caughtText(e *dr.CaughtError) string {
	msg := e.Cause
	var lambdaErr struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(msg), &lambdaErr) == nil && lambdaErr.ErrorMessage != "" {
		msg = lambdaErr.ErrorMessage
	}
	return e.Error + ": " + errtext.Strip("dr", msg)
}

// OfRun takes the run of a step: a new state gets it; a state of another run is an error.
func OfRun(st *dr.VerifyState, run string) error {
	if st.Run == "" {
		st.Run, st.Report.Run = run, run
	}
	if run != "" && st.Run != run {
		return fmt.Errorf("%w: the state is of run %q, not %q", dr.ErrInvalidInput, st.Run, run)
	}
	return nil
}

// IsCluster reports whether t restores an Aurora cluster.
func IsCluster(t dr.VerifyTarget) bool { return t.SourceCluster != "" || t.Cluster }

// DatabaseOf is the source instance or cluster of t, for reports.
func DatabaseOf(t dr.VerifyTarget) string {
	if t.SourceCluster != "" {
		return t.SourceCluster
	}
	return t.SourceInstance
}
