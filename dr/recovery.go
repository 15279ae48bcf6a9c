package dr

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// RecoveryOptions configure the recovery side.
type RecoveryOptions struct {
	// SourceAccounts are the production accounts whose shared snapshots are copied. Required.
	SourceAccounts []string
	// SourceRegion is where the shared snapshots live. Required.
	SourceRegion string
	// KMSKeyID is a key in the recovery region for encrypted snapshots (RDS requires one for
	// any cross-account or cross-region copy of an encrypted snapshot).
	KMSKeyID string
	// MaxCopies bounds the copies in progress into the recovery region. Default: 5; at most
	// 20 (RDS's limit of cross-region DB snapshot copies in progress per destination region
	// and account). Aurora DB cluster snapshot copies are further held to RDS's limit of 5.
	MaxCopies int
	// Now is the clock for retention ages. Default: time.Now.
	Now func() time.Time
	// Logger receives Debug lines. Default: discard.
	Logger *slog.Logger
}

// maxClusterCopies is RDS's limit of DB cluster snapshot copies in progress from one region
// to another, per account.
const maxClusterCopies = 5

// Recovery copies the snapshots shared with the recovery account into the recovery region,
// and trims old copies, in the recovery account.
type Recovery struct {
	shared RDSAPI // recovery account, source region: lists the shared snapshots
	local  RDSAPI // recovery account, recovery region: holds the copies
	opts   RecoveryOptions
	log    *slog.Logger
}

// NewRecovery returns a Recovery over two clients of the recovery account: one in the source
// region (to see the shared snapshots) and one in the recovery region (to copy into).
func NewRecovery(sharedRegion, recoveryRegion RDSAPI, optFns ...func(*RecoveryOptions)) (*Recovery, error) {
	var o RecoveryOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if len(o.SourceAccounts) == 0 || o.SourceRegion == "" {
		return nil, fmt.Errorf("%w: the recovery side needs SourceAccounts and SourceRegion", ErrInvalidInput)
	}
	if o.MaxCopies <= 0 {
		o.MaxCopies = 5
	}
	if o.MaxCopies > 20 {
		return nil, fmt.Errorf("%w: MaxCopies %d is over RDS's 20 cross-region copies in progress", ErrInvalidInput, o.MaxCopies)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Recovery{shared: sharedRegion, local: recoveryRegion, opts: o, log: o.Logger}, nil
}

// accountOf returns the account id in a snapshot ARN.
func accountOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}

// CopyShared copies every available snapshot shared by the source accounts that has no copy
// yet (copies are recognised by their shipshape:source tag) and is not older than the newest
// copy of its database (those were trimmed by retention), at most MaxCopies in progress at
// a time; the rest wait for the next run. Copies keep the source's deterministic id.
func (r *Recovery) CopyShared(ctx context.Context) (Summary, error) {
	copies, err := ourSnaps(ctx, r.local)
	if err != nil {
		return Summary{}, err
	}
	return r.copyShared(ctx, copies)
}

// Scheduled is the recovery side's periodic run: CopyShared, then Retain, over one listing
// of the copies in the recovery region.
func (r *Recovery) Scheduled(ctx context.Context, ret Retention) (Summary, error) {
	if err := ret.validate(); err != nil {
		return Summary{}, err
	}
	copies, err := ourSnaps(ctx, r.local)
	if err != nil {
		return Summary{}, err
	}
	sum, err := r.copyShared(ctx, copies)
	if err != nil {
		return sum, err
	}
	trimmed, err := retainList(ctx, r.local, r.opts.Now(), ret, copies)
	sum.Add(trimmed)
	return sum, err
}

// copyShared copies what is shared and not among copies (this region's DR snapshots).
func (r *Recovery) copyShared(ctx context.Context, copies []snap) (Summary, error) {
	var sum Summary
	copied := map[string]bool{}
	newest := map[string]time.Time{} // per source DB, the newest copy here
	inProgress, clustersInProgress := 0, 0
	for _, c := range copies {
		if t, err := time.Parse(time.RFC3339, tagValue(c.tags, TagSourceCreated)); err == nil && t.After(newest[c.group()]) {
			newest[c.group()] = t
		}
		if src := tagValue(c.tags, TagSource); src != "" {
			copied[src] = true
		}
		if c.status == "creating" {
			inProgress++
			if c.cluster {
				clustersInProgress++
			}
		}
	}
	wanted := map[string]bool{}
	for _, a := range r.opts.SourceAccounts {
		wanted[a] = true
	}
	var candidates []snap
	if err := listSnaps(ctx, r.shared, "shared", func(s snap) {
		if wanted[accountOf(s.arn)] { // others are shared by accounts we don't recover
			candidates = append(candidates, s)
		}
	}); err != nil {
		return sum, errtext.Wrap("dr", "in "+r.opts.SourceRegion, err)
	}
	for _, snap := range candidates {
		arn, id := snap.arn, snap.name()
		switch {
		case copied[arn]:
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "already copied"})
			continue
		case snap.created.Before(newest[snap.group()]):
			// Older than a copy we hold: retention trimmed it (or will); copying it again
			// would start a copy-trim loop that pays a cross-region transfer every run.
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "older than the newest copy of " + snap.db})
			continue
		case snap.status != "available":
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "not available yet"})
			continue
		case inProgress >= r.opts.MaxCopies:
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: fmt.Sprintf("%d copies in progress (MaxCopies): next run", inProgress)})
			continue
		case snap.cluster && clustersInProgress >= maxClusterCopies:
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: fmt.Sprintf("%d cluster snapshot copies in progress (RDS allows %d across regions): next run", clustersInProgress, maxClusterCopies)})
			continue
		}
		req := copyRequest{cluster: snap.cluster, source: arn, target: snap.id, sourceRegion: r.opts.SourceRegion,
			tags: []types.Tag{{Key: aws.String(TagDR), Value: aws.String("true")}, {Key: aws.String(TagSource), Value: aws.String(arn)},
				{Key: aws.String(TagSourceCreated), Value: aws.String(snap.created.UTC().Format(time.RFC3339))}}}
		if snap.encrypted {
			if r.opts.KMSKeyID == "" {
				return sum, fmt.Errorf("%w: %s is encrypted; copying it into this region needs RecoveryOptions.KMSKeyID, a key in this region", ErrInvalidInput, arn)
			}
			req.kmsKey = r.opts.KMSKeyID
		}
		c, err := copySnap(ctx, r.local, req)
		switch c {
		case "":
			if err != nil {
				return sum, fmt.Errorf("dr: copying %s: %w", arn, err)
			}
			inProgress++
			if snap.cluster {
				clustersInProgress++
			}
			copied[arn] = true
			sum.Copied = append(sum.Copied, Item{ID: id, Reason: "from " + arn})
		case "DBSnapshotAlreadyExists":
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "a snapshot with this id exists already (not ours?): check it"})
		case "SnapshotQuotaExceeded":
			return sum, fmt.Errorf("%w: copying %s: manual snapshots or copies in progress in this region: %w", ErrQuota, arn, err)
		default:
			return sum, fmt.Errorf("dr: copying %s: %w", arn, err)
		}
	}
	return sum, nil
}

// Retain trims the copies in the recovery region as Source.Retain does.
func (r *Recovery) Retain(ctx context.Context, ret Retention) (Summary, error) {
	return retain(ctx, r.local, r.opts.Now(), ret)
}
