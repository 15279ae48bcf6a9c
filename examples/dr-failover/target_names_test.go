package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/shipshape-dev/shipshape/examples/internal/clitest"
)

// TestTargetIDNeverNamesAnotherFunctionsKind: -target-id must start with shipshape- and not
// with another function's kind (docs/RELIABILITY.md: "a failover target must be named
// shipshape-... (not another function's kind)"). RDS identifiers are case-insensitive and
// stored in lower case, so shipshape-VERIFY-orders is db:shipshape-verify-orders, which the
// dr-steps and dr-sanitize roles may tag and delete; shipshape-rehearsal-* may be deleted by
// dr-failover's own rehearsal grant.
func TestTargetIDNeverNamesAnotherFunctionsKind(t *testing.T) {
	ok := []string{"-instance", "orders-db", "-class", "db.r6g.large", "-dry-run"}
	with := func(extra ...string) []string { return append(append([]string(nil), ok...), extra...) }
	clitest.CheckUsage(t, []clitest.UsageCase{
		{Args: with("-target-id", "shipshape-rehearsal-orders"), Flag: "-target-id"},
		{Args: with("-target-id", "shipshape-sanitized-orders"), Flag: "-target-id"},
		{Args: with("-target-id", "shipshape-VERIFY-orders"), Flag: "-target-id"},
		{Args: with("-target-id", "shipshape-Rehearsal-orders"), Flag: "-target-id"},
		{Args: with("-target-id", "shipshape-DR-orders-db-202611230300"), Flag: "-target-id"},
		{Args: with("-target-id", "shipshape-"), Flag: "target"},
		{Args: with("-target-id", "Shipshape-orders-db", "-cluster-parameter-group", "x"), Flag: "-target-id"},
	}, func(args []string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut, fromEnvironment, nil)
		return code, errOut.String()
	})
}
