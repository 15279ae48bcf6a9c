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

// CopyAutomated copies one automated snapshot ("rds:orders-db-2026-11-23-03-00" or without
// the prefix) to a manual DR snapshot with a deterministic id, tagged as ours, re-encrypted
// with SourceOptions.KMSKeyID when given. A copy that already exists counts as done; a
// snapshot still being created gives ErrNotReady.
func (s *Source) CopyAutomated(ctx context.Context, snapshotID string) (Summary, error) {
	var sum Summary
	id := snapshotID
	if !strings.HasPrefix(id, "rds:") {
		id = "rds:" + id
	}
	out, err := s.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id), SnapshotType: aws.String("automated")})
	if err != nil {
		if code(err) == "DBSnapshotNotFound" {
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "no such automated snapshot (deleted since the event?)"})
			return sum, nil
		}
		return sum, fmt.Errorf("dr: describing %s: %w", id, err)
	}
	if len(out.DBSnapshots) == 0 {
		sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "no such automated snapshot"})
		return sum, nil
	}
	snap := out.DBSnapshots[0]
	if st := aws.ToString(snap.Status); st != "available" {
		return sum, fmt.Errorf("%w: %s is %s", ErrNotReady, id, st)
	}
	target, err := CopyID(aws.ToString(snap.DBInstanceIdentifier), aws.ToTime(snap.SnapshotCreateTime))
	if err != nil {
		return sum, err
	}
	in := &rds.CopyDBSnapshotInput{
		SourceDBSnapshotIdentifier: snap.DBSnapshotArn,
		TargetDBSnapshotIdentifier: aws.String(target),
		Tags: []types.Tag{{Key: aws.String(TagDR), Value: aws.String("true")},
			{Key: aws.String(TagSource), Value: snap.DBSnapshotArn}},
	}
	if aws.ToBool(snap.Encrypted) {
		switch {
		case s.opts.KMSKeyID != "":
			in.KmsKeyId = aws.String(s.opts.KMSKeyID)
		case len(s.opts.ShareWith) > 0:
			return sum, fmt.Errorf("%w (snapshot %s is encrypted with %s)", ErrNeedsCustomerKey, id, aws.ToString(snap.KmsKeyId))
		}
	}
	_, err = s.rds.CopyDBSnapshot(ctx, in)
	switch code(err) {
	case "":
		sum.Copied = append(sum.Copied, Item{ID: target, Reason: "copy of " + id})
	case "DBSnapshotAlreadyExists":
		sum.Skipped = append(sum.Skipped, Item{ID: target, Reason: "already copied"})
	case "SnapshotQuotaExceeded":
		return sum, fmt.Errorf("%w: manual snapshots per region (default 100): copying %s to %s: trim old DR snapshots (retention) or raise the quota: %w", ErrQuota, id, target, err)
	default:
		return sum, fmt.Errorf("dr: copying %s to %s: %w", id, target, err)
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
	snaps, err := ours(ctx, s.rds)
	if err != nil {
		return sum, err
	}
	want := append([]string(nil), s.opts.ShareWith...)
	sort.Strings(want)
	wantTag := strings.Join(want, "+")
	for _, snap := range snaps {
		id := aws.ToString(snap.DBSnapshotIdentifier)
		if st := aws.ToString(snap.Status); st != "available" {
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "still " + st})
			continue
		}
		if tagValue(snap.TagList, TagSharedWith) == wantTag {
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "already shared"})
			continue
		}
		attrs, err := s.rds.DescribeDBSnapshotAttributes(ctx, &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: aws.String(id)})
		if err != nil {
			return sum, fmt.Errorf("dr: reading who %s is shared with: %w", id, err)
		}
		have := map[string]bool{}
		if r := attrs.DBSnapshotAttributesResult; r != nil {
			for _, a := range r.DBSnapshotAttributes {
				if aws.ToString(a.AttributeName) == "restore" {
					for _, v := range a.AttributeValues {
						have[v] = true
					}
				}
			}
		}
		var missing []string
		for _, acct := range s.opts.ShareWith {
			if !have[acct] {
				missing = append(missing, acct)
			}
		}
		if len(missing) > 0 {
			if _, err := s.rds.ModifyDBSnapshotAttribute(ctx, &rds.ModifyDBSnapshotAttributeInput{DBSnapshotIdentifier: aws.String(id),
				AttributeName: aws.String("restore"), ValuesToAdd: missing}); err != nil {
				return sum, fmt.Errorf("dr: sharing %s with %v: %w", id, missing, err)
			}
			sum.Shared = append(sum.Shared, Item{ID: id, Reason: "with " + strings.Join(missing, ", ")})
		} else {
			sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "already shared"})
		}
		// Remember it (after sharing, so a crash in between only costs one more attribute read).
		if _, err := s.rds.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: snap.DBSnapshotArn,
			Tags: []types.Tag{{Key: aws.String(TagSharedWith), Value: aws.String(wantTag)}}}); err != nil {
			return sum, fmt.Errorf("dr: tagging %s as shared: %w", id, err)
		}
	}
	return sum, nil
}

// Retention says which DR snapshots to keep.
type Retention struct {
	// Keep is how many of the newest DR snapshots to keep per source instance (0: no limit).
	Keep int
	// MaxAge deletes DR snapshots older than this (0: no limit).
	MaxAge time.Duration
}

// Retain deletes DR snapshots beyond Retention, per source instance. It only ever deletes
// snapshots tagged shipshape:dr=true, and always keeps the newest available one of each
// instance, whatever the limits say.
func (s *Source) Retain(ctx context.Context, r Retention) (Summary, error) {
	return retain(ctx, s.rds, s.opts.Now(), r)
}

// retain applies r to the DR snapshots of client's account and region.
func retain(ctx context.Context, client RDSAPI, now time.Time, r Retention) (Summary, error) {
	var sum Summary
	if r.Keep < 0 || r.MaxAge < 0 || (r.Keep == 0 && r.MaxAge == 0) {
		return sum, fmt.Errorf("%w: retention needs Keep >= 1 and/or MaxAge > 0", ErrInvalidInput)
	}
	snaps, err := ours(ctx, client)
	if err != nil {
		return sum, err
	}
	byInstance := map[string][]types.DBSnapshot{}
	for _, snap := range snaps {
		byInstance[aws.ToString(snap.DBInstanceIdentifier)] = append(byInstance[aws.ToString(snap.DBInstanceIdentifier)], snap)
	}
	for _, list := range byInstance {
		sort.Slice(list, func(i, j int) bool {
			return aws.ToTime(list[i].SnapshotCreateTime).After(aws.ToTime(list[j].SnapshotCreateTime))
		})
		keptAvailable := false
		for i, snap := range list {
			id := aws.ToString(snap.DBSnapshotIdentifier)
			available := aws.ToString(snap.Status) == "available"
			tooMany := r.Keep > 0 && i >= r.Keep
			tooOld := r.MaxAge > 0 && now.Sub(aws.ToTime(snap.SnapshotCreateTime)) > r.MaxAge
			switch {
			case !available:
				sum.Skipped = append(sum.Skipped, Item{ID: id, Reason: "not available (" + aws.ToString(snap.Status) + ")"})
			case !keptAvailable:
				keptAvailable = true // the newest available one always stays
			case tooMany || tooOld:
				if _, err := client.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String(id)}); err != nil && code(err) != "DBSnapshotNotFound" {
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
