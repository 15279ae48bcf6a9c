package secretsenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/sync/errgroup"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/internal/awserr"
	"github.com/shipshape-dev/shipshape/internal/awsretry"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// Options are the optional settings of a Loader. A zero value means the default.
type Options struct {
	// Prefix is put before every name derived from a JSON key (not before var= names or
	// renames). Default: none.
	Prefix string
	// Renames maps JSON keys to variable names, taken as they are.
	Renames map[string]string
	// Normalize upper-cases derived names and turns '-', '.' and ' ' into '_'
	// ("db-host" -> "DB_HOST"). Default: off (names are the keys as they are).
	Normalize bool
	// Strict makes a key that is no valid name, and a null value, errors. Default (lenient):
	// such keys are skipped with a warning, nulls become "". Reserved names, conflicts and
	// overrides are errors in every mode.
	Strict bool
	// AllowOverride lets a secret replace a variable already in the environment. Default: no,
	// and trying is an error.
	AllowOverride bool
	// Binary says what to do with binary secrets. Default: BinaryError.
	Binary BinaryMode
	// Batch fetches unpinned secrets with BatchGetSecretValue, 20 per call, falling back to
	// GetSecretValue for the ones it reports errors for. Default: off, because its quota is
	// 100 requests per second per region and can't be raised (GetSecretValue: 10,000).
	Batch bool
	// Parallelism bounds concurrent GetSecretValue calls. Default: 8.
	Parallelism int
	// Timeout bounds the whole Load. Default: 10 s.
	Timeout time.Duration
	// MaxAttempts is how many times one Secrets Manager call is sent in all when it is
	// throttled or fails on the server or the network, by the SDK's standard retryer (its
	// backoff and retry quota); nothing else retries. Default: 4.
	MaxAttempts int
	// ClientOptions are applied to every Secrets Manager call after the package's own (the
	// retryer): per-call SDK settings such as a different endpoint or a custom retryer.
	ClientOptions []func(*secretsmanager.Options)
	// Clock is the time source of the retry backoff. Default: the wall clock.
	Clock clock.Clock
	// Environ is the environment the variables join. Default: os.Environ().
	Environ []string
	// Logger receives Debug lines (secrets fetched, calls made) and Warn lines (keys skipped,
	// a batch call that is denied). Values never reach it. Default: discard.
	Logger *slog.Logger
}

// Loader loads secrets into environment variables. It is safe for concurrent use.
type Loader struct {
	sm       SecretsManagerAPI
	opts     Options
	log      *slog.Logger
	callOpts []func(*secretsmanager.Options)
	// lastRetried is the error of the last attempt the SDK's retryer retried, so that a
	// timeout during its backoff can say what was being retried.
	lastRetried atomic.Pointer[error]
}

// New returns a Loader over a Secrets Manager client (*secretsmanager.Client, or
// secretsenvtest.SecretsManager). The error, wrapping ErrInvalidInput or ErrInvalidName,
// is for options that can't work (a negative count or duration, a prefix that can't start
// a variable name); New makes no call.
func New(client SecretsManagerAPI, optFns ...func(*Options)) (*Loader, error) {
	l := newLoader(client, optFns...)
	o := l.opts
	switch {
	case client == nil:
		return nil, fmt.Errorf("%w: no Secrets Manager client", ErrInvalidInput)
	case o.Parallelism < 0 || o.MaxAttempts < 0 || o.Timeout < 0:
		return nil, fmt.Errorf("%w: Parallelism %d, MaxAttempts %d and Timeout %s can't be negative", ErrInvalidInput, o.Parallelism, o.MaxAttempts, o.Timeout)
	}
	if err := l.checkOptions(); err != nil {
		return nil, err
	}
	return l, nil
}

// NewFromConfig returns a Loader over secretsmanager.NewFromConfig(cfg).
func NewFromConfig(cfg aws.Config, optFns ...func(*Options)) (*Loader, error) {
	return New(secretsmanager.NewFromConfig(cfg), optFns...)
}

// newLoader applies the options and the defaults, without checking them.
func newLoader(client SecretsManagerAPI, optFns ...func(*Options)) *Loader {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 8
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 4
	}
	o.Clock = clock.Or(o.Clock)
	if o.Environ == nil {
		o.Environ = os.Environ()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Loader{sm: client, opts: o, log: o.Logger}
	retryer := awsretry.New(awsretry.Options{Clock: o.Clock, MaxAttempts: o.MaxAttempts, Codes: []string{"InternalServiceError"},
		OnRetry: func(err error) { l.lastRetried.Store(&err) }})
	l.callOpts = append([]func(*secretsmanager.Options){func(so *secretsmanager.Options) { so.Retryer = retryer }}, o.ClientOptions...)
	return l
}

// Validate checks secrets and options as Load does before its first call: every setting that
// would make a variable invalid whatever the secrets hold (a prefix that can't start a
// name, a var= or rename that is no valid or a reserved name, a secret named twice, two
// secrets for one variable) is an error wrapping ErrInvalidInput, ErrInvalidName,
// ErrReservedName or ErrConflict. It makes no call; binaries use it to refuse a bad command
// line before touching AWS.
func Validate(secrets []Secret, optFns ...func(*Options)) error {
	l := newLoader(nil, optFns...)
	if err := l.checkOptions(); err != nil {
		return err
	}
	return l.check(secrets)
}

// checkOptions refuses options that would make every variable invalid.
func (l *Loader) checkOptions() error {
	if p := l.opts.Prefix; p != "" {
		if !validName(p) {
			return fmt.Errorf("%w: prefix %q can't start a variable name: use letters, digits and _, not a digit first (e.g. APP_)", ErrInvalidName, p)
		}
		if why, bad := reserved(p); bad {
			return fmt.Errorf("%w: prefix %q: %s", ErrReservedName, p, why)
		}
	}
	for key, name := range l.opts.Renames {
		if err := checkName(fmt.Sprintf("rename of key %q to", key), name); err != nil {
			return err
		}
	}
	return nil
}

// checkName refuses a variable name that is not valid or is reserved.
func checkName(what, name string) error {
	if !validName(name) {
		return fmt.Errorf("%w: %s %q is not [A-Za-z_][A-Za-z0-9_]*", ErrInvalidName, what, name)
	}
	if why, bad := reserved(name); bad {
		return fmt.Errorf("%w: %s %q can't be set from a secret: %s", ErrReservedName, what, name, why)
	}
	return nil
}

// check refuses a list of secrets that can't be loaded whatever they hold.
func (l *Loader) check(secrets []Secret) error {
	if len(secrets) == 0 {
		return fmt.Errorf("%w: no secrets to load", ErrInvalidInput)
	}
	seen := map[Secret]bool{}
	vars := map[string]string{}
	for _, s := range secrets {
		switch {
		case strings.TrimSpace(s.ID) == "":
			return fmt.Errorf("%w: a secret with no name or ARN", ErrInvalidInput)
		case s.VersionStage != "" && s.VersionID != "":
			return fmt.Errorf("%w: secret %q: give a version stage or a version id, not both", ErrInvalidInput, s.ID)
		case seen[s]:
			return fmt.Errorf("%w: secret %s is named twice", ErrInvalidInput, s)
		}
		seen[s] = true
		if s.Var == "" {
			continue
		}
		if err := checkName(fmt.Sprintf("secret %q: var=", s.ID), s.Var); err != nil {
			return err
		}
		if prev, dup := vars[s.Var]; dup {
			return fmt.Errorf("%w: %s comes from secret %q and from secret %q", ErrConflict, s.Var, prev, s.ID)
		}
		vars[s.Var] = s.ID
	}
	return nil
}

// Load fetches the secrets and returns the variables they give. It is all or nothing: any
// error (a secret missing or denied, a bad name, a reserved name, two sources for one name, a
// variable already set) returns no variables at all.
func (l *Loader) Load(ctx context.Context, secrets []Secret) (map[string]string, error) {
	if err := l.check(secrets); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	values, err := l.fetch(ctx, secrets)
	if err != nil {
		return nil, err
	}
	return l.build(values)
}

// build turns fetched values into variables, all or nothing.
func (l *Loader) build(values []Value) (map[string]string, error) {
	existing := map[string]bool{}
	for _, kv := range l.opts.Environ {
		k, _, _ := strings.Cut(kv, "=")
		existing[k] = true
	}
	vars := map[string]variable{}
	for _, v := range values {
		converted, err := l.convert(v)
		if err != nil {
			return nil, err
		}
		for _, cv := range converted {
			if why, bad := reserved(cv.name); bad {
				return nil, fmt.Errorf("%w: %s (from %s) can't be set from a secret: %s", ErrReservedName, cv.name, cv.source, why)
			}
			if prev, dup := vars[cv.name]; dup {
				return nil, fmt.Errorf("%w: %s comes from %s and from %s", ErrConflict, cv.name, prev.source, cv.source)
			}
			if existing[cv.name] && !l.opts.AllowOverride {
				return nil, fmt.Errorf("%w: %s (from %s) is already set; allow overriding explicitly if the secret should win", ErrExists, cv.name, cv.source)
			}
			if err := checkValue(cv); err != nil {
				return nil, err
			}
			vars[cv.name] = cv
		}
	}
	out := make(map[string]string, len(vars))
	for name, v := range vars {
		out[name] = v.value
	}
	return out, nil
}

// Environ returns the Loader's environment with vars added (replacing, where allowed,
// variables of the same name), sorted, ready for exec.
func (l *Loader) Environ(vars map[string]string) []string {
	env := make([]string, 0, len(l.opts.Environ)+len(vars))
	for _, kv := range l.opts.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if _, replaced := vars[k]; !replaced {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// fetch gets every secret, in the order given (check has refused duplicates).
func (l *Loader) fetch(ctx context.Context, secrets []Secret) ([]Value, error) {
	values := make([]Value, len(secrets))
	pending := make([]int, 0, len(secrets))
	if l.opts.Batch {
		done, err := l.batch(ctx, secrets, values)
		if err != nil {
			return nil, err
		}
		for i := range secrets {
			if !done[i] {
				pending = append(pending, i)
			}
		}
	} else {
		for i := range secrets {
			pending = append(pending, i)
		}
	}
	// All or nothing: the first error cancels the others.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.opts.Parallelism)
	for _, i := range pending {
		g.Go(func() error {
			v, err := l.get(gctx, secrets[i])
			values[i] = v
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, l.timedOut(err)
	}
	return values, nil
}

// timedOut says that the Loader's own time limit (or the caller's context) ended the load,
// and what was being retried then (a throttled load is still ErrThrottled).
func (l *Loader) timedOut(err error) error {
	if last := l.lastRetried.Load(); last != nil {
		what := fmt.Sprintf("loading secrets (Options.Timeout %s) while retrying %s", l.opts.Timeout, awserr.Code(*last))
		if awserr.Throttling(*last) {
			return errtext.Wrap("secretsenv", what, errtext.Join("secretsenv", ErrThrottled, err))
		}
		return errtext.Wrap("secretsenv", what, err)
	}
	return errtext.Wrap("secretsenv", fmt.Sprintf("loading secrets (Options.Timeout %s)", l.opts.Timeout), err)
}

// get fetches one secret with GetSecretValue. Throttling, server and transport errors are
// retried by the SDK's retryer (Options.MaxAttempts attempts in all), nowhere else.
func (l *Loader) get(ctx context.Context, s Secret) (Value, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.ID)}
	if s.VersionStage != "" {
		in.VersionStage = aws.String(s.VersionStage)
	}
	if s.VersionID != "" {
		in.VersionId = aws.String(s.VersionID)
	}
	out, err := l.sm.GetSecretValue(ctx, in, l.callOpts...)
	if err != nil {
		if ctx.Err() != nil && awserr.Code(err) == "" {
			err = l.timedOut(err)
		}
		return Value{}, &SecretError{SecretID: s.ID, Err: classify(err)}
	}
	l.log.Debug("secretsenv: fetched", "secret", s.ID, "version", aws.ToString(out.VersionId))
	return Value{Secret: s, ARN: aws.ToString(out.ARN), Name: aws.ToString(out.Name), VersionID: aws.ToString(out.VersionId),
		String: out.SecretString, Binary: out.SecretBinary}, nil
}

// batch fetches the unpinned secrets 20 at a time and marks the ones it got; the caller
// fetches the rest (reported errors, pinned versions) one by one with GetSecretValue. When
// BatchGetSecretValue itself is denied (the role has secretsmanager:GetSecretValue on the
// secrets but not secretsmanager:BatchGetSecretValue), every secret of the group falls back
// to GetSecretValue, with a warning that names the missing permission.
func (l *Loader) batch(ctx context.Context, secrets []Secret, values []Value) ([]bool, error) {
	done := make([]bool, len(secrets))
	var ids []int
	for i, s := range secrets {
		if s.VersionStage == "" && s.VersionID == "" {
			ids = append(ids, i)
		}
	}
	for start := 0; start < len(ids); start += maxBatch {
		group := ids[start:min(start+maxBatch, len(ids))]
		list := make([]string, len(group))
		for j, i := range group {
			list[j] = secrets[i].ID
		}
		pages := secretsmanager.NewBatchGetSecretValuePaginator(l.sm, &secretsmanager.BatchGetSecretValueInput{SecretIdList: list})
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx, l.callOpts...)
			if awserr.Is(err, "AccessDeniedException") {
				l.log.Warn("secretsenv: BatchGetSecretValue is denied; fetching each secret with GetSecretValue instead "+
					"(grant secretsmanager:BatchGetSecretValue, or leave batching off)", "secrets", len(list))
				break
			}
			if err != nil {
				if ctx.Err() != nil && awserr.Code(err) == "" {
					err = l.timedOut(err)
				}
				return nil, errtext.Wrap("secretsenv", "BatchGetSecretValue of "+strings.Join(list, ", "), classify(err))
			}
			for _, e := range out.Errors {
				l.log.Debug("secretsenv: batch reported an error; fetching this one alone", "secret", aws.ToString(e.SecretId), "code", aws.ToString(e.ErrorCode))
			}
			for _, entry := range out.SecretValues {
				for _, i := range group {
					if !done[i] && matches(secrets[i].ID, aws.ToString(entry.Name), aws.ToString(entry.ARN)) {
						values[i] = Value{Secret: secrets[i], ARN: aws.ToString(entry.ARN), Name: aws.ToString(entry.Name),
							VersionID: aws.ToString(entry.VersionId), String: entry.SecretString, Binary: entry.SecretBinary}
						done[i] = true
					}
				}
			}
		}
	}
	return done, nil
}

// maxBatch is BatchGetSecretValue's limit of secret ids per call.
const maxBatch = 20

// matches reports whether a requested id (name, full ARN or partial ARN) is the secret with
// this name and ARN.
func matches(id, name, arn string) bool {
	return id == name || id == arn || (strings.HasPrefix(id, "arn:") && strings.HasPrefix(arn, id+"-") && len(arn) == len(id)+7)
}
