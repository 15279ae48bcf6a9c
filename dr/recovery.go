package dr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
	"github.com/shipshape-dev/shipshape/internal/awsid"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// Origin is where the recovery side's snapshots come from: the production accounts that
// share them and their region. Both are required.
type Origin struct {
	Accounts []string
	Region   string
}

// CopyPath is how the recovery side copies a snapshot of another account from another
// region.
type CopyPath string

// Copy paths.
const (
	// CopyAuto copies in one step (CopyDBSnapshot with the source ARN in another account and
	// region) and falls back to two hops for the rest of the run when RDS refuses that.
	CopyAuto CopyPath = ""
	// CopyTwoHop always copies in two hops: first into the recovery account in the source
	// region (a staging copy), then across regions; the staging copy is deleted once the
	// final copy is available.
	CopyTwoHop CopyPath = "two-hop"
)

// RecoveryOptions are the optional settings of a Recovery. A zero value means the default.
type RecoveryOptions struct {
	// KMSKeyID is a key in the recovery region for encrypted snapshots (RDS requires one for
	// any cross-account or cross-region copy of an encrypted snapshot).
	KMSKeyID string
	// StagingKMSKeyID is a key of the recovery account in the source region, for the
	// staging copy of an encrypted snapshot on the two-hop path. Default: none; an encrypted
	// snapshot that needs two hops is then an error that says so.
	StagingKMSKeyID string
	// CopyPath: CopyAuto (default) or CopyTwoHop.
	CopyPath CopyPath
	// MaxCopies bounds the copies in progress into the recovery region. Default: 5; at most
	// 20 (RDS's limit of cross-region DB snapshot copies in progress per destination region
	// and account). Aurora DB cluster snapshot copies are further held to RDS's limit of 5.
	MaxCopies int
	// MaxAttempts is how many times one RDS call is sent in all when it is throttled or fails
	// on the server or the network, by the SDK's standard retryer. Default: 5.
	MaxAttempts int
	// ClientOptions are applied to every RDS call (of both clients) after the package's own.
	ClientOptions []func(*rds.Options)
	// Clock is the time source of retention ages and of the retry backoff. Default: the wall
	// clock.
	Clock clock.Clock
	// Logger receives Debug and Warn lines. Default: discard.
	Logger *slog.Logger
	// Metrics, when set, receives from Scheduled the age of each database's recovery point
	// (Summary.RecoveryPoints) in CloudWatch embedded metric format, a JSON line each:
	// RecoveryPointMetric in MetricsNamespace, by Database and without a dimension. A Lambda
	// gives it its standard output, and CloudWatch Logs makes the metrics. Default: none.
	Metrics io.Writer
}

// maxClusterCopies is RDS's limit of DB cluster snapshot copies in progress from one region
// to another, per account.
const maxClusterCopies = 5

// Recovery copies the snapshots shared with the recovery account into the recovery region,
// and trims old copies, in the recovery account.
type Recovery struct {
	shared snaps.Calls[RecoveryAPI] // recovery account, source region: sees the shared snapshots, holds staging copies
	local  snaps.Calls[RecoveryAPI] // recovery account, recovery region: holds the copies
	from   Origin
	opts   RecoveryOptions
	log    *slog.Logger
}

// NewRecovery returns a Recovery over two clients of the recovery account, one in the source
// region (to see the shared snapshots) and one in the recovery region (to copy into), for
// the snapshots from names. The error, wrapping ErrInvalidInput, is for settings that can't
// work; NewRecovery makes no call.
func NewRecovery(sharedRegion, recoveryRegion RecoveryAPI, from Origin, optFns ...func(*RecoveryOptions)) (*Recovery, error) {
	var o RecoveryOptions
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case sharedRegion == nil || recoveryRegion == nil:
		return nil, fmt.Errorf("%w: the recovery side needs an RDS client in the source region and one in the recovery region", ErrInvalidInput)
	case len(from.Accounts) == 0 || from.Region == "":
		return nil, fmt.Errorf("%w: the recovery side needs the source accounts and the source region (Origin)", ErrInvalidInput)
	case awsid.Region(from.Region) != nil:
		return nil, fmt.Errorf("%w: source region %q is not a region name (e.g. eu-west-1; not an availability zone or an ARN)", ErrInvalidInput, from.Region)
	case o.MaxCopies < 0 || o.MaxAttempts < 0:
		return nil, fmt.Errorf("%w: MaxCopies and MaxAttempts can't be negative", ErrInvalidInput)
	case o.MaxCopies > 20:
		return nil, fmt.Errorf("%w: MaxCopies %d is over RDS's 20 cross-region copies in progress", ErrInvalidInput, o.MaxCopies)
	case o.CopyPath != CopyAuto && o.CopyPath != CopyTwoHop:
		return nil, fmt.Errorf("%w: CopyPath %q: want %q or %q", ErrInvalidInput, o.CopyPath, CopyAuto, CopyTwoHop)
	}
	for _, a := range from.Accounts {
		if !snaps.ValidAccount(a) {
			return nil, fmt.Errorf("%w: source account %q is not a 12-digit AWS account id", ErrInvalidInput, a)
		}
	}
	snaps.Defaults(&o.Clock, &o.MaxAttempts, &o.Logger)
	if o.MaxCopies == 0 {
		o.MaxCopies = 5
	}
	return &Recovery{shared: snaps.NewCalls(sharedRegion, o.Clock, o.MaxAttempts, o.ClientOptions),
		local: snaps.NewCalls(recoveryRegion, o.Clock, o.MaxAttempts, o.ClientOptions), from: from, opts: o, log: o.Logger}, nil
}

// NewRecoveryFromConfig returns a Recovery over rds.NewFromConfig(cfg) in from.Region and in
// cfg's region (the recovery region).
func NewRecoveryFromConfig(cfg aws.Config, from Origin, optFns ...func(*RecoveryOptions)) (*Recovery, error) {
	return NewRecovery(rds.NewFromConfig(cfg, func(o *rds.Options) { o.Region = from.Region }), rds.NewFromConfig(cfg), from, optFns...)
}

// CopyShared copies every available snapshot shared by the source accounts that has no copy
// yet (copies are recognised by their shipshape:source tag) and is not older than the newest
// copy of its database (those were trimmed by retention), at most MaxCopies in progress at
// a time; the rest wait for the next run. Copies keep the source's deterministic id; with
// several source accounts, "-" and the account follow it
// ("orders-db-202611230300-dr-111111111111"): two accounts' databases may share a name, and
// their snapshots of one minute an id. "Its database" is the source instance or cluster of
// the snapshot's account.
func (r *Recovery) CopyShared(ctx context.Context) (Summary, error) {
	m, err := snaps.ListManual(ctx, r.local)
	if err != nil {
		return Summary{}, err
	}
	return r.copyShared(ctx, m.Ours)
}

// Scheduled is the recovery side's periodic run: CopyShared, then Retain, over one listing
// of the copies in the recovery region. A failed copy does not stop retention; the errors
// are joined. The summary's RecoveryPoints are each database's newest available copy there
// (written to RecoveryOptions.Metrics when set).
func (r *Recovery) Scheduled(ctx context.Context, ret Retention) (Summary, error) {
	if err := ret.validate(); err != nil {
		return Summary{}, err
	}
	m, err := snaps.ListManual(ctx, r.local)
	if err != nil {
		return Summary{}, err
	}
	sum, cerr := r.copyShared(ctx, m.Ours)
	now := r.opts.Clock.Now()
	trimmed, err := retainList(ctx, r.local, now, ret, m.Ours)
	sum.Add(trimmed)
	// Retention keeps each database's newest copy, so the listing's newest are still there.
	sum.RecoveryPoints = recoveryPoints(m.Ours, now)
	var merr error
	if r.opts.Metrics != nil {
		merr = writeRecoveryPoints(r.opts.Metrics, sum.RecoveryPoints, now)
	}
	return sum, errors.Join(cerr, err, merr)
}

// copyRun is the state of one copy run.
type copyRun struct {
	copied     map[string]snaps.Snap // source ARN -> our copy in this region
	newest     map[string]time.Time  // per source DB (database()), the newest copy here
	staged     map[string]snaps.Snap // source ARN -> staging copy in the source region
	inProgress int
	clusters   int
	twoHop     bool
}

// copyShared copies what is shared and not among copies (this region's DR snapshots).
func (r *Recovery) copyShared(ctx context.Context, copies []snaps.Snap) (Summary, error) {
	var sum Summary
	run := copyRun{copied: map[string]snaps.Snap{}, newest: map[string]time.Time{}, staged: map[string]snaps.Snap{}, twoHop: r.opts.CopyPath == CopyTwoHop}
	for _, c := range copies {
		if t, err := time.Parse(time.RFC3339, snaps.TagValue(c.Tags, TagSourceCreated)); err == nil && t.After(run.newest[c.Database()]) {
			run.newest[c.Database()] = t
		}
		if src := snaps.TagValue(c.Tags, TagSource); src != "" {
			run.copied[src] = c
		}
		if c.Status != "available" {
			run.inProgress++
			if c.Cluster {
				run.clusters++
			}
		}
	}
	wanted := map[string]bool{}
	for _, a := range r.from.Accounts {
		wanted[a] = true
	}
	// One listing in the source region: the snapshots shared with us and our own staging
	// copies (IncludeShared with no type lists both).
	var candidates []snaps.Snap
	if err := snaps.ListSnaps(ctx, r.shared, "", true, func(s snaps.Snap) {
		switch {
		case s.Kind == "shared" && wanted[snaps.AccountOf(s.ARN)]: // others are shared by accounts we don't recover
			candidates = append(candidates, s)
		case s.Kind == "manual" && snaps.TagValue(s.Tags, TagDR) == "staging":
			run.staged[snaps.TagValue(s.Tags, TagSource)] = s
		}
	}); err != nil {
		return sum, errtext.Wrap("dr", "in "+r.from.Region, err)
	}
	// Oldest first: a snapshot left for the next run (MaxCopies) is then always newer than
	// the newest copy, and is not mistaken for one that retention trimmed.
	snaps.SortNewestFirst(candidates)
	slices.Reverse(candidates)
	for _, sn := range candidates {
		if err := r.copyOne(ctx, &run, sn, &sum); err != nil {
			return sum, err
		}
	}
	// Staging copies whose final copy is available here (or whose snapshot is no longer
	// wanted: older than the newest copy) are deleted; ones still copying wait.
	for src, st := range run.staged {
		final, done := run.copied[src]
		obsolete := !done && !st.Created.After(run.newest[st.Database()]) && !run.newest[st.Database()].IsZero()
		if st.Status != "available" || !(done && final.Status == "available" || obsolete) {
			continue
		}
		if !Owned(st.ID) {
			sum.Skipped = append(sum.Skipped, Item{ID: st.Name(), Reason: "staging copy in " + r.from.Region + " no longer needed, but named before the " + NamePrefix +
				" prefix, which is all the function may delete: delete it by hand"})
			continue
		}
		if err := snaps.DeleteSnap(ctx, r.shared, st); err != nil {
			return sum, errtext.Wrap("dr", "deleting the staging copy "+st.Name()+" in "+r.from.Region, err)
		}
		sum.Deleted = append(sum.Deleted, Item{ID: st.Name(), Reason: "staging copy in " + r.from.Region + " (two-hop path), no longer needed"})
	}
	return sum, nil
}

// copyOne copies one shared snapshot into this region, in one step or two.
func (r *Recovery) copyOne(ctx context.Context, run *copyRun, sn snaps.Snap, sum *Summary) error {
	arn, id := sn.ARN, sn.Name()
	switch {
	case run.copied[arn].ID != "":
		sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "already copied"})
		return nil
	case sn.Created.Before(run.newest[sn.Database()]):
		// Older than a copy we hold: retention trimmed it (or will); copying it again
		// would start a copy-trim loop that pays a cross-region transfer every run.
		sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "older than the newest copy of " + sn.DB + " of account " + sn.Origin()})
		return nil
	case sn.Status != "available":
		sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "not available yet"})
		return nil
	}
	if st, ok := run.staged[arn]; ok {
		return r.secondHop(ctx, run, sn, st, sum)
	}
	if !run.twoHop {
		if full := r.full(run, sn, sum); full {
			return nil
		}
		if sn.Encrypted && r.opts.KMSKeyID == "" {
			return fmt.Errorf("%w: %s is encrypted; copying it into this region needs RecoveryOptions.KMSKeyID, a key in this region", ErrInvalidInput, arn)
		}
		err := snaps.CopySnap(ctx, r.local, r.finalCopy(sn, arn))
		switch {
		case err == nil:
			r.started(run, sn, arn, sum, "from "+arn)
			return nil
		case snaps.SnapshotExists(err):
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "a snapshot with this id exists already (not ours?): check it"})
			return nil
		case snaps.QuotaExceeded(err):
			return errtext.Join("dr", fmt.Errorf("%w: copying %s: manual snapshots or copies in progress in this region", ErrQuota, arn), err)
		case snaps.SingleStepRefused(err):
			run.twoHop = true
			msg := fmt.Sprintf("a single-step copy of %s from %s was refused (%s): copying in two hops for the rest of the run", arn, r.from.Region, errtext.Strip("dr", err.Error()))
			r.log.Warn("dr: " + msg)
			sum.Warnings = append(sum.Warnings, msg)
		default:
			return errtext.Wrap("dr", "copying "+arn, err)
		}
	}
	return r.firstHop(ctx, run, sn, sum)
}

// finalCopy is the copy into this region of source (the shared snapshot, or its staging copy).
func (r *Recovery) finalCopy(sn snaps.Snap, source string) snaps.CopyRequest {
	req := snaps.CopyRequest{Cluster: sn.Cluster, Source: source, Target: r.copyID(sn), SourceRegion: r.from.Region,
		Tags: []types.Tag{snaps.Tag(TagDR, "true"), snaps.Tag(TagSource, sn.ARN), snaps.Tag(TagSourceAccount, snaps.AccountOf(sn.ARN)), snaps.Tag(TagSourceCreated, sn.Created.UTC().Format(time.RFC3339))}}
	if sn.Encrypted {
		req.KMSKey = r.opts.KMSKeyID
	}
	return req
}

// full says whether another copy into this region must wait for the next run.
func (r *Recovery) full(run *copyRun, sn snaps.Snap, sum *Summary) bool {
	switch {
	case run.inProgress >= r.opts.MaxCopies:
		sum.Skipped = append(sum.Skipped, Item{ID: sn.Name(), Reason: fmt.Sprintf("%d copies in progress (MaxCopies): next run", run.inProgress)})
		return true
	case sn.Cluster && run.clusters >= maxClusterCopies:
		sum.Skipped = append(sum.Skipped, Item{ID: sn.Name(), Reason: fmt.Sprintf("%d cluster snapshot copies in progress (RDS allows %d across regions): next run", run.clusters, maxClusterCopies)})
		return true
	}
	return false
}

func (r *Recovery) started(run *copyRun, sn snaps.Snap, arn string, sum *Summary, reason string) {
	run.inProgress++
	if sn.Cluster {
		run.clusters++
	}
	run.copied[arn] = snaps.Snap{ID: r.copyID(sn), Status: "creating"}
	sum.Copied = append(sum.Copied, Item{ID: snaps.Snap{Cluster: sn.Cluster, ID: r.copyID(sn)}.Name(), Reason: reason})
}

// copyID is the id of a shared snapshot's copy in this region: the source side's CopyID
// (a shared copy named before the prefix, "orders-db-202611230300-dr", gets the prefixed form
// "shipshape-dr-orders-db-202611230300"), and with several source accounts "-" and the
// account after it: two accounts' databases may share a name, and their snapshots of the
// same minute an id.
func (r *Recovery) copyID(sn snaps.Snap) string {
	suffix := ""
	if len(r.from.Accounts) > 1 {
		suffix = "-" + snaps.AccountOf(sn.ARN)
	}
	id := snaps.FitID(PrefixCopy, snaps.LegacyCopyName(sn.ID), suffix)
	return id
}

// stagingID is the id of a snapshot's staging copy in the source region.
func stagingID(id string) string {
	out := snaps.FitID(PrefixCopy, strings.TrimPrefix(id, PrefixCopy), "-staging")
	return out
}

// firstHop copies a shared snapshot into the recovery account within the source region.
func (r *Recovery) firstHop(ctx context.Context, run *copyRun, sn snaps.Snap, sum *Summary) error {
	st := snaps.Snap{Cluster: sn.Cluster, ID: stagingID(r.copyID(sn))}
	req := snaps.CopyRequest{Cluster: sn.Cluster, Source: sn.ARN, Target: st.ID,
		Tags: []types.Tag{snaps.Tag(TagDR, "staging"), snaps.Tag(TagSource, sn.ARN), snaps.Tag(TagSourceAccount, snaps.AccountOf(sn.ARN)), snaps.Tag(TagSourceCreated, sn.Created.UTC().Format(time.RFC3339))}}
	if sn.Encrypted {
		if r.opts.StagingKMSKeyID == "" {
			return fmt.Errorf("%w: %s is encrypted and must be copied in two hops: the staging copy in %s needs RecoveryOptions.StagingKMSKeyID (DR_STAGING_KMS_KEY_ID), a key of this account in %s",
				ErrInvalidInput, sn.ARN, r.from.Region, r.from.Region)
		}
		req.KMSKey = r.opts.StagingKMSKeyID
	}
	err := snaps.CopySnap(ctx, r.shared, req)
	switch {
	case err == nil:
		sum.Copied = append(sum.Copied, Item{ID: st.Name(), Reason: "staging copy in " + r.from.Region + " of " + sn.ARN + " (two-hop path, hop 1)"})
	case snaps.SnapshotExists(err):
		// This run's listing showed no staging copy of ours with this id.
		sum.Skipped = append(sum.Skipped, Item{ID: st.Name(), Reason: "a snapshot with the staging id exists in " + r.from.Region + " and is not ours: check it"})
	case snaps.QuotaExceeded(err):
		return errtext.Join("dr", fmt.Errorf("%w: staging copy of %s in %s", ErrQuota, sn.ARN, r.from.Region), err)
	default:
		return errtext.Wrap("dr", "making the staging copy of "+sn.ARN+" in "+r.from.Region, err)
	}
	return nil
}

// secondHop copies an available staging copy across regions into its final copy.
func (r *Recovery) secondHop(ctx context.Context, run *copyRun, sn, st snaps.Snap, sum *Summary) error {
	if st.Status != "available" {
		sum.Skipped = append(sum.Skipped, Item{ID: sn.Name(), Reason: "staging copy in " + r.from.Region + " still " + st.Status + ": next run"})
		return nil
	}
	if r.full(run, sn, sum) {
		return nil
	}
	if sn.Encrypted && r.opts.KMSKeyID == "" {
		return fmt.Errorf("%w: %s is encrypted; copying it into this region needs RecoveryOptions.KMSKeyID, a key in this region", ErrInvalidInput, sn.ARN)
	}
	err := snaps.CopySnap(ctx, r.local, r.finalCopy(sn, st.ARN))
	switch {
	case err == nil:
		r.started(run, sn, sn.ARN, sum, "from "+sn.ARN+" through the staging copy "+st.ID+" (two-hop path, hop 2)")
	case snaps.SnapshotExists(err):
		sum.Skipped = append(sum.Skipped, Item{ID: sn.Name(), Reason: "a snapshot with this id exists already (not ours?): check it"})
	case snaps.QuotaExceeded(err):
		return errtext.Join("dr", fmt.Errorf("%w: copying %s: manual snapshots or copies in progress in this region", ErrQuota, st.ARN), err)
	default:
		return errtext.Wrap("dr", "copying the staging copy "+st.ARN, err)
	}
	return nil
}

// Retain trims the copies in the recovery region as Source.Retain does.
func (r *Recovery) Retain(ctx context.Context, ret Retention) (Summary, error) {
	return retain(ctx, r.local, r.opts.Clock.Now(), ret)
}
