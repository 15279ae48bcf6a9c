package s3diff

import (
	"encoding/json"
	"fmt"
	"strings"
)

// MaxLifecycleKeep is the largest keep a lifecycle rule can express: S3 retains at most 100
// newer noncurrent versions, plus the current one.
const MaxLifecycleKeep = 101

// LifecycleRuleOptions are the optional settings of LifecycleRule.
type LifecycleRuleOptions struct {
	// Prefix limits the rule to keys starting with it (a plain prefix: "cfg" also matches
	// "cfg.bak"). Empty: the whole bucket.
	Prefix string
	// Days a version must have been noncurrent before S3 expires it. Default and minimum: 1.
	Days int
	// ID names the rule. Default: "shipshape-keep-N".
	ID string
}

// LifecycleConfiguration is a bucket lifecycle configuration in the JSON shape of
// `aws s3api put-bucket-lifecycle-configuration --lifecycle-configuration`.
type LifecycleConfiguration struct {
	Rules []LifecycleRuleJSON `json:"Rules"`
}

// LifecycleRuleJSON is one rule of a LifecycleConfiguration.
type LifecycleRuleJSON struct {
	ID                          string                      `json:"ID"`
	Status                      string                      `json:"Status"`
	Filter                      LifecycleFilter             `json:"Filter"`
	NoncurrentVersionExpiration NoncurrentVersionExpiration `json:"NoncurrentVersionExpiration"`
	Expiration                  *LifecycleExpiration        `json:"Expiration,omitempty"`
}

// LifecycleFilter selects the keys of a rule.
type LifecycleFilter struct {
	Prefix string `json:"Prefix"`
}

// NoncurrentVersionExpiration is S3's noncurrent-version action.
type NoncurrentVersionExpiration struct {
	NoncurrentDays          int `json:"NoncurrentDays"`
	NewerNoncurrentVersions int `json:"NewerNoncurrentVersions,omitempty"`
}

// LifecycleExpiration is S3's current-version action; the rule only removes expired delete
// markers with it (a marker no version is left behind).
type LifecycleExpiration struct {
	ExpiredObjectDeleteMarker bool `json:"ExpiredObjectDeleteMarker"`
}

// LifecycleRule returns the bucket lifecycle configuration that S3 itself runs to keep about
// the newest keep versions of each key: S3 counts noncurrent versions, so keep N becomes
// NewerNoncurrentVersions N-1 (keep 1: every noncurrent version expires), and keep is at
// most MaxLifecycleKeep. Unlike Retain, S3 applies the rule asynchronously (about once a day,
// after Days of being noncurrent, rounded up to midnight UTC), with no dry run and no diff,
// and it counts delete markers its own way: see docs/s3diff.md. Note that a bucket has one
// lifecycle configuration: putting this one replaces any rules already there.
func LifecycleRule(keep int, optFns ...func(*LifecycleRuleOptions)) (*LifecycleConfiguration, error) {
	var o LifecycleRuleOptions
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case keep < 1:
		return nil, fmt.Errorf("%w: got %d", ErrInvalidKeep, keep)
	case keep > MaxLifecycleKeep:
		return nil, invalid("keep %d: a lifecycle rule keeps at most 100 noncurrent versions (keep %d); use RetainPrefix for more", keep, MaxLifecycleKeep)
	case o.Days < 0:
		return nil, invalid("days %d is negative; S3 counts whole days, 1 or more", o.Days)
	case len(o.Prefix) > 1024:
		return nil, invalid("prefix is %d bytes; S3 keys are at most 1024", len(o.Prefix))
	case len(o.ID) > 255:
		return nil, invalid("rule id is %d characters; S3 allows 255", len(o.ID))
	}
	if o.Days == 0 {
		o.Days = 1
	}
	if strings.TrimSpace(o.ID) == "" {
		o.ID = fmt.Sprintf("shipshape-keep-%d", keep)
	}
	return &LifecycleConfiguration{Rules: []LifecycleRuleJSON{{
		ID:                          o.ID,
		Status:                      "Enabled",
		Filter:                      LifecycleFilter{Prefix: o.Prefix},
		NoncurrentVersionExpiration: NoncurrentVersionExpiration{NoncurrentDays: o.Days, NewerNoncurrentVersions: keep - 1},
		Expiration:                  &LifecycleExpiration{ExpiredObjectDeleteMarker: true},
	}}}, nil
}

// JSON is the configuration, indented, as `aws s3api put-bucket-lifecycle-configuration`
// reads it.
func (l *LifecycleConfiguration) JSON() []byte {
	out, _ := json.MarshalIndent(l, "", "  ") // plain structs: cannot fail
	return append(out, '\n')
}
