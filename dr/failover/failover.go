package failover

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/internal/restoring"
	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
	"github.com/shipshape-dev/shipshape/internal/awsretry"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// Tags of a failover's resources, besides TagDR (restored, or rehearsal), TagSource (the
// snapshot restored) and, on a rehearsal's, TagRun.
const (
	// TagRestoredAt is when a failover restored the instance (RFC 3339).
	TagRestoredAt = "shipshape:restored-at"
	// TagRecoveryPoint is when the restored copy's data was taken (RFC 3339): with
	// TagSourceDatabase, a rerun attaches only to a restore of its own database, and reports
	// what the restore holds, even when the copy is gone since.
	TagRecoveryPoint = "shipshape:recovery-point"
	// TagDNSRecord is the record a failover switches and TagDNSPrevious the value it had
	// before the failover ("" when there was none), kept from the first run: a rerun after
	// the switch still prints the rollback to the value before the failover.
	TagDNSRecord   = "shipshape:dns-record"
	TagDNSPrevious = "shipshape:dns-previous"
)

// reservedKind reports whether an identifier starts with the prefix of a kind of name the
// functions make (a failover target there could be tagged and deleted by them), in any case
// (RDS stores identifiers in lower case).
func reservedKind(id string) bool {
	for _, p := range dr.Kinds() {
		if strings.HasPrefix(strings.ToLower(id), p) {
			return true
		}
	}
	return false
}

// FailoverTarget is what a failover restores and under which identifier: the newest
// available DR copy of SourceInstance (a DB instance) or SourceCluster (an Aurora cluster) in
// this account and region, or SnapshotID (a DB cluster snapshot when Cluster is set), into
// TargetID with InstanceClass. Required.
type FailoverTarget struct {
	SourceInstance string
	SourceCluster  string
	// SourceAccount is the account whose SourceInstance or SourceCluster is meant (12
	// digits), when several source accounts each have a database of that name. Default:
	// none; then a name whose copies come from more than one account is an
	// *AmbiguousSourceError before anything is restored.
	SourceAccount string
	SnapshotID    string
	Cluster       bool
	TargetID      string
	InstanceClass string
}

func (t FailoverTarget) cluster() bool { return t.SourceCluster != "" || t.Cluster }

// database is the source instance or cluster ("" when only a snapshot is given).
func (t FailoverTarget) database() string { return cmp.Or(t.SourceInstance, t.SourceCluster) }

// DNSRecord is the CNAME applications use: UPSERT to the new endpoint once it is available.
type DNSRecord struct {
	ZoneID string // the hosted zone (private or public), e.g. Z0123456789ABC
	Name   string // e.g. orders-db.internal.example.com
	TTL    int64  // default 60 s
}

// FailoverOptions are the optional settings of a Restorer. A zero value means the default.
type FailoverOptions struct {
	// Where and how the restored database runs. Defaults: the account's default subnet group
	// and security group, the engine's default parameter and option groups, single-AZ.
	SubnetGroup           string
	SecurityGroups        []string
	ParameterGroup        string // DB parameter group (of the instance; of the Aurora instance)
	ClusterParameterGroup string // Aurora: DB cluster parameter group
	OptionGroup           string
	MultiAZ               bool
	// NoDeletionProtection restores without deletion protection. Default: protected (a
	// failover's database is production now).
	NoDeletionProtection bool
	// Engine of a restored Aurora cluster. Default: the snapshot's.
	Engine string
	// DNS, with Route53, switches a CNAME to the new endpoint once it is available.
	DNS     *DNSRecord
	Route53 Route53API
	// Timeout bounds the wait for the restore and for the DNS change. Default: 2 hours.
	Timeout time.Duration
	// Poll is the time between status checks. Default: 30 s.
	Poll time.Duration
	// Progress, when set, receives a line per step and per wait round.
	Progress func(string)
	// MaxAttempts per RDS or Route 53 call (the SDK's standard retryer). Default: 5.
	MaxAttempts          int
	ClientOptions        []func(*rds.Options)
	Route53ClientOptions []func(*route53.Options)
	// Clock times the waits, the recovery figures and the retry backoff. Default: the wall clock.
	Clock clock.Clock
	// Logger receives Debug lines. Default: discard.
	Logger *slog.Logger
}

// Restorer restores the latest DR copy in the recovery region and switches DNS to it: the
// failover itself, or a rehearsal of it that always cleans up. It is safe for concurrent use.
type Restorer struct {
	rds     snaps.Calls[restoring.API]
	r53     Route53API
	r53Opts []func(*route53.Options)
	target  FailoverTarget
	o       FailoverOptions
	w       *restoring.Verifier // waits, progress, checks
}

// NewRestorer returns a Restorer. The error, wrapping ErrInvalidInput, is for settings that
// can't work; NewRestorer makes no call.
func NewRestorer(client RestorerAPI, target FailoverTarget, optFns ...func(*FailoverOptions)) (*Restorer, error) {
	var o FailoverOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if err := restoring.CheckSource(client, target.SnapshotID, target.SourceInstance, target.SourceCluster,
		"the snapshot, the source instance or the source cluster whose newest DR copy to restore"); err != nil {
		return nil, err
	}
	if err := restoring.CheckAccount(target.SourceAccount, target.SnapshotID); err != nil {
		return nil, err
	}
	switch {
	case !snaps.ValidName(target.TargetID):
		return nil, fmt.Errorf("%w: target identifier %q: want %s", dr.ErrInvalidInput, target.TargetID, restoring.NameRule)
	case !dr.Owned(target.TargetID) || reservedKind(target.TargetID):
		return nil, fmt.Errorf("%w: target identifier %q: it must start with %q (the IAM policy lets a failover create and tag only such names; the applications use the DNS record) "+
			"and not with %s (the names of the other functions)", dr.ErrInvalidInput, target.TargetID, dr.NamePrefix, strings.Join(dr.Kinds(), ", "))
	case target.InstanceClass == "" || !strings.HasPrefix(target.InstanceClass, "db."):
		return nil, fmt.Errorf("%w: the instance class of the restored database is required (e.g. db.r6g.large), not %q", dr.ErrInvalidInput, target.InstanceClass)
	case o.Timeout < 0 || o.Poll < 0 || o.MaxAttempts < 0:
		return nil, fmt.Errorf("%w: Timeout, Poll and MaxAttempts can't be negative", dr.ErrInvalidInput)
	case target.cluster() && o.MultiAZ:
		return nil, fmt.Errorf("%w: Multi-AZ is an instance setting: an Aurora cluster gets more instances instead", dr.ErrInvalidInput)
	case !target.cluster() && o.ClusterParameterGroup != "":
		return nil, fmt.Errorf("%w: a cluster parameter group is for Aurora clusters", dr.ErrInvalidInput)
	}
	if o.DNS != nil {
		switch {
		case o.Route53 == nil:
			return nil, fmt.Errorf("%w: a DNS switch needs a Route 53 client", dr.ErrInvalidInput)
		case o.DNS.ZoneID == "" || o.DNS.Name == "" || strings.ContainsAny(o.DNS.Name, " /") || !strings.Contains(o.DNS.Name, "."):
			return nil, fmt.Errorf("%w: the DNS record needs a hosted zone id and a fully qualified name, not %q in %q", dr.ErrInvalidInput, o.DNS.Name, o.DNS.ZoneID)
		case o.DNS.TTL < 0 || o.DNS.TTL > 172800:
			return nil, fmt.Errorf("%w: TTL %d: want 0 (default 60) to 172800 seconds", dr.ErrInvalidInput, o.DNS.TTL)
		}
		d := *o.DNS
		d.Name = strings.TrimSuffix(strings.ToLower(d.Name), ".")
		if d.TTL == 0 {
			d.TTL = 60
		}
		o.DNS = &d
	}
	snaps.Defaults(&o.Clock, &o.MaxAttempts, &o.Logger)
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Hour
	}
	if o.Poll == 0 {
		o.Poll = 30 * time.Second
	}
	retryer := awsretry.New(awsretry.Options{Clock: o.Clock, MaxAttempts: o.MaxAttempts})
	r := &Restorer{rds: snaps.NewCalls[restoring.API](client, o.Clock, o.MaxAttempts, o.ClientOptions), r53: o.Route53, target: target, o: o,
		r53Opts: append([]func(*route53.Options){func(ro *route53.Options) { ro.Retryer = retryer }}, o.Route53ClientOptions...)}
	r.w = &restoring.Verifier{RDS: r.rds, Target: dr.VerifyTarget{SourceInstance: target.SourceInstance, SourceCluster: target.SourceCluster, SourceAccount: target.SourceAccount,
		SnapshotID: target.SnapshotID, Cluster: target.Cluster, InstanceClass: target.InstanceClass, Engine: o.Engine},
		Opts: dr.VerifyOptions{Timeout: o.Timeout, Poll: o.Poll, Progress: o.Progress, Clock: o.Clock, SubnetGroup: o.SubnetGroup, SecurityGroups: o.SecurityGroups},
		Log:  o.Logger}
	return r, nil
}

// NewRestorerFromConfig returns a Restorer over rds.NewFromConfig(cfg), with a Route 53
// client from cfg when a DNS record is given.
func NewRestorerFromConfig(cfg aws.Config, target FailoverTarget, optFns ...func(*FailoverOptions)) (*Restorer, error) {
	return NewRestorer(rds.NewFromConfig(cfg), target, append(optFns, func(o *FailoverOptions) {
		if o.DNS != nil && o.Route53 == nil {
			o.Route53 = route53.NewFromConfig(cfg)
		}
	})...)
}

// Plan is what a failover will do, found with read-only calls (the dry run).
type Plan struct {
	Kind          string        `json:"kind"`                     // instance or cluster
	SourceAccount string        `json:"source_account,omitempty"` // whose database the snapshot holds, when known
	Snapshot      string        `json:"snapshot"`                 // the DR copy to restore (or that the attached restore holds)
	SnapshotTime  time.Time     `json:"snapshot_time"`            // when its data was taken (the recovery point); zero when unknown
	DataAge       time.Duration `json:"data_age_ns"`              // how old that data is now (0 when unknown)
	Target        string        `json:"target"`
	// Existing is what already has the target's identifier: "" (nothing: it will be
	// created), or "ours: <status>" (an earlier run: it is attached to).
	Existing string   `json:"existing,omitempty"`
	Creates  []string `json:"creates,omitempty"`
	// DNS is the change to be made, PreviousValue the record's value before the failover
	// ("" when absent): its value now, or, when an earlier run's restore is attached to, the
	// value that run found before it switched the record.
	DNS           string `json:"dns,omitempty"`
	PreviousValue string `json:"previous_value,omitempty"`
}

// FailoverResult is what a failover did.
type FailoverResult struct {
	Plan
	Endpoint string `json:"endpoint"`
	Port     int32  `json:"port"`
	Attached bool   `json:"attached"` // an earlier run's restore was found and waited for
	// RecoveryPoint is the restored data's time; DataLoss how much older than the start of
	// the failover it is (the recovery point objective met); both zero when no snapshot was
	// found. RecoveryTime from the start of the failover to the database being available
	// (and DNS switched).
	RecoveryPoint time.Time     `json:"recovery_point"`
	DataLoss      time.Duration `json:"data_loss_ns"`
	RecoveryTime  time.Duration `json:"recovery_time_ns"`
	DNSChanged    bool          `json:"dns_changed"`
	// Rollback is the command that puts the previous DNS value back.
	Rollback string `json:"rollback,omitempty"`
}

func (r *Restorer) progress(format string, args ...any) {
	if r.o.Progress != nil {
		r.o.Progress(fmt.Sprintf(format, args...))
	}
}

// Plan finds the snapshot (or, when an earlier run's restore holds the target identifier,
// what that restore holds, and what a rerun adds to it), and the record's value now and
// before the failover, with read-only calls only.
func (r *Restorer) Plan(ctx context.Context) (Plan, error) {
	p, _, err := r.plan(ctx, r.target.TargetID, r.o.DNS, "restored", "")
	return p, err
}

// planned is what plan found beyond the Plan: the DR copy to restore (or restored), and an
// earlier run's restore under the target identifier, to attach to.
type planned struct {
	from            snaps.Snap
	attach          *restoring.Resource
	missingInstance bool // an Aurora cluster the earlier run restored, without its instance
}

func (r *Restorer) plan(ctx context.Context, target string, dns *DNSRecord, role, run string) (Plan, planned, error) {
	p := Plan{Kind: "instance", Target: target}
	var pl planned
	if r.target.cluster() {
		p.Kind = "cluster"
	}
	s, serr := r.snapshot(ctx)
	if serr != nil && !errors.Is(serr, dr.ErrNoSnapshot) {
		return p, pl, serr
	}
	res, err := r.existing(ctx, target, role, run)
	if err != nil {
		return p, pl, err
	}
	if !res.Found {
		if serr != nil {
			return p, pl, serr
		}
		pl.from = s
		if p.Kind == "cluster" {
			p.Creates = append(p.Creates, fmt.Sprintf("DB cluster %s from %s (subnet group %q, deletion protection %v)", target, s.ID, r.o.SubnetGroup, r.protected(role)),
				fmt.Sprintf("DB instance %s (%s) in it", target, r.target.InstanceClass))
		} else {
			p.Creates = append(p.Creates, fmt.Sprintf("DB instance %s (%s) from %s (subnet group %q, Multi-AZ %v, deletion protection %v)",
				target, r.target.InstanceClass, s.ID, r.o.SubnetGroup, r.o.MultiAZ, r.protected(role)))
		}
	} else {
		// An earlier run's restore: what it holds, not the newest copy now, is what the
		// failover gives; and it must be of this database.
		want, wantAccount := r.target.database(), r.target.SourceAccount
		if want == "" && serr == nil {
			want = s.DB
		}
		if wantAccount == "" && serr == nil {
			wantAccount = s.Origin()
		}
		if pl.from, err = r.restoredFrom(ctx, target, res, want, wantAccount); err != nil {
			return p, pl, err
		}
		p.Existing, pl.attach = "ours: "+res.Status, &res
		if p.Kind == "cluster" {
			_, found, err := r.w.DescribeInstance(ctx, target)
			if err != nil {
				return p, pl, err
			}
			if !found {
				pl.missingInstance = true
				p.Creates = append(p.Creates, fmt.Sprintf("DB instance %s (%s) in cluster %s, which an earlier run restored without it", target, r.target.InstanceClass, target))
			}
		}
	}
	p.Snapshot, p.SnapshotTime, p.SourceAccount = pl.from.ID, pl.from.Created, pl.from.Origin()
	if !p.SnapshotTime.IsZero() {
		p.DataAge = r.o.Clock.Now().Sub(p.SnapshotTime)
	}
	if dns != nil {
		now, err := r.current(ctx, dns)
		if err != nil {
			return p, pl, err
		}
		p.PreviousValue = now
		if pl.attach != nil && snaps.TagValue(res.Tags, TagDNSRecord) == dns.Name && hasTag(res.Tags, TagDNSPrevious) {
			p.PreviousValue = snaps.TagValue(res.Tags, TagDNSPrevious) // the earlier run switched it already, maybe
		}
		before := ""
		if p.PreviousValue != now {
			before = "; before this failover: " + orNone(p.PreviousValue)
		}
		p.DNS = fmt.Sprintf("UPSERT CNAME %s -> the new endpoint, TTL %d (zone %s; now: %s%s)", dns.Name, dns.TTL, dns.ZoneID, orNone(now), before)
	}
	return p, pl, nil
}

func orNone(s string) string {
	if s == "" {
		return "no record"
	}
	return s
}

func hasTag(tags []types.Tag, key string) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return true
		}
	}
	return false
}

func (r *Restorer) protected(role string) bool {
	return role == "restored" && !r.o.NoDeletionProtection
}

// snapshot is the DR copy to restore: the given one, or the newest available by original
// creation time.
func (r *Restorer) snapshot(ctx context.Context) (snaps.Snap, error) {
	if r.target.SnapshotID != "" {
		s, found, err := snaps.DescribeSnap(ctx, r.rds, r.target.cluster(), r.target.SnapshotID, "")
		switch {
		case err != nil:
			return snaps.Snap{}, errtext.Wrap("dr", "describing "+r.target.SnapshotID, err)
		case !found || s.Status != "available":
			return snaps.Snap{}, fmt.Errorf("%w: %s is not an available snapshot here", dr.ErrNoSnapshot, r.target.SnapshotID)
		}
		return s, nil
	}
	return r.w.Newest(ctx, "to restore here: check that the recovery side (dr-recovery) copies it into this account and region, and that a copy is available")
}

// existing looks up what holds the target identifier: nothing (not found), a restore of this
// package (a failover, or this rehearsal's run), else ErrForeignResource.
func (r *Restorer) existing(ctx context.Context, target, role, run string) (restoring.Resource, error) {
	res, err := r.w.Lookup(ctx, r.target.cluster(), target)
	if err != nil || !res.Found {
		return res, err
	}
	if snaps.TagValue(res.Tags, dr.TagDR) != role || (run != "" && snaps.TagValue(res.Tags, dr.TagRun) != run) {
		return res, fmt.Errorf("%w: %s exists and was not restored by this package (%s=%q): refusing to use it; choose another target identifier",
			dr.ErrForeignResource, target, dr.TagDR, snaps.TagValue(res.Tags, dr.TagDR))
	}
	if res.Status == "deleting" {
		return res, fmt.Errorf("%w: %s is being deleted: wait for it, or choose another target identifier", dr.ErrNotReady, target)
	}
	return res, nil
}

// restoredFrom reads which DR copy an earlier run restored into target: from its tags, or,
// for a restore tagged before they existed, from the copy itself. A restore of another
// database than want (the source database; "" when only the snapshot id is known, which must
// then match), or of another source account than wantAccount (when both are known), is
// refused: attaching to it would point the record at the wrong data.
func (r *Restorer) restoredFrom(ctx context.Context, target string, res restoring.Resource, want, wantAccount string) (snaps.Snap, error) {
	from := snaps.Snap{Cluster: r.target.cluster(), ID: snaps.TagValue(res.Tags, dr.TagSource), DB: snaps.TagValue(res.Tags, dr.TagSourceDatabase)}
	from.Created, _ = time.Parse(time.RFC3339, snaps.TagValue(res.Tags, TagRecoveryPoint))
	account := snaps.TagValue(res.Tags, dr.TagSourceAccount)
	if from.ID != "" && (from.DB == "" || from.Created.IsZero() || account == "") {
		s, found, err := snaps.DescribeSnap(ctx, r.rds, from.Cluster, from.ID, "")
		if err != nil {
			return from, errtext.Wrap("dr", "describing "+from.ID+", the snapshot "+target+" was restored from", err)
		}
		if found {
			from.DB = cmp.Or(from.DB, s.DB)
			if from.Created.IsZero() {
				from.Created = s.Created
			}
			from.Tags, from.ARN = s.Tags, s.ARN
			account = cmp.Or(account, s.Origin())
		}
	}
	if account != "" {
		from.Tags = append(from.Tags, snaps.Tag(dr.TagSourceAccount, account))
	}
	n := restoring.Name(from.Cluster, target)
	switch {
	case want != "" && wantAccount != "" && account != "" && account != wantAccount:
		return from, fmt.Errorf("%w: %s holds a restore of %s of account %s (from %s), not of account %s: refusing to attach to it (the record would point at another account's database); choose another target identifier",
			dr.ErrForeignResource, n, cmp.Or(from.DB, want), account, orUnknown(from.ID), wantAccount)
	case want == "" && from.ID == r.target.SnapshotID:
	case want == "":
		return from, fmt.Errorf("%w: %s holds a restore of %s, not of %s: refusing to attach to it (the record would point at other data); choose another target identifier",
			dr.ErrForeignResource, n, orUnknown(from.ID), r.target.SnapshotID)
	case from.DB == "":
		return from, fmt.Errorf("%w: %s was restored by a failover, but of which database can't be told (it has no %s tag, and its snapshot %s is gone): "+
			"refusing to attach to it; check it and tag it %s=%s to attach, or choose another target identifier", dr.ErrForeignResource, n, dr.TagSourceDatabase, orUnknown(from.ID), dr.TagSourceDatabase, want)
	case from.DB != want:
		return from, fmt.Errorf("%w: %s holds a restore of %s (from %s), not of %s: refusing to attach to it (the record would point at another database); choose another target identifier",
			dr.ErrForeignResource, n, from.DB, orUnknown(from.ID), want)
	}
	return from, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown snapshot"
	}
	return s
}

// current reads the record's value now ("" when there is none).
func (r *Restorer) current(ctx context.Context, dns *DNSRecord) (string, error) {
	out, err := r.r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(dns.ZoneID),
		StartRecordName: aws.String(dns.Name), StartRecordType: r53types.RRTypeCname, MaxItems: aws.Int32(1)}, r.r53Opts...)
	if err != nil {
		return "", errtext.Wrap("dr", "reading "+dns.Name+" in zone "+dns.ZoneID, err)
	}
	for _, rr := range out.ResourceRecordSets {
		if strings.TrimSuffix(strings.ToLower(aws.ToString(rr.Name)), ".") == dns.Name && rr.Type == r53types.RRTypeCname && len(rr.ResourceRecords) > 0 {
			return aws.ToString(rr.ResourceRecords[0].Value), nil
		}
	}
	return "", nil
}

// Failover restores the newest DR copy (or attaches to the restore an earlier run started,
// adding the instance an Aurora cluster lacks), waits for it (bounded by Timeout; a terminal
// state fails at once), and then, only then, switches the DNS record to it. The restore is
// tagged shipshape:dr=restored with the source snapshot and database, the recovery point,
// the time, and the record's value before the failover, so that a rerun attaches only to a
// restore of this database and reports what it holds, and its rollback puts back the value
// before the first run switched it. It returns the endpoint and the recovery figures (no
// recovery point or data loss when no snapshot was found). What it restored is left in place
// whatever happens: it is the production database now, or the evidence of why it is not.
func (r *Restorer) Failover(ctx context.Context) (FailoverResult, error) {
	return r.failover(ctx, r.target.TargetID, r.o.DNS, "restored", "")
}

func (r *Restorer) failover(ctx context.Context, target string, dns *DNSRecord, role, run string) (FailoverResult, error) {
	start := r.o.Clock.Now()
	p, pl, err := r.plan(ctx, target, dns, role, run)
	res := FailoverResult{Plan: p, RecoveryPoint: p.SnapshotTime}
	if !p.SnapshotTime.IsZero() {
		res.DataLoss = start.Sub(p.SnapshotTime)
	}
	if err != nil {
		return res, err
	}
	st := dr.VerifyState{Run: run, Snapshot: p.Snapshot, Instance: target, Cluster: r.target.cluster()}
	if pl.attach == nil {
		r.progress("restoring %s (data of %s, %s old) into %s", p.Snapshot, p.SnapshotTime.UTC().Format(time.RFC3339), p.DataAge.Round(time.Minute), target)
		if err := r.restore(ctx, &st, role, r.restoreTags(role, run, pl.from, dns, p.PreviousValue)); err != nil {
			return res, err
		}
	} else {
		res.Attached = true
		r.progress("%s exists (%s, restored from %s): attaching to it", target, p.Existing, p.Snapshot)
		if pl.missingInstance {
			r.progress("cluster %s has no instance (the earlier run could not add it): adding %s", target, target)
			if err := r.addInstance(ctx, &st, role, pl.attach.Engine, ownTags(pl.attach.Tags)); err != nil {
				return res, err
			}
		}
	}
	host, port, err := r.w.WaitReady(ctx, &st)
	if err != nil {
		return res, err
	}
	res.Endpoint, res.Port = host, port
	r.progress("%s is available at %s:%d", target, host, port)
	if dns != nil {
		if err := r.switchDNS(ctx, dns, host); err != nil {
			return res, err
		}
		res.DNSChanged = true
		res.Rollback = rollback(dns, p.PreviousValue, host)
	}
	res.RecoveryTime = r.o.Clock.Now().Sub(start)
	return res, nil
}

// restoreTags are the tags of a failover's or rehearsal's restore (see Failover); the DNS
// ones only where RDS can hold the values.
func (r *Restorer) restoreTags(role, run string, from snaps.Snap, dns *DNSRecord, previous string) []types.Tag {
	tags := []types.Tag{snaps.Tag(dr.TagDR, role), snaps.Tag(dr.TagSource, from.ID), snaps.Tag(dr.TagSourceDatabase, from.DB),
		snaps.Tag(TagRecoveryPoint, from.Created.UTC().Format(time.RFC3339)), snaps.Tag(TagRestoredAt, r.o.Clock.Now().UTC().Format(time.RFC3339))}
	if a := from.Origin(); snaps.ValidAccount(a) {
		tags = append(tags, snaps.Tag(dr.TagSourceAccount, a))
	}
	if run != "" {
		tags = append(tags, snaps.Tag(dr.TagRun, run))
	}
	if dns != nil && tagValueOK(dns.Name) && tagValueOK(previous) {
		tags = append(tags, snaps.Tag(TagDNSRecord, dns.Name), snaps.Tag(TagDNSPrevious, previous))
	}
	return tags
}

// tagValueOK is RDS's rule for tag values: at most 256 letters, digits, white space and
// _.:/=+-@, not starting with aws: or rds:.
func tagValueOK(v string) bool {
	if len(v) > 256 || strings.HasPrefix(v, "aws:") || strings.HasPrefix(v, "rds:") {
		return false
	}
	for _, c := range v {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !unicode.IsSpace(c) && !strings.ContainsRune("_.:/=+-@", c) {
			return false
		}
	}
	return true
}

// ownTags are the package's tags among tags (the ones a user may set again: not aws:...).
func ownTags(tags []types.Tag) []types.Tag {
	var out []types.Tag
	for _, t := range tags {
		if strings.HasPrefix(aws.ToString(t.Key), "shipshape:") {
			out = append(out, t)
		}
	}
	return out
}

// restore starts the restore; an identifier taken meanwhile (a lost answer) is checked.
func (r *Restorer) restore(ctx context.Context, st *dr.VerifyState, role string, tags []types.Tag) error {
	protect := aws.Bool(r.protected(role))
	taken := func() error {
		res, err := r.existing(ctx, st.Instance, role, st.Run)
		if err == nil {
			_, err = r.restoredFrom(ctx, st.Instance, res, snaps.TagValue(tags, dr.TagSourceDatabase), snaps.TagValue(tags, dr.TagSourceAccount))
		}
		return err
	}
	if st.Cluster {
		engine := r.o.Engine
		if engine == "" {
			out, err := r.rds.Client.DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String(st.Snapshot)}, r.rds.Opts...)
			if err != nil {
				return errtext.Wrap("dr", "describing cluster snapshot "+st.Snapshot, err)
			}
			if len(out.DBClusterSnapshots) > 0 {
				engine = aws.ToString(out.DBClusterSnapshots[0].Engine)
			}
		}
		_, err := r.rds.Client.RestoreDBClusterFromSnapshot(ctx, &rds.RestoreDBClusterFromSnapshotInput{DBClusterIdentifier: aws.String(st.Instance),
			SnapshotIdentifier: aws.String(st.Snapshot), Engine: aws.String(engine), DBSubnetGroupName: snaps.OptionalString(r.o.SubnetGroup),
			VpcSecurityGroupIds: r.o.SecurityGroups, DBClusterParameterGroupName: snaps.OptionalString(r.o.ClusterParameterGroup),
			OptionGroupName: snaps.OptionalString(r.o.OptionGroup), DeletionProtection: protect, Tags: tags}, r.rds.Opts...)
		if snaps.ClusterExists(err) {
			err = taken()
		}
		if err != nil {
			return errtext.Wrap("dr", "restoring "+st.Snapshot+" into cluster "+st.Instance, err)
		}
		return r.addInstance(ctx, st, role, engine, tags)
	}
	_, err := r.rds.Client.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String(st.Instance),
		DBSnapshotIdentifier: aws.String(st.Snapshot), DBInstanceClass: aws.String(r.target.InstanceClass), DBSubnetGroupName: snaps.OptionalString(r.o.SubnetGroup),
		VpcSecurityGroupIds: r.o.SecurityGroups, DBParameterGroupName: snaps.OptionalString(r.o.ParameterGroup), OptionGroupName: snaps.OptionalString(r.o.OptionGroup),
		MultiAZ: aws.Bool(r.o.MultiAZ), PubliclyAccessible: aws.Bool(false), DeletionProtection: protect, Tags: tags}, r.rds.Opts...)
	if snaps.InstanceExists(err) {
		err = taken()
	}
	return errtext.Wrap("dr", "restoring "+st.Snapshot+" into "+st.Instance, err)
}

// addInstance adds the instance of a restored Aurora cluster (a cluster serves nothing
// without one); one of the package's with that identifier counts as added.
func (r *Restorer) addInstance(ctx context.Context, st *dr.VerifyState, role, engine string, tags []types.Tag) error {
	if engine == "" {
		engine = r.o.Engine
	}
	_, err := r.rds.Client.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(st.Instance), DBClusterIdentifier: aws.String(st.Instance),
		DBInstanceClass: aws.String(r.target.InstanceClass), Engine: aws.String(engine), DBParameterGroupName: snaps.OptionalString(r.o.ParameterGroup),
		PubliclyAccessible: aws.Bool(false), Tags: tags}, r.rds.Opts...)
	if snaps.InstanceExists(err) {
		inst, found, derr := r.w.DescribeInstance(ctx, st.Instance)
		switch {
		case derr != nil:
			err = derr
		case found && snaps.TagValue(inst.TagList, dr.TagDR) == role:
			err = nil
		default:
			err = fmt.Errorf("%w: DB instance %s exists and was not made by this package", dr.ErrForeignResource, st.Instance)
		}
	}
	return errtext.Wrap("dr", "adding instance "+st.Instance+" to cluster "+st.Instance, err)
}

// switchDNS UPSERTs the CNAME and waits until Route 53 has it everywhere (INSYNC).
func (r *Restorer) switchDNS(ctx context.Context, dns *DNSRecord, endpoint string) error {
	out, err := r.r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(dns.ZoneID),
		ChangeBatch: &r53types.ChangeBatch{Comment: aws.String("shipshape dr failover"), Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert,
			ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String(dns.Name), Type: r53types.RRTypeCname, TTL: aws.Int64(dns.TTL),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(endpoint)}}}}}}}, r.r53Opts...)
	if err != nil {
		return errtext.Wrap("dr", "switching "+dns.Name+" to "+endpoint, err)
	}
	r.progress("DNS: %s -> %s (TTL %d), waiting for Route 53 to apply it", dns.Name, endpoint, dns.TTL)
	return r.waitChange(ctx, out.ChangeInfo)
}

func (r *Restorer) waitChange(ctx context.Context, info *r53types.ChangeInfo) error {
	if info == nil || info.Status == r53types.ChangeStatusInsync {
		return nil
	}
	id := aws.ToString(info.Id)
	return r.w.WaitFor(ctx, "the Route 53 change "+id, func() error {
		out, err := r.r53.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(id)}, r.r53Opts...)
		switch {
		case err != nil:
			return errtext.Wrap("dr", "reading the Route 53 change "+id, err)
		case out.ChangeInfo == nil || out.ChangeInfo.Status != r53types.ChangeStatusInsync:
			return fmt.Errorf("%w: the Route 53 change %s is pending", dr.ErrNotReady, id)
		}
		return nil
	})
}

// rollback is the command that restores a record's previous value: an UPSERT of it, or,
// when there was no record, a DELETE of the record as the failover made it (Route 53 deletes
// only an exact match).
func rollback(dns *DNSRecord, previous, endpoint string) string {
	if previous == "" {
		return fmt.Sprintf("aws route53 change-resource-record-sets --hosted-zone-id %s --change-batch "+
			`'{"Changes":[{"Action":"DELETE","ResourceRecordSet":{"Name":"%s","Type":"CNAME","TTL":%d,"ResourceRecords":[{"Value":"%s"}]}}]}'`+
			" (there was no record before)", dns.ZoneID, dns.Name, dns.TTL, endpoint)
	}
	return fmt.Sprintf("aws route53 change-resource-record-sets --hosted-zone-id %s --change-batch "+
		`'{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"%s","Type":"CNAME","TTL":%d,"ResourceRecords":[{"Value":"%s"}]}}]}'`,
		dns.ZoneID, dns.Name, dns.TTL, previous)
}

// Rehearsal is what a rehearsal measured and found.
type Rehearsal struct {
	FailoverResult
	Run    string          `json:"run"`
	Record string          `json:"record,omitempty"` // the temporary record
	Steps  []dr.StepResult `json:"steps"`            // the checks, as Verify reports them
	OK     bool            `json:"ok"`               // the failover worked, every check passed and everything was deleted
	// Cleanup says what was deleted: the temporary record, the instance, the cluster.
	Cleanup string `json:"cleanup"`
}

// Rehearse runs the whole failover under a temporary identifier ("shipshape-rehearsal-<run>")
// and, with DNS, a temporary record ("shipshape-rehearsal-<run>.<the record's name>", never
// the real one),
// runs the checks against the restored database, reports the measured recovery point and
// recovery time, and ALWAYS deletes what it made (the record, the instance, the cluster),
// also when a step failed or ctx was cancelled (cleanup then runs on a context of its own).
// The error is about steps that could not run; failed checks are in the report.
func (r *Restorer) Rehearse(ctx context.Context, db dr.Database, checks dr.Checks) (rep Rehearsal, err error) {
	if db.Driver == "" || db.DSN == nil {
		return rep, fmt.Errorf("%w: a rehearsal needs the database driver and DSN to run its checks", dr.ErrInvalidInput)
	}
	run := r.w.NewRun()
	target := restoring.RunID(restoring.Rehearsing.Prefix, run)
	var dns *DNSRecord
	if r.o.DNS != nil {
		d := *r.o.DNS
		d.Name = target + "." + r.o.DNS.Name
		dns = &d
		rep.Record = d.Name
	}
	rep.Run = run
	st := dr.VerifyState{Run: run, Instance: target, Cluster: r.target.cluster()}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Minute)
		defer cancel()
		cerr := r.cleanupRehearsal(cctx, &rep, &st, dns)
		rep.OK = err == nil && cerr == nil && restoring.AllOK(rep.Steps)
		if err == nil {
			err = cerr
		}
	}()
	res, err := r.failover(ctx, target, dns, restoring.Rehearsing.Tag, run)
	rep.FailoverResult = res
	if err != nil {
		rep.Steps = append(rep.Steps, dr.StepResult{Name: "failover", Detail: errtext.Strip("dr", err.Error())})
		return rep, err
	}
	rep.Steps = append(rep.Steps, dr.StepResult{Name: "failover", OK: true, Detail: fmt.Sprintf("%s available at %s:%d after %s", target, res.Endpoint, res.Port, res.RecoveryTime)})
	checker := &restoring.Verifier{DB: db, Opts: dr.VerifyOptions{Checks: checks, Progress: r.o.Progress}}
	st.Report.Steps = nil
	checker.Check(ctx, &st, res.Endpoint, res.Port)
	rep.Steps = append(rep.Steps, st.Report.Steps...)
	return rep, nil
}

// cleanupRehearsal deletes the temporary record (with the value it has: Route 53 deletes only
// an exact match), then the instance and the cluster, waiting while RDS can't delete yet.
func (r *Restorer) cleanupRehearsal(ctx context.Context, rep *Rehearsal, st *dr.VerifyState, dns *DNSRecord) error {
	var done []string
	var errs []error
	if dns != nil {
		value, err := r.current(ctx, dns)
		switch {
		case err != nil:
			errs = append(errs, err)
		case value == "":
			done = append(done, "no record "+dns.Name+" to delete")
		default:
			_, err = r.r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(dns.ZoneID),
				ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionDelete,
					ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String(dns.Name), Type: r53types.RRTypeCname, TTL: aws.Int64(dns.TTL),
						ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}}}}}}}, r.r53Opts...)
			if err != nil {
				errs = append(errs, errtext.Wrap("dr", "deleting the temporary record "+dns.Name, err))
			} else {
				done = append(done, "deleted record "+dns.Name)
			}
		}
	}
	// The Verifier's cleanup, for rehearsal resources of this run.
	v := &restoring.Verifier{RDS: r.rds, Target: r.w.Target, Opts: r.w.Opts, Log: r.w.Log, Kind: restoring.Rehearsing}
	deadline := r.o.Clock.Now().Add(15 * time.Minute)
	err := v.Cleanup(ctx, st)
	for errors.Is(err, dr.ErrNotReady) && r.o.Clock.Now().Before(deadline) {
		if serr := r.o.Clock.Sleep(ctx, min(r.o.Poll, deadline.Sub(r.o.Clock.Now()))); serr != nil {
			break
		}
		err = v.Cleanup(ctx, st)
	}
	if err != nil {
		errs = append(errs, err)
	}
	done = append(done, st.Report.Cleanup)
	rep.Cleanup = strings.Join(done, "; ")
	r.progress("rehearsal cleanup: %s", rep.Cleanup)
	return errors.Join(errs...)
}
