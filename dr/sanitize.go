package dr

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// SanitizeOptions say what a Sanitizer makes.
type SanitizeOptions struct {
	// Statements run on the restored database, e.g.
	// "UPDATE customers SET email = 'user' || id || '@example.com'". Required. Sanitize (the
	// blocking form) runs them in one transaction; the steps run each in its own transaction,
	// exactly once (a progress table in the restored database, dropped before the snapshot,
	// records each one in the same transaction), so each must finish within one step (a
	// Lambda's 15 minutes): split a longer one into batches.
	Statements []string
	// SnapshotID of the result; it must start with PrefixSanitized ("shipshape-sanitized-").
	// Default: PrefixSanitized and the source snapshot's name without its kind
	// ("shipshape-sanitized-orders-db-202611230300" of the DR copy
	// "shipshape-dr-orders-db-202611230300"): the same DR copy always gives the same name, so
	// a later run for it adopts what an earlier one left.
	SnapshotID string
	// KMSKeyID re-encrypts the result with a key the development accounts may use (needed to
	// share an encrypted snapshot); the unencrypted-again intermediate is deleted.
	KMSKeyID string
	// ShareWith are the development accounts to share the result with (at most 20).
	ShareWith []string
}

// Sanitizer makes sanitized copies of DR snapshots for development accounts: restore (a DB
// instance, or an Aurora cluster and its instance), run the sanitizing statements, snapshot,
// re-encrypt with a shareable key, share, tag shipshape:dr=sanitized, and ALWAYS delete the
// temporary instance, cluster and intermediate snapshot. It is safe for concurrent use.
type Sanitizer struct {
	*Verifier
	o SanitizeOptions
}

// NewSanitizer returns a Sanitizer; its Verifier restores and connects as NewVerifier's does.
// The error, wrapping ErrInvalidInput, is for settings that can't work; no call is made.
func NewSanitizer(client RDSAPI, target VerifyTarget, db Database, o SanitizeOptions, optFns ...func(*VerifyOptions)) (*Sanitizer, error) {
	var stmts []string
	for _, s := range o.Statements {
		if strings.TrimSpace(s) != "" {
			stmts = append(stmts, s)
		}
	}
	switch {
	case len(stmts) == 0:
		return nil, fmt.Errorf("%w: no sanitizing statements", ErrInvalidInput)
	case o.SnapshotID != "" && ValidIdentifier(o.SnapshotID) != nil:
		return nil, ValidIdentifier(o.SnapshotID)
	case o.SnapshotID != "" && (!strings.HasPrefix(o.SnapshotID, PrefixSanitized) || len(o.SnapshotID) > 251):
		return nil, fmt.Errorf("%w: sanitized snapshot id %q: it must start with %q (the IAM policy lets the sanitizing function tag, share and delete only such snapshots) and have at most 251 characters (room for the intermediate's \"-raw\")",
			ErrInvalidInput, o.SnapshotID, PrefixSanitized)
	case len(o.ShareWith) > 20:
		return nil, fmt.Errorf("%w: a snapshot can be shared with at most 20 accounts, not %d", ErrInvalidInput, len(o.ShareWith))
	}
	for _, a := range o.ShareWith {
		if !validAccount(a) {
			return nil, fmt.Errorf("%w: %q is not a 12-digit AWS account id", ErrInvalidInput, a)
		}
	}
	o.Statements = stmts
	v, err := NewVerifier(client, target, db, optFns...)
	if err != nil {
		return nil, err
	}
	return &Sanitizer{Verifier: v, o: o}, nil
}

// names are the snapshots of a run: the final one, and the one taken from the instance
// (the same unless it is re-encrypted).
func (s *Sanitizer) names(st *VerifyState) (taken, final string) {
	final = s.o.SnapshotID
	if final == "" {
		// Room for "-raw" after it.
		final, _ = fitID(PrefixSanitized, legacyCopyName(strings.TrimPrefix(bareID(aws.String(st.Snapshot)), "rds:")), "")
		if len(final) > 251 {
			final = strings.TrimRight(final[:251], "-")
		}
	}
	taken = final
	if s.o.KMSKeyID != "" {
		taken = final + "-raw"
	}
	return taken, final
}

// progressTable records, in the restored database, which statements ran (steps only).
const progressTable = "shipshape_sanitize_progress"

// statement runs statement st.Next in its own transaction, exactly once: the progress table
// row is written in the same transaction, and a repeated step finds it. The same step
// delivered twice at once runs it once too: the later delivery waits for the earlier one's
// locks (on the progress row, or the rows the statement changes) and then fails on the
// progress table's key (or the statement's own); finding the row committed, it reports the
// statement as run, as a repeated step does.
func (s *Sanitizer) statement(ctx context.Context, st *VerifyState) error {
	if st.Next >= len(s.o.Statements) {
		st.Done = true
		return nil
	}
	db, err := s.open(ctx, st.Host, st.Port)
	if err != nil {
		return err
	}
	defer db.Close()
	create := func() error {
		_, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+progressTable+" (step integer PRIMARY KEY)")
		return err
	}
	// Deliveries creating the table at once: the later ones fail on the catalog (a unique
	// violation, or the table or its row type existing already) once the first committed;
	// IF NOT EXISTS then finds the table.
	if err := create(); err != nil && (!sqlState(err, "23505", "42P07", "42710") || create() != nil) {
		return fmt.Errorf("dr: preparing the progress table: %w", err)
	}
	detail := "ran"
	ran, err := s.runStatement(ctx, db, st.Next)
	switch {
	case err != nil:
		// Did another delivery commit it meanwhile (or this one, its answer lost)?
		if done, rerr := s.recorded(ctx, db, st.Next); rerr != nil || !done {
			return err
		}
		detail = "had run already (another delivery of this step ran it at the same time)"
	case !ran:
		detail = "had run already (a repeated step)"
	}
	st.Report.Steps = append(st.Report.Steps, StepResult{Name: fmt.Sprintf("statement %d", st.Next+1), OK: true, Detail: detail})
	s.progress("statement %d of %d: %s", st.Next+1, len(s.o.Statements), detail)
	st.Next++
	st.Done = st.Next >= len(s.o.Statements)
	return nil
}

// runStatement runs statement i and records it, in one transaction, unless it is recorded
// already (ran is then false).
func (s *Sanitizer) runStatement(ctx context.Context, db *sql.DB, i int) (ran bool, _ error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("dr: statement %d: %w", i+1, err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+progressTable+" WHERE step = $1", i).Scan(&n); err != nil {
		return false, fmt.Errorf("dr: statement %d: reading progress: %w", i+1, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, s.o.Statements[i]); err != nil {
		return false, fmt.Errorf("dr: statement %d: %w", i+1, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+progressTable+" (step) VALUES ($1)", i); err != nil {
		return false, fmt.Errorf("dr: statement %d: recording progress: %w", i+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("dr: statement %d: %w", i+1, err)
	}
	return true, nil
}

// recorded reads whether statement i is recorded as run (committed).
func (s *Sanitizer) recorded(ctx context.Context, db *sql.DB, i int) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+progressTable+" WHERE step = $1", i).Scan(&n)
	return n > 0, err
}

// sqlState reports whether err is a database error with one of the SQLSTATE codes (drivers
// such as pgx and lib/pq give them with a SQLState method).
func sqlState(err error, codes ...string) bool {
	var e interface{ SQLState() string }
	return errors.As(err, &e) && slices.Contains(codes, e.SQLState())
}

// runAll runs every statement in one transaction (the blocking form).
func (s *Sanitizer) runAll(ctx context.Context, host string, port int32) error {
	db, err := s.open(ctx, host, port)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for i, stmt := range s.o.Statements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	return tx.Commit()
}

func (s *Sanitizer) tags(st *VerifyState, what string) []types.Tag {
	return []types.Tag{tag(TagDR, what), tag(TagSource, st.Snapshot), tag(TagRun, st.Run)}
}

// snapshot takes the snapshot of the sanitized instance or cluster (after dropping the
// progress table). Repeating it finds the snapshot this run took.
func (s *Sanitizer) snapshot(ctx context.Context, st *VerifyState) error {
	taken, final := s.names(st)
	st.Taken, st.Final = taken, final
	if st.Host != "" {
		db, err := s.open(ctx, st.Host, st.Port)
		if err == nil {
			_, err = db.ExecContext(ctx, "DROP TABLE IF EXISTS "+progressTable)
			db.Close()
		}
		if err != nil {
			return fmt.Errorf("dr: dropping the progress table: %w", err)
		}
	}
	what := "sanitized"
	if taken != final {
		what = "sanitize-intermediate"
	}
	var err error
	if st.Cluster {
		_, err = s.rds.c.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{DBClusterIdentifier: aws.String(st.Instance),
			DBClusterSnapshotIdentifier: aws.String(taken), Tags: s.tags(st, what)}, s.rds.opts...)
	} else {
		_, err = s.rds.c.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(st.Instance),
			DBSnapshotIdentifier: aws.String(taken), Tags: s.tags(st, what)}, s.rds.opts...)
	}
	if snapshotExists(err) {
		err = s.ours(ctx, st, taken)
	}
	return errtext.Wrap("dr", "snapshotting "+st.Instance+" into "+taken, err)
}

// ours checks that an existing snapshot was made by this run.
func (s *Sanitizer) ours(ctx context.Context, st *VerifyState, id string) error {
	existing, found, err := s.rds.describeSnap(ctx, st.Cluster, id, "")
	switch {
	case err != nil:
		return err
	case !found:
		return fmt.Errorf("%w: snapshot %s is being deleted", ErrNotReady, id)
	}
	return owned("snapshot", id, st.Run, existing.tags)
}

func (s *Sanitizer) snapshotReady(ctx context.Context, st *VerifyState, id string) error {
	sn, found, err := s.rds.describeSnap(ctx, st.Cluster, id, "")
	switch {
	case err != nil:
		return errtext.Wrap("dr", "describing "+id, err)
	case !found:
		return fmt.Errorf("dr: snapshot %s is gone", id)
	case sn.status != "available":
		return fmt.Errorf("%w: snapshot %s is %s", ErrNotReady, id, sn.status)
	}
	return nil
}

// reencrypt copies the taken snapshot to the final one under KMSKeyID (nothing to do
// without a key).
func (s *Sanitizer) reencrypt(ctx context.Context, st *VerifyState) error {
	st.Taken, st.Final = s.names(st)
	if st.Taken == st.Final {
		return nil
	}
	err := s.rds.copySnap(ctx, copyRequest{cluster: st.Cluster, source: st.Taken, target: st.Final, kmsKey: s.o.KMSKeyID, tags: s.tags(st, "sanitized")})
	if snapshotExists(err) {
		err = s.ours(ctx, st, st.Final)
	}
	return errtext.Wrap("dr", "re-encrypting "+st.Taken+" into "+st.Final+" under "+s.o.KMSKeyID, err)
}

// share shares the final snapshot with the development accounts.
func (s *Sanitizer) share(ctx context.Context, st *VerifyState) error {
	_, st.Final = s.names(st)
	if len(s.o.ShareWith) > 0 {
		if err := s.rds.shareWith(ctx, snap{cluster: st.Cluster, id: st.Final}, s.o.ShareWith); err != nil {
			return errtext.Wrap("dr", fmt.Sprintf("sharing %s with %v", st.Final, s.o.ShareWith), err)
		}
	}
	st.Report.Result = st.Final
	return nil
}

// cleanup deletes the temporary instance (and cluster) and this run's intermediate snapshot.
func (s *Sanitizer) cleanup(ctx context.Context, st *VerifyState) error {
	return errors.Join(s.Cleanup(ctx, st), s.cleanupIntermediate(ctx, st))
}

// cleanupIntermediate deletes this run's intermediate snapshot, once it is available.
func (s *Sanitizer) cleanupIntermediate(ctx context.Context, st *VerifyState) error {
	if st.Snapshot == "" {
		return nil
	}
	taken, final := s.names(st)
	if taken == final {
		return nil
	}
	existing, found, derr := s.rds.describeSnap(ctx, st.Cluster || s.target.cluster(), taken, "")
	switch {
	case derr != nil:
		derr = errtext.Wrap("dr", "describing intermediate snapshot "+taken, derr)
	case !found:
	case strings.TrimSpace(st.Run) == "" || tagValue(existing.tags, TagRun) != st.Run:
		st.Report.Cleanup += "; left snapshot " + taken + " alone: not made by this run"
	case existing.status != "available":
		derr = fmt.Errorf("%w: intermediate snapshot %s is %s", ErrNotReady, taken, existing.status)
	default:
		if derr = s.rds.deleteSnap(ctx, existing); derr == nil {
			st.Report.Cleanup += "; deleted intermediate snapshot " + taken
		} else {
			derr = errtext.Wrap("dr", "deleting intermediate snapshot "+taken, derr)
		}
	}
	return derr
}

// Sanitize runs the whole sanitization blocking (the statements in one transaction) and
// returns the id of the sanitized snapshot and a report of every step; the temporary
// resources are deleted on every path, also when ctx is cancelled.
func (s *Sanitizer) Sanitize(ctx context.Context) (snapshotID string, report Report, err error) {
	st, err := s.Start(ctx, s.newRun())
	defer func() {
		report, err = s.finish(ctx, &st, err, func(cctx context.Context) error {
			return s.waitCleanup(cctx, func() error { return s.cleanupIntermediate(cctx, &st) })
		})
		if err != nil || !report.OK {
			snapshotID = ""
		}
	}()
	if err != nil {
		return "", st.Report, err
	}
	host, port, err := s.waitReady(ctx, &st)
	if err != nil {
		return "", st.Report, err
	}
	step := func(name, detail string, serr error) error {
		if serr != nil {
			st.Report.Steps = append(st.Report.Steps, StepResult{Name: name, Detail: errtext.Strip("dr", serr.Error())})
			return errtext.Wrap("dr", name, serr)
		}
		st.Report.Steps = append(st.Report.Steps, StepResult{Name: name, OK: true, Detail: detail})
		s.progress("%s: %s", name, detail)
		return nil
	}
	if err := step("sanitize", fmt.Sprintf("%d statements in one transaction", len(s.o.Statements)), s.runAll(ctx, host, port)); err != nil {
		return "", st.Report, err
	}
	st.Host = "" // nothing to drop: the blocking form keeps no progress table
	if err := step("snapshot", "took "+st.Taken, s.snapshotAndWait(ctx, &st)); err != nil {
		return "", st.Report, err
	}
	if st.Taken != st.Final {
		if err := step("re-encrypt", st.Final+" under "+s.o.KMSKeyID, s.reencryptAndWait(ctx, &st)); err != nil {
			return "", st.Report, err
		}
	}
	if err := step("share", fmt.Sprintf("%s shared with %v", st.Final, s.o.ShareWith), s.share(ctx, &st)); err != nil {
		return "", st.Report, err
	}
	return st.Final, st.Report, nil
}

func (s *Sanitizer) snapshotAndWait(ctx context.Context, st *VerifyState) error {
	if err := s.snapshot(ctx, st); err != nil {
		return err
	}
	return s.waitFor(ctx, "snapshot "+st.Taken, func() error { return s.snapshotReady(ctx, st, st.Taken) })
}

func (s *Sanitizer) reencryptAndWait(ctx context.Context, st *VerifyState) error {
	if err := s.reencrypt(ctx, st); err != nil {
		return err
	}
	return s.waitFor(ctx, "snapshot "+st.Final, func() error { return s.snapshotReady(ctx, st, st.Final) })
}

// waitCleanup repeats a cleanup while RDS answers ErrNotReady, at most 15 minutes.
func (s *Sanitizer) waitCleanup(ctx context.Context, fn func() error) error {
	deadline := s.opts.Clock.Now().Add(15 * time.Minute)
	err := fn()
	for errors.Is(err, ErrNotReady) && s.opts.Clock.Now().Before(deadline) {
		if serr := s.opts.Clock.Sleep(ctx, min(s.opts.Poll, deadline.Sub(s.opts.Clock.Now()))); serr != nil {
			return errors.Join(err, serr)
		}
		err = fn()
	}
	return err
}

// Step runs one named step of a sanitization for a state machine, each resumable: "start",
// "ready" (ErrNotReady while restoring), "statement" (runs the next statement exactly once;
// the state's "done" turns true after the last), "snapshot", "snapshot-ready" (ErrNotReady),
// "reencrypt", "reencrypt-ready" (ErrNotReady), "share", and "cleanup" (the instance, the
// cluster, the intermediate snapshot; reached from every failure). "snapshot", "reencrypt"
// and "share" refuse (ErrInvalidInput) unless every statement has run: nothing unsanitized is
// snapshotted or shared. run is the execution's name: every step gets it, so cleanup finds
// what the execution made even when a step's answer was lost.
func (s *Sanitizer) Step(ctx context.Context, step, run string, st VerifyState) (VerifyState, error) {
	if err := st.ofRun(run); err != nil {
		return st, err
	}
	record := func(name string, err error, detail string) (VerifyState, error) {
		switch {
		case errors.Is(err, ErrNotReady):
		case err != nil:
			st.Report.Steps = append(st.Report.Steps, StepResult{Name: name, Detail: errtext.Strip("dr", err.Error())})
		case detail != "":
			st.Report.Steps = append(st.Report.Steps, StepResult{Name: name, OK: true, Detail: detail})
		}
		return st, err
	}
	switch step {
	case "snapshot", "reencrypt", "share":
		// What is snapshotted, re-encrypted and shared must be the sanitized data.
		if !st.Done || st.Next < len(s.o.Statements) {
			return record(step, fmt.Errorf("%w: %s before every sanitizing statement ran (statement %d of %d is next): run the statement step until the state's done is true",
				ErrInvalidInput, step, min(st.Next, len(s.o.Statements)-1)+1, len(s.o.Statements)), "")
		}
	}
	switch step {
	case "start", "ready", "check":
		if step == "check" {
			return st, fmt.Errorf("%w: unknown sanitize step %q", ErrInvalidInput, step)
		}
		return s.Verifier.Step(ctx, step, run, st)
	case "statement":
		return record("statement", s.statement(ctx, &st), "")
	case "snapshot":
		err := s.snapshot(ctx, &st)
		return record("snapshot", err, "taking "+st.Taken)
	case "snapshot-ready":
		st.Taken, st.Final = s.names(&st)
		return record("snapshot ready", s.snapshotReady(ctx, &st, st.Taken), st.Taken+" available")
	case "reencrypt":
		err := s.reencrypt(ctx, &st)
		detail := ""
		if st.Taken != st.Final {
			detail = "copying " + st.Taken + " to " + st.Final + " under " + s.o.KMSKeyID
		}
		return record("re-encrypt", err, detail)
	case "reencrypt-ready":
		st.Taken, st.Final = s.names(&st)
		if st.Taken == st.Final {
			return st, nil
		}
		return record("re-encrypt ready", s.snapshotReady(ctx, &st, st.Final), st.Final+" available")
	case "share":
		err := s.share(ctx, &st)
		return record("share", err, fmt.Sprintf("%s shared with %v", st.Final, s.o.ShareWith))
	case "cleanup":
		s.completeReport(&st)
		st.recordCaught()
		err := s.cleanup(ctx, &st)
		st.Report.Finished = s.opts.Clock.Now().UTC()
		st.Report.OK = err == nil && allOK(st.Report.Steps) && st.Report.Result != ""
		return st, err
	}
	return st, fmt.Errorf("%w: unknown sanitize step %q (start, ready, statement, snapshot, snapshot-ready, reencrypt, reencrypt-ready, share, cleanup)", ErrInvalidInput, step)
}
