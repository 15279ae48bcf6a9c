package restore_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/shipshape-dev/shipshape/dr/drtest"
)

// Helpers these tests share with package dr's (a copy each: tests of different packages).

var created = time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)

// wire is the real SDK client against a WireServer over f. The dr types set their own
// retryer (on f's fake clock, so backoff takes no time) on every call.
func wire(t *testing.T, f *drtest.RDS) (*rds.Client, *drtest.WireServer) {
	srv := drtest.NewWireServer(f)
	t.Cleanup(srv.Close)
	return srv.Client(), srv
}

func atkTags(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}
