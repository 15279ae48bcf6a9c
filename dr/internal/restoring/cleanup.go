package restoring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// OwnedByRun checks that a resource found under the run's identifier was made by the run (never
// without a run: an untagged resource would pass).
func OwnedByRun(kind, id, run string, tags []types.Tag) error {
	if strings.TrimSpace(run) == "" || snaps.TagValue(tags, dr.TagRun) != run {
		return fmt.Errorf("%w: %s %s exists and was not made by run %q (its %s tag is %q): it is neither used nor deleted",
			dr.ErrForeignResource, kind, id, run, dr.TagRun, snaps.TagValue(tags, dr.TagRun))
	}
	return nil
}

// kept is the report's line when cleanup leaves the run's instance or cluster alone (it
// is gone, it is not this run's, or it is being deleted already), "" when it is to be
// deleted.
func (v *Verifier) kept(st *dr.VerifyState, cluster bool, r Resource) string {
	n := Name(cluster, st.Instance)
	switch {
	case !r.Found:
		return n + " was already gone (or never made)"
	case snaps.TagValue(r.Tags, dr.TagDR) != v.own().Tag || st.Run == "" || snaps.TagValue(r.Tags, dr.TagRun) != st.Run:
		return "left " + n + " alone: not made by this run"
	case r.Status == "deleting":
		return n + " is being deleted"
	}
	return ""
}

// Cleanup deletes the run's temporary instance (final step; reached from every failure). It
// needs only the run: when an earlier step's answer was lost and the state holds no
// instance, the instance is found by the identifier the run implies. It deletes only the
// instance named as the run implies (a Verifier's TemporaryInstanceID, a Sanitizer's
// SanitizeInstanceID) whose shipshape:run tag names this run and whose shipshape:dr tag is
// of its kind: a state without a run, or naming another instance, deletes nothing (the
// report's cleanup line says so); an instance already gone is fine; one RDS can't delete yet
// (still creating, modifying) gives dr.ErrNotReady (try again).
func (v *Verifier) Cleanup(ctx context.Context, st *dr.VerifyState) error {
	switch {
	case strings.TrimSpace(st.Run) == "" && st.Instance != "":
		// Without the run, what this run made can't be told from what another run made.
		st.Report.Cleanup = "left " + Name(IsCluster(v.Target) || st.Cluster, st.Instance) + " alone: the state names no run (the execution name), so it can't be told from another run's"
		return nil
	case st.Instance == "" && st.Run != "":
		st.Instance = v.instanceID(st.Run)
		st.Report.Instance = st.Instance
	case st.Instance != "" && st.Instance != v.instanceID(st.Run):
		// Not the name this run's instance has: another function's kind (a sanitization
		// started before its instances had a prefix of their own), or a state not of this run.
		st.Report.Cleanup = "left " + Name(IsCluster(v.Target) || st.Cluster, st.Instance) + " alone: this run's would be " + v.instanceID(st.Run) +
			" (an execution started before an upgrade may have left it: docs/dr.md, \"Temporary instances named before\")"
		return nil
	}
	if st.Instance == "" {
		st.Report.Cleanup = "nothing to delete"
		return nil
	}
	if IsCluster(v.Target) {
		st.Cluster = true
		return v.cleanupCluster(ctx, st)
	}
	return v.cleanupInstance(ctx, st)
}

// cleanupInstance deletes the run's temporary DB instance.
func (v *Verifier) cleanupInstance(ctx context.Context, st *dr.VerifyState) error {
	r, err := v.Lookup(ctx, false, st.Instance)
	if err != nil {
		st.Report.Cleanup = "FAILED to look up " + st.Instance + ": " + errtext.Strip("dr", err.Error())
		return err
	}
	if line := v.kept(st, false, r); line != "" {
		st.Report.Cleanup = line
		return nil
	}
	in := &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(st.Instance), SkipFinalSnapshot: aws.Bool(true)}
	if !st.Cluster {
		in.DeleteAutomatedBackups = aws.Bool(true) // an Aurora instance has none of its own
	}
	_, err = v.RDS.Client.DeleteDBInstance(ctx, in, v.RDS.Opts...)
	switch {
	case err == nil:
		st.Report.Cleanup = "deleted " + st.Instance
	case snaps.InstanceNotFound(err):
		st.Report.Cleanup = st.Instance + " was already gone"
	case snaps.InstanceBusy(err):
		st.Report.Cleanup = "waiting to delete " + st.Instance + " (RDS is busy with it)"
		return fmt.Errorf("%w: deleting temporary instance %s: %w", dr.ErrNotReady, st.Instance, err)
	default:
		st.Report.Cleanup = "FAILED to delete " + st.Instance + ": " + err.Error()
		return errtext.Wrap("dr", "deleting temporary instance "+st.Instance, err)
	}
	v.Progress("%s", st.Report.Cleanup)
	return nil
}

// Finish runs the cleanup that must happen however a blocking run ended (the temporary
// instance, then more, if given), on a context that outlives ctx's cancellation by up to 15
// minutes, waiting while RDS can't delete yet, and completes the report. A cleanup error is
// returned when err is nil.
func (v *Verifier) Finish(ctx context.Context, st *dr.VerifyState, err error, more func(context.Context) error) (dr.Report, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Minute)
	defer cancel()
	deadline := v.Opts.Clock.Now().Add(15 * time.Minute)
	cerr := v.Cleanup(cctx, st)
	for errors.Is(cerr, dr.ErrNotReady) && v.Opts.Clock.Now().Before(deadline) {
		if serr := v.Opts.Clock.Sleep(cctx, min(v.Opts.Poll, deadline.Sub(v.Opts.Clock.Now()))); serr != nil {
			break
		}
		cerr = v.Cleanup(cctx, st)
	}
	if more != nil {
		cerr = errors.Join(cerr, more(cctx))
	}
	st.Report.Finished = v.Opts.Clock.Now().UTC()
	st.Report.OK = err == nil && cerr == nil && AllOK(st.Report.Steps)
	if err == nil {
		err = cerr
	}
	return st.Report, err
}
