package drtest_test

import (
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/failover"
	"github.com/shipshape-dev/shipshape/dr/restore"
)

// The fakes stand in for the real clients wherever the dr packages take one: each type's own
// interface (its api.go) is satisfied, so a method a package starts to call and the fake
// lacks breaks this build.
var (
	_ dr.SourceAPI         = (*drtest.RDS)(nil)
	_ dr.RecoveryAPI       = (*drtest.RDS)(nil)
	_ restore.VerifierAPI  = (*drtest.RDS)(nil)
	_ restore.SanitizerAPI = (*drtest.RDS)(nil)
	_ failover.RestorerAPI = (*drtest.RDS)(nil)
	_ dr.KMSAPI            = (*drtest.KMS)(nil)
	_ failover.Route53API  = (*drtest.Route53)(nil)
	_ restore.S3API        = (*drtest.S3)(nil)
	_ restore.SNSAPI       = (*drtest.SNS)(nil)
)
