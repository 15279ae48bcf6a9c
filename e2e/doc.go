// Package e2e runs every binary of examples/ end to end against AWS implementations that
// nobody in this project wrote: moto in server mode (scripts/testbed's 'aws' server) for the
// AWS APIs, Versity S3 Gateway, amazon-ec2-metadata-mock and PostgreSQL where they serve
// better, the Lambda binaries under AWS's Lambda Runtime Interface Emulator and the state
// machines under aws-local-stepfunctions. Each test runs the real binary and checks what it
// did through the real SDK clients, never through the binary's own output alone.
//
// Where moto cannot show a behaviour (its gaps are listed in docs/TESTING.md), the test says
// so and the package's own fakes prove it instead.
//
// The package holds only tests; `make test` runs them under the test bed.
package e2e
