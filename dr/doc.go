// Package dr copies, shares and verifies RDS snapshots across accounts and regions for
// disaster recovery, respecting the rules that make cross-account copies fail in practice
// (automated snapshots, default KMS keys, copy quotas).
//
// Status: planned (issue 7); the package has no API yet.
package dr
