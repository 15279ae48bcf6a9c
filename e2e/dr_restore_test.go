package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// recoveryCopies seeds, in the recovery account, the DR copies dr-recovery would have made
// of database db of each source account (moto can neither list nor copy a snapshot another
// account shared: docs/TESTING.md), and returns the copies' ids by source account. The
// recovery account reaches moto through sts:AssumeRole, as a deployment would.
func recoveryCopies(t *testing.T, ep testbed.AWSEndpoint, c *rds.Client, key, db string, accounts ...string) map[string]string {
	t.Helper()
	auto := database(t, c, db) // gives the copies their DBInstanceIdentifier, db
	out := map[string]string{}
	for i, acct := range accounts {
		id := fmt.Sprintf("shipshape-dr-%s-2026120%d0300-%s", db, i+1, acct)
		source := fmt.Sprintf("arn:aws:rds:%s:%s:snapshot:shipshape-dr-%s-2026120%d0300", ep.Region, acct, db, i+1)
		copyWithTags(t, c, auto, id, key, map[string]string{"shipshape:dr": "true", "shipshape:source": source, "shipshape:source-account": acct})
		out[acct] = id
	}
	return out
}

// pgDSN points the binaries' -dsn at the test bed's PostgreSQL: moto's restored instances
// have a made-up endpoint, so the query string's host= and port= (which pgx lets override
// the URL's) send the connection to the real server, as a user would through a tunnel.
func pgDSN(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(testbed.PostgresDSN(t))
	require.NoError(t, err)
	return fmt.Sprintf("postgres://%s@{host}:{port}%s?sslmode=disable&host=%s&port=%s", u.User.Username(), u.Path, u.Hostname(), u.Port())
}

func TestDRVerifyAgainstMoto(t *testing.T) {
	ep := testbed.AWS(t)
	cfg, creds := ep.Account(t, recoveryAccount, "shipshape-recovery", ep.Region)
	c := rds.NewFromConfig(cfg)
	key := customerKey(t, cfg)
	db := unique("orders")
	copies := recoveryCopies(t, ep, c, key, db, "111111111111", testbed.DefaultAccount)
	proxy := testbed.NewAWSProxy(t, ep.URL)
	env := ep.WithURL(proxy.URL).Env(ep.Region, creds)
	bin := binary(t, "dr-verify")
	args := []string{"-instance", db, "-class", "db.t3.micro", "-dsn", pgDSN(t), "-min-tables", "0", "-poll", "1s", "-timeout", "1m",
		"-query", "one|select 1|1"}

	t.Run("two source accounts and no -source-account: exit 4, nothing restored", func(t *testing.T) {
		r := run(t, env, "", bin, args...)
		assert.Equal(t, 4, r.code, "%s", r)
		assert.Contains(t, r.stderr, "111111111111")
		assert.Contains(t, r.stderr, testbed.DefaultAccount)
		assert.Zero(t, proxy.Calls("RestoreDBInstanceFromDBSnapshot"), "%v", proxy.Ops())
	})

	t.Run("the chosen account's copy is restored, checked on PostgreSQL, and deleted", func(t *testing.T) {
		r := run(t, env, "", bin, append(args, "-source-account", "111111111111")...)
		require.Zero(t, r.code, "%s", r)
		var rep struct {
			OK       bool   `json:"ok"`
			Snapshot string `json:"snapshot"`
			Instance string `json:"instance"`
			Steps    []struct {
				Name string `json:"name"`
				OK   bool   `json:"ok"`
			} `json:"steps"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), "%s", r)
		assert.True(t, rep.OK)
		assert.Equal(t, copies["111111111111"], rep.Snapshot)
		restores := proxy.Forms("RestoreDBInstanceFromDBSnapshot")
		require.Len(t, restores, 1)
		assert.Equal(t, copies["111111111111"], restores[0].Get("DBSnapshotIdentifier"), "the restore RDS was asked for")
		assert.Equal(t, "false", restores[0].Get("PubliclyAccessible"))
		assert.True(t, strings.HasPrefix(rep.Instance, "shipshape-verify-"), rep.Instance)
		_, err := c.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(rep.Instance)})
		require.Error(t, err, "the temporary instance is gone")
	})
}

func TestDRFailoverAgainstMoto(t *testing.T) {
	ep := testbed.AWS(t)
	cfg, creds := ep.Account(t, recoveryAccount, "shipshape-recovery", ep.Region)
	c := rds.NewFromConfig(cfg)
	key := customerKey(t, cfg)
	db := unique("orders")
	copies := recoveryCopies(t, ep, c, key, db, testbed.DefaultAccount)
	r53 := route53.NewFromConfig(cfg)
	zoneName := unique("e2e") + ".example.com"
	zone, err := r53.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{Name: aws.String(zoneName), CallerReference: aws.String(zoneName)})
	require.NoError(t, err)
	zoneID := strings.TrimPrefix(aws.ToString(zone.HostedZone.Id), "/hostedzone/")
	record := "db." + zoneName
	_, err = r53.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(record), Type: r53types.RRTypeCname, TTL: aws.Int64(60),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("primary.old.example.com")}}}}}}})
	require.NoError(t, err)
	proxy := testbed.NewAWSProxy(t, ep.URL)
	env := ep.WithURL(proxy.URL).Env(ep.Region, creds)
	bin := binary(t, "dr-failover")
	target := "shipshape-" + db
	args := []string{"-instance", db, "-target-id", target, "-class", "db.t3.micro", "-zone-id", zoneID, "-record", record, "-poll", "1s"}
	cname := func() string {
		out, err := r53.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
		require.NoError(t, err)
		for _, rr := range out.ResourceRecordSets {
			if strings.TrimSuffix(aws.ToString(rr.Name), ".") == record && rr.Type == r53types.RRTypeCname {
				return aws.ToString(rr.ResourceRecords[0].Value)
			}
		}
		return ""
	}

	t.Run("dry run: the plan, and nothing changed", func(t *testing.T) {
		r := run(t, env, "", bin, append(args, "-dry-run")...)
		require.Zero(t, r.code, "%s", r)
		assert.Contains(t, r.stdout+r.stderr, copies[testbed.DefaultAccount])
		assert.Zero(t, proxy.Calls("RestoreDBInstanceFromDBSnapshot"))
		assert.Zero(t, proxy.Calls("ChangeResourceRecordSets"))
		assert.Equal(t, "primary.old.example.com", cname())
	})

	t.Run("failover: the newest copy restored under the target, then the CNAME switched", func(t *testing.T) {
		r := run(t, env, "", bin, args...)
		require.Zero(t, r.code, "%s", r)
		out, err := c.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(target)})
		require.NoError(t, err)
		require.Len(t, out.DBInstances, 1)
		inst := out.DBInstances[0]
		assert.True(t, aws.ToBool(inst.DeletionProtection), "protected by default")
		assert.Equal(t, aws.ToString(inst.Endpoint.Address), cname(), "the record points at the restored database")
		assert.Contains(t, r.stdout+r.stderr, "primary.old.example.com", "the way back is printed")
	})

	t.Run("rerun: attaches to its own restore, restores nothing more", func(t *testing.T) {
		before := proxy.Calls("RestoreDBInstanceFromDBSnapshot")
		r := run(t, env, "", bin, args...)
		require.Zero(t, r.code, "%s", r)
		assert.Equal(t, before, proxy.Calls("RestoreDBInstanceFromDBSnapshot"))
	})

	t.Run("rehearsal: all of it under temporary names, checked, then deleted", func(t *testing.T) {
		switched := cname()
		r := run(t, env, "", bin, "-instance", db, "-class", "db.t3.micro", "-rehearse", "-dsn", pgDSN(t), "-min-tables", "0",
			"-zone-id", zoneID, "-record", record, "-poll", "1s")
		require.Zero(t, r.code, "%s", r)
		assert.Contains(t, r.stdout+r.stderr, "recovery point")
		insts, err := c.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{})
		require.NoError(t, err)
		for _, i := range insts.DBInstances {
			assert.False(t, strings.HasPrefix(aws.ToString(i.DBInstanceIdentifier), "shipshape-rehearsal-"), "rehearsal instance %s left", aws.ToString(i.DBInstanceIdentifier))
		}
		out, err := r53.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
		require.NoError(t, err)
		for _, rr := range out.ResourceRecordSets {
			assert.False(t, strings.HasPrefix(aws.ToString(rr.Name), "shipshape-rehearsal-"), "rehearsal record %s left", aws.ToString(rr.Name))
		}
		assert.Equal(t, switched, cname(), "the real record is untouched")
	})
}

// TestDRSanitizeAgainstMoto: the statements run on PostgreSQL (moto's restored instance has no
// database behind it), then the sanitized snapshot is made, re-encrypted, shared and tagged on
// moto, the temporary instance and intermediate snapshot are deleted, and the report goes to
// S3 under the run's own key.
func TestDRSanitizeAgainstMoto(t *testing.T) {
	ep := testbed.AWS(t)
	cfg, creds := ep.Account(t, recoveryAccount, "shipshape-recovery", ep.Region)
	c := rds.NewFromConfig(cfg)
	key := customerKey(t, cfg)
	devKey := customerKey(t, cfg)
	db := unique("orders")
	recoveryCopies(t, ep, c, key, db, testbed.DefaultAccount)
	pg := testbed.PostgresServer(t).Database(t, "sanitize")
	conn := pgConn(t, pg.String())
	_, err := conn.Exec(context.Background(), `create table customers (id int primary key, email text); insert into customers values (1, 'ann@example.com'), (2, 'bob@example.com')`)
	require.NoError(t, err)
	dsn := fmt.Sprintf("postgres://%s@{host}:{port}%s?sslmode=disable&host=%s&port=%s", pg.User.Username(), pg.Path, pg.Hostname(), pg.Port())
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := unique("e2e-reports")
	_, err = s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)

	r := run(t, ep.Env(ep.Region, creds), "", binary(t, "dr-sanitize"), "-instance", db, "-class", "db.t3.micro", "-dsn", dsn,
		"-statement", "update customers set email = 'user' || id || '@example.invalid'", "-kms-key", devKey, "-share-with", "333333333333",
		"-poll", "1s", "-report-bucket", bucket)
	require.Zero(t, r.code, "%s", r)
	var rep struct {
		OK       bool   `json:"ok"`
		Result   string `json:"result"`
		Run      string `json:"run"`
		Instance string `json:"instance"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), "%s", r)
	require.True(t, rep.OK)
	assert.True(t, strings.HasPrefix(rep.Instance, "shipshape-sanitize-"), "the sanitizing function's own kind of temporary instance: %s", rep.Instance)

	var emails []string
	rows, err := conn.Query(context.Background(), "select email from customers order by id")
	require.NoError(t, err)
	for rows.Next() {
		var e string
		require.NoError(t, rows.Scan(&e))
		emails = append(emails, e)
	}
	assert.Equal(t, []string{"user1@example.invalid", "user2@example.invalid"}, emails, "the statement ran")

	snaps := drSnapshots(t, c, "shipshape-sanitized-")
	require.Contains(t, snaps, rep.Result)
	s := snaps[rep.Result]
	assert.Equal(t, "sanitized", tagsOf(s)["shipshape:dr"])
	assert.Equal(t, devKey, aws.ToString(s.KmsKeyId), "re-encrypted with the development accounts' key")
	attrs, err := c.DescribeDBSnapshotAttributes(context.Background(), &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: aws.String(rep.Result)})
	require.NoError(t, err)
	assert.Equal(t, []string{"333333333333"}, attrs.DBSnapshotAttributesResult.DBSnapshotAttributes[0].AttributeValues)
	for id, s := range snaps {
		assert.NotEqual(t, "sanitize-intermediate", tagsOf(s)["shipshape:dr"], "the intermediate snapshot %s is deleted", id)
	}
	insts, err := c.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{})
	require.NoError(t, err)
	for _, i := range insts.DBInstances {
		id := aws.ToString(i.DBInstanceIdentifier)
		assert.False(t, strings.HasPrefix(id, "shipshape-sanitize-") || strings.HasPrefix(id, "shipshape-verify-"), "temporary instance %s left", id)
	}
	objs, err := s3c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	require.Len(t, objs.Contents, 1)
	assert.Contains(t, aws.ToString(objs.Contents[0].Key), rep.Run, "the report is keyed by its run")
}

func pgConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
