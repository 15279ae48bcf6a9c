package main

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// pagedInventory answers ListObjectsV2 in pages of 1000 as S3 does, the rest as fakeAWS.
func pagedInventory(objects []string) func(testbed.Request) testbed.Answer {
	base := fakeAWS(nil)
	return func(r testbed.Request) testbed.Answer {
		if r.Query.Get("list-type") != "2" {
			return base(r)
		}
		start := 0
		if tok := r.Query.Get("continuation-token"); tok != "" {
			fmt.Sscanf(tok, "page-%d", &start)
		}
		end := min(start+1000, len(objects))
		var b strings.Builder
		b.WriteString(`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>s3diff-inventorybucket-1</Name>`)
		fmt.Fprintf(&b, `<KeyCount>%d</KeyCount><MaxKeys>1000</MaxKeys>`, end-start)
		if end < len(objects) {
			fmt.Fprintf(&b, `<IsTruncated>true</IsTruncated><NextContinuationToken>page-%d</NextContinuationToken>`, end)
		} else {
			b.WriteString(`<IsTruncated>false</IsTruncated>`)
		}
		for _, m := range objects[start:end] {
			key, when, _ := strings.Cut(m, "@")
			b.WriteString(`<Contents><Key>` + key + `</Key><LastModified>` + when + `</LastModified><ETag>"x"</ETag><Size>1</Size></Contents>`)
		}
		b.WriteString(`</ListBucketResult>`)
		return testbed.Answer{Header: map[string]string{"Content-Type": "application/xml"}, Body: b.String()}
	}
}

// TestIntegrationCreateJobWithALargeInventoryFolder: after a year or two of weekly
// reports of a big bucket, the inventory prefix holds more than 1000 objects (report folders
// with manifest.json and manifest.checksum, data files, hive symlinks), so the listing of the
// documented create-job command has several pages. The job must still be created from the
// single newest manifest.
func TestIntegrationCreateJobWithALargeInventoryFolder(t *testing.T) {
	script := testbed.ShellBlock(t, "../../docs/s3diff.md", "<!-- test: create-job")
	prefix := "inventory/my-bucket/shipshape-s3diff/"
	var objects []string // in key order, as S3 lists them
	newest := ""
	for y := 2024; y <= 2026; y++ {
		for w := 0; w < 52; w++ {
			date := fmt.Sprintf("%04d-%02d-%02dT01-00Z", y, 1+w/5, 1+(w%5)*6)
			when := fmt.Sprintf("%04d-%02d-%02dT03:00:00.000Z", y, 1+w/5, 1+(w%5)*6)
			objects = append(objects, prefix+date+"/manifest.checksum@"+when, prefix+date+"/manifest.json@"+when)
			newest = prefix + date + "/manifest.json"
		}
	}
	for i := range 900 { // data files of the reports sort after the dated folders
		objects = append(objects, fmt.Sprintf("%sdata/%08x.csv.gz@2026-10-01T03:00:00.000Z", prefix, i))
	}
	require.Greater(t, len(objects), 1000)
	rec := testbed.NewRecorder(t, pagedInventory(objects))
	stdout, stderr, err := rec.Run(t, script)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	for _, r := range rec.Requests() {
		if r.Method == "HEAD" {
			t.Logf("HeadObject %s", r.Path)
		}
	}
	var job *createJobRequest
	for _, r := range rec.Requests() {
		if r.Path == "/v20180820/jobs" {
			job = new(createJobRequest)
			require.NoError(t, xml.Unmarshal([]byte(r.Body), job), r.Body)
		}
	}
	require.NotNil(t, job, "no CreateJob request")
	assert.Equal(t, "arn:aws:s3:::s3diff-inventorybucket-1/"+newest, job.Manifest.Location.ObjectArn, "the newest manifest, one key")
}
