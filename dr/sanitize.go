package dr

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
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
	st, err := v.Start(ctx)
	intermediate := ""
	defer func() {
		report, err = v.finish(ctx, &st, err, func(cctx context.Context) error {
			if intermediate == "" {
				return nil
			}
			if derr := deleteSnap(cctx, v.rds, snap{id: intermediate}); derr != nil {
				return fmt.Errorf("dr: deleting intermediate snapshot %s: %w", intermediate, derr)
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
			st.Report.Steps = append(st.Report.Steps, StepResult{Name: name, Detail: serr.Error()})
			return serr
		}
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: name, OK: true, Detail: detail})
		v.progress("%s: %s", name, detail)
		return nil
	}
	host, port, err := v.waitFor(ctx, func() (string, int32, error) { return v.Ready(ctx, &st) })
	if err != nil {
		return "", st.Report, step("wait", err, "")
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
	tags := []types.Tag{{Key: aws.String(TagDR), Value: aws.String("sanitized")}, {Key: aws.String(TagSource), Value: aws.String(st.Snapshot)}}
	_, err = v.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(st.Instance), DBSnapshotIdentifier: aws.String(taken), Tags: tags})
	if err != nil && code(err) != "DBSnapshotAlreadyExists" {
		return "", st.Report, step("snapshot", err, "")
	}
	if _, _, err = v.waitFor(ctx, func() (string, int32, error) { return "", 0, v.snapshotReady(ctx, taken) }); err != nil {
		return "", st.Report, step("snapshot", err, "")
	}
	_ = step("snapshot", nil, "took "+taken)
	if o.KMSKeyID != "" {
		_, err = v.rds.CopyDBSnapshot(ctx, &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: aws.String(taken), TargetDBSnapshotIdentifier: aws.String(final),
			KmsKeyId: aws.String(o.KMSKeyID), Tags: tags})
		if err != nil && code(err) != "DBSnapshotAlreadyExists" {
			return "", st.Report, step("re-encrypt", err, "")
		}
		if _, _, err = v.waitFor(ctx, func() (string, int32, error) { return "", 0, v.snapshotReady(ctx, final) }); err != nil {
			return "", st.Report, step("re-encrypt", err, "")
		}
		_ = step("re-encrypt", nil, final+" under "+o.KMSKeyID)
	}
	if len(o.ShareWith) > 0 {
		_, err = v.rds.ModifyDBSnapshotAttribute(ctx, &rds.ModifyDBSnapshotAttributeInput{DBSnapshotIdentifier: aws.String(final),
			AttributeName: aws.String("restore"), ValuesToAdd: o.ShareWith})
		if err := step("share", err, fmt.Sprintf("%s shared with %v", final, o.ShareWith)); err != nil {
			return "", st.Report, err
		}
	}
	return final, st.Report, nil
}

func (v *Verifier) runStatements(ctx context.Context, host string, port int32, statements []string) error {
	db, err := sql.Open(v.opts.Driver, v.opts.DSN(host, port))
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
	out, err := v.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id)})
	if err != nil {
		return fmt.Errorf("dr: describing %s: %w", id, err)
	}
	if len(out.DBSnapshots) == 0 || aws.ToString(out.DBSnapshots[0].Status) != "available" {
		return fmt.Errorf("%w: snapshot %s is being created", ErrNotReady, id)
	}
	return nil
}

// waitFor polls ready until it stops answering ErrNotReady, within Options.Timeout.
func (v *Verifier) waitFor(ctx context.Context, ready func() (string, int32, error)) (string, int32, error) {
	deadline := v.opts.Clock.Now().Add(v.opts.Timeout)
	for {
		host, port, err := ready()
		if !errors.Is(err, ErrNotReady) {
			return host, port, err
		}
		if !v.opts.Clock.Now().Before(deadline) {
			return "", 0, fmt.Errorf("%w after %s", err, v.opts.Timeout)
		}
		v.progress("waiting: %v", err)
		if serr := v.opts.Clock.Sleep(ctx, v.opts.Poll); serr != nil {
			return "", 0, serr
		}
	}
}
