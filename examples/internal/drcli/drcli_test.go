package drcli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/dr"
)

func TestChecks(t *testing.T) {
	assert.Equal(t, 2, Count("a", "", "b"))
	assert.NoError(t, CheckSecret("", "postgres://{host}/db"))
	assert.NoError(t, CheckSecret("arn:aws:secretsmanager:eu-west-1:111111111111:secret:x", "postgres://{user}@{host}/db"))
	assert.EqualError(t, CheckSecret("prod/db", ""), `-secret-arn "prod/db": want a Secrets Manager secret ARN`)
	assert.ErrorContains(t, CheckSecret("arn:aws:s3:::orders-db-master", ""), "-secret-arn", "an ARN of another service")
	assert.NoError(t, CheckSource("orders-db", "", ""))
	assert.NoError(t, CheckSource("", "ledger", ""))
	assert.NoError(t, CheckSource("", "", "shipshape-dr-orders-db-202611230300"))
	assert.NoError(t, CheckSource("", "", ""))
	for _, bad := range []string{"orders db", "orders_db", "1orders", "orders-", "orders--db", "o" + strings.Repeat("x", 63), "Orders-db", "orders-DB"} {
		assert.ErrorContains(t, CheckSource(bad, "", ""), "-instance", bad)
	}
	assert.ErrorContains(t, CheckSource("orders-db", "ledger/prod", ""), "-cluster")
	assert.ErrorContains(t, CheckSource("", "Ledger", ""), "-cluster")
	assert.EqualError(t, CheckSource("", "", "shipshape-DR-orders-db-202611230300"),
		`-snapshot "shipshape-DR-orders-db-202611230300": write it in lower case (shipshape-dr-orders-db-202611230300): RDS stores identifiers in lower case, and the IAM policies name them so`)
	assert.NoError(t, (&Report{Bucket: "dr-reports"}).Check())
	assert.NoError(t, (&Report{}).Check())
	assert.ErrorContains(t, (&Report{Bucket: "arn:aws:s3:::dr-reports"}).Check(), "-report-bucket")
	assert.EqualError(t, CheckSecret("", "postgres://u:{password}@{host}/db"), "-dsn uses {user} or {password}: give -secret-arn")
	assert.NoError(t, CheckWaits(time.Hour, time.Second))
	assert.ErrorContains(t, CheckWaits(0, 0), "-timeout", "timeout is checked first")
	assert.ErrorContains(t, CheckWaits(time.Hour, -time.Second), "-poll")
}

func TestMulti(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var m Multi
	fs.Var(&m, "q", "")
	require.NoError(t, fs.Parse([]string{"-q", "a", "-q", "b"}))
	assert.Equal(t, Multi{"a", "b"}, m)
	assert.Equal(t, "a,b", m.String())
}

// TestReportWrite: the report goes to stdout and -report FILE; without a bucket or topic
// nothing is delivered; a file that cannot be written is said on stderr.
func TestReportWrite(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var r Report
	r.Flags(fs, "verification")
	file := filepath.Join(t.TempDir(), "report.json")
	require.NoError(t, fs.Parse([]string{"-report", file}))
	assert.Equal(t, "dr-reports", r.Prefix)
	assert.Equal(t, "SNS topic ARN told when the verification fails", fs.Lookup("sns-topic").Usage)
	reporter, err := r.Reporter(Clients{})
	require.NoError(t, err)
	rep := dr.Report{Snapshot: "orders-db-1", OK: true}
	var stdout, stderr bytes.Buffer
	r.Write(context.Background(), "dr-x", reporter, &rep, &stdout, &stderr)
	written, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, stdout.String(), string(written))
	assert.Contains(t, stdout.String(), `"orders-db-1"`)
	assert.Empty(t, stderr.String())
	assert.Empty(t, rep.Location)

	r.File = filepath.Join(t.TempDir(), "missing", "report.json")
	r.Write(context.Background(), "dr-x", reporter, &rep, &stdout, &stderr)
	assert.Contains(t, stderr.String(), "dr-x: writing the report: ")
}
