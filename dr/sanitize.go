package dr

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// SanitizeOptions configure Sanitize.
type SanitizeOptions struct {
	// Statements run in one transaction on the restored database, e.g.
	// "UPDATE customers SET email = 'user' || id || '@example.com'".
	Statements []string
	// SnapshotID of the result. Default: "sanitized-" + the source snapshot id.
	SnapshotID string
	// KMSKeyID re-encrypts the result with a key the development accounts may use (needed to
	// share an encrypted snapshot).
	KMSKeyID string
	// ShareWith are the development accounts to share the result with.
	ShareWith []string
}

// Sanitize restores the DR snapshot into a temporary instance (as Verify does), runs the
// sanitizing statements, snapshots the result, re-encrypts it when asked, shares it, and
// ALWAYS deletes the temporary instance and the intermediate snapshot. It returns the id of
// the sanitized snapshot and a report of every step.
func (v *Verifier) Sanitize(ctx context.Context, o SanitizeOptions) (snapshotID string, report Report, err error) {
	if len(o.Statements) == 0 {
		return "", Report{}, fmt.Errorf("%w: no sanitizing statements", ErrInvalidInput)
	}
	st, err := v.Start(ctx, v.newRun())
	intermediate := ""
	defer func() {
		report, err = v.finish(ctx, &st, err, func(cctx context.Context) error {
			if intermediate == "" {
				return nil
			}
			if derr := v.rds.deleteSnap(cctx, snap{id: intermediate}); derr != nil {
				return errtext.Wrap("dr", "deleting intermediate snapshot "+intermediate, derr)
			}
			st.Report.Cleanup += "; deleted intermediate snapshot " + intermediate
			return nil
		})
	}()
	if err != nil {
		return "", st.Report, err
	}
	step := func(name string, serr error, detail string) error {
		if serr != nil {
			st.Report.Steps = append(st.Report.Steps, StepResult{Name: name, Detail: errtext.Strip("dr", serr.Error())})
			return errtext.Wrap("dr", name, serr)
		}
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: name, OK: true, Detail: detail})
		v.progress("%s: %s", name, detail)
		return nil
	}
	host, port, err := v.waitReady(ctx, &st)
	if err != nil {
		return "", st.Report, err
	}
	if err := step("sanitize", v.runStatements(ctx, host, port, o.Statements), fmt.Sprintf("%d statements in one transaction", len(o.Statements))); err != nil {
		return "", st.Report, err
	}

	final := o.SnapshotID
	if final == "" {
		final = "sanitized-" + st.Snapshot
	}
	taken := final
	if o.KMSKeyID != "" {
		taken, intermediate = final+"-raw", final+"-raw"
	}
	tags := []types.Tag{tag(TagDR, "sanitized"), tag(TagSource, st.Snapshot)}
	_, err = v.rds.c.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(st.Instance), DBSnapshotIdentifier: aws.String(taken), Tags: tags}, v.rds.opts...)
	if err != nil && !snapshotExists(err) {
		return "", st.Report, step("snapshot", err, "")
	}
	if err = v.waitFor(ctx, "snapshot "+taken, func() error { return v.snapshotReady(ctx, taken) }); err != nil {
		return "", st.Report, step("snapshot", err, "")
	}
	_ = step("snapshot", nil, "took "+taken)
	if o.KMSKeyID != "" {
		err = v.rds.copySnap(ctx, copyRequest{source: taken, target: final, kmsKey: o.KMSKeyID, tags: tags})
		if err != nil && !snapshotExists(err) {
			return "", st.Report, step("re-encrypt", err, "")
		}
		if err = v.waitFor(ctx, "snapshot "+final, func() error { return v.snapshotReady(ctx, final) }); err != nil {
			return "", st.Report, step("re-encrypt", err, "")
		}
		_ = step("re-encrypt", nil, final+" under "+o.KMSKeyID)
	}
	if len(o.ShareWith) > 0 {
		err = v.rds.shareWith(ctx, snap{id: final}, o.ShareWith)
		if err := step("share", err, fmt.Sprintf("%s shared with %v", final, o.ShareWith)); err != nil {
			return "", st.Report, err
		}
	}
	return final, st.Report, nil
}

func (v *Verifier) runStatements(ctx context.Context, host string, port int32, statements []string) error {
	db, err := sql.Open(v.db.Driver, v.db.DSN(host, port))
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for i, s := range statements {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	return tx.Commit()
}

func (v *Verifier) snapshotReady(ctx context.Context, id string) error {
	s, found, err := v.rds.describeSnap(ctx, false, id, "")
	switch {
	case err != nil:
		return errtext.Wrap("dr", "describing "+id, err)
	case !found:
		return fmt.Errorf("dr: snapshot %s is gone", id)
	case s.status != "available":
		return fmt.Errorf("%w: snapshot %s is %s", ErrNotReady, id, s.status)
	}
	return nil
}
