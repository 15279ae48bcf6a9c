package restore

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/internal/restoring"
)

// RegionSettings are where a temporary instance goes in one region.
type RegionSettings struct {
	SubnetGroup    string   `json:"SubnetGroup"`
	SecurityGroups []string `json:"SecurityGroups"`
}

// StepSettings configure a StepRunner (the Step Functions Lambdas examples/dr-steps and
// examples/dr-sanitize read them from their environment, in examples/internal/drstep).
type StepSettings struct {
	Target dr.VerifyTarget
	// DSN is the connection string template (DSNTemplate); SecretARN, when set, is the
	// Secrets Manager secret with the user and password ({user}, {password}).
	DSN       string
	SecretARN string
	Checks    dr.Checks
	Timeout   time.Duration
	// Regions are the regions to run in, each with its subnet group and security groups.
	// One entry, "", means the Lambda's own region.
	Regions map[string]RegionSettings
	// Report destinations (optional).
	ReportBucket, ReportPrefix, TopicARN string
	// Sanitize is used only by a sanitizing StepRunner.
	Sanitize SanitizeOptions
}

// RegionNames are the configured regions, sorted ("" when only the Lambda's own).
func (s StepSettings) RegionNames() []string {
	var out []string
	for r := range s.Regions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// StepClients are the AWS clients a StepRunner uses. RDS is required; the others only when
// the settings name a secret, a report bucket or a topic.
type StepClients struct {
	// RDS returns the RDS client of a region ("" for the default one).
	RDS            func(region string) SanitizerAPI
	SecretsManager SecretsManagerAPI
	S3             S3API
	SNS            SNSAPI
	// KMS tells an AWS managed key from a customer managed one before a sanitized copy that
	// is to be shared is made (SanitizeOptions.KMS). Optional.
	KMS dr.KMSAPI
}

// StepRequest is one invocation of a state machine's Lambda: the step, the execution's name
// as the run, the region (from the execution's input; "" for the Lambda's own), and the
// state the machine passes along.
type StepRequest struct {
	Step   string         `json:"step"`
	Run    string         `json:"run"`
	Region string         `json:"region"`
	State  dr.VerifyState `json:"state"`
}

// StepRunner runs the steps of the verification state machine (examples/dr-steps) or of the
// sanitizing one (examples/dr-sanitize) for the configured regions, plus a "report" step
// that delivers the finished report (Reporter). It is safe for concurrent use.
type StepRunner struct {
	s        StepSettings
	c        StepClients
	sanitize bool
	reporter *Reporter
	optFns   []func(*dr.VerifyOptions)

	mu      sync.Mutex
	runners map[string]stepper
}

type stepper interface {
	Step(ctx context.Context, step, run string, st dr.VerifyState) (dr.VerifyState, error)
	finishReport(st *dr.VerifyState)
}

// NewStepRunner checks the settings (every region's Verifier or Sanitizer is built; no call
// is made) and returns a StepRunner.
func NewStepRunner(s StepSettings, c StepClients, sanitize bool, optFns ...func(*dr.VerifyOptions)) (*StepRunner, error) {
	if c.RDS == nil {
		return nil, fmt.Errorf("%w: no RDS client", dr.ErrInvalidInput)
	}
	if s.SecretARN != "" && c.SecretsManager == nil {
		return nil, fmt.Errorf("%w: a database secret needs a Secrets Manager client", dr.ErrInvalidInput)
	}
	rep, err := NewReporter(func(o *ReporterOptions) {
		o.Bucket, o.Prefix, o.TopicARN = s.ReportBucket, s.ReportPrefix, s.TopicARN
		if s.ReportBucket != "" {
			o.S3 = c.S3
		}
		if s.TopicARN != "" {
			o.SNS = c.SNS
		}
	})
	if err != nil {
		return nil, err
	}
	r := &StepRunner{s: s, c: c, sanitize: sanitize, reporter: rep, optFns: optFns, runners: map[string]stepper{}}
	for region := range s.Regions {
		if _, err := r.runner(region); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// runner returns the region's Verifier or Sanitizer, made on first use.
func (r *StepRunner) runner(region string) (stepper, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if x, ok := r.runners[region]; ok {
		return x, nil
	}
	rs, ok := r.s.Regions[region]
	if !ok {
		if _, own := r.s.Regions[""]; own && len(r.s.Regions) == 1 {
			return nil, fmt.Errorf("%w: region %q: without DR_REGIONS the function works in its own region only, which the execution input names as \"region\": \"\" (as the template's schedule does); set DR_REGIONS to work in %s", dr.ErrInvalidInput, region, region)
		}
		return nil, fmt.Errorf("%w: region %q is not configured (DR_REGIONS has %v)", dr.ErrInvalidInput, region, r.s.RegionNames())
	}
	dsn, err := DSNTemplate(r.s.DSN, nil)
	if err != nil {
		return nil, err
	}
	db := dr.Database{Driver: "pgx", DSN: dsn}
	if r.s.SecretARN != "" {
		db.Credentials = SecretCredentials(r.c.SecretsManager, r.s.SecretARN)
	}
	opts := append([]func(*dr.VerifyOptions){func(o *dr.VerifyOptions) {
		o.SubnetGroup, o.SecurityGroups, o.Checks, o.Timeout, o.Region = rs.SubnetGroup, rs.SecurityGroups, r.s.Checks, r.s.Timeout, region
	}}, r.optFns...)
	var x stepper
	if r.sanitize {
		o := r.s.Sanitize
		if o.KMS == nil {
			o.KMS = r.c.KMS
		}
		x, err = NewSanitizer(r.c.RDS(region), r.s.Target, db, o, opts...)
	} else {
		x, err = NewVerifier(r.c.RDS(region), r.s.Target, db, opts...)
	}
	if err != nil {
		return nil, err
	}
	r.runners[region] = x
	return x, nil
}

// Run runs one step. "report" delivers the state's report (to S3, and to SNS when it failed)
// and records where it went; a cleanup that failed after the state machine's retries (the
// state's cleanupError) is recorded in the report's cleanup field first.
func (r *StepRunner) Run(ctx context.Context, req StepRequest) (dr.VerifyState, error) {
	x, err := r.runner(req.Region)
	if err != nil {
		return req.State, err
	}
	if req.Step == "report" {
		st := req.State
		if err := restoring.OfRun(&st, req.Run); err != nil {
			return st, err
		}
		x.finishReport(&st)
		loc, err := r.reporter.Deliver(ctx, st.Report)
		st.Report.Location = loc
		return st, err
	}
	return x.Step(ctx, req.Step, req.Run, req.State)
}
