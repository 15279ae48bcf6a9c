// Package imds reads EC2 instance metadata and instance-profile credentials over IMDSv2.
package imds
