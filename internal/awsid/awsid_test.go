package awsid

import (
	"strings"
	"testing"
)

func TestShapes(t *testing.T) {
	for _, c := range []struct {
		check func(string) error
		in    string
		ok    bool
	}{
		{SecurityGroupID, "sg-0123456789abcdef0", true},
		{SecurityGroupID, "sg-01234567", true},
		{SecurityGroupID, "sg-1", false},
		{SecurityGroupID, "sg 2", false},
		{SecurityGroupID, "", false},
		{SubnetGroupName, "private", true},
		{SubnetGroupName, "private subnets_1.a-b", true},
		{SubnetGroupName, "bad group!", false},
		{SubnetGroupName, "", false},
		{Region, "eu-west-1", true},
		{Region, "us-gov-west-1", true},
		{Region, "eu-west-1a", false},
		{Region, "eu-1", false},
		{Region, "EU-west-1", false},
		{Region, "", false},
		{InstanceID, "i-0123456789abcdef0", true},
		{InstanceID, "i-01234567", true},
		{InstanceID, "bogus", false},
		{InstanceID, "i-", false},
		{InstanceID, "i-0123456789ABCDEF0", false},
		{InstanceID, "i-0123456789abcdef0 ", false},
		{InstanceID, "", false},
		{AccountID, "123456789012", true},
		{AccountID, "12345678901", false},
		{AccountID, "12345678901a", false},
		{RoleName, "app-role", true},
		{RoleName, "a/b", false},
		{RoleName, "", false},
		{SecretARN, "arn:aws:secretsmanager:eu-west-1:111111111111:secret:orders-db-master-AbCdEf", true},
		{SecretARN, "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rds!db-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-XyZ123", true},
		{SecretARN, "arn:aws-us-gov:secretsmanager:us-gov-west-1:111111111111:secret:prod/db", true},
		{SecretARN, "arn:aws:s3:::orders-db-master", false},
		{SecretARN, "arn:aws:secretsmanager:eu-west-1:111111111111:orders-db-master", false},
		{SecretARN, "arn:aws:secretsmanager:eu-west-1:1111:secret:x", false},
		{SecretARN, "arn:aws:secretsmanager::111111111111:secret:x", false},
		{SecretARN, "arn:aws:secretsmanager:eu-west-1:111111111111:secret:", false},
		{SecretARN, "prod/db", false},
		{SecretARN, "", false},
		{KMSKey, "1234abcd-12ab-34cd-56ef-1234567890ab", true},
		{KMSKey, "mrk-1234abcd12ab34cd56ef1234567890ab", true},
		{KMSKey, "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", true},
		{KMSKey, "arn:aws-cn:kms:cn-north-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab", true},
		{KMSKey, "alias/dev-shared", true},
		{KMSKey, "arn:aws:kms:us-east-1:111111111111:alias/dev/shared_key", true},
		{KMSKey, "arn:aws:s3:::dev-shared", false},
		{KMSKey, "dev-shared", false},
		{KMSKey, "alias/", false},
		{KMSKey, "alias/dev shared", false},
		{KMSKey, "arn:aws:kms:us-east-1:111111111111:key/dev", false},
		{KMSKey, "arn:aws:kms:us-east-1:111111111111:1234abcd-12ab-34cd-56ef-1234567890ab", false},
		{KMSKey, "1234abcd-12ab-34cd-56ef-1234567890ab ", false},
		{KMSKey, "", false},
		{BucketName, "dr-reports", true},
		{BucketName, "dr.reports.example.com", true},
		{BucketName, "abc", true},
		{BucketName, "ab", false},
		{BucketName, "b" + strings.Repeat("x", 62), true},
		{BucketName, "b" + strings.Repeat("x", 63), false},
		{BucketName, "arn:aws:s3:::dr-reports", false},
		{BucketName, "s3://dr-reports", false},
		{BucketName, "DR Reports", false},
		{BucketName, "Dr-reports", false},
		{BucketName, "dr_reports", false},
		{BucketName, "dr-reports?x", false},
		{BucketName, "-dr-reports", false},
		{BucketName, "dr-reports.", false},
		{BucketName, "dr..reports", false},
		{BucketName, "192.168.5.4", false},
		{BucketName, "", false},
	} {
		if err := c.check(c.in); (err == nil) != c.ok {
			t.Errorf("%q: err = %v, want ok=%v", c.in, err, c.ok)
		}
	}
}
