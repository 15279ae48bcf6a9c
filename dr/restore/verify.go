package restore

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/internal/restoring"
	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
)

// Verifier restores DR snapshots into temporary instances and checks them. It is safe for
// concurrent use.
type Verifier struct {
	e *restoring.Verifier
}

// NewVerifier returns a Verifier. The error, wrapping dr.ErrInvalidInput, is for settings that
// can't work; NewVerifier makes no call.
func NewVerifier(client VerifierAPI, target dr.VerifyTarget, db dr.Database, optFns ...func(*dr.VerifyOptions)) (*Verifier, error) {
	e, err := restoring.New(client, target, db, optFns...)
	if err != nil {
		return nil, err
	}
	return &Verifier{e: e}, nil
}

// Start picks the snapshot (the newest available DR snapshot of the source instance by
// original creation time, unless one is given) and starts the restore into the run's
// temporary instance (step 1). Repeating it for the same run attaches to the instance the
// first attempt made, even when that attempt's answer was lost; an instance with that
// identifier that another run (or anybody else) made is refused with ErrForeignResource.
func (v *Verifier) Start(ctx context.Context, run string) (dr.VerifyState, error) {
	return v.e.Start(ctx, run)
}

// Ready checks once whether the instance is available (step 2): ErrNotReady while it is
// still being created, a *dr.RestoreFailedError (ErrRestoreFailed) in a terminal state.
func (v *Verifier) Ready(ctx context.Context, st *dr.VerifyState) (host string, port int32, err error) {
	return v.e.Ready(ctx, st)
}

// Check runs the SQL checks against the available instance (step 3) and records them in
// the report.
func (v *Verifier) Check(ctx context.Context, st *dr.VerifyState, host string, port int32) {
	v.e.Check(ctx, st, host, port)
}

// Cleanup deletes the run's temporary instance (final step; reached from every failure). It
// needs only the run: when an earlier step's answer was lost and the state holds no
// instance, the instance is found by the identifier the run implies. It deletes only the
// instance named as the run implies (a Verifier's TemporaryInstanceID, a Sanitizer's
// SanitizeInstanceID) whose shipshape:run tag names this run and whose shipshape:dr tag is
// of its kind: a state without a run, or naming another instance, deletes nothing (the
// report's cleanup line says so); an instance already gone is fine; one RDS can't delete yet
// (still creating, modifying) gives ErrNotReady (try again).
func (v *Verifier) Cleanup(ctx context.Context, st *dr.VerifyState) error {
	return v.e.Cleanup(ctx, st)
}

// Step runs one named step of a verification on a serialisable state, for a state machine
// (AWS Step Functions) that drives the waiting: "start" restores, "ready" answers
// ErrNotReady until the instance is available (ErrRestoreFailed in a terminal state,
// dr.ErrTimedOut once dr.VerifyOptions.Timeout has passed since start), "check" runs the SQL
// checks, "cleanup" deletes the instance and finishes the report. run is the execution's
// name ($$.Execution.Name): every step gets it, so cleanup finds the instance even when
// start's answer was lost. Every failure path of the state machine must lead to "cleanup";
// ErrorType names the errors for its Retry and Catch rules.
func (v *Verifier) Step(ctx context.Context, step, run string, st dr.VerifyState) (dr.VerifyState, error) {
	return v.e.Step(ctx, step, run, st)
}

// Verify runs the whole verification blocking: restore, wait (with progress; it ends at
// Timeout, or at once in a terminal state), checks, and ALWAYS the cleanup, also when a step
// failed or ctx was cancelled (cleanup then runs on a context of its own). The report says
// what failed; the error is about operations that could not run, not about failed checks.
func (v *Verifier) Verify(ctx context.Context) (report dr.Report, err error) {
	return v.e.Verify(ctx)
}

// finishReport makes the state's report ready to deliver (StepRunner's "report" step).
func (v *Verifier) finishReport(st *dr.VerifyState) { v.e.FinishReport(st) }

// NewVerifierFromConfig returns a Verifier over rds.NewFromConfig(cfg).
func NewVerifierFromConfig(cfg aws.Config, target dr.VerifyTarget, db dr.Database, optFns ...func(*dr.VerifyOptions)) (*Verifier, error) {
	return NewVerifier(rds.NewFromConfig(cfg), target, db, optFns...)
}

// TemporaryInstanceID is the identifier of the temporary instance (and cluster) of a
// verification run: PrefixVerify ("shipshape-verify-") and the run itself when that makes a
// valid identifier of at most 63 characters (a Step Functions execution name is usually a
// UUID), else PrefixVerify and a hash of the run. The same run always gives the same
// instance, so a step whose answer was lost, or a Cleanup that only knows the run, finds it.
func TemporaryInstanceID(run string) string {
	return restoring.RunID(dr.PrefixVerify, run)
}

// SanitizeInstanceID is TemporaryInstanceID for a sanitization run: PrefixSanitize
// ("shipshape-sanitize-") and the run, or a hash of it.
func SanitizeInstanceID(run string) string {
	return restoring.RunID(dr.PrefixSanitize, run)
}

// DSNTemplate turns a connection string template into Database.DSN: {host} and {port} are
// the restored endpoint, ${VAR} (or $VAR) is read with getenv when the DSN is built, so a
// password stays out of flags and templates. The template must contain {host}.
//
// In a URL template (postgres://verify:${DB_PASSWORD}@{host}:{port}/orders), a value read
// into the user information (between :// and @{host}) is percent-encoded where it would not
// parse as it is: a password with '@', '%', '/', '#', '?' or a space works as it is, and one
// that is already percent-encoded is left alone.
func DSNTemplate(template string, getenv func(string) string) (func(host string, port int32) string, error) {
	if !strings.Contains(template, "{host}") {
		return nil, fmt.Errorf("%w: the DSN template must contain {host} (and usually {port}), e.g. postgres://verify:${DB_PASSWORD}@{host}:{port}/orders", dr.ErrInvalidInput)
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	// head is the scheme and "://" of a URL template with user information, userinfo that
	// information, rest the "@{host}..." after it; a template of another form is all rest.
	head, userinfo, rest := "", "", template
	if i, j := strings.Index(template, "://"), strings.LastIndex(template, "@{host}"); i > 0 && j > i && validScheme(template[:i]) {
		head, userinfo, rest = template[:i+3], template[i+3:j], template[j:]
	}
	return func(host string, port int32) string {
		s := head + os.Expand(userinfo, func(k string) string { return escapeUserinfo(getenv(k)) }) + os.Expand(rest, getenv)
		s = strings.ReplaceAll(s, "{host}", host)
		return strings.ReplaceAll(s, "{port}", strconv.Itoa(int(port)))
	}, nil
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !snaps.IsLetter(c) && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// escapeUserinfo percent-encodes what can't stand as it is in a URL's user information:
// everything but RFC 3986's unreserved characters, sub-delimiters, ':' and %XX escapes. '@'
// is encoded too: libpq and pgx end the user information at the first '@'. What is encoded
// decodes to the same value, and a value already percent-encoded is left as it is.
func escapeUserinfo(v string) string {
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]):
			b.WriteByte(c)
		case snaps.IsLetter(c) || c >= '0' && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
