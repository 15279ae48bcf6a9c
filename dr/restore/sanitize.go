package restore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/internal/restoring"
	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
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
	// ShareWith are the development accounts to share the result with (at most 20). With
	// sharing, the key of the result must be customer managed (RDS never shares a snapshot
	// under the AWS managed aws/rds key): alias/aws/rds is refused by NewSanitizer, and with
	// KMS the key is checked before anything is restored (ErrNeedsCustomerKey).
	ShareWith []string
	// Keep is how many sanitized snapshots (tagged shipshape:dr=sanitized, named
	// PrefixSanitized) to keep per source database and source account, newest data first,
	// once a run has shared its result; the newest is always kept, and no other snapshot is
	// ever deleted. Default: 4 (a month of weekly runs). Environment: DR_SANITIZED_KEEP.
	Keep int
	// KMS tells an AWS managed key from a customer managed one (kms:DescribeKey): with
	// ShareWith, the key the result will be under (KMSKeyID, else the DR copy's) is checked
	// before the restore. Default: none; then only alias/aws/rds is refused, up front, and a
	// DescribeKey that fails is a warning (the key is taken to be customer managed).
	KMS dr.KMSAPI
}

// DefaultSanitizedKeep is SanitizeOptions.Keep's default.
const DefaultSanitizedKeep = 4

// TagStatements is on the sanitized snapshots: a hash of the sanitizing statements they were
// made with, so that a later run adopts a leftover only when it was sanitized the same way.
const TagStatements = "shipshape:statements"

// Sanitizer makes sanitized copies of DR snapshots for development accounts: restore (a DB
// instance, or an Aurora cluster and its instance), run the sanitizing statements, snapshot,
// re-encrypt with a shareable key, share, tag shipshape:dr=sanitized, and ALWAYS delete the
// temporary instance, cluster and intermediate snapshot. It is safe for concurrent use.
type Sanitizer struct {
	*Verifier
	rds  snaps.Calls[SanitizerAPI] // its own calls, on the Verifier's client
	o    SanitizeOptions
	hash string // statementsHash of the statements
}

// NewSanitizer returns a Sanitizer; its Verifier restores and connects as NewVerifier's does.
// The error, wrapping ErrInvalidInput, is for settings that can't work; no call is made.
func NewSanitizer(client SanitizerAPI, target dr.VerifyTarget, db dr.Database, o SanitizeOptions, optFns ...func(*dr.VerifyOptions)) (*Sanitizer, error) {
	var stmts []string
	for _, s := range o.Statements {
		if strings.TrimSpace(s) != "" {
			stmts = append(stmts, s)
		}
	}
	switch {
	case len(stmts) == 0:
		return nil, fmt.Errorf("%w: no sanitizing statements", dr.ErrInvalidInput)
	case o.SnapshotID != "" && dr.ValidInputIdentifier(o.SnapshotID) != nil:
		return nil, dr.ValidInputIdentifier(o.SnapshotID)
	case o.SnapshotID != "" && (!strings.HasPrefix(o.SnapshotID, dr.PrefixSanitized) || len(o.SnapshotID) > 251):
		return nil, fmt.Errorf("%w: sanitized snapshot id %q: it must start with %q (the IAM policy lets the sanitizing function tag, share and delete only such snapshots) and have at most 251 characters (room for the intermediate's \"-raw\")",
			dr.ErrInvalidInput, o.SnapshotID, dr.PrefixSanitized)
	case len(o.ShareWith) > 20:
		return nil, fmt.Errorf("%w: a snapshot can be shared with at most 20 accounts, not %d", dr.ErrInvalidInput, len(o.ShareWith))
	case o.Keep < 0:
		return nil, fmt.Errorf("%w: Keep %d: want 1 or more sanitized snapshots per database (0: the default, %d)", dr.ErrInvalidInput, o.Keep, DefaultSanitizedKeep)
	case len(o.ShareWith) > 0 && (o.KMSKeyID == "alias/aws/rds" || strings.HasSuffix(o.KMSKeyID, ":alias/aws/rds")):
		return nil, fmt.Errorf("%w: the sanitized copy is to be shared, but its key %s is the AWS managed aws/rds key, which RDS never shares: "+
			"set the re-encryption key (KMSKeyID, -kms-key, DR_TARGET_KMS_KEY_ID) to a customer managed key the development accounts may use", dr.ErrNeedsCustomerKey, o.KMSKeyID)
	}
	if o.Keep == 0 {
		o.Keep = DefaultSanitizedKeep
	}
	for _, a := range o.ShareWith {
		if !snaps.ValidAccount(a) {
			return nil, fmt.Errorf("%w: %q is not a 12-digit AWS account id", dr.ErrInvalidInput, a)
		}
	}
	o.Statements = stmts
	v, err := restoring.New(client, target, db, optFns...)
	if err != nil {
		return nil, err
	}
	v.Kind = restoring.Sanitizing // shipshape-sanitize-<run>, tagged shipshape:dr=sanitize
	sz := &Sanitizer{Verifier: &Verifier{e: v}, rds: snaps.Calls[SanitizerAPI]{Client: client, Opts: v.RDS.Opts}, o: o, hash: statementsHash(stmts)}
	if len(o.ShareWith) > 0 {
		v.BeforeRestore = sz.checkShareableKey
	}
	return sz, nil
}

// statementsHash identifies a list of statements (TagStatements).
func statementsHash(stmts []string) string {
	b, _ := json.Marshal(stmts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// checkShareableKey refuses, before the restore, to make a sanitized copy that is to be
// shared under an AWS managed key: KMSKeyID, else the DR copy's own key.
func (s *Sanitizer) checkShareableKey(ctx context.Context, sn snaps.Snap) error {
	key := s.o.KMSKeyID
	if key == "" {
		if !sn.Encrypted {
			return nil
		}
		key = sn.KMSKey
	}
	if s.o.KMS == nil {
		return nil
	}
	out, err := s.o.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)})
	if err != nil {
		s.e.Log.Warn("dr: could not tell whether the sanitized copy's key is customer managed: taking it to be", "key", key, "error", err.Error())
		return nil
	}
	if out.KeyMetadata != nil && out.KeyMetadata.KeyManager == kmstypes.KeyManagerTypeAws {
		return fmt.Errorf("%w: the sanitized copy of %s is to be shared, but would be under %s, an AWS managed key (kms:DescribeKey: KeyManager AWS), which RDS never shares: "+
			"set the re-encryption key (KMSKeyID, -kms-key, DR_TARGET_KMS_KEY_ID) to a customer managed key the development accounts may use", dr.ErrNeedsCustomerKey, sn.Name(), key)
	}
	return nil
}

// names are the snapshots of a run: the final one, and the one taken from the instance
// (the same unless it is re-encrypted).
func (s *Sanitizer) names(st *dr.VerifyState) (taken, final string) {
	final = s.o.SnapshotID
	if final == "" {
		// Room for "-raw" after it.
		final = snaps.FitID(dr.PrefixSanitized, snaps.LegacyCopyName(strings.TrimPrefix(snaps.BareID(aws.String(st.Snapshot)), "rds:")), "")
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
func (s *Sanitizer) statement(ctx context.Context, st *dr.VerifyState) error {
	if st.Next >= len(s.o.Statements) {
		st.Done = true
		return nil
	}
	db, err := s.e.Open(ctx, st.Host, st.Port)
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
	st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: fmt.Sprintf("statement %d", st.Next+1), OK: true, Detail: detail})
	s.e.Progress("statement %d of %d: %s", st.Next+1, len(s.o.Statements), detail)
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
	db, err := s.e.Open(ctx, host, port)
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

// tags are the tags of a sanitized (or intermediate) snapshot: its kind, the DR copy it was
// made from and that copy's database, account and data time (for retention), the run, and
// the statements' hash (for a later run's adoption).
func (s *Sanitizer) tags(ctx context.Context, st *dr.VerifyState, what string) ([]types.Tag, error) {
	tags := []types.Tag{snaps.Tag(dr.TagDR, what), snaps.Tag(dr.TagSource, st.Snapshot), snaps.Tag(dr.TagRun, st.Run), snaps.Tag(TagStatements, s.hash)}
	src, found, err := snaps.DescribeSnap(ctx, s.rds, st.Cluster, st.Snapshot, "")
	if err != nil {
		return nil, errtext.Wrap("dr", "describing "+st.Snapshot+", the DR copy sanitized", err)
	}
	db := restoring.DatabaseOf(s.e.Target)
	if found {
		db = cmp.Or(src.DB, db)
		if a := src.Origin(); snaps.ValidAccount(a) {
			tags = append(tags, snaps.Tag(dr.TagSourceAccount, a))
		}
		tags = append(tags, snaps.Tag(dr.TagSourceCreated, src.Created.UTC().Format(time.RFC3339)))
	}
	if db != "" {
		tags = append(tags, snaps.Tag(dr.TagSourceDatabase, db))
	}
	return tags, nil
}

// snapshot takes the snapshot of the sanitized instance or cluster (after dropping the
// progress table). Repeating it finds the snapshot this run took; a snapshot of that name
// an earlier run of the same DR copy and statements left is adopted.
func (s *Sanitizer) snapshot(ctx context.Context, st *dr.VerifyState) error {
	taken, final := s.names(st)
	st.Taken, st.Final = taken, final
	if st.Host != "" {
		db, err := s.e.Open(ctx, st.Host, st.Port)
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
	tags, err := s.tags(ctx, st, what)
	if err != nil {
		return err
	}
	if st.Cluster {
		_, err = s.rds.Client.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{DBClusterIdentifier: aws.String(st.Instance),
			DBClusterSnapshotIdentifier: aws.String(taken), Tags: tags}, s.rds.Opts...)
	} else {
		_, err = s.rds.Client.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(st.Instance),
			DBSnapshotIdentifier: aws.String(taken), Tags: tags}, s.rds.Opts...)
	}
	if snaps.SnapshotExists(err) {
		err = s.ours(ctx, st, taken, what)
	}
	return errtext.Wrap("dr", "snapshotting "+st.Instance+" into "+taken, err)
}

// ours checks that an existing snapshot of the run's name is this run's, or adopts it: a
// snapshot of the kind (what) that an earlier run made of the same DR copy with the same
// statements is sanitized data this run would make again; it is recorded in st.Adopted and
// finished. One of the same DR copy made with other statements (or before they were
// recorded) is stale: it is deleted (ErrNotReady until it is gone, then the step makes it
// anew). Anything else is ErrForeignResource.
func (s *Sanitizer) ours(ctx context.Context, st *dr.VerifyState, id, what string) error {
	existing, found, err := snaps.DescribeSnap(ctx, s.rds, st.Cluster, id, "")
	switch {
	case err != nil:
		return err
	case !found:
		return fmt.Errorf("%w: snapshot %s is being deleted", dr.ErrNotReady, id)
	case restoring.OwnedByRun("snapshot", id, st.Run, existing.Tags) == nil:
		return nil
	case strings.TrimSpace(st.Run) == "" || !strings.HasPrefix(id, dr.PrefixSanitized) || snaps.TagValue(existing.Tags, dr.TagDR) != what ||
		snaps.TagValue(existing.Tags, dr.TagSource) != st.Snapshot:
		return restoring.OwnedByRun("snapshot", id, st.Run, existing.Tags)
	case snaps.TagValue(existing.Tags, TagStatements) == s.hash:
		if !slices.Contains(st.Adopted, id) {
			st.Adopted = append(st.Adopted, id)
		}
		s.e.Progress("adopting %s, which run %s left (the same DR copy and statements)", id, snaps.TagValue(existing.Tags, dr.TagRun))
		return nil
	case existing.Status != "available":
		return fmt.Errorf("%w: %s, left by run %s with other statements, is %s: it is replaced once it can be deleted", dr.ErrNotReady, id, snaps.TagValue(existing.Tags, dr.TagRun), existing.Status)
	}
	if err := snaps.DeleteSnap(ctx, s.rds, existing); err != nil {
		return errtext.Wrap("dr", "deleting "+id+", left by run "+snaps.TagValue(existing.Tags, dr.TagRun)+" with other statements", err)
	}
	return fmt.Errorf("%w: deleted %s, left by run %s with other statements: it is made anew once RDS has deleted it", dr.ErrNotReady, id, snaps.TagValue(existing.Tags, dr.TagRun))
}

func (s *Sanitizer) snapshotReady(ctx context.Context, st *dr.VerifyState, id string) error {
	sn, found, err := snaps.DescribeSnap(ctx, s.rds, st.Cluster, id, "")
	switch {
	case err != nil:
		return errtext.Wrap("dr", "describing "+id, err)
	case !found:
		return fmt.Errorf("dr: snapshot %s is gone", id)
	case sn.Status != "available":
		return fmt.Errorf("%w: snapshot %s is %s", dr.ErrNotReady, id, sn.Status)
	}
	return nil
}

// reencrypt copies the taken snapshot to the final one under KMSKeyID (nothing to do
// without a key).
func (s *Sanitizer) reencrypt(ctx context.Context, st *dr.VerifyState) error {
	st.Taken, st.Final = s.names(st)
	if st.Taken == st.Final {
		return nil
	}
	tags, err := s.tags(ctx, st, "sanitized")
	if err != nil {
		return err
	}
	err = snaps.CopySnap(ctx, s.rds, snaps.CopyRequest{Cluster: st.Cluster, Source: st.Taken, Target: st.Final, KMSKey: s.o.KMSKeyID, Tags: tags})
	if snaps.SnapshotExists(err) {
		err = s.ours(ctx, st, st.Final, "sanitized")
	}
	return errtext.Wrap("dr", "re-encrypting "+st.Taken+" into "+st.Final+" under "+s.o.KMSKeyID, err)
}

// share shares the final snapshot with the development accounts.
func (s *Sanitizer) share(ctx context.Context, st *dr.VerifyState) error {
	_, st.Final = s.names(st)
	if len(s.o.ShareWith) > 0 {
		if err := snaps.ShareWith(ctx, s.rds, snaps.Snap{Cluster: st.Cluster, ID: st.Final}, s.o.ShareWith); err != nil {
			return errtext.Wrap("dr", fmt.Sprintf("sharing %s with %v", st.Final, s.o.ShareWith), err)
		}
	}
	st.Report.Result = st.Final
	return nil
}

// cleanup deletes the temporary instance (and cluster) and the run's intermediate snapshot;
// a run that did not share its result deletes the sanitized snapshot it made (one it adopted
// is left for the next run of the DR copy to finish), and one that did applies the
// sanitized snapshots' retention (SanitizeOptions.Keep).
func (s *Sanitizer) cleanup(ctx context.Context, st *dr.VerifyState) error {
	errs := []error{s.Cleanup(ctx, st), s.cleanupIntermediate(ctx, st)}
	if st.Report.Result == "" {
		errs = append(errs, s.cleanupUnshared(ctx, st))
	} else {
		errs = append(errs, s.retainSanitized(ctx, st))
	}
	return errors.Join(errs...)
}

// leftover deletes the run's snapshot id of kind what once it is available: one this run
// made (its run tag), or, when adopted is true, one it adopted. keep says why one is left.
func (s *Sanitizer) leftover(ctx context.Context, st *dr.VerifyState, id, what, label string, adopted bool) error {
	existing, found, err := snaps.DescribeSnap(ctx, s.rds, st.Cluster || restoring.IsCluster(s.e.Target), id, "")
	mine := found && strings.TrimSpace(st.Run) != "" && snaps.TagValue(existing.Tags, dr.TagRun) == st.Run
	switch {
	case err != nil:
		return errtext.Wrap("dr", "describing "+label+" "+id, err)
	case !found:
		return nil
	case !mine && !(adopted && slices.Contains(st.Adopted, id) && snaps.TagValue(existing.Tags, dr.TagDR) == what):
		if slices.Contains(st.Adopted, id) {
			st.Report.Cleanup += "; left " + label + " " + id + " (an earlier run's, adopted) for the next run of " + st.Snapshot + " to finish"
		} else {
			st.Report.Cleanup += "; left snapshot " + id + " alone: not made by this run"
		}
		return nil
	case snaps.TagValue(existing.Tags, dr.TagDR) != what || !strings.HasPrefix(id, dr.PrefixSanitized):
		st.Report.Cleanup += "; left snapshot " + id + " alone: not a " + what + " snapshot"
		return nil
	case existing.Status != "available":
		return fmt.Errorf("%w: %s %s is %s", dr.ErrNotReady, label, id, existing.Status)
	}
	if err := snaps.DeleteSnap(ctx, s.rds, existing); err != nil {
		return errtext.Wrap("dr", "deleting "+label+" "+id, err)
	}
	st.Report.Cleanup += "; deleted " + label + " " + id
	return nil
}

// cleanupIntermediate deletes the run's intermediate snapshot (made or adopted), once it is
// available.
func (s *Sanitizer) cleanupIntermediate(ctx context.Context, st *dr.VerifyState) error {
	if st.Snapshot == "" {
		return nil
	}
	taken, final := s.names(st)
	if taken == final {
		return nil
	}
	return s.leftover(ctx, st, taken, "sanitize-intermediate", "intermediate snapshot", true)
}

// cleanupUnshared deletes the sanitized snapshot a run that did not share it made, so that
// a failed run leaves nothing billed behind; one it adopted stays for the next run.
func (s *Sanitizer) cleanupUnshared(ctx context.Context, st *dr.VerifyState) error {
	if st.Snapshot == "" {
		return nil
	}
	_, final := s.names(st)
	return s.leftover(ctx, st, final, "sanitized", "unshared sanitized snapshot", false)
}

// retainSanitized deletes sanitized snapshots beyond Keep per source database and source
// account, newest data first: only snapshots named PrefixSanitized and tagged
// shipshape:dr=sanitized, available ones, never the newest of a database, never the one this
// run made.
func (s *Sanitizer) retainSanitized(ctx context.Context, st *dr.VerifyState) error {
	_, final := s.names(st)
	groups := map[string][]snaps.Snap{}
	var order []string
	err := snaps.ListSnaps(ctx, s.rds, "manual", false, func(sn snaps.Snap) {
		if !strings.HasPrefix(sn.ID, dr.PrefixSanitized) || snaps.TagValue(sn.Tags, dr.TagDR) != "sanitized" {
			return
		}
		if t, err := time.Parse(time.RFC3339, snaps.TagValue(sn.Tags, dr.TagSourceCreated)); err == nil {
			sn.Created = t // the data's time, not the snapshot's
		}
		db := cmp.Or(snaps.TagValue(sn.Tags, dr.TagSourceDatabase), sn.DB)
		g := sn.Group()[:strings.Index(sn.Group(), "/")+1] + db + "@" + sn.Origin()
		if groups[g] == nil {
			order = append(order, g)
		}
		groups[g] = append(groups[g], sn)
	})
	if err != nil {
		return err
	}
	sort.Strings(order)
	var deleted []string
	for _, g := range order {
		list := groups[g]
		snaps.SortNewestFirst(list)
		kept := 0
		for _, sn := range list {
			switch {
			case sn.Status != "available" || sn.ID == final || kept < s.o.Keep:
				if sn.Status == "available" {
					kept++
				}
			default:
				if err := snaps.DeleteSnap(ctx, s.rds, sn); err != nil {
					return errtext.Wrap("dr", "deleting "+sn.Name()+", a sanitized snapshot beyond the newest "+strconv.Itoa(s.o.Keep), err)
				}
				deleted = append(deleted, sn.Name())
			}
		}
	}
	if len(deleted) > 0 {
		st.Report.Cleanup += fmt.Sprintf("; deleted %d sanitized snapshot(s) beyond the newest %d of their database: %s", len(deleted), s.o.Keep, strings.Join(deleted, ", "))
	}
	return nil
}

// Sanitize runs the whole sanitization blocking (the statements in one transaction) and
// returns the id of the sanitized snapshot and a report of every step; the temporary
// resources are deleted on every path, also when ctx is cancelled.
func (s *Sanitizer) Sanitize(ctx context.Context) (snapshotID string, report dr.Report, err error) {
	st, err := s.Start(ctx, s.e.NewRun())
	defer func() {
		report, err = s.e.Finish(ctx, &st, err, func(cctx context.Context) error {
			return errors.Join(s.waitCleanup(cctx, func() error { return s.cleanupIntermediate(cctx, &st) }),
				s.waitCleanup(cctx, func() error {
					if st.Report.Result == "" {
						return s.cleanupUnshared(cctx, &st)
					}
					return nil
				}))
		})
		if err == nil && report.OK {
			if rerr := s.retainSanitized(context.WithoutCancel(ctx), &st); rerr != nil {
				err, st.Report.OK = rerr, false
			}
			report = st.Report
		}
		if err != nil || !report.OK {
			snapshotID = ""
		}
	}()
	if err != nil {
		return "", st.Report, err
	}
	host, port, err := s.e.WaitReady(ctx, &st)
	if err != nil {
		return "", st.Report, err
	}
	step := func(name, detail string, serr error) error {
		if serr != nil {
			st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: name, Detail: errtext.Strip("dr", serr.Error())})
			return errtext.Wrap("dr", name, serr)
		}
		st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: name, OK: true, Detail: detail})
		s.e.Progress("%s: %s", name, detail)
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

func (s *Sanitizer) snapshotAndWait(ctx context.Context, st *dr.VerifyState) error {
	if err := s.snapshot(ctx, st); err != nil {
		return err
	}
	return s.e.WaitFor(ctx, "snapshot "+st.Taken, func() error { return s.snapshotReady(ctx, st, st.Taken) })
}

func (s *Sanitizer) reencryptAndWait(ctx context.Context, st *dr.VerifyState) error {
	if err := s.reencrypt(ctx, st); err != nil {
		return err
	}
	return s.e.WaitFor(ctx, "snapshot "+st.Final, func() error { return s.snapshotReady(ctx, st, st.Final) })
}

// waitCleanup repeats a cleanup while RDS answers ErrNotReady, at most 15 minutes.
func (s *Sanitizer) waitCleanup(ctx context.Context, fn func() error) error {
	deadline := s.e.Opts.Clock.Now().Add(15 * time.Minute)
	err := fn()
	for errors.Is(err, dr.ErrNotReady) && s.e.Opts.Clock.Now().Before(deadline) {
		if serr := s.e.Opts.Clock.Sleep(ctx, min(s.e.Opts.Poll, deadline.Sub(s.e.Opts.Clock.Now()))); serr != nil {
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
func (s *Sanitizer) Step(ctx context.Context, step, run string, st dr.VerifyState) (dr.VerifyState, error) {
	if err := restoring.OfRun(&st, run); err != nil {
		return st, err
	}
	record := func(name string, err error, detail string) (dr.VerifyState, error) {
		switch {
		case errors.Is(err, dr.ErrNotReady):
		case err != nil:
			st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: name, Detail: errtext.Strip("dr", err.Error())})
		case detail != "":
			st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: name, OK: true, Detail: detail})
		}
		return st, err
	}
	switch step {
	case "snapshot", "reencrypt", "share":
		// What is snapshotted, re-encrypted and shared must be the sanitized data.
		if !st.Done || st.Next < len(s.o.Statements) {
			return record(step, fmt.Errorf("%w: %s before every sanitizing statement ran (statement %d of %d is next): run the statement step until the state's done is true",
				dr.ErrInvalidInput, step, min(st.Next, len(s.o.Statements)-1)+1, len(s.o.Statements)), "")
		}
	}
	switch step {
	case "start", "ready", "check":
		if step == "check" {
			return st, fmt.Errorf("%w: unknown sanitize step %q", dr.ErrInvalidInput, step)
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
		s.e.CompleteReport(&st, s.e.Opts.Clock.Now().UTC())
		restoring.RecordCaught(&st)
		err := s.cleanup(ctx, &st)
		st.Report.Finished = s.e.Opts.Clock.Now().UTC()
		st.Report.OK = err == nil && restoring.AllOK(st.Report.Steps) && st.Report.Result != ""
		return st, err
	}
	return st, fmt.Errorf("%w: unknown sanitize step %q (start, ready, statement, snapshot, snapshot-ready, reencrypt, reencrypt-ready, share, cleanup)", dr.ErrInvalidInput, step)
}
