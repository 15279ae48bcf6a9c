package dr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"
)

// Sentinel errors.
var (
	// ErrNotReady: RDS is still busy with the snapshot (creating, copying); try again later.
	ErrNotReady = errors.New("dr: not ready yet")
	// ErrNeedsCustomerKey: an encrypted snapshot is to be shared but no customer-managed KMS
	// key was given to re-encrypt it with.
	ErrNeedsCustomerKey = errors.New("dr: encrypted snapshots can be shared across accounts only when encrypted with a customer-managed KMS key " +
		"(never with the default aws/rds key): set SourceOptions.KMSKeyID to a customer-managed key the recovery account may use")
	// ErrQuota: an RDS quota stops the work (manual snapshots per region, concurrent copies).
	ErrQuota = errors.New("dr: RDS quota reached")
)

// SourceOptions configure the source side.
type SourceOptions struct {
	// KMSKeyID re-encrypts encrypted copies with this customer-managed key. Required when
	// ShareWith is set and the snapshot is encrypted.
	KMSKeyID string
	// ShareWith are the recovery account ids (at most 20, RDS's limit per snapshot).
	ShareWith []string
	// Now is the clock for retention ages. Default: time.Now.
	Now func() time.Time
	// Logger receives Debug lines. Default: discard.
	Logger *slog.Logger
}

// Source copies automated snapshots to manual DR snapshots, shares them with the recovery
// account(s), and trims old DR snapshots, in the production account.
type Source struct {
	rds  RDSAPI
	opts SourceOptions
	log  *slog.Logger
}

// NewSource returns a Source; more than 20 accounts to share with is an error.
func NewSource(client RDSAPI, optFns ...func(*SourceOptions)) (*Source, error) {
	var o SourceOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if len(o.ShareWith) > 20 {
		return nil, fmt.Errorf("%w: a snapshot can be shared with at most 20 accounts, not %d", ErrInvalidInput, len(o.ShareWith))
	}
	for _, a := range o.ShareWith {
		if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
			return nil, fmt.Errorf("%w: %q is not a 12-digit AWS account id", ErrInvalidInput, a)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Source{rds: client, opts: o, log: o.Logger}, nil
}

// Item is one snapshot a run did something with, or skipped, and why.
type Item struct {
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// Summary says what a run did.
type Summary struct {
	Copied  []Item `json:"copied,omitempty"`
	Shared  []Item `json:"shared,omitempty"`
	Deleted []Item `json:"deleted,omitempty"`
	Skipped []Item `json:"skipped,omitempty"`
}

func code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// CopyAutomated copies one automated DB snapshot ("rds:orders-db-2026-11-23-03-00" or
// without the prefix) to a manual DR snapshot with a deterministic id, tagged as ours,
// re-encrypted with SourceOptions.KMSKeyID when given. A copy that already exists counts as
// done; a snapshot still being created gives ErrNotReady.
func (s *Source) CopyAutomated(ctx context.Context, snapshotID string) (Summary, error) {
	id := withPrefix(snapshotID)
	out, err := s.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id), SnapshotType: aws.String("automated")})
	var found []snap
	if err == nil {
		for _, x := range out.DBSnapshots {
			found = append(found, fromInstance(x))
		}
	}
	return s.copyAutomated(ctx, id, found, err)
}

// CopyAutomatedCluster is CopyAutomated for an automated Aurora DB cluster snapshot.
func (s *Source) CopyAutomatedCluster(ctx context.Context, snapshotID string) (Summary, error) {
	id := withPrefix(snapshotID)
	out, err := s.rds.DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String(id), SnapshotType: aws.String("automated")})
	var found []snap
	if err == nil {
		for _, x := range out.DBClusterSnapshots {
			found = append(found, fromCluster(x))
		}
	}
	return s.copyAutomated(ctx, "cluster:"+id, found, err)
}

// CopyEvent copies the automated snapshot an RDS event reports, of either kind.
func (s *Source) CopyEvent(ctx context.Context, ev SnapshotEvent) (Summary, error) {
	if ev.Cluster {
		return s.CopyAutomatedCluster(ctx, ev.SnapshotID)
	}
	return s.CopyAutomated(ctx, ev.SnapshotID)
}

func withPrefix(id string) string {
	if !strings.HasPrefix(id, "rds:") {
		return "rds:" + id
	}
	return id
}

// copyAutomated copies the automated snapshot that describing name found.
func (s *Source) copyAutomated(ctx context.Context, name string, found []snap, err error) (Summary, error) {
	var sum Summary
	if err != nil {
		if normalCode(err) == "DBSnapshotNotFound" {
			sum.Skipped = append(sum.Skipped, Item{ID: name, Reason: "no such automated snapshot (deleted since the event?)"})
			return sum, nil
		}
		return sum, fmt.Errorf("dr: describing %s: %w", name, err)
	}
	if len(found) == 0 {
		sum.Skipped = append(sum.Skipped, Item{ID: name, Reason: "no such automated snapshot"})
		return sum, nil
	}
	snap := found[0]
	if snap.status != "available" {
		return sum, fmt.Errorf("%w: %s is %s", ErrNotReady, name, snap.status)
	}
	target, err := CopyID(snap.db, snap.created)
	if err != nil {
		return sum, err
	}
	req := copyRequest{cluster: snap.cluster, source: snap.arn, target: target,
		tags: []types.Tag{{Key: aws.String(TagDR), Value: aws.String("true")}, {Key: aws.String(TagSource), Value: aws.String(snap.arn)}}}
	if snap.encrypted {
		switch {
		case s.opts.KMSKeyID != "":
			req.kmsKey = s.opts.KMSKeyID
		case len(s.opts.ShareWith) > 0:
			return sum, fmt.Errorf("%w (snapshot %s is encrypted with %s)", ErrNeedsCustomerKey, name, snap.kmsKey)
		}
	}
	done := snap
	done.id = target
	c, err := copySnap(ctx, s.rds, req)
	switch c {
	case "":
		if err != nil {
			return sum, fmt.Errorf("dr: copying %s to %s: %w", name, target, err)
		}
		sum.Copied = append(sum.Copied, Item{ID: done.name(), Reason: "copy of " + name})
	case "DBSnapshotAlreadyExists":
		sum.Skipped = append(sum.Skipped, Item{ID: done.name(), Reason: "already copied"})
	case "SnapshotQuotaExceeded":
		return sum, fmt.Errorf("%w: manual snapshots per region (default 100): copying %s to %s: trim old DR snapshots (retention) or raise the quota: %w", ErrQuota, name, target, err)
	default:
		return sum, fmt.Errorf("dr: copying %s to %s: %w", name, target, err)
	}
	return sum, nil
}

// ours lists the DR snapshots (tagged TagDR=true) of the client's account and region, all pages.
func ours(ctx context.Context, client RDSAPI) ([]types.DBSnapshot, error) {
	var out []types.DBSnapshot
	p := rds.NewDescribeDBSnapshotsPaginator(client, &rds.DescribeDBSnapshotsInput{SnapshotType: aws.String("manual"), MaxRecords: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dr: listing manual snapshots: %w", err)
		}
		for _, snap := range page.DBSnapshots {
			if tagged(snap.TagList) {
				out = append(out, snap)
			}
		}
	}
	return out, nil
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func tagged(tags []types.Tag) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == TagDR && aws.ToString(t.Value) == "true" {
			return true
		}
	}
	return false
}

// ShareAvailable shares every available DR snapshot with the recovery account(s) it is not
// shared with yet. Snapshots tagged as shared with exactly the configured accounts are
// skipped without a call; for the others the restore attribute is read, the missing
// accounts added, and the tag set.
// RDS emits no event when a copy completes, so this runs on a schedule.
func (s *Source) ShareAvailable(ctx context.Context) (Summary, error) {
	var sum Summary
	if len(s.opts.ShareWith) == 0 {
		return sum, fmt.Errorf("%w: no recovery account to share with (SourceOptions.ShareWith)", ErrInvalidInput)
	}
	snaps, err := ourSnaps(ctx, s.rds)
	if err != nil {
		return sum, err
	}
	return s.share(ctx, snaps)
}

// Scheduled is the source side's periodic run: ShareAvailable, then Retain, over one
// listing of the DR snapshots (a run lists them once, not twice).
func (s *Source) Scheduled(ctx context.Context, r Retention) (Summary, error) {
	var sum Summary
	if len(s.opts.ShareWith) == 0 {
		return sum, fmt.Errorf("%w: no recovery account to share with (SourceOptions.ShareWith)", ErrInvalidInput)
	}
	if err := r.validate(); err != nil {
		return sum, err
	}
	snaps, err := ourSnaps(ctx, s.rds)
	if err != nil {
		return sum, err
	}
	sum, err = s.share(ctx, snaps)
	if err != nil {
		return sum, err
	}
	trimmed, err := retainList(ctx, s.rds, s.opts.Now(), r, snaps)
	sum.Add(trimmed)
	return sum, err
}

// share shares the available snapshots of snaps that are not shared yet.
func (s *Source) share(ctx context.Context, snaps []snap) (Summary, error) {
	var sum Summary
	want := append([]string(nil), s.opts.ShareWith...)
	sort.Strings(want)
	wantTag := strings.Join(want, "+")
	for _, snap := range snaps {
		id := snap.name()
		if snap.status != "available" {
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "still " + snap.status})
			continue
		}
		if tagValue(snap.tags, TagSharedWith) == wantTag {
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "already shared"})
			continue
		}
		have, err := restoreAccounts(ctx, s.rds, snap)
		if err != nil {
			return sum, fmt.Errorf("dr: reading who %s is shared with: %w", id, err)
		}
		var missing []string
		for _, acct := range s.opts.ShareWith {
			if !have[acct] {
				missing = append(missing, acct)
			}
		}
		if len(missing) > 0 {
			if err := shareWith(ctx, s.rds, snap, missing); err != nil {
				return sum, fmt.Errorf("dr: sharing %s with %v: %w", id, missing, err)
			}
			sum.Shared = append(sum.Shared, Item{ID: id, Reason: "with " + strings.Join(missing, ", ")})
		} else {
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "already shared"})
		}
		// Remember it (after sharing, so a crash in between only costs one more attribute read).
		if _, err := s.rds.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String(snap.arn),
			Tags: []types.Tag{{Key: aws.String(TagSharedWith), Value: aws.String(wantTag)}}}); err != nil {
			return sum, fmt.Errorf("dr: tagging %s as shared: %w", id, err)
		}
	}
	return sum, nil
}

// Retention says which DR snapshots to keep.
type Retention struct {
	// Keep is how many of the newest DR snapshots to keep per source instance or cluster
	// (0: no limit).
	Keep int
	// MaxAge deletes DR snapshots older than this (0: no limit).
	MaxAge time.Duration
}

// Retain deletes DR snapshots (DB and cluster snapshots) beyond Retention, per source
// instance or cluster. It only ever deletes snapshots tagged shipshape:dr=true, and always
// keeps the newest available one of each, whatever the limits say.
func (s *Source) Retain(ctx context.Context, r Retention) (Summary, error) {
	return retain(ctx, s.rds, s.opts.Now(), r)
}

// retain applies r to the DR snapshots of client's account and region.
func retain(ctx context.Context, client RDSAPI, now time.Time, r Retention) (Summary, error) {
	if err := r.validate(); err != nil {
		return Summary{}, err
	}
	snaps, err := ourSnaps(ctx, client)
	if err != nil {
		return Summary{}, err
	}
	return retainList(ctx, client, now, r, snaps)
}

func (r Retention) validate() error {
	if r.Keep < 0 || r.MaxAge < 0 || (r.Keep == 0 && r.MaxAge == 0) {
		return fmt.Errorf("%w: retention needs Keep >= 1 and/or MaxAge > 0", ErrInvalidInput)
	}
	return nil
}

// retainList applies r to snaps, the DR snapshots of client's account and region as listed
// earlier in the run. A snapshot created since is missing from it, which can only make
// retention keep more, never delete more.
func retainList(ctx context.Context, client RDSAPI, now time.Time, r Retention, snaps []snap) (Summary, error) {
	var sum Summary
	byDB := map[string][]snap{}
	for _, snap := range snaps {
		byDB[snap.group()] = append(byDB[snap.group()], snap)
	}
	for _, list := range byDB {
		sort.Slice(list, func(i, j int) bool { return list[i].created.After(list[j].created) })
		keptAvailable := false
		for i, snap := range list {
			id := snap.name()
			available := snap.status == "available"
			tooMany := r.Keep > 0 && i >= r.Keep
			tooOld := r.MaxAge > 0 && now.Sub(snap.created) > r.MaxAge
			switch {
			case !available:
				sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "not available (" + snap.status + ")"})
			case !keptAvailable:
				keptAvailable = true // the newest available one always stays
			case tooMany || tooOld:
				if err := deleteSnap(ctx, client, snap); err != nil {
					return sum, fmt.Errorf("dr: deleting %s: %w", id, err)
				}
				reason := "beyond the newest " + fmt.Sprint(r.Keep)
				if tooOld {
					reason = "older than " + r.MaxAge.String()
				}
				sum.Deleted = append(sum.Deleted, Item{ID: id, Reason: reason})
			}
		}
	}
	return sum, nil
}

// ParseRetention reads a retention from text settings (environment variables of the
// Lambdas): keep is a whole number of snapshots per instance (default 7), maxAge a Go
// duration such as "720h" (empty: no age limit). Errors name the setting.
func ParseRetention(keep, maxAge string) (Retention, error) {
	r := Retention{Keep: 7}
	if keep != "" {
		n, err := strconv.Atoi(keep)
		if err != nil || n < 1 {
			return r, fmt.Errorf("%w: keep %q: want a whole number, 1 or more", ErrInvalidInput, keep)
		}
		r.Keep = n
	}
	if maxAge != "" {
		d, err := time.ParseDuration(maxAge)
		if err != nil || d <= 0 {
			return r, fmt.Errorf("%w: max age %q: want a duration like 720h", ErrInvalidInput, maxAge)
		}
		r.MaxAge = d
	}
	return r, nil
}
