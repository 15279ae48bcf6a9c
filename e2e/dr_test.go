package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

const recoveryAccount = "222222222222"

// database creates a DB instance on moto (which gives it an automated snapshot at once, as if
// its backup window had passed) and returns the automated snapshot.
func database(t *testing.T, c *rds.Client, id string) rdstypes.DBSnapshot {
	t.Helper()
	ctx := context.Background()
	_, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id), Engine: aws.String("postgres"),
		DBInstanceClass: aws.String("db.t3.micro"), MasterUsername: aws.String("app"), MasterUserPassword: aws.String("not-a-real-one-1"),
		AllocatedStorage: aws.Int32(20), BackupRetentionPeriod: aws.Int32(7), StorageEncrypted: aws.Bool(true)})
	require.NoError(t, err)
	out, err := c.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String(id), SnapshotType: aws.String("automated")})
	require.NoError(t, err)
	require.Len(t, out.DBSnapshots, 1, "moto makes one automated snapshot per new instance")
	return out.DBSnapshots[0]
}

func rdsClient(cfg aws.Config) *rds.Client { return rds.NewFromConfig(cfg) }

func customerKey(t *testing.T, cfg aws.Config) string {
	t.Helper()
	out, err := kms.NewFromConfig(cfg).CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("shipshape e2e DR key")})
	require.NoError(t, err)
	return aws.ToString(out.KeyMetadata.Arn)
}

// snapshotEvent is the EventBridge "RDS DB Snapshot Event" of an automated snapshot, as RDS
// sends it.
func snapshotEvent(s rdstypes.DBSnapshot, region string) []byte {
	return []byte(fmt.Sprintf(`{"version":"0","id":"e2e","detail-type":"RDS DB Snapshot Event","source":"aws.rds","account":%q,"time":%q,"region":%q,
		"resources":[%q],"detail":{"EventCategories":["creation"],"SourceType":"SNAPSHOT","SourceArn":%q,"Date":%q,
		"Message":"Automated snapshot created","SourceIdentifier":%q,"EventID":"RDS-EVENT-0091"}}`,
		testbed.DefaultAccount, time.Now().UTC().Format(time.RFC3339), region, aws.ToString(s.DBSnapshotArn), aws.ToString(s.DBSnapshotArn),
		time.Now().UTC().Format(time.RFC3339), aws.ToString(s.DBSnapshotIdentifier)))
}

func scheduleEvent(region string) []byte {
	return []byte(fmt.Sprintf(`{"version":"0","id":"e2e","detail-type":"Scheduled Event","source":"aws.events","account":%q,"time":%q,"region":%q,"resources":["arn:aws:events:%s:%s:rule/dr"],"detail":{}}`,
		testbed.DefaultAccount, time.Now().UTC().Format(time.RFC3339), region, region, testbed.DefaultAccount))
}

// automatedARNWorkaround makes the proxy send moto the name of an automated snapshot where
// the binary sends its ARN: moto 5.2.1 takes the name after the ARN's last ':' ("orders-db-..."
// instead of "rds:orders-db-...") and answers DBSnapshotNotFound (docs/TESTING.md). The
// binary's own request, with the ARN as AWS documents it, is what the proxy records.
func automatedARNWorkaround(p *testbed.AWSProxy) {
	fix := func(form url.Values) {
		for _, field := range []string{"SourceDBSnapshotIdentifier", "DBSnapshotIdentifier"} {
			if v := form.Get(field); strings.HasPrefix(v, "arn:aws:rds:") && strings.Contains(v, ":snapshot:rds:") {
				form.Set(field, v[strings.Index(v, ":snapshot:")+len(":snapshot:"):])
			}
		}
	}
	p.RewriteRequest("CopyDBSnapshot", fix)
}

// accountQuotas answers RDS DescribeAccountAttributes, which moto does not implement, with
// the manual snapshot quotas in RDS's documented shape (used of max).
func accountQuotas(p *testbed.AWSProxy, used, max int) {
	p.Answer("DescribeAccountAttributes", fmt.Sprintf(`<DescribeAccountAttributesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
<DescribeAccountAttributesResult><AccountQuotas>
<AccountQuota><AccountQuotaName>ManualSnapshots</AccountQuotaName><Used>%d</Used><Max>%d</Max></AccountQuota>
<AccountQuota><AccountQuotaName>ManualClusterSnapshots</AccountQuotaName><Used>0</Used><Max>%d</Max></AccountQuota>
</AccountQuotas></DescribeAccountAttributesResult>
<ResponseMetadata><RequestId>testbed-proxy</RequestId></ResponseMetadata></DescribeAccountAttributesResponse>`, used, max, max))
}

// drSnapshots lists the manual snapshots whose identifier starts with prefix, with their tags.
func drSnapshots(t *testing.T, c *rds.Client, prefix string) map[string]rdstypes.DBSnapshot {
	t.Helper()
	out, err := c.DescribeDBSnapshots(context.Background(), &rds.DescribeDBSnapshotsInput{SnapshotType: aws.String("manual")})
	require.NoError(t, err)
	got := map[string]rdstypes.DBSnapshot{}
	for _, s := range out.DBSnapshots {
		if strings.HasPrefix(aws.ToString(s.DBSnapshotIdentifier), prefix) {
			got[aws.ToString(s.DBSnapshotIdentifier)] = s
		}
	}
	return got
}

// copyWithTags copies an automated snapshot under id, with tags, as an earlier run (or an
// operator) would have.
func copyWithTags(t *testing.T, c *rds.Client, from rdstypes.DBSnapshot, id, key string, tags map[string]string) {
	t.Helper()
	in := &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: from.DBSnapshotIdentifier, TargetDBSnapshotIdentifier: aws.String(id), KmsKeyId: aws.String(key)}
	for k, v := range tags {
		in.Tags = append(in.Tags, rdstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := c.CopyDBSnapshot(context.Background(), in)
	require.NoError(t, err)
}

func tagsOf(s rdstypes.DBSnapshot) map[string]string {
	out := map[string]string{}
	for _, tg := range s.TagList {
		out[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return out
}

func TestDRSourceAgainstMoto(t *testing.T) {
	ep := testbed.AWS(t)
	cfg := ep.Config()
	c := rds.NewFromConfig(cfg)
	key := customerKey(t, cfg)
	db := unique("orders")
	auto := database(t, c, db)
	lost := unique("ledger") // a database whose snapshot event never arrives
	lostAuto := database(t, c, lost)
	proxy := testbed.NewAWSProxy(t, ep.URL)
	automatedARNWorkaround(proxy)
	accountQuotas(proxy, 85, 100)
	fn := testbed.StartLambda(t, "../examples/dr-source", append(ep.WithURL(proxy.URL).Env(ep.Region, aws.Credentials{}),
		"DR_KMS_KEY_ID="+key, "DR_SHARE_WITH="+recoveryAccount, "DR_DATABASES="+db+","+lost, "DR_KEEP=1")...)
	prefix := "shipshape-dr-" + db

	var sum struct{ Warnings []string }
	require.NoError(t, json.Unmarshal(fn.Invoke(t, snapshotEvent(auto, ep.Region)), &sum), fn.Logs())
	assert.Contains(t, strings.Join(sum.Warnings, "\n"), "85", "the quota at 85 % is a warning")
	copies := drSnapshots(t, c, prefix)
	require.Len(t, copies, 1, "the event made one DR copy\n%s", fn.Logs())
	for id, s := range copies {
		tags := tagsOf(s)
		assert.Equal(t, "true", tags["shipshape:dr"], id)
		assert.Equal(t, aws.ToString(auto.DBSnapshotArn), tags["shipshape:source"], id)
		assert.Equal(t, testbed.DefaultAccount, tags["shipshape:source-account"], id)
		assert.Equal(t, key, aws.ToString(s.KmsKeyId), "re-encrypted with the customer managed key")
	}

	// The event again (RDS events are at least once): no second copy.
	fn.Invoke(t, snapshotEvent(auto, ep.Region))
	assert.Len(t, drSnapshots(t, c, prefix), 1, "a redelivered event copies nothing more")

	// An older copy of the same database, made by us before (tagged, prefixed; moto gives
	// both copies the same original time, and a tie goes to the later id), and an
	// operator's manual snapshot that carries our tag but not our name.
	older := prefix + "-199901010000"
	copyWithTags(t, c, auto, older, key, map[string]string{"shipshape:dr": "true", "shipshape:source": aws.ToString(auto.DBSnapshotArn),
		"shipshape:source-account": testbed.DefaultAccount})
	foreign := unique("payroll-drill")
	copyWithTags(t, c, auto, foreign, key, map[string]string{"shipshape:dr": "true", "shipshape:source": aws.ToString(auto.DBSnapshotArn)})

	// The schedule: the sweep copies the database whose event was lost, shares what is
	// finished with the recovery account, and retention (DR_KEEP=1) deletes our older copy.
	fn.Invoke(t, scheduleEvent(ep.Region))
	assert.Len(t, drSnapshots(t, c, "shipshape-dr-"+lost), 1, "the sweep copied %s\n%s", aws.ToString(lostAuto.DBSnapshotIdentifier), fn.Logs())
	assert.NotContains(t, drSnapshots(t, c, prefix), older, "retention keeps the newest copy only\n%s", fn.Logs())
	assert.Contains(t, drSnapshots(t, c, foreign), foreign, "a snapshot not named by us is never deleted, whatever its tags")
	for id := range drSnapshots(t, c, prefix) {
		attrs, err := c.DescribeDBSnapshotAttributes(context.Background(), &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: aws.String(id)})
		require.NoError(t, err)
		var restore []string
		for _, a := range attrs.DBSnapshotAttributesResult.DBSnapshotAttributes {
			if aws.ToString(a.AttributeName) == "restore" {
				restore = a.AttributeValues
			}
		}
		assert.Equal(t, []string{recoveryAccount}, restore, "shared with the recovery account\n%s", fn.Logs())
	}
}
