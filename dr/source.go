package dr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
	"github.com/shipshape-dev/shipshape/internal/awsretry"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// SourceOptions are the optional settings of a Source. A zero value means the default.
type SourceOptions struct {
	// KMSKeyID re-encrypts every encrypted copy with this customer managed key (one the
	// recovery account may use). Default: none; then copies keep the snapshot's key, and an
	// encrypted snapshot under the AWS managed aws/rds key can't be shared (ErrNeedsCustomerKey).
	// With ShareWith, the key itself must not be AWS managed: alias/aws/rds is refused by
	// NewSource, and with a KMS client the key is checked (kms:DescribeKey, once) before
	// copying under it or sharing a copy under it (ErrNeedsCustomerKey; a DescribeKey that
	// fails is a warning, and the key is taken to be customer managed).
	KMSKeyID string
	// ShareWith are the recovery account ids (at most 20, RDS's limit per snapshot).
	ShareWith []string
	// Databases are the DB instances and Aurora clusters protected ("orders-db",
	// "cluster:ledger"). Default: every one that has automated snapshots.
	Databases []string
	// KMS tells an AWS managed key from a customer managed one (kms:DescribeKey), needed when
	// a snapshot to share is encrypted with a key other than KMSKeyID; when set, KMSKeyID is
	// checked too. NewSourceFromConfig sets it. Default: none; such a snapshot is then an error
	// that says so, and KMSKeyID is taken to be customer managed.
	KMS KMSAPI
	// MaxAttempts is how many times one RDS or KMS call is sent in all when it is throttled
	// or fails on the server or the network, by the SDK's standard retryer; nothing else
	// retries it. Default: 5.
	MaxAttempts int
	// ClientOptions are applied to every RDS call after the package's own (the retryer).
	ClientOptions []func(*rds.Options)
	// KMSClientOptions are applied to every KMS call after the package's own.
	KMSClientOptions []func(*kms.Options)
	// Clock is the time source of retention ages and of the retry backoff. Default: the wall
	// clock.
	Clock clock.Clock
	// Logger receives Debug lines and Warn lines (a quota above 80 %, a snapshot with our
	// copy's identifier that is not ours). Default: discard.
	Logger *slog.Logger
}

// Source copies automated snapshots to manual DR snapshots, shares them with the recovery
// account(s), and trims old DR snapshots, in the production account. It is safe for
// concurrent use.
type Source struct {
	rds      snaps.Calls[SourceAPI]
	kms      KMSAPI
	kmsOpts  []func(*kms.Options)
	opts     SourceOptions
	log      *slog.Logger
	wanted   map[string]bool // Databases, by group()
	keysMu   sync.Mutex
	awsOwned map[string]bool // per KMS key: managed by AWS (kms:DescribeKey, cached)
}

// NewSource returns a Source over an RDS client of the production account and region. The
// error, wrapping ErrInvalidInput, is for options that can't work; NewSource makes no call.
func NewSource(client SourceAPI, optFns ...func(*SourceOptions)) (*Source, error) {
	var o SourceOptions
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case client == nil:
		return nil, fmt.Errorf("%w: no RDS client", ErrInvalidInput)
	case len(o.ShareWith) > 20:
		return nil, fmt.Errorf("%w: a snapshot can be shared with at most 20 accounts, not %d", ErrInvalidInput, len(o.ShareWith))
	case o.MaxAttempts < 0:
		return nil, fmt.Errorf("%w: MaxAttempts can't be negative", ErrInvalidInput)
	}
	for _, a := range o.ShareWith {
		if !snaps.ValidAccount(a) {
			return nil, fmt.Errorf("%w: %q is not a 12-digit AWS account id", ErrInvalidInput, a)
		}
	}
	if len(o.ShareWith) > 0 && (o.KMSKeyID == "alias/aws/rds" || strings.HasSuffix(o.KMSKeyID, ":alias/aws/rds")) {
		return nil, configuredKeyManaged(o.KMSKeyID)
	}
	wanted, err := databaseSet(o.Databases)
	if err != nil {
		return nil, err
	}
	snaps.Defaults(&o.Clock, &o.MaxAttempts, &o.Logger)
	retryer := awsretry.New(awsretry.Options{Clock: o.Clock, MaxAttempts: o.MaxAttempts})
	s := &Source{rds: snaps.NewCalls(client, o.Clock, o.MaxAttempts, o.ClientOptions), kms: o.KMS, opts: o, log: o.Logger,
		wanted: wanted, awsOwned: map[string]bool{},
		kmsOpts: append([]func(*kms.Options){func(ko *kms.Options) { ko.Retryer = retryer }}, o.KMSClientOptions...)}
	return s, nil
}

// NewSourceFromConfig returns a Source over rds.NewFromConfig(cfg), with a KMS client from
// cfg for key detection unless the options give one.
func NewSourceFromConfig(cfg aws.Config, optFns ...func(*SourceOptions)) (*Source, error) {
	return NewSource(rds.NewFromConfig(cfg), append([]func(*SourceOptions){func(o *SourceOptions) { o.KMS = kms.NewFromConfig(cfg) }}, optFns...)...)
}

// databaseSet reads Databases ("name" or "cluster:name") into retention groups.
func databaseSet(dbs []string) (map[string]bool, error) {
	if len(dbs) == 0 {
		return nil, nil
	}
	set := map[string]bool{}
	for _, d := range dbs {
		name, cluster := strings.CutPrefix(strings.TrimSpace(d), "cluster:")
		if name == "" || !snaps.ValidName(name) {
			return nil, fmt.Errorf("%w: database %q: want a DB instance or cluster identifier, or cluster:<id>", ErrInvalidInput, d)
		}
		set[snaps.Snap{Cluster: cluster, DB: name}.Group()] = true
	}
	return set, nil
}

// Item is one snapshot a run did something with, or skipped, and why.
type Item struct {
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// Summary says what a run did. Its JSON is what the Lambdas log.
type Summary struct {
	Copied   []Item   `json:"copied,omitempty"`
	Shared   []Item   `json:"shared,omitempty"`
	Deleted  []Item   `json:"deleted,omitempty"`
	Skipped  []Item   `json:"skipped,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// RecoveryPoints (Recovery.Scheduled only) are each database's newest available copy in
	// the recovery region.
	RecoveryPoints []RecoveryPoint `json:"recovery_points,omitempty"`
}

// Add appends o's items to s.
func (s *Summary) Add(o Summary) {
	s.Copied = append(s.Copied, o.Copied...)
	s.Shared = append(s.Shared, o.Shared...)
	s.Deleted = append(s.Deleted, o.Deleted...)
	s.Skipped = append(s.Skipped, o.Skipped...)
	s.Warnings = append(s.Warnings, o.Warnings...)
}

func (s *Source) warn(sum *Summary, msg string) {
	s.log.Warn("dr: " + msg)
	sum.Warnings = append(sum.Warnings, msg)
}

// CopyAutomated copies one automated DB snapshot ("rds:orders-db-2026-11-23-03-00" or
// without the prefix) to a manual DR snapshot with a deterministic id, tagged as ours,
// re-encrypted with SourceOptions.KMSKeyID when given. A copy that already exists counts as
// done; a snapshot still being created gives ErrNotReady; the manual snapshot quota is
// checked before copying (ErrQuota) and a warning logged above 80 %.
func (s *Source) CopyAutomated(ctx context.Context, snapshotID string) (Summary, error) {
	return s.copyEvent(ctx, false, snapshotID)
}

// CopyAutomatedCluster is CopyAutomated for an automated Aurora DB cluster snapshot.
func (s *Source) CopyAutomatedCluster(ctx context.Context, snapshotID string) (Summary, error) {
	return s.copyEvent(ctx, true, snapshotID)
}

// CopyEvent copies the automated snapshot an RDS event reports, of either kind.
func (s *Source) CopyEvent(ctx context.Context, ev SnapshotEvent) (Summary, error) {
	return s.copyEvent(ctx, ev.Cluster, ev.SnapshotID)
}

func (s *Source) copyEvent(ctx context.Context, cluster bool, snapshotID string) (Summary, error) {
	var sum Summary
	id := strings.TrimPrefix(snaps.BareID(aws.String(snapshotID)), "rds:")
	if err := ValidIdentifier(id); err != nil {
		return sum, err
	}
	id = "rds:" + id
	name := snaps.Snap{Cluster: cluster, ID: id}.Name()
	a, found, err := snaps.DescribeSnap(ctx, s.rds, cluster, id, "automated")
	switch {
	case err != nil:
		return sum, errtext.Wrap("dr", "describing "+name, err)
	case !found:
		sum.Skipped = append(sum.Skipped, Item{ID: name, Reason: "no such automated snapshot (deleted since the event?)"})
		return sum, nil
	case s.wanted != nil && !s.wanted[a.Group()]:
		sum.Skipped = append(sum.Skipped, Item{ID: name, Reason: a.DB + " is not among the protected databases"})
		return sum, nil
	case a.Status != "available":
		return sum, fmt.Errorf("%w: %s is %s", ErrNotReady, name, a.Status)
	}
	b := s.budget(ctx, &sum)
	err = s.copyOne(ctx, a, b, &sum)
	return sum, err
}

// budget reads the manual snapshot quotas for a run; when they can't be read the run goes
// on and RDS's own refusal is still reported as ErrQuota.
func (s *Source) budget(ctx context.Context, sum *Summary) *budget {
	q, err := snaps.Quotas(ctx, s.rds)
	if err != nil {
		if ctx.Err() == nil {
			s.warn(sum, "quota headroom unknown ("+errtext.Strip("dr", err.Error())+"): copying without the check")
		}
		q = nil
	}
	return &budget{q: q, warn: func(msg string) { s.warn(sum, msg) }, warned: map[string]bool{}}
}

// budget is the manual snapshot quota headroom of one run.
type budget struct {
	q      map[string]snaps.Quota // nil: unknown
	warn   func(string)
	warned map[string]bool
}

// check refuses a copy when the quota of its kind is used up, and warns (once a run) at 80 %.
func (b *budget) check(cluster bool, what string) error {
	q, ok := b.q[snaps.QuotaName(cluster)]
	if !ok || q.Max <= 0 {
		return nil
	}
	if q.Used >= q.Max {
		return fmt.Errorf("%w: %s (manual %s per region) is at %d of %d: %s: lower the retention (Retention.Keep, DR_KEEP; or MaxAge, DR_MAX_AGE) or ask AWS to raise the quota",
			ErrQuota, q.Name, kindWord(cluster), q.Used, q.Max, what)
	}
	b.near(q)
	return nil
}

func (b *budget) near(q snaps.Quota) {
	if q.Used*5 >= q.Max*4 && !b.warned[q.Name] {
		b.warned[q.Name] = true
		b.warn(fmt.Sprintf("%s quota at %d of %d (80 %% or more): lower the retention (DR_KEEP, DR_MAX_AGE) or raise the quota before copies are refused", q.Name, q.Used, q.Max))
	}
}

// took counts a copy started.
func (b *budget) took(cluster bool) {
	if q, ok := b.q[snaps.QuotaName(cluster)]; ok {
		q.Used++
		b.q[q.Name] = q
		b.near(q)
	}
}

func kindWord(cluster bool) string {
	if cluster {
		return "DB cluster snapshots"
	}
	return "DB snapshots"
}

// copyOne copies the available automated snapshot a to its DR copy.
func (s *Source) copyOne(ctx context.Context, a snaps.Snap, b *budget, sum *Summary) error {
	name := a.Name()
	target, err := CopyID(a.DB, a.Created)
	if err != nil {
		return err
	}
	done := snaps.Snap{Cluster: a.Cluster, ID: target}
	req := snaps.CopyRequest{Cluster: a.Cluster, Source: a.ARN, Target: target, Tags: []types.Tag{snaps.Tag(TagDR, "true"), snaps.Tag(TagSource, a.ARN), snaps.Tag(TagSourceAccount, snaps.AccountOf(a.ARN))}}
	reason := "copy of " + name
	if a.Encrypted {
		key, why, err := s.copyKey(ctx, a, sum)
		if err != nil {
			return err
		}
		req.KMSKey, reason = key, reason+why
	}
	if err := b.check(a.Cluster, "copying "+name+" to "+target); err != nil {
		// At the quota, a copy made before (a redelivered event) is still fine.
		if existing, found, derr := snaps.DescribeSnap(ctx, s.rds, a.Cluster, target, "manual"); derr == nil && found && snaps.TagValue(existing.Tags, TagDR) == "true" {
			sum.Skipped = append(sum.Skipped, Item{ID: done.Name(), Reason: "already copied"})
			return nil
		}
		return err
	}
	err = snaps.CopySnap(ctx, s.rds, req)
	switch {
	case err == nil:
		b.took(a.Cluster)
		sum.Copied = append(sum.Copied, Item{ID: done.Name(), Reason: reason})
	case snaps.SnapshotExists(err):
		existing, found, derr := snaps.DescribeSnap(ctx, s.rds, a.Cluster, target, "manual")
		if derr != nil {
			return errtext.Wrap("dr", "describing "+done.Name(), derr)
		}
		if found && snaps.TagValue(existing.Tags, TagDR) != "true" {
			sum.Skipped = append(sum.Skipped, Item{ID: done.Name(), Reason: "a snapshot with this id exists and is not ours: check it"})
			s.warn(sum, fmt.Sprintf("%s can't be copied to %s: a snapshot with that id exists without the %s=true tag (not ours)", name, done.Name(), TagDR))
			return nil
		}
		sum.Skipped = append(sum.Skipped, Item{ID: done.Name(), Reason: "already copied"})
	case snaps.QuotaExceeded(err):
		return errtext.Join("dr", fmt.Errorf("%w: %s (manual %s per region): copying %s to %s: lower the retention (DR_KEEP, DR_MAX_AGE) or raise the quota",
			ErrQuota, snaps.QuotaName(a.Cluster), kindWord(a.Cluster), name, target), err)
	default:
		return errtext.Wrap("dr", "copying "+name+" to "+target, err)
	}
	return nil
}

// copyKey decides the key of an encrypted snapshot's copy: KMSKeyID when configured; else
// the snapshot's own key, unless sharing is configured and that is the AWS managed key
// (ErrNeedsCustomerKey).
func (s *Source) copyKey(ctx context.Context, a snaps.Snap, sum *Summary) (key, why string, err error) {
	switch {
	case s.opts.KMSKeyID != "" && len(s.opts.ShareWith) > 0 && s.configuredKeyManaged(ctx, sum):
		return "", "", configuredKeyManaged(s.opts.KMSKeyID)
	case s.opts.KMSKeyID != "":
		return s.opts.KMSKeyID, ", re-encrypted with " + s.opts.KMSKeyID, nil
	case len(s.opts.ShareWith) == 0:
		return "", "", nil // no sharing: the copy keeps the snapshot's key
	}
	managed, err := s.awsManaged(ctx, a.KMSKey, a.Name())
	if err != nil {
		return "", "", err
	}
	if managed {
		return "", "", needsCustomerKey(a)
	}
	return "", ", kept under its customer managed key " + a.KMSKey, nil
}

// configuredKeyManaged reports whether KMS says that KMSKeyID is an AWS managed key (aws/rds
// configured by mistake: "the RDS key"), whose copies RDS never shares. Only a definite answer
// counts: without a KMS client, or when DescribeKey fails (no permission for it), the key is
// taken to be customer managed, as the option says, and the failure is a warning.
func (s *Source) configuredKeyManaged(ctx context.Context, sum *Summary) bool {
	if s.kms == nil {
		return false
	}
	managed, err := s.awsManaged(ctx, s.opts.KMSKeyID, "the configured KMSKeyID")
	if err != nil {
		s.warn(sum, "could not tell whether the configured key is customer managed ("+errtext.Strip("dr", err.Error())+"): taking it to be")
		return false
	}
	return managed
}

func configuredKeyManaged(key string) error {
	return fmt.Errorf("%w: the configured key %s (SourceOptions.KMSKeyID, DR_KMS_KEY_ID) is an AWS managed key (aws/rds; kms:DescribeKey: KeyManager AWS), "+
		"and RDS never shares a snapshot encrypted with it: configure a customer managed key the recovery account may use", ErrNeedsCustomerKey, key)
}

func needsCustomerKey(a snaps.Snap) error {
	return fmt.Errorf("%w: %s is encrypted with %s, an AWS managed key (kms:DescribeKey: KeyManager AWS), which RDS never shares across accounts: "+
		"set SourceOptions.KMSKeyID (DR_KMS_KEY_ID) to a customer managed key the recovery account may use, and the copies are re-encrypted with it",
		ErrNeedsCustomerKey, a.Name(), a.KMSKey)
}

// awsManaged reports whether a KMS key is managed by AWS (aws/rds), asking KMS once per key.
func (s *Source) awsManaged(ctx context.Context, key, what string) (bool, error) {
	s.keysMu.Lock()
	managed, ok := s.awsOwned[key]
	s.keysMu.Unlock()
	if ok {
		return managed, nil
	}
	if s.kms == nil {
		return false, fmt.Errorf("%w: %s is encrypted with %s and is to be shared: telling an AWS managed key from a customer managed one needs a KMS client "+
			"(SourceOptions.KMS; NewSourceFromConfig sets it), or set KMSKeyID to re-encrypt every copy", ErrInvalidInput, what, key)
	}
	out, err := s.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)}, s.kmsOpts...)
	if err != nil {
		return false, errtext.Wrap("dr", "kms:DescribeKey on "+key+" (the key of "+what+")", err)
	}
	managed = out.KeyMetadata != nil && out.KeyMetadata.KeyManager == kmstypes.KeyManagerTypeAws
	s.keysMu.Lock()
	s.awsOwned[key] = managed
	s.keysMu.Unlock()
	return managed, nil
}

// ShareAvailable shares every available DR snapshot with the recovery account(s) it is not
// shared with yet. Snapshots tagged as shared with exactly the configured accounts are
// skipped without a call; for the others the restore attribute is read, the missing
// accounts added, and the tag set. A copy under the AWS managed key (made before sharing was
// configured) is never offered to RDS: it is skipped and reported as ErrNeedsCustomerKey.
// RDS emits no event when a copy completes, so this runs on a schedule.
func (s *Source) ShareAvailable(ctx context.Context) (Summary, error) {
	if len(s.opts.ShareWith) == 0 {
		return Summary{}, fmt.Errorf("%w: no recovery account to share with (SourceOptions.ShareWith)", ErrInvalidInput)
	}
	m, err := snaps.ListManual(ctx, s.rds)
	if err != nil {
		return Summary{}, err
	}
	return s.share(ctx, m.Ours)
}

// Scheduled is the source side's periodic run, a reconcile sweep over one listing of the
// manual and one of the automated snapshots: every automated snapshot of a protected
// database that is newer than the database's newest DR copy and has no copy is copied (RDS
// events are best effort: a lost one is made up for here; a late event and the sweep give
// the same copy id, so nothing is copied twice); then sharing (when ShareWith is set) and
// Retention. A failing step does not stop the later ones; the errors are joined.
func (s *Source) Scheduled(ctx context.Context, r Retention) (Summary, error) {
	var sum Summary
	if err := r.validate(); err != nil {
		return sum, err
	}
	m, err := snaps.ListManual(ctx, s.rds)
	if err != nil {
		return sum, err
	}
	var autos []snaps.Snap
	if err := snaps.ListSnaps(ctx, s.rds, "automated", false, func(a snaps.Snap) { autos = append(autos, a) }); err != nil {
		return sum, err
	}
	var errs []error
	swept, err := s.sweep(ctx, m, autos)
	sum.Add(swept)
	errs = append(errs, err)
	if len(s.opts.ShareWith) > 0 {
		shared, err := s.share(ctx, m.Ours)
		sum.Add(shared)
		errs = append(errs, err)
	}
	trimmed, err := retainList(ctx, s.rds, s.opts.Clock.Now(), r, m.Ours)
	sum.Add(trimmed)
	errs = append(errs, err)
	return sum, errors.Join(errs...)
}

// sweep copies the automated snapshots that have no DR copy and are newer than the newest
// DR copy of their database.
func (s *Source) sweep(ctx context.Context, m snaps.Manual, autos []snaps.Snap) (Summary, error) {
	var sum Summary
	newest := map[string]time.Time{}
	for _, c := range m.Ours {
		if c.Created.After(newest[c.Group()]) {
			newest[c.Group()] = c.Created
		}
	}
	snaps.SortNewestFirst(autos)
	var todo []snaps.Snap
	for _, a := range autos {
		if s.wanted != nil && !s.wanted[a.Group()] {
			continue
		}
		target, err := CopyID(a.DB, a.Created)
		if err != nil {
			return sum, err
		}
		if existing, ok := m.ByID[snaps.Snap{Cluster: a.Cluster, ID: target}.Name()]; ok {
			if snaps.TagValue(existing.Tags, TagDR) != "true" {
				sum.Skipped = append(sum.Skipped, Item{ID: existing.Name(), Reason: "a snapshot with this id exists and is not ours: check it"})
			}
			continue // copied (or in progress)
		}
		if !a.Created.After(newest[a.Group()]) {
			continue // older than a copy we hold: retention trimmed it, or it predates protection
		}
		if a.Status != "available" {
			sum.Skipped = append(sum.Skipped, Item{ID: a.Name(), Reason: "still " + a.Status + ": next run"})
			continue
		}
		todo = append(todo, a)
	}
	if len(todo) == 0 {
		return sum, nil
	}
	b := s.budget(ctx, &sum)
	for _, a := range todo {
		before := len(sum.Copied)
		if err := s.copyOne(ctx, a, b, &sum); err != nil {
			return sum, err
		}
		if len(sum.Copied) > before {
			sum.Copied[before].Reason += " (sweep: no copy yet, the event was lost or late)"
		}
	}
	return sum, nil
}

// share shares the available snapshots of list that are not shared yet.
func (s *Source) share(ctx context.Context, list []snaps.Snap) (Summary, error) {
	var sum Summary
	want := append([]string(nil), s.opts.ShareWith...)
	sort.Strings(want)
	wantTag := strings.Join(want, "+")
	var keyErrs []error
	for _, sn := range list {
		id := sn.Name()
		if sn.Status != "available" {
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "still " + sn.Status})
			continue
		}
		if snaps.TagValue(sn.Tags, TagSharedWith) == wantTag {
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "already shared"})
			continue
		}
		if !Owned(sn.ID) {
			// Named before the prefix: the template's IAM lets the function neither share nor tag it.
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "named before the " + NamePrefix + " prefix, which is all the function may share: " +
				"share it by hand if the recovery account lacks it (docs/dr.md, copies made before the prefix)"})
			continue
		}
		if sn.Encrypted && sn.KMSKey == s.opts.KMSKeyID && s.configuredKeyManaged(ctx, &sum) {
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "under the configured key " + sn.KMSKey + ", an AWS managed key: can't be shared"})
			keyErrs = append(keyErrs, configuredKeyManaged(sn.KMSKey))
			continue
		}
		if sn.Encrypted && sn.KMSKey != s.opts.KMSKeyID {
			managed, err := s.awsManaged(ctx, sn.KMSKey, id)
			if err != nil {
				return sum, err
			}
			if managed {
				sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "under the AWS managed key " + sn.KMSKey + ": can't be shared"})
				keyErrs = append(keyErrs, needsCustomerKey(sn))
				continue
			}
		}
		have, err := snaps.RestoreAccounts(ctx, s.rds, sn)
		if err != nil {
			return sum, errtext.Wrap("dr", "reading who "+id+" is shared with", err)
		}
		var missing []string
		for _, acct := range s.opts.ShareWith {
			if !have[acct] {
				missing = append(missing, acct)
			}
		}
		if len(missing) > 0 {
			if err := snaps.ShareWith(ctx, s.rds, sn, missing); err != nil {
				return sum, errtext.Wrap("dr", fmt.Sprintf("sharing %s with %v", id, missing), err)
			}
			sum.Shared = append(sum.Shared, Item{ID: id, Reason: "with " + strings.Join(missing, ", ")})
		} else {
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "already shared"})
		}
		// Remember it (after sharing, so a crash in between only costs one more attribute read).
		if _, err := s.rds.Client.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String(sn.ARN),
			Tags: []types.Tag{snaps.Tag(TagSharedWith, wantTag)}}, s.rds.Opts...); err != nil {
			return sum, errtext.Wrap("dr", "tagging "+id+" as shared", err)
		}
	}
	return sum, errors.Join(keyErrs...)
}

// Retention says which DR snapshots to keep.
type Retention struct {
	// Keep is how many of the newest DR snapshots to keep per source database, an instance
	// or cluster of one source account (0: no limit). Copies still in progress count: they
	// take the newest places.
	Keep int
	// MaxAge deletes DR snapshots whose data is older than this (0: no limit).
	MaxAge time.Duration
}

// Retain deletes DR snapshots (DB and cluster snapshots) beyond Retention, per source
// database (an instance or cluster of one source account). It only ever deletes snapshots
// tagged shipshape:dr=true and named with NamePrefix (older copies count for the ranking but
// are reported, not deleted), and always keeps the newest available one of each, whatever
// the limits say.
func (s *Source) Retain(ctx context.Context, r Retention) (Summary, error) {
	return retain(ctx, s.rds, s.opts.Clock.Now(), r)
}

// retain applies r to the DR snapshots of client's account and region.
func retain[C retainer](ctx context.Context, c snaps.Calls[C], now time.Time, r Retention) (Summary, error) {
	if err := r.validate(); err != nil {
		return Summary{}, err
	}
	m, err := snaps.ListManual(ctx, c)
	if err != nil {
		return Summary{}, err
	}
	return retainList(ctx, c, now, r, m.Ours)
}

func (r Retention) validate() error {
	if r.Keep < 0 || r.MaxAge < 0 || (r.Keep == 0 && r.MaxAge == 0) {
		return fmt.Errorf("%w: retention needs Keep >= 1 and/or MaxAge > 0", ErrInvalidInput)
	}
	return nil
}

// retainList applies r to list, the DR snapshots of the account and region as listed
// earlier in the run. A snapshot created since is missing from it, which can only make
// retention keep more, never delete more.
func retainList[C retainer](ctx context.Context, c snaps.Calls[C], now time.Time, r Retention, list []snaps.Snap) (Summary, error) {
	var sum Summary
	byDB := map[string][]snaps.Snap{}
	var groups []string
	for _, sn := range list {
		if byDB[sn.Database()] == nil {
			groups = append(groups, sn.Database())
		}
		byDB[sn.Database()] = append(byDB[sn.Database()], sn)
	}
	sort.Strings(groups)
	for _, g := range groups {
		list := byDB[g]
		snaps.SortNewestFirst(list)
		keptAvailable := false
		for i, sn := range list {
			id := sn.Name()
			available := sn.Status == "available"
			tooMany := r.Keep > 0 && i >= r.Keep
			tooOld := r.MaxAge > 0 && now.Sub(sn.Created) > r.MaxAge
			switch {
			case !available:
				sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "not available (" + sn.Status + ")"})
			case !keptAvailable:
				keptAvailable = true // the newest available one always stays
			case (tooMany || tooOld) && !Owned(sn.ID):
				// Named before the prefix: the templates' IAM lets no function delete it.
				sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "beyond the retention, but named before the " + NamePrefix +
					" prefix, which is all the functions may delete: delete it by hand once you no longer need it (docs/dr.md, copies made before the prefix)"})
			case tooMany || tooOld:
				if err := snaps.DeleteSnap(ctx, c, sn); err != nil {
					return sum, errtext.Wrap("dr", "deleting "+id, err)
				}
				reason := "beyond the newest " + strconv.Itoa(r.Keep)
				if tooOld {
					reason = "older than " + r.MaxAge.String()
				}
				sum.Deleted = append(sum.Deleted, Item{ID: id, Reason: reason})
			}
		}
	}
	return sum, nil
}
