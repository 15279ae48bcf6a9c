package secretsenv_test

// Edges of following rotation: the same name deleted and created again, names that are
// prefixes of others, stages that vanish for a moment, rotations that can't become
// variables, flapping secrets, children that ignore signals or leave processes behind.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// changeHook is a ChangeAPI over the fake whose answers a test may bend.
type changeHook struct {
	*secretsenvtest.SecretsManager
	describe func(*secretsmanager.DescribeSecretOutput)
	list     func(*secretsmanager.ListSecretsOutput)
}

func (h *changeHook) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	out, err := h.SecretsManager.DescribeSecret(ctx, in, o...)
	if err == nil && h.describe != nil {
		h.describe(out)
	}
	return out, err
}

func (h *changeHook) ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, o ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	out, err := h.SecretsManager.ListSecrets(ctx, in, o...)
	if err == nil && h.list != nil {
		h.list(out)
	}
	return out, err
}

// dropStage removes stage from a version-to-stages map.
func dropStage(m map[string][]string, stage string) {
	for id, stages := range m {
		var keep []string
		for _, s := range stages {
			if s != stage {
				keep = append(keep, s)
			}
		}
		if len(keep) == 0 {
			delete(m, id)
		} else {
			m[id] = keep
		}
	}
}

// With -list a name filter matches by prefix: app/db2 moving must not be taken for app/db.
func TestListDoesNotConfuseANameWithItsPrefix(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"A":"db-1"}`)
	b.sm.PutString("app/db2", `{"A":"db2-1"}`)
	b.sm.PutString("app/db-old", `{"A":"old-1"}`)
	w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/db"), func(o *secretsenv.WatchOptions) { o.List = true })
	require.NoError(t, err)
	gets := b.sm.Calls(secretsenvtest.OpGetSecretValue)
	b.sm.PutString("app/db2", `{"A":"db2-2"}`)
	b.sm.PutString("app/db-old", `{"A":"old-2"}`)
	_, moved, err := w.Check(context.Background())
	require.NoError(t, err)
	assert.False(t, moved, "another secret whose name starts with app/db moved, not app/db")
	assert.Equal(t, gets, b.sm.Calls(secretsenvtest.OpGetSecretValue))
	assert.Equal(t, map[string]string{"A": "db-1"}, w.Vars())

	b.sm.PutString("app/db", `{"A":"db-2"}`)
	ch, moved, err := w.Check(context.Background())
	require.NoError(t, err)
	require.True(t, moved)
	assert.Equal(t, map[string]string{"A": "db-2"}, ch.Vars)

	// app/db becomes invisible to the role (denied: not listed); its longer-named
	// neighbours still are. The watcher must not drop it nor serve a neighbour.
	b.sm.Deny("app/db")
	_, _, err = w.Check(context.Background())
	require.Error(t, err, "a watched secret missing from the list is a failure")
	assert.Equal(t, map[string]string{"A": "db-2"}, w.Vars())
	assert.False(t, w.Health().FailingSince.IsZero())
}

// A secret on the second page of ListSecrets is still seen.
func TestListFollowsASecretOnALaterPage(t *testing.T) {
	b := newBed(t)
	for i := range 150 {
		b.sm.PutString(fmt.Sprintf("a%03d", i), `{"X":"x"}`)
	}
	b.sm.PutString("a", `{"A":"1"}`)
	b.sm.PutString("b", `{"B":"1"}`)
	w, err := b.loader().Watch(context.Background(), b.client, specs(t, "b", "a"), func(o *secretsenv.WatchOptions) { o.List = true })
	require.NoError(t, err)
	_, moved, err := w.Check(context.Background())
	require.NoError(t, err)
	assert.False(t, moved)
	b.sm.PutString("b", `{"B":"2"}`)
	ch, moved, err := w.Check(context.Background())
	require.NoError(t, err)
	require.True(t, moved)
	assert.Equal(t, map[string]string{"A": "1", "B": "2"}, ch.Vars)
}

// Secret.ID may be a full or a partial ARN; both checks must follow it.
func TestWatchByARN(t *testing.T) {
	for _, partial := range []bool{false, true} {
		watchBoth(t, func(t *testing.T, list bool) {
			b := newBed(t)
			b.sm.PutString("app/db", `{"PW":"one"}`)
			id := b.sm.ARN("app/db")
			if partial {
				id = id[:len(id)-7]
			}
			w, err := b.loader().Watch(context.Background(), b.client, []secretsenv.Secret{{ID: id}}, func(o *secretsenv.WatchOptions) { o.List = list })
			require.NoError(t, err)
			_, moved, err := w.Check(context.Background())
			require.NoError(t, err, "partial=%v", partial)
			assert.False(t, moved)
			b.sm.PutString("app/db", `{"PW":"two"}`)
			ch, moved, err := w.Check(context.Background())
			require.NoError(t, err, "partial=%v", partial)
			require.True(t, moved, "partial=%v", partial)
			assert.Equal(t, "two", ch.Vars["PW"])
			assert.Equal(t, []string{id}, ch.Secrets, "named as given")
		})
	}
}

// A secret deleted and created again under the same name is another secret (another ARN).
// Named by full ARN, the new one must never be served; named by name, it is the one meant.

// with no error: -list matches the entry by name, not by the ARN the caller gave.
func TestSecretDeletedAndRecreated(t *testing.T) {
	watchBoth(t, func(t *testing.T, list bool) {
		b := newBed(t)
		b.sm.PutString("app/db", `{"PW":"old-secret"}`)
		arn := b.sm.ARN("app/db")
		byARN, err := b.loader().Watch(context.Background(), b.client, []secretsenv.Secret{{ID: arn}}, func(o *secretsenv.WatchOptions) { o.List = list })
		require.NoError(t, err)
		byName, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/db"), func(o *secretsenv.WatchOptions) { o.List = list })
		require.NoError(t, err)

		b.sm.Reset() // deleted
		b.sm.PutString("app/db", `{"PW":"new-secret"}`)
		require.NotEqual(t, arn, b.sm.ARN("app/db"))

		_, _, err = byARN.Check(context.Background())
		require.Error(t, err, "the ARN given names a secret that no longer exists")
		assert.Equal(t, "old-secret", byARN.Vars()["PW"], "never the recreated secret's value")

		ch, moved, err := byName.Check(context.Background())
		require.NoError(t, err)
		require.True(t, moved)
		assert.Equal(t, "new-secret", ch.Vars["PW"])
	})
}

// Two secrets giving one variable after a rotation: the change is refused as a whole.
func TestConflictAppearsAfterARotation(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/a", `{"X":"a"}`)
	b.sm.PutString("app/b", `{"Y":"b"}`)
	w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/a", "app/b"))
	require.NoError(t, err)
	b.sm.PutString("app/b", `{"X":"b-wins?","Y":"b2"}`)
	_, _, err = w.Check(context.Background())
	require.ErrorIs(t, err, secretsenv.ErrConflict)
	assert.NotContains(t, err.Error(), "b-wins?")
	assert.Equal(t, map[string]string{"X": "a", "Y": "b"}, w.Vars())
	assert.ErrorIs(t, w.Health().Err, secretsenv.ErrConflict)

	// Under Supervise the child is not restarted for it.
	b2 := newBed(t)
	b2.sm.PutString("app/a", `{"X":"a"}`)
	b2.sm.PutString("app/b", `{"Y":"b"}`)
	s := superviseOver(t, b2, []string{"app/a", "app/b"}, `echo "start X=$X Y=$Y"; exec sleep 1000`)
	s.waitFor(t, "start X=a Y=b")
	b2.sm.PutString("app/b", `{"X":"b","Y":"b2"}`)
	calls := b2.sm.Calls(secretsenvtest.OpDescribeSecret)
	require.Eventually(t, func() bool { return b2.sm.Calls(secretsenvtest.OpDescribeSecret) >= calls+6 }, 20*time.Second, time.Millisecond)
	assert.Equal(t, []string{"start"}, s.startReasons())
}

// Access denied appearing mid-watch: the last good values stay, nothing is read.
func TestAccessDeniedMidWatch(t *testing.T) {
	watchBoth(t, func(t *testing.T, list bool) {
		b := newBed(t)
		b.sm.PutString("app/db", `{"PW":"one"}`)
		b.sm.PutString("app/other", `{"O":"1"}`)
		w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/db", "app/other"), func(o *secretsenv.WatchOptions) { o.List = list })
		require.NoError(t, err)
		b.sm.Deny("app/db")
		b.sm.PutString("app/other", `{"O":"2"}`)
		_, _, err = w.Check(context.Background())
		require.Error(t, err)
		if !list {
			assert.ErrorIs(t, err, secretsenv.ErrAccessDenied)
		}
		assert.Equal(t, map[string]string{"PW": "one", "O": "1"}, w.Vars(), "no half change, nothing dropped")
		_, _, err = w.Check(context.Background())
		require.Error(t, err)
	})
}

// AWSCURRENT briefly on no version (a stage being moved): nothing is dropped, nothing read.
func TestNoVersionHoldsAWSCURRENTForAMoment(t *testing.T) {
	watchBoth(t, func(t *testing.T, list bool) {
		b := newBed(t)
		b.sm.PutString("app/db", `{"PW":"one"}`)
		blip := true
		h := &changeHook{SecretsManager: b.sm,
			describe: func(o *secretsmanager.DescribeSecretOutput) {
				if blip {
					dropStage(o.VersionIdsToStages, "AWSCURRENT")
				}
			},
			list: func(o *secretsmanager.ListSecretsOutput) {
				for _, e := range o.SecretList {
					if blip {
						dropStage(e.SecretVersionsToStages, "AWSCURRENT")
					}
				}
			}}
		w, err := b.loader().Watch(context.Background(), h, specs(t, "app/db"), func(o *secretsenv.WatchOptions) { o.List = list })
		require.NoError(t, err)
		gets := b.sm.Calls(secretsenvtest.OpGetSecretValue)
		_, _, _ = w.Check(context.Background())
		assert.Equal(t, map[string]string{"PW": "one"}, w.Vars())
		blip = false
		_, moved, err := w.Check(context.Background())
		require.NoError(t, err)
		assert.False(t, moved, "AWSCURRENT is back on the same version: nothing moved")
		assert.Equal(t, gets, b.sm.Calls(secretsenvtest.OpGetSecretValue), "no value read while nothing changed")
	})
}

// A secret scheduled for deletion: DescribeSecret still answers (with DeletedDate) and
// GetSecretValue is refused. The last good values stay.
func TestSecretScheduledForDeletion(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"PW":"one"}`)
	h := &changeHook{SecretsManager: b.sm, describe: func(o *secretsmanager.DescribeSecretOutput) {
		o.DeletedDate = aws.Time(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	}}
	w, err := b.loader().Watch(context.Background(), h, specs(t, "app/db"))
	require.NoError(t, err)
	gets := b.sm.Calls(secretsenvtest.OpGetSecretValue)
	_, _, _ = w.Check(context.Background())
	assert.Equal(t, map[string]string{"PW": "one"}, w.Vars())
	assert.Equal(t, gets, b.sm.Calls(secretsenvtest.OpGetSecretValue))

	b.sm.PutString("app/db", `{"PW":"two"}`)
	marked := secretsenvtest.APIError("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
	b.sm.FailSecret("app/db", marked, 0)
	b.sm.FailSecret(b.sm.ARN("app/db"), marked, 0)
	_, _, err = w.Check(context.Background())
	require.Error(t, err)
	assert.Equal(t, map[string]string{"PW": "one"}, w.Vars())
	assert.Equal(t, err, w.Health().Err)
}

// The same secret loaded twice, AWSCURRENT and AWSPREVIOUS, as the package doc suggests.
func TestCurrentAndPreviousOfOneSecret(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/pw", "v1")
	b.sm.PutString("app/pw", "v2")
	w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/pw,var=CUR", "app/pw,stage=AWSPREVIOUS,var=PREV"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"CUR": "v2", "PREV": "v1"}, w.Vars())
	b.sm.PutString("app/pw", "v3")
	ch, moved, err := w.Check(context.Background())
	require.NoError(t, err)
	require.True(t, moved)
	assert.Equal(t, map[string]string{"CUR": "v3", "PREV": "v2"}, ch.Vars)
	assert.Equal(t, []string{"CUR", "PREV"}, ch.Changed)
}

// No error, Health or log line carries a value, whatever a rotation brings.
func TestNoValueInErrorsOrLogsAfterBadRotations(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"PW":"`+marker+`-0"}`)
	b.sm.PutString("app/other", `{"O":"`+marker+`-o"}`)
	w, err := b.loader(func(o *secretsenv.Options) { o.Strict = true }).Watch(context.Background(), b.client, specs(t, "app/db", "app/other"))
	require.NoError(t, err)
	for _, bad := range []string{
		`{"PW":"` + marker + `-1","PW":"` + marker + `-2"}`, // duplicate key
		`{"PW":"` + marker + `-3", "bad name":"` + marker + `-4"}`,
		`{"PW":null,"X":"` + marker + `-5"}`,
		marker + `-6 plain`,
		`{"PW":"` + marker + `-7"`, // broken JSON
		`"` + marker + `-8"`,
		`{"O":"` + marker + `-9"}`, // conflict with app/other
		`{"AWS_REGION":"` + marker + `-10"}`,
		`{"PATH":"` + marker + `-11"}`,
	} {
		b.sm.PutString("app/db", bad)
		_, _, err := w.Check(context.Background())
		require.Error(t, err, bad)
		assert.NotContains(t, err.Error(), marker, bad)
		assert.NotContains(t, fmt.Sprintf("%+v %#v", err, w.Health()), marker, bad)
		assert.Equal(t, marker+"-0", w.Vars()["PW"], bad)
	}
	assert.NotContains(t, b.logs.String(), marker)
}

// An Interval so large that Interval+Jitter overflows must not make Run check early (or
// spin). Each Run draws its jitter at random: eight watchers make a lucky pass unlikely.

// negative wait and the check runs at once (bursts of checks with -interval 2562047h).
func TestHugeIntervalDoesNotSpin(t *testing.T) {
	for _, iv := range []time.Duration{math.MaxInt64, 2562047 * time.Hour} {
		b := newBed(t)
		b.clock = clocktest.NewManual()
		b.sm.PutString("app/db", `{"PW":"one"}`)
		ctx, cancel := context.WithCancel(context.Background())
		var dones []chan error
		for range 8 {
			w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/db"), func(o *secretsenv.WatchOptions) { o.Interval = iv })
			if errors.Is(err, secretsenv.ErrInvalidInput) {
				continue // refused: fine
			}
			require.NoError(t, err)
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx, func(secretsenv.Change) {}) }()
			dones = append(dones, done)
		}
		time.Sleep(500 * time.Millisecond)
		cancel()
		for _, d := range dones {
			require.ErrorIs(t, <-d, context.Canceled)
		}
		assert.Zero(t, b.sm.Calls(secretsenvtest.OpDescribeSecret), "interval %v: checks long before the interval", iv)
	}
}

// blockingGets is a SecretsManagerAPI whose GetSecretValue waits for its context.
type blockingGets struct{ *secretsenvtest.SecretsManager }

func (blockingGets) GetSecretValue(ctx context.Context, _ *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A context cancelled during the initial load: Watch returns at once, with no Watcher.
func TestWatchCancelledDuringTheInitialLoad(t *testing.T) {
	sm := secretsenvtest.NewSecretsManager()
	sm.PutString("app/db", `{"PW":"one"}`)
	l, err := secretsenv.New(blockingGets{sm}, func(o *secretsenv.Options) { o.Environ = []string{} })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	w, err := l.Watch(ctx, sm, specs(t, "app/db"))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, w)
	assert.Less(t, time.Since(start), 3*time.Second)

	// Already cancelled: no call at all.
	_, err = l.Watch(ctx, sm, specs(t, "app/db"))
	require.Error(t, err)
	assert.Zero(t, sm.Calls(secretsenvtest.OpDescribeSecret))
}

// superviseOver is supervise over any secrets, watched every second on the bed's clock.
func superviseOver(t *testing.T, b *bed, ids []string, script string, optFns ...func(*secretsenv.SuperviseOptions)) *supervised {
	t.Helper()
	env := func(o *secretsenv.Options) { o.Environ = []string{"PATH=" + os.Getenv("PATH")} }
	w, err := b.loader(env).Watch(context.Background(), b.client, specs(t, ids...), func(o *secretsenv.WatchOptions) { o.Interval, o.Jitter = time.Second, 0 })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	s := &supervised{b: b, out: &testbed.SyncBuffer{}, cancel: cancel, done: make(chan struct{})}
	opts := append([]func(*secretsenv.SuperviseOptions){func(o *secretsenv.SuperviseOptions) {
		o.Stdin, o.Stdout, o.Stderr = strings.NewReader(""), s.out, s.out
		o.OnStart = func(_ int, reason string) { s.mu.Lock(); s.starts = append(s.starts, reason); s.mu.Unlock() }
	}}, optFns...)
	go func() {
		defer close(s.done)
		s.code, s.err = secretsenv.Supervise(ctx, w, b.loader(env).Environ, "sh", []string{"-c", script}, opts...)
	}()
	t.Cleanup(func() { cancel(); <-s.done })
	return s
}

// running reports whether pid is a live (not zombie) process.
func running(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

var pidLine = regexp.MustCompile(`pid=(\d+)`)

func pids(out string) []int {
	var ps []int
	for _, m := range pidLine.FindAllStringSubmatch(out, -1) {
		p, _ := strconv.Atoi(m[1])
		ps = append(ps, p)
	}
	return ps
}

func assertAllGone(t *testing.T, out string) {
	t.Helper()
	ps := pids(out)
	require.NotEmpty(t, ps)
	for _, p := range ps {
		assert.Eventually(t, func() bool { return !running(p) }, 2*time.Second, 10*time.Millisecond, "process %d still runs: an orphan", p)
	}
}

// Two secrets move before a check, and reading one of them fails once: the child is never
// started with one new value and one old; the next check starts it with both. The watcher's
// clock is manual here, so that both moves land between two checks. (Secrets are described
// one by one: two rotated at nearly the same moment may arrive as two changes, each whole.)
func TestSuperviseNeverRestartsWithHalfTheSecrets(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/a", `{"A":"1"}`)
	b.sm.PutString("app/b", `{"B":"1"}`)
	clk := clocktest.NewManual()
	opts := func(o *secretsenv.Options) { o.Environ, o.Clock = []string{"PATH=" + os.Getenv("PATH")}, clk }
	w, err := b.loader(opts).Watch(context.Background(), b.client, specs(t, "app/a", "app/b"), func(o *secretsenv.WatchOptions) {
		o.Interval, o.Jitter = time.Minute, time.Nanosecond
	})
	require.NoError(t, err)
	out := &testbed.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = secretsenv.Supervise(ctx, w, b.loader(opts).Environ, "sh", []string{"-c", `echo "start A=$A B=$B"; exec sleep 1000`},
			func(o *secretsenv.SuperviseOptions) { o.Stdin, o.Stdout, o.Stderr = strings.NewReader(""), out, out })
	}()
	t.Cleanup(func() { cancel(); <-done })
	sleeping := func() {
		wait, stop := context.WithTimeout(context.Background(), 20*time.Second)
		defer stop()
		require.NoError(t, clk.BlockUntilSleeping(wait, 1), "the watcher never slept")
	}
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "start A=1 B=1") }, 20*time.Second, 5*time.Millisecond)

	sleeping()
	b.sm.PutString("app/b", `{"B":"2"}`)
	b.sm.PutString("app/a", `{"A":"2"}`)
	b.sm.FailSecret(b.sm.ARN("app/b"), secretsenvtest.APIError("DecryptionFailure", "KMS said no"), 1)
	describes := b.sm.Calls(secretsenvtest.OpDescribeSecret)
	clk.Advance(2 * time.Minute) // the check that fails to read B
	require.Eventually(t, func() bool { return b.sm.Calls(secretsenvtest.OpDescribeSecret) >= describes+2 }, 20*time.Second, time.Millisecond)
	sleeping()
	assert.Equal(t, "start A=1 B=1\n", out.String(), "half a change starts nothing")
	clk.Advance(2 * time.Minute) // the check that reads both
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "start A=2 B=2") }, 20*time.Second, 5*time.Millisecond)
	assert.Equal(t, "start A=1 B=1\nstart A=2 B=2\n", out.String())
}

// ctx ends; the child ignores SIGTERM: SIGKILL after StopTimeout, status 137, no orphan.
func TestSuperviseStopsAChildThatIgnoresSIGTERM(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := supervise(t, b, `trap '' TERM; echo "pid=$$ ready"; while :; do sleep 0.05; done`,
		func(o *secretsenv.SuperviseOptions) { o.StopTimeout = 300 * time.Millisecond })
	s.waitFor(t, "ready")
	start := time.Now()
	s.cancel()
	code, err := s.wait(t)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 128+int(syscall.SIGKILL), code)
	assert.Less(t, time.Since(start), 5*time.Second)
	assertAllGone(t, s.out.String())
}

// ExitOnChange with a child that ignores SIGTERM: ExitChanged once it is killed, no orphan.
func TestSuperviseExitOnChangeKillsAStubbornChild(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := supervise(t, b, `trap '' TERM; echo "pid=$$ pw=$DB_PASSWORD"; while :; do sleep 0.05; done`,
		func(o *secretsenv.SuperviseOptions) {
			o.OnChange, o.StopTimeout = secretsenv.ExitOnChange, 300*time.Millisecond
		})
	s.waitFor(t, "pw=one")
	b.sm.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	code, err := s.wait(t)
	require.NoError(t, err)
	assert.Equal(t, secretsenv.ExitChanged, code)
	assertAllGone(t, s.out.String())
}

// A flapping secret (it changes on every check) and a child slow to stop: one child at a
// time, each with a whole set of values, the last one with the last values, no orphan.
func TestSuperviseFlappingSecretOneChildAtATime(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"A":"0","B":"0"}`)
	s := supervise(t, b, `trap 'sleep 0.2; echo "stop pid=$$"; exit 0' TERM; echo "start pid=$$ A=$A B=$B"; while :; do sleep 0.05; done`,
		func(o *secretsenv.SuperviseOptions) { o.StopTimeout = 5 * time.Second })
	s.waitFor(t, "A=0 B=0")
	for i := 1; i <= 30; i++ {
		b.sm.PutString("app/db", fmt.Sprintf(`{"A":"%d","B":"%d"}`, i, i))
		time.Sleep(40 * time.Millisecond)
	}
	s.waitFor(t, "A=30 B=30")
	time.Sleep(500 * time.Millisecond)
	s.cancel()
	_, err := s.wait(t)
	require.ErrorIs(t, err, context.Canceled)
	out := s.out.String()
	open := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(line, "start"):
			open++
			assert.LessOrEqual(t, open, 1, "two children at once:\n%s", out)
			var a, bb string
			_, _ = fmt.Sscanf(line[strings.Index(line, "A="):], "A=%s B=%s", &a, &bb)
			assert.Equal(t, a, bb, "half a change: %s", line)
		case strings.HasPrefix(line, "stop"):
			open--
		}
	}
	assert.Contains(t, out[strings.LastIndex(out, "start"):], "A=30 B=30", "the last child has the last values")
	assertAllGone(t, out)
}

// A child that runs a process of its own: stopping it must not leave that one running,
// and must not hang the restart.

// the child's stdout pipe open, and Supervise waits for that pipe (no WaitDelay) forever.
func TestSuperviseLeavesNoGrandchildAfterARestart(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	s := supervise(t, b, `sleep 8 & echo "pid=$! pw=$DB_PASSWORD"; wait`,
		func(o *secretsenv.SuperviseOptions) { o.StopTimeout = 300 * time.Millisecond })
	t.Cleanup(func() { // runs before supervise's cleanup, which waits for Supervise
		s.cancel()
		for {
			for _, p := range pids(s.out.String()) {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
			select {
			case <-s.done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	s.waitFor(t, "pw=one")
	first := pids(s.out.String())
	b.sm.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	restarted := assert.Eventually(t, func() bool { return strings.Contains(s.out.String(), "pw=two") }, 5*time.Second, 5*time.Millisecond,
		"no restart within 5s; the child printed:\n%s", s.out.String())
	for _, p := range first {
		assert.False(t, running(p), "the first child's own process %d (with the old secret) still runs", p)
	}
	_ = restarted
}

// The command cannot be started again at a restart (it was removed): status 1, an error
// naming it, and Supervise returns.
func TestSuperviseRestartOfACommandThatIsGone(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	dir := t.TempDir()
	script := filepath.Join(dir, "server")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho \"pid=$$ pw=$DB_PASSWORD\"\nexec sleep 1000\n"), 0o700))
	w, err := b.loader(func(o *secretsenv.Options) { o.Environ = []string{"PATH=" + os.Getenv("PATH")} }).
		Watch(context.Background(), b.client, specs(t, "app/db"), func(o *secretsenv.WatchOptions) { o.Interval, o.Jitter = time.Second, 0 })
	require.NoError(t, err)
	out := &testbed.SyncBuffer{}
	done := make(chan struct{})
	var code int
	go func() {
		defer close(done)
		code, err = secretsenv.Supervise(context.Background(), w, b.loader(func(o *secretsenv.Options) { o.Environ = []string{"PATH=" + os.Getenv("PATH")} }).Environ,
			script, nil, func(o *secretsenv.SuperviseOptions) { o.Stdout, o.Stderr = out, out })
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "pw=one") }, 20*time.Second, 5*time.Millisecond)
	require.NoError(t, os.Remove(script))
	b.sm.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Supervise did not return after the restart failed")
	}
	require.Error(t, err)
	assert.Equal(t, 1, code)
	assert.Contains(t, err.Error(), "server")
	assertAllGone(t, out.String())
}

// ctx already done before Supervise: nothing should run (and nothing be left running).
func TestSuperviseWithAContextAlreadyDone(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/db"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := filepath.Join(t.TempDir(), "ran")
	out := &testbed.SyncBuffer{}
	_, err = secretsenv.Supervise(ctx, w, func(m map[string]string) []string { return []string{"PATH=" + os.Getenv("PATH")} },
		"sh", []string{"-c", `echo "pid=$$"; touch ` + ran + `; exec sleep 1000`}, func(o *secretsenv.SuperviseOptions) { o.Stdout = out })
	require.ErrorIs(t, err, context.Canceled)
	time.Sleep(200 * time.Millisecond)
	if ps := pids(out.String()); len(ps) > 0 {
		assertAllGone(t, out.String())
	}
}

// SIGTERM forwarded while a restart is stopping the old child: the request to stop must not
// be lost (a new child started and left running forever).
func TestSuperviseSIGTERMDuringARestartIsNotLost(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	signals := make(chan os.Signal, 1)
	s := supervise(t, b, `trap 'echo "stopping pid=$$"; sleep 0.5; exit 0' TERM; echo "pid=$$ pw=$DB_PASSWORD"; while :; do sleep 0.05; done`,
		func(o *secretsenv.SuperviseOptions) { o.Signals = signals })
	s.waitFor(t, "pw=one")
	b.sm.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	s.waitFor(t, "stopping")   // the restart's SIGTERM
	signals <- syscall.SIGTERM // the operator's
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the operator's SIGTERM was lost: still supervising\n%s", s.out.String())
	}
	assertAllGone(t, s.out.String())
}

// Rapid forwarded signals: none kills the supervisor, the child gets them, its status wins.
func TestSuperviseRapidSignals(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	signals := make(chan os.Signal)
	s := supervise(t, b, `n=0; trap 'n=$((n+1))' USR1; trap 'echo "got $n"; exit 6' TERM; echo "pid=$$ ready"; while :; do sleep 0.01; done`,
		func(o *secretsenv.SuperviseOptions) { o.Signals = signals })
	s.waitFor(t, "ready")
	for range 200 {
		select {
		case signals <- syscall.SIGUSR1:
		case <-s.done:
			t.Fatalf("Supervise returned during the signals: %d %v\n%s", s.code, s.err, s.out.String())
		}
	}
	time.Sleep(200 * time.Millisecond)
	signals <- syscall.SIGTERM
	code, err := s.wait(t)
	require.NoError(t, err)
	assert.Equal(t, 6, code)
	assert.Regexp(t, `got [1-9]`, s.out.String())
}
