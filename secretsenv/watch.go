package secretsenv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"golang.org/x/sync/errgroup"

	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// ChangeAPI is the part of the Secrets Manager client a Watcher uses to notice that a secret
// moved to another version without reading its value: DescribeSecret (one secret a call) or,
// with WatchOptions.List, ListSecrets (up to ten names a call). *secretsmanager.Client
// satisfies it, and so does secretsenvtest.SecretsManager.
type ChangeAPI interface {
	DescribeSecret(ctx context.Context, params *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	ListSecrets(ctx context.Context, params *secretsmanager.ListSecretsInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
}

var (
	_ ChangeAPI                           = (*secretsmanager.Client)(nil)
	_ secretsmanager.ListSecretsAPIClient = ChangeAPI(nil)
)

// listNames is how many names one ListSecrets call may filter on (a Filter's Values).
const listNames = 10

// WatchOptions are the optional settings of a Watcher.
type WatchOptions struct {
	// Interval between checks. Default: 5 minutes.
	Interval time.Duration
	// Jitter spreads the checks of many processes: each wait is Interval plus or minus up to
	// Jitter, at random. Default: a tenth of Interval. At most Interval/2.
	Jitter time.Duration
	// List notices changes with ListSecrets, filtered on up to ten secret names a call
	// (100 entries a page), instead of one DescribeSecret per secret: fewer calls for many
	// secrets. It needs secretsmanager:ListSecrets, which cannot be limited to some secrets
	// and reveals the names, ARNs, descriptions, tags and version ids (not the values) of
	// every secret a filter matches: a name filter matches by prefix. Default: off.
	List bool
}

// Change is what a check found: the variables now, and what changed.
type Change struct {
	// Vars is every variable the secrets give now (a copy the caller may keep).
	Vars map[string]string
	// Changed names the variables that were added, removed or given another value, sorted.
	Changed []string
	// Secrets are the ids (as given) of the secrets that moved to another version, in the
	// order given. A secret can move without any variable changing (the same value stored
	// again): Changed is empty then.
	Secrets []string
}

// Health is how a Watcher's last checks went.
type Health struct {
	// LastGood is when a check last succeeded (the variables are at least this fresh); at
	// first, when the Watcher loaded them.
	LastGood time.Time
	// Err is the error of the last check, nil when it succeeded. The variables stay those of
	// the last good check while checks fail.
	Err error
	// FailingSince is when the first of the checks failing now failed (zero when the last
	// check succeeded).
	FailingSince time.Time
}

// Watcher keeps the variables of a set of secrets current as the secrets rotate, reading a
// value only when its secret moved to another version. It is safe for concurrent use.
type Watcher struct {
	l       *Loader
	api     ChangeAPI
	secrets []Secret
	opts    WatchOptions

	mu     sync.Mutex
	values []Value
	vars   map[string]string
	health Health
}

// Watch loads secrets (as Load does: all or nothing) and returns a Watcher over them whose
// Check and Run notice later changes through api (the same client: *secretsmanager.Client).
// A secret pinned to a version id never changes and is not checked; one pinned to a stage
// (AWSPENDING, AWSPREVIOUS) follows that stage.
func (l *Loader) Watch(ctx context.Context, api ChangeAPI, secrets []Secret, optFns ...func(*WatchOptions)) (*Watcher, error) {
	if api == nil {
		return nil, fmt.Errorf("%w: Watch needs a client for DescribeSecret and ListSecrets", ErrInvalidInput)
	}
	var o WatchOptions
	for _, f := range optFns {
		f(&o)
	}
	switch {
	case o.Interval < 0 || o.Jitter < 0:
		return nil, fmt.Errorf("%w: WatchOptions Interval %s and Jitter %s can't be negative", ErrInvalidInput, o.Interval, o.Jitter)
	case o.Interval == 0:
		o.Interval = 5 * time.Minute
	}
	if o.Jitter == 0 {
		o.Jitter = o.Interval / 10
	}
	if o.Jitter > o.Interval/2 {
		return nil, fmt.Errorf("%w: WatchOptions Jitter %s is more than half the Interval %s", ErrInvalidInput, o.Jitter, o.Interval)
	}
	if err := l.check(secrets); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	values, err := l.fetch(lctx, secrets)
	if err != nil {
		return nil, err
	}
	vars, err := l.build(values)
	if err != nil {
		return nil, err
	}
	return &Watcher{l: l, api: api, secrets: slices.Clone(secrets), opts: o, values: values, vars: vars,
		health: Health{LastGood: l.opts.Clock.Now()}}, nil
}

// Vars returns the variables of the last good check (a copy).
func (w *Watcher) Vars() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.vars)
}

// Health says how the last checks went.
func (w *Watcher) Health() Health {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.health
}

// Check looks once for secrets that moved to another version and, when some did, reads
// exactly those versions and rebuilds the variables. It reports whether anything moved. On
// any error (a call failing, a secret gone, a new value that can't become variables) it
// changes nothing: Vars keeps the last good variables, and the error is also in Health.
// The calls: one DescribeSecret per secret not pinned to a version id (with List: one
// ListSecrets per ten of them and page), plus one GetSecretValue per secret that moved.
func (w *Watcher) Check(ctx context.Context) (Change, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, w.l.opts.Timeout)
	defer cancel()
	ch, moved, err := w.check(ctx)
	now := w.l.opts.Clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.health.Err == nil {
			w.health.FailingSince = now
		}
		w.health.Err = err
		return Change{}, false, err
	}
	w.health = Health{LastGood: now}
	return ch, moved, nil
}

func (w *Watcher) check(ctx context.Context) (Change, bool, error) {
	w.mu.Lock()
	old := slices.Clone(w.values)
	w.mu.Unlock()
	var current []state
	var err error
	if w.opts.List {
		current, err = w.listed(ctx, old)
	} else {
		current, err = w.described(ctx, old)
	}
	if err != nil {
		return Change{}, false, err
	}
	var moved []int
	for i, st := range current {
		if st.versionID != "" && (st.versionID != old[i].VersionID || st.arn != old[i].ARN) {
			moved = append(moved, i)
		}
	}
	if len(moved) == 0 {
		return Change{}, false, nil
	}
	values := slices.Clone(old)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w.l.opts.Parallelism)
	for _, i := range moved {
		g.Go(func() error {
			// Exactly the version seen, by the ARN seen: a second move meanwhile is the next
			// check's, and the value read is the version the check saw.
			v, err := w.l.get(gctx, Secret{ID: current[i].arn, VersionID: current[i].versionID, Var: w.secrets[i].Var})
			if se := (*SecretError)(nil); errors.As(err, &se) {
				se.SecretID = w.secrets[i].ID // named as the caller named it
			}
			if err != nil {
				return err
			}
			v.Secret = w.secrets[i]
			values[i] = v
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Change{}, false, err
	}
	vars, err := w.l.build(values)
	if err != nil {
		return Change{}, false, errtext.Wrap("secretsenv", "the new versions can't become variables; keeping the last good ones", err)
	}
	w.mu.Lock()
	prev := w.vars
	w.values, w.vars = values, vars
	w.mu.Unlock()
	ch := Change{Vars: maps.Clone(vars)}
	for name, v := range vars {
		if p, ok := prev[name]; !ok || p != v {
			ch.Changed = append(ch.Changed, name)
		}
	}
	for name := range prev {
		if _, ok := vars[name]; !ok {
			ch.Changed = append(ch.Changed, name)
		}
	}
	slices.Sort(ch.Changed)
	for _, i := range moved {
		ch.Secrets = append(ch.Secrets, w.secrets[i].ID)
	}
	return ch, true, nil
}

// state is where one secret's watched stage stands: the secret's ARN and the version that
// holds the stage ("" for a secret pinned to a version id, which is not checked).
type state struct{ arn, versionID string }

func (w *Watcher) stage(i int) string {
	if s := w.secrets[i].VersionStage; s != "" {
		return s
	}
	return "AWSCURRENT"
}

// versionWith returns the version that holds stage.
func versionWith(versions map[string][]string, stage string) (string, bool) {
	for id, stages := range versions {
		if slices.Contains(stages, stage) {
			return id, true
		}
	}
	return "", false
}

// described reads each secret's versions with DescribeSecret, by the id it was given (a
// secret deleted and created again under its name is noticed by its new ARN).
func (w *Watcher) described(ctx context.Context, old []Value) ([]state, error) {
	current := make([]state, len(old))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w.l.opts.Parallelism)
	for i, s := range w.secrets {
		if s.VersionID != "" {
			continue
		}
		g.Go(func() error {
			out, err := w.api.DescribeSecret(gctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.ID)}, w.l.callOpts...)
			if err != nil {
				return &SecretError{SecretID: s.ID, Err: errtext.Wrap("secretsenv", "DescribeSecret", classify(err))}
			}
			id, ok := versionWith(out.VersionIdsToStages, w.stage(i))
			if !ok {
				return &SecretError{SecretID: s.ID, Err: fmt.Errorf("%w: no version holds the stage %s now", ErrNotFound, w.stage(i))}
			}
			arn := aws.ToString(out.ARN)
			if arn == "" {
				arn = old[i].ARN // an answer without the ARN: the secret loaded
			}
			current[i] = state{arn: arn, versionID: id}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return current, nil
}

// listed reads the secrets' versions with ListSecrets, ten names a call. A name filter
// matches by prefix, so an entry counts only when its name is the secret's exactly and it is
// the secret the caller named (a full ARN names one secret: one deleted and created again
// under its name is another, and is not listed for it).
func (w *Watcher) listed(ctx context.Context, old []Value) ([]state, error) {
	current := make([]state, len(old))
	var watched []int
	for i, s := range w.secrets {
		if s.VersionID == "" {
			watched = append(watched, i)
		}
	}
	for start := 0; start < len(watched); start += listNames {
		group := watched[start:min(start+listNames, len(watched))]
		names := make([]string, 0, len(group))
		for _, i := range group {
			if !slices.Contains(names, old[i].Name) {
				names = append(names, old[i].Name)
			}
		}
		found := map[int]smtypes.SecretListEntry{}
		pages := secretsmanager.NewListSecretsPaginator(w.api, &secretsmanager.ListSecretsInput{
			Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: names}}, MaxResults: aws.Int32(100)})
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx, w.l.callOpts...)
			if err != nil {
				return nil, errtext.Wrap("secretsenv", "ListSecrets of "+fmt.Sprint(names), classify(err))
			}
			for _, e := range out.SecretList {
				for _, i := range group {
					// As the caller named it: by name, the newest of that name (as
					// DescribeSecret reads it); by full ARN, only that very secret; by
					// partial ARN, a secret of that name in that account and region.
					if aws.ToString(e.Name) != old[i].Name || !matches(w.secrets[i].ID, aws.ToString(e.Name), aws.ToString(e.ARN)) {
						continue
					}
					if prev, ok := found[i]; ok && aws.ToString(prev.ARN) == old[i].ARN {
						continue // the secret loaded is listed: it wins over another of its name
					}
					found[i] = e
				}
			}
		}
		for _, i := range group {
			e, ok := found[i]
			if !ok {
				return nil, &SecretError{SecretID: w.secrets[i].ID, Err: fmt.Errorf("%w: ListSecrets does not list %q (deleted, or the role may not list it)", ErrNotFound, old[i].Name)}
			}
			id, ok := versionWith(e.SecretVersionsToStages, w.stage(i))
			if !ok {
				return nil, &SecretError{SecretID: w.secrets[i].ID, Err: fmt.Errorf("%w: no version holds the stage %s now", ErrNotFound, w.stage(i))}
			}
			current[i] = state{arn: aws.ToString(e.ARN), versionID: id}
		}
	}
	return current, nil
}

// Run checks every Interval (plus or minus Jitter) until ctx ends and calls fn with each
// change (never with a partial one: a check that fails changes nothing and is retried at
// the next interval; see Health). It returns ctx's error.
func (w *Watcher) Run(ctx context.Context, fn func(Change)) error {
	for {
		wait := w.opts.Interval
		// Plus or minus the jitter, never past the largest duration (a huge Interval must
		// not wrap round to a negative wait, which would check at once).
		if d := time.Duration((rand.Float64()*2 - 1) * float64(w.opts.Jitter)); d > 0 && wait > math.MaxInt64-d {
			wait = math.MaxInt64
		} else {
			wait += d
		}
		if err := w.l.opts.Clock.Sleep(ctx, wait); err != nil {
			return err
		}
		ch, moved, err := w.Check(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			w.l.log.Warn("secretsenv: checking the secrets failed; keeping the last good values", "error", err.Error(),
				"failing_since", w.Health().FailingSince)
		case moved:
			w.l.log.Debug("secretsenv: secrets moved to new versions", "secrets", ch.Secrets, "variables", ch.Changed)
			fn(ch)
		}
	}
}
