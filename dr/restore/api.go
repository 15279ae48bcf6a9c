package restore

import "github.com/shipshape-dev/shipshape/dr"

// RDSAPI is the part of the RDS client a Verifier, a Sanitizer and a StepRunner use.
// *rds.Client satisfies it, and so does drtest.RDS.
type RDSAPI = dr.RDSAPI
