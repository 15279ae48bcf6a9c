package imds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Metadata paths the typed readers use.
const (
	pathInstanceID     = "/latest/meta-data/instance-id"
	pathRegion         = "/latest/meta-data/placement/region"
	pathAZ             = "/latest/meta-data/placement/availability-zone"
	pathIdentityDoc    = "/latest/dynamic/instance-identity/document"
	pathRoles          = "/latest/meta-data/iam/security-credentials/"
	pathSpotAction     = "/latest/meta-data/spot/instance-action"
	pathRebalance      = "/latest/meta-data/events/recommendations/rebalance"
	pathLifecycleState = "/latest/meta-data/autoscaling/target-lifecycle-state"
	pathTags           = "/latest/meta-data/tags/instance"
)

// line reads a path whose body is one line of text.
func (c *Client) line(ctx context.Context, path string) (string, error) {
	body, err := c.get(ctx, path)
	if err != nil {
		return "", err
	}
	return oneLine(path, body)
}

func oneLine(path string, body []byte) (string, error) {
	s := strings.TrimSpace(string(body))
	switch {
	case s == "":
		return "", &MalformedError{Path: path, Reason: "empty body"}
	case strings.ContainsAny(s, "\r\n"):
		return "", &MalformedError{Path: path, Reason: fmt.Sprintf("several lines where one is expected: %q", snippet(body))}
	case strings.HasPrefix(s, "<"):
		return "", &MalformedError{Path: path, Reason: "HTML or XML where plain text is expected: something other than IMDS answered (a proxy?)"}
	}
	return s, nil
}

// InstanceID returns the instance id, e.g. "i-0123456789abcdef0".
func (c *Client) InstanceID(ctx context.Context) (string, error) {
	id, err := c.line(ctx, pathInstanceID)
	if err == nil && !strings.HasPrefix(id, "i-") {
		err = &MalformedError{Path: pathInstanceID, Reason: fmt.Sprintf("%q does not look like an instance id", snippet([]byte(id)))}
	}
	return id, err
}

// Region returns the instance's region, e.g. "eu-west-1".
func (c *Client) Region(ctx context.Context) (string, error) { return c.line(ctx, pathRegion) }

// AvailabilityZone returns the instance's availability zone, e.g. "eu-west-1a".
func (c *Client) AvailabilityZone(ctx context.Context) (string, error) { return c.line(ctx, pathAZ) }

// IdentityDocument is the instance identity document (dynamic/instance-identity/document).
type IdentityDocument struct {
	AccountID        string    `json:"accountId"`
	Architecture     string    `json:"architecture"`
	AvailabilityZone string    `json:"availabilityZone"`
	ImageID          string    `json:"imageId"`
	InstanceID       string    `json:"instanceId"`
	InstanceType     string    `json:"instanceType"`
	KernelID         string    `json:"kernelId,omitempty"`
	PendingTime      time.Time `json:"pendingTime"`
	PrivateIP        string    `json:"privateIp"`
	RamdiskID        string    `json:"ramdiskId,omitempty"`
	Region           string    `json:"region"`
	Version          string    `json:"version"`
}

// IdentityDocument returns the instance identity document.
func (c *Client) IdentityDocument(ctx context.Context) (IdentityDocument, error) {
	body, err := c.get(ctx, pathIdentityDoc)
	if err != nil {
		return IdentityDocument{}, err
	}
	return parseIdentityDocument(body)
}

func parseIdentityDocument(body []byte) (IdentityDocument, error) {
	var doc IdentityDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		reason := notJSON(body)
		if reason == "not JSON" {
			reason = "not an identity document: " + err.Error()
		}
		return IdentityDocument{}, &MalformedError{Path: pathIdentityDoc, Reason: reason}
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"accountId", doc.AccountID}, {"instanceId", doc.InstanceID}, {"region", doc.Region},
		{"availabilityZone", doc.AvailabilityZone},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return IdentityDocument{}, &MalformedError{Path: pathIdentityDoc, Reason: "missing " + strings.Join(missing, ", ")}
	}
	return doc, nil
}

// RoleName returns the name of the IAM role of the instance profile. No role is ErrNoRole;
// a list with several names is a *RoleListError (see its doc for why).
func (c *Client) RoleName(ctx context.Context) (string, error) {
	body, err := c.get(ctx, pathRoles)
	if errors.Is(err, ErrNotFound) {
		return "", ErrNoRole
	}
	if err != nil {
		return "", err
	}
	return parseRoleList(body)
}

func parseRoleList(body []byte) (string, error) {
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")) {
		return "", &MalformedError{Path: pathRoles, Reason: "HTML or XML where a role name is expected: something other than IMDS answered (a proxy?)"}
	}
	var roles []string
	for _, l := range strings.Split(string(body), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			roles = append(roles, l)
		}
	}
	switch len(roles) {
	case 0:
		return "", ErrNoRole
	case 1:
		if strings.ContainsAny(roles[0], "/?# ") {
			return "", &MalformedError{Path: pathRoles, Reason: fmt.Sprintf("%q is not a role name", snippet([]byte(roles[0])))}
		}
		return roles[0], nil
	}
	return "", &RoleListError{Roles: roles}
}

// SpotActionKind is what EC2 is about to do to a Spot instance.
type SpotActionKind string

// Spot actions. SpotNone means no interruption is scheduled (IMDS answers 404).
const (
	SpotNone      SpotActionKind = "none"
	SpotStop      SpotActionKind = "stop"
	SpotTerminate SpotActionKind = "terminate"
	SpotHibernate SpotActionKind = "hibernate"
)

// SpotAction is a Spot interruption notice: the action and when it happens.
type SpotAction struct {
	Action SpotActionKind `json:"action"`
	// Time is when the action happens. It is zero when the notice's time is missing or is
	// not an RFC 3339 time: the notice still stands (the instance is leaving), its time is
	// unknown.
	Time time.Time `json:"time"`
	// BadTime is the notice's time as IMDS gave it when it is not an RFC 3339 time ("" when
	// it was readable, or missing).
	BadTime string `json:"-"`
}

// SpotAction returns the pending Spot interruption, or Action SpotNone when there is none. A
// notice with a known action and a missing or unreadable time is returned, not refused, with
// a zero Time (and BadTime): it still says the instance is leaving. A body that is not JSON,
// or an unknown action, is a *MalformedError.
func (c *Client) SpotAction(ctx context.Context) (SpotAction, error) {
	body, err := c.get(ctx, pathSpotAction)
	if errors.Is(err, ErrNotFound) {
		return SpotAction{Action: SpotNone}, nil
	}
	if err != nil {
		return SpotAction{}, err
	}
	return parseSpotAction(body)
}

func parseSpotAction(body []byte) (SpotAction, error) {
	var raw struct {
		Action string `json:"action"`
		Time   string `json:"time"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return SpotAction{}, &MalformedError{Path: pathSpotAction, Reason: notJSON(body)}
	}
	a := SpotAction{Action: SpotActionKind(raw.Action)}
	switch a.Action {
	case SpotStop, SpotTerminate, SpotHibernate:
	default:
		return SpotAction{}, &MalformedError{Path: pathSpotAction, Reason: fmt.Sprintf("unknown action %q (want stop, terminate or hibernate)", snippet([]byte(raw.Action)))}
	}
	t, err := time.Parse(time.RFC3339, raw.Time)
	if err != nil {
		// The action is known: the instance is leaving, whatever its time says. A zero Time
		// says the time is unknown; BadTime keeps a sanitised start of what was given.
		if raw.Time != "" {
			a.BadTime = snippet([]byte(raw.Time))
		}
		return a, nil
	}
	a.Time = t
	return a, nil
}

// Rebalance is an EC2 rebalance recommendation: the Spot instance is at elevated risk of
// interruption. The zero value (Recommended false) means there is none.
type Rebalance struct {
	Recommended bool
	NoticeTime  time.Time
}

// RebalanceRecommendation returns the rebalance recommendation, if there is one.
func (c *Client) RebalanceRecommendation(ctx context.Context) (Rebalance, error) {
	body, err := c.get(ctx, pathRebalance)
	if errors.Is(err, ErrNotFound) {
		return Rebalance{}, nil
	}
	if err != nil {
		return Rebalance{}, err
	}
	var raw struct {
		NoticeTime string `json:"noticeTime"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Rebalance{}, &MalformedError{Path: pathRebalance, Reason: notJSON(body)}
	}
	t, err := time.Parse(time.RFC3339, raw.NoticeTime)
	if err != nil {
		return Rebalance{}, &MalformedError{Path: pathRebalance, Reason: fmt.Sprintf("noticeTime %q is not RFC 3339", snippet([]byte(raw.NoticeTime)))}
	}
	return Rebalance{Recommended: true, NoticeTime: t}, nil
}

// LifecycleState is an Auto Scaling target lifecycle state, e.g. "InService",
// "Terminated", "Warmed:Stopped". The empty state means IMDS has none (404): the instance is
// not in an Auto Scaling group, or the group has not published a state yet.
type LifecycleState string

// Target lifecycle states that Auto Scaling publishes.
const (
	LifecycleNone             LifecycleState = ""
	LifecycleInService        LifecycleState = "InService"
	LifecycleTerminated       LifecycleState = "Terminated"
	LifecycleWarmedStopped    LifecycleState = "Warmed:Stopped"
	LifecycleWarmedRunning    LifecycleState = "Warmed:Running"
	LifecycleWarmedHibernated LifecycleState = "Warmed:Hibernated"
	LifecycleWarmedTerminated LifecycleState = "Warmed:Terminated"
)

// TargetLifecycleState returns where Auto Scaling is taking this instance.
func (c *Client) TargetLifecycleState(ctx context.Context) (LifecycleState, error) {
	s, err := c.line(ctx, pathLifecycleState)
	if errors.Is(err, ErrNotFound) {
		return LifecycleNone, nil
	}
	return LifecycleState(s), err
}

// Tags returns the instance's tags. When tags in instance metadata are not enabled the
// error is ErrTagsNotEnabled, which says how to enable them.
func (c *Client) Tags(ctx context.Context) (map[string]string, error) {
	body, err := c.get(ctx, pathTags)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrTagsNotEnabled
	}
	if err != nil {
		return nil, err
	}
	tags := make(map[string]string)
	for _, key := range strings.Split(string(body), "\n") {
		if key = strings.TrimSpace(key); key == "" {
			continue
		}
		v, err := c.get(ctx, pathTags+"/"+url.PathEscape(key))
		if err != nil {
			return nil, fmt.Errorf("imds: reading tag %q: %w", key, err)
		}
		tags[key] = string(v)
	}
	return tags, nil
}

// Tag returns one instance tag's value; found is false when the tag does not exist.
func (c *Client) Tag(ctx context.Context, key string) (value string, found bool, err error) {
	if key == "" || strings.ContainsAny(key, "/ ") {
		return "", false, fmt.Errorf("imds: tag key %q can't be read from instance metadata (empty, or has '/' or spaces)", key)
	}
	v, err := c.get(ctx, pathTags+"/"+url.PathEscape(key))
	if errors.Is(err, ErrNotFound) {
		// Either this tag is missing or no tag is exposed at all: tell which.
		if _, lerr := c.get(ctx, pathTags); errors.Is(lerr, ErrNotFound) {
			return "", false, ErrTagsNotEnabled
		}
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(v), true, nil
}
