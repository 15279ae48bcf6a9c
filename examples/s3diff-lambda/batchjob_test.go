package main

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// fakeAWS answers the calls of the documented create-job script: CloudFormation's
// DescribeStacks (the stack's outputs), S3's ListObjectsV2 and HeadObject (the inventory
// reports) and S3 Control's CreateJob.
func fakeAWS(manifests []string) func(testbed.Request) testbed.Answer {
	return func(r testbed.Request) testbed.Answer {
		switch {
		case strings.Contains(r.Body, "Action=DescribeStacks"):
			return testbed.Answer{Header: map[string]string{"Content-Type": "text/xml"}, Body: `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>s3diff</StackName><StackId>arn:aws:cloudformation:eu-west-1:210987654321:stack/s3diff/1</StackId><CreationTime>2026-11-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>
<Outputs>
<member><OutputKey>FunctionName</OutputKey><OutputValue>s3diff-DiffFunction-1</OutputValue></member>
<member><OutputKey>FunctionArn</OutputKey><OutputValue>arn:aws:lambda:eu-west-1:210987654321:function:s3diff-DiffFunction-1</OutputValue></member>
<member><OutputKey>BatchOperationsRoleArn</OutputKey><OutputValue>arn:aws:iam::210987654321:role/s3diff-BatchOperationsRole-1</OutputValue></member>
<member><OutputKey>InventoryBucket</OutputKey><OutputValue>s3diff-inventorybucket-1</OutputValue></member>
</Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`}
		case r.Query.Get("list-type") == "2":
			var b strings.Builder
			b.WriteString(`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>s3diff-inventorybucket-1</Name><IsTruncated>false</IsTruncated>`)
			for _, m := range manifests {
				// m is "key@last-modified"
				key, when, _ := strings.Cut(m, "@")
				if strings.HasPrefix(key, r.Query.Get("prefix")) {
					b.WriteString(`<Contents><Key>` + key + `</Key><LastModified>` + when + `</LastModified><ETag>"x"</ETag><Size>1</Size></Contents>`)
				}
			}
			b.WriteString(`</ListBucketResult>`)
			return testbed.Answer{Header: map[string]string{"Content-Type": "application/xml"}, Body: b.String()}
		case r.Method == http.MethodHead:
			return testbed.Answer{Header: map[string]string{"ETag": `"0f343b0931126a20f133d67c2b018a3b"`, "Content-Length": "0"}}
		case r.Method == http.MethodPost && r.Path == "/v20180820/jobs":
			return testbed.Answer{Header: map[string]string{"Content-Type": "application/xml"},
				Body: `<CreateJobResult xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><JobId>0d5e8a7b-1c2d-4e5f-8a9b-0c1d2e3f4a5b</JobId></CreateJobResult>`}
		}
		return testbed.Answer{Status: http.StatusBadRequest, Body: "unexpected request " + r.Method + " " + r.Host + r.Path}
	}
}

// createJobRequest is the part of S3 Control's CreateJob body the test checks.
type createJobRequest struct {
	ConfirmationRequired bool
	Operation            struct {
		LambdaInvoke struct {
			FunctionArn             string
			InvocationSchemaVersion string
			UserArguments           struct {
				Entry []struct {
					Key   string `xml:"key"`
					Value string `xml:"value"`
				} `xml:"entry"`
			}
		}
	}
	Report struct {
		Bucket, Format, Prefix, ReportScope string
		Enabled                             bool
	}
	Manifest struct {
		Spec     struct{ Format string }
		Location struct{ ObjectArn, ETag string }
	}
	Priority           int
	RoleArn            string
	ClientRequestToken string
}

// TestIntegrationCreateJobCommandInTheDocs runs the create-job block of docs/s3diff.md with the
// real AWS CLI against a recorder and checks the job it asks S3 for: the function of the stack,
// schema 2.0 with keep and dryRun, the newest inventory manifest with its ETag, the report
// into the inventory bucket, the role, and a client request token that is the same on a rerun.
func TestIntegrationCreateJobCommandInTheDocs(t *testing.T) {
	script := testbed.ShellBlock(t, "../../docs/s3diff.md", "<!-- test: create-job")
	prefix := "inventory/my-bucket/shipshape-s3diff/"
	rec := testbed.NewRecorder(t, fakeAWS([]string{
		prefix + "2026-11-22T01-00Z/manifest.json@2026-11-22T03:00:00.000Z",
		prefix + "2026-11-29T01-00Z/manifest.json@2026-11-29T03:00:00.000Z",
		prefix + "2026-11-29T01-00Z/manifest.checksum@2026-11-29T03:00:01.000Z",
		prefix + "data/0a1b.csv.gz@2026-11-29T03:00:02.000Z",
	}))
	var tokens []string
	for range 2 {
		stdout, stderr, err := rec.Run(t, script)
		require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "0d5e8a7b-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "the CLI printed the job id")
		var job *createJobRequest
		for _, r := range rec.Requests() {
			if r.Path == "/v20180820/jobs" {
				job = new(createJobRequest)
				require.NoError(t, xml.Unmarshal([]byte(r.Body), job), r.Body)
				assert.Equal(t, "210987654321", r.Header.Get("X-Amz-Account-Id"))
			}
		}
		require.NotNil(t, job, "no CreateJob request: %v", rec.Requests())
		li := job.Operation.LambdaInvoke
		assert.Equal(t, "arn:aws:lambda:eu-west-1:210987654321:function:s3diff-DiffFunction-1", li.FunctionArn)
		assert.Equal(t, "2.0", li.InvocationSchemaVersion)
		args := map[string]string{}
		for _, e := range li.UserArguments.Entry {
			args[e.Key] = e.Value
		}
		assert.Equal(t, map[string]string{"keep": "10", "dryRun": "true"}, args, "the documented first run is a dry run")
		assert.Equal(t, "S3InventoryReport_CSV_20161130", job.Manifest.Spec.Format)
		assert.Equal(t, "arn:aws:s3:::s3diff-inventorybucket-1/"+prefix+"2026-11-29T01-00Z/manifest.json", job.Manifest.Location.ObjectArn, "the newest manifest")
		assert.Equal(t, "0f343b0931126a20f133d67c2b018a3b", job.Manifest.Location.ETag, "without quotes")
		assert.Equal(t, "arn:aws:s3:::s3diff-inventorybucket-1", job.Report.Bucket)
		assert.Equal(t, "batch-reports", job.Report.Prefix, "where the role may write")
		assert.Equal(t, "AllTasks", job.Report.ReportScope)
		assert.True(t, job.Report.Enabled)
		assert.Equal(t, "arn:aws:iam::210987654321:role/s3diff-BatchOperationsRole-1", job.RoleArn)
		assert.False(t, job.ConfirmationRequired)
		assert.LessOrEqual(t, len(job.ClientRequestToken), 64, "S3 Control's limit")
		tokens = append(tokens, job.ClientRequestToken)
	}
	assert.Equal(t, tokens[0], tokens[1], "a rerun asks for the same job, not a second one")

	t.Run("no inventory report yet", func(t *testing.T) {
		rec := testbed.NewRecorder(t, fakeAWS(nil))
		_, stderr, err := rec.Run(t, script)
		require.Error(t, err)
		assert.Contains(t, stderr, "no inventory report of my-bucket yet")
		for _, r := range rec.Requests() {
			assert.NotEqual(t, "/v20180820/jobs", r.Path, "no job without a manifest")
		}
	})
}
