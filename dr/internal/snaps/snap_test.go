package snaps

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
)

// TestARNsAreReadByTheSDKsParser: a shared snapshot's id may come as its ARN (the id may
// hold ':'), and a copy's account is read from an ARN; anything else is no ARN.
func TestARNsAreReadByTheSDKsParser(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:rds:us-east-1:111111111111:snapshot:shipshape-dr-orders-db-202611230300":      "shipshape-dr-orders-db-202611230300",
		"arn:aws:rds:us-east-1:111111111111:cluster-snapshot:shipshape-dr-ledger-202611230300": "shipshape-dr-ledger-202611230300",
		"arn:aws:rds:us-east-1:111111111111:snapshot:rds:orders-db-2026-11-23-03-00":           "rds:orders-db-2026-11-23-03-00",
		"rds:orders-db-2026-11-23-03-00":      "rds:orders-db-2026-11-23-03-00",
		"shipshape-dr-orders-db-202611230300": "shipshape-dr-orders-db-202611230300",
		"arn:aws:rds:us-east-1:111111111111":  "arn:aws:rds:us-east-1:111111111111",
	} {
		assert.Equal(t, want, BareID(aws.String(in)), in)
	}
	for in, want := range map[string]string{
		"arn:aws:rds:us-east-1:111111111111:snapshot:shipshape-dr-orders-db-202611230300": "111111111111",
		"arn:aws-cn:rds:cn-north-1:333333333333:cluster-snapshot:x":                       "333333333333",
		"":                      "",
		"orders-db":             "",
		"arn:aws:rds:us-east-1": "",
	} {
		assert.Equal(t, want, AccountOf(in), in)
	}
}
