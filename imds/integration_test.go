package imds_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// The integration tests run against AWS's amazon-ec2-metadata-mock in IMDSv2-only mode, as
// scripts/testbed starts it (credentials valid 6 h). They run one after another: the mock
// keeps its tokens in unlocked globals.

func mockClient(t *testing.T, optFns ...func(*imds.Options)) (*imds.Client, testbed.IMDS) {
	t.Helper()
	mock := testbed.IMDSMock(t)
	c, err := imds.New(append([]func(*imds.Options){func(o *imds.Options) {
		o.Endpoint = mock.URL
		o.Getenv = func(string) string { return "" }
	}}, optFns...)...)
	require.NoError(t, err)
	return c, mock
}

// instance is what a behaviour run expects IMDS to report.
type instance struct {
	id, region, az, account, role, accessKeyID string
	tags                                       map[string]string
}

// checkBehaviour is the behaviour suite run against both imdstest and the real mock, so the
// fake can't drift from what AWS's own mock does.
func checkBehaviour(t *testing.T, c *imds.Client, want instance) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	id, err := c.InstanceID(ctx)
	require.NoError(t, err)
	assert.Equal(t, want.id, id)
	region, err := c.Region(ctx)
	require.NoError(t, err)
	assert.Equal(t, want.region, region)
	az, err := c.AvailabilityZone(ctx)
	require.NoError(t, err)
	assert.Equal(t, want.az, az)

	doc, err := c.IdentityDocument(ctx)
	require.NoError(t, err)
	assert.Equal(t, want.id, doc.InstanceID)
	assert.Equal(t, want.region, doc.Region)
	assert.Equal(t, want.account, doc.AccountID)

	role, err := c.RoleName(ctx)
	require.NoError(t, err)
	assert.Equal(t, want.role, role)
	creds, err := c.Credentials(ctx, role)
	require.NoError(t, err)
	assert.Equal(t, want.accessKeyID, creds.AccessKeyID)
	assert.NotEmpty(t, creds.SecretAccessKey)
	assert.NotEmpty(t, creds.Token)

	spot, err := c.SpotAction(ctx)
	require.NoError(t, err)
	assert.Equal(t, imds.SpotTerminate, spot.Action)
	assert.False(t, spot.Time.IsZero())

	rb, err := c.RebalanceRecommendation(ctx)
	require.NoError(t, err)
	assert.True(t, rb.Recommended)

	state, err := c.TargetLifecycleState(ctx)
	require.NoError(t, err)
	assert.Equal(t, imds.LifecycleTerminated, state)

	tags, err := c.Tags(ctx)
	require.NoError(t, err)
	assert.Equal(t, want.tags, tags)

	// The mock schedules one system reboot from its start, for a week, movable by 9 days.
	events, err := c.ScheduledMaintenance(ctx)
	require.NoError(t, err)
	require.Len(t, events, 1)
	e := events[0]
	assert.Equal(t, "instance-event-1234567890abcdef0", e.EventID)
	assert.Equal(t, imds.MaintenanceSystemReboot, e.Code)
	assert.Equal(t, imds.MaintenanceActive, e.State)
	assert.True(t, e.Pending())
	assert.False(t, e.NotBefore.IsZero())
	assert.Equal(t, 7*24*time.Hour, e.NotAfter.Sub(e.NotBefore))
	assert.Equal(t, 9*24*time.Hour, e.NotBeforeDeadline.Sub(e.NotBefore))
	assert.Empty(t, e.BadTimes)

	_, err = c.Get(ctx, "meta-data/no-such-path")
	require.ErrorIs(t, err, imds.ErrNotFound)
	_, err = c.Credentials(ctx, "not-the-role")
	require.ErrorIs(t, err, imds.ErrNotFound)
}

// mockInstance is what amazon-ec2-metadata-mock v1.13.0 serves by default.
var mockInstance = instance{
	id: "i-1234567890abcdef0", region: "us-east-1", az: "us-east-1a", account: "0123456789",
	role: "baskinc-role", tags: map[string]string{"Name": "test-instance", "Test": "test-tag"},
}

func TestIntegrationMetadataMock(t *testing.T) {
	c, mock := mockClient(t)
	want := mockInstance
	want.accessKeyID = mock.AccessKeyID
	checkBehaviour(t, c, want)
}

func TestBehaviourOfTheFake(t *testing.T) {
	b := newBed(t)
	want := mockInstance
	b.srv.SetInstance(want.id, want.region, want.az)
	b.srv.SetIdentityDocument(imds.IdentityDocument{AccountID: want.account, InstanceID: want.id, Region: want.region,
		AvailabilityZone: "us-east-1f", InstanceType: "m4.xlarge"})
	b.srv.SetRole(want.role)
	b.srv.SetTags(want.tags)
	b.srv.SetSpotAction(imds.SpotAction{Action: imds.SpotTerminate, Time: b.clock.Now().Add(2 * time.Minute)})
	b.srv.SetRebalance(b.clock.Now())
	b.srv.SetLifecycleState(imds.LifecycleTerminated)
	start := b.clock.Now().UTC().Truncate(time.Second)
	b.srv.SetMaintenance(imds.MaintenanceEvent{EventID: "instance-event-1234567890abcdef0", Code: imds.MaintenanceSystemReboot,
		State: imds.MaintenanceActive, Description: "The instance is scheduled for system-reboot",
		NotBefore: start, NotAfter: start.Add(7 * 24 * time.Hour), NotBeforeDeadline: start.Add(9 * 24 * time.Hour)})
	want.accessKeyID = b.srv.CurrentCredentials().AccessKeyID
	checkBehaviour(t, b.client, want)
}

func TestIntegrationCredentialsFromMock(t *testing.T) {
	c, mock := mockClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	role, err := c.RoleName(ctx)
	require.NoError(t, err)
	assert.Equal(t, "baskinc-role", role)
	creds, err := c.Credentials(ctx, role)
	require.NoError(t, err)
	assert.Equal(t, mock.AccessKeyID, creds.AccessKeyID)
	assert.NotEmpty(t, creds.SecretAccessKey)
	assert.NotEmpty(t, creds.Token)
	assert.True(t, creds.Expiration.After(time.Now().Add(time.Hour)), "the test bed's credentials are valid for hours: %s", creds.Expiration)

	p, err := imds.NewCredentialsProvider(c)
	require.NoError(t, err)
	got, err := p.Retrieve(ctx)
	require.NoError(t, err)
	assert.Equal(t, mock.AccessKeyID, got.AccessKeyID)
	assert.Equal(t, creds.Token, got.SessionToken)
	assert.True(t, got.Expires.Before(creds.Expiration), "refreshes before the real expiration")
}

func TestIntegrationMockIsIMDSv2Only(t *testing.T) {
	mock := testbed.IMDSMock(t)
	// Without a token the mock refuses (401), and a client allowed to fall back to IMDSv1
	// still uses its token first, so it works.
	resp, err := http.Get(mock.URL + "/latest/meta-data/instance-id")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	c, _ := mockClient(t, func(o *imds.Options) { o.AllowIMDSv1 = true })
	id, err := c.InstanceID(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "i-1234567890abcdef0", id)
}
