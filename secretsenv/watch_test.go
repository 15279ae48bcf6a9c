package secretsenv_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

func specs(t *testing.T, list ...string) []secretsenv.Secret {
	t.Helper()
	var out []secretsenv.Secret
	for _, s := range list {
		spec, err := secretsenv.ParseSecret(s)
		require.NoError(t, err)
		out = append(out, spec)
	}
	return out
}

// watchBoth runs a test with change checks by DescribeSecret and by ListSecrets.
func watchBoth(t *testing.T, test func(t *testing.T, list bool)) {
	for _, list := range []bool{false, true} {
		t.Run(map[bool]string{false: "DescribeSecret", true: "ListSecrets"}[list], func(t *testing.T) { test(t, list) })
	}
}

func TestWatchReadsNoValueWhileNothingChanges(t *testing.T) {
	watchBoth(t, func(t *testing.T, list bool) {
		b := newBed(t)
		var names []string
		for i := range 12 {
			name := fmt.Sprintf("app/s%02d", i)
			b.sm.PutString(name, fmt.Sprintf(`{"V%02d":"%d"}`, i, i))
			names = append(names, name)
		}
		w, err := b.loader().Watch(context.Background(), b.client, specs(t, names...), func(o *secretsenv.WatchOptions) { o.List = list })
		require.NoError(t, err)
		assert.Len(t, w.Vars(), 12)
		gets := b.sm.Calls(secretsenvtest.OpGetSecretValue)
		for range 5 {
			_, moved, err := w.Check(context.Background())
			require.NoError(t, err)
			assert.False(t, moved)
		}
		assert.Equal(t, gets, b.sm.Calls(secretsenvtest.OpGetSecretValue), "no value is read while nothing moves")
		if list {
			assert.Equal(t, 5*2, b.sm.Calls(secretsenvtest.OpListSecrets), "ten names a call: two calls a check")
			assert.Zero(t, b.sm.Calls(secretsenvtest.OpDescribeSecret))
		} else {
			assert.Equal(t, 5*12, b.sm.Calls(secretsenvtest.OpDescribeSecret), "one call per secret a check")
			assert.Zero(t, b.sm.Calls(secretsenvtest.OpListSecrets))
		}
	})
}

func TestWatchFollowsARotationOnlyWhenItFinishes(t *testing.T) {
	watchBoth(t, func(t *testing.T, list bool) {
		b := newBed(t)
		b.sm.PutString("app/db", `{"DB_USER":"app","DB_PASSWORD":"old"}`)
		b.sm.PutString("app/other", `{"OTHER":"same"}`)
		w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/db", "app/other"), func(o *secretsenv.WatchOptions) { o.List = list })
		require.NoError(t, err)

		// The rotation's createSecret step: AWSPENDING exists, AWSCURRENT has not moved.
		b.sm.StartRotation("app/db", `{"DB_USER":"app","DB_PASSWORD":"new"}`)
		_, moved, err := w.Check(context.Background())
		require.NoError(t, err)
		assert.False(t, moved, "a pending version is not the current one")
		assert.Equal(t, "old", w.Vars()["DB_PASSWORD"])

		gets := b.sm.Calls(secretsenvtest.OpGetSecretValue)
		require.True(t, b.sm.FinishRotation("app/db"))
		ch, moved, err := w.Check(context.Background())
		require.NoError(t, err)
		require.True(t, moved)
		assert.Equal(t, []string{"DB_PASSWORD"}, ch.Changed)
		assert.Equal(t, []string{"app/db"}, ch.Secrets)
		assert.Equal(t, map[string]string{"DB_USER": "app", "DB_PASSWORD": "new", "OTHER": "same"}, ch.Vars)
		assert.Equal(t, ch.Vars, w.Vars())
		assert.Equal(t, 1, b.sm.Calls(secretsenvtest.OpGetSecretValue)-gets, "only the secret that moved is read")
	})
}

func TestWatchAPendingStageFollowsThePendingVersion(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"NEXT":"v1"}`)
	b.sm.StartRotation("app/db", `{"NEXT":"v2"}`)
	w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/db,stage=AWSPENDING"))
	require.NoError(t, err)
	assert.Equal(t, "v2", w.Vars()["NEXT"])
	b.sm.FinishRotation("app/db")
	_, _, err = w.Check(context.Background())
	require.ErrorIs(t, err, secretsenv.ErrNotFound, "no version holds AWSPENDING once the rotation is done")
	assert.Contains(t, err.Error(), "AWSPENDING")
	assert.Equal(t, "v2", w.Vars()["NEXT"], "the last good values stay")
}

func TestWatchKeepsTheLastGoodValuesWhenSecretsManagerFails(t *testing.T) {
	watchBoth(t, func(t *testing.T, list bool) {
		b := newBed(t)
		b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
		w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/db"), func(o *secretsenv.WatchOptions) { o.List = list })
		require.NoError(t, err)
		start := w.Health().LastGood
		op := map[bool]string{false: secretsenvtest.OpDescribeSecret, true: secretsenvtest.OpListSecrets}[list]
		b.sm.Fail(op, throttled, 8) // two checks of four attempts each
		b.clock.Advance(time.Minute)
		_, _, err = w.Check(context.Background())
		require.ErrorIs(t, err, secretsenv.ErrThrottled)
		h := w.Health()
		assert.Equal(t, start, h.LastGood)
		assert.Equal(t, err, h.Err)
		failing := h.FailingSince
		assert.False(t, failing.IsZero())
		b.clock.Advance(time.Minute)
		_, _, err = w.Check(context.Background())
		require.Error(t, err)
		assert.Equal(t, failing, w.Health().FailingSince, "failing since the first failure")
		assert.Equal(t, "one", w.Vars()["DB_PASSWORD"])

		b.sm.PutString("app/db", `{"DB_PASSWORD":"two"}`)
		ch, moved, err := w.Check(context.Background())
		require.NoError(t, err)
		require.True(t, moved)
		assert.Equal(t, "two", ch.Vars["DB_PASSWORD"])
		assert.Equal(t, secretsenv.Health{LastGood: b.clock.Now()}, w.Health())
	})
}

func TestWatchNeverServesHalfAChange(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/a", `{"A":"1"}`)
	b.sm.PutString("app/b", `{"B":"1"}`)
	w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/a", "app/b"))
	require.NoError(t, err)

	// Both move; reading one of them fails: neither new value is served.
	b.sm.PutString("app/a", `{"A":"2"}`)
	b.sm.PutString("app/b", `{"B":"2"}`)
	b.sm.FailSecret(b.sm.ARN("app/b"), secretsenvtest.APIError("DecryptionFailure", "KMS said no"), 1)
	_, _, err = w.Check(context.Background())
	require.Error(t, err)
	var se *secretsenv.SecretError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "app/b", se.SecretID, "named as the caller named it")
	assert.Equal(t, map[string]string{"A": "1", "B": "1"}, w.Vars())

	// A new version that can't become variables (no longer a JSON object): nothing changes.
	b.sm.PutString("app/a", "plain text now")
	_, _, err = w.Check(context.Background())
	require.ErrorIs(t, err, secretsenv.ErrInvalidSecret)
	assert.Equal(t, map[string]string{"A": "1", "B": "1"}, w.Vars())

	b.sm.PutString("app/a", `{"A":"3"}`)
	ch, moved, err := w.Check(context.Background())
	require.NoError(t, err)
	require.True(t, moved)
	assert.Equal(t, map[string]string{"A": "3", "B": "2"}, ch.Vars)
	assert.Equal(t, []string{"A", "B"}, ch.Changed)
}

func TestWatchReportsVariablesThatAppearOrGo(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/cfg", `{"KEEP":"k","GONE":"g"}`)
	w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/cfg"))
	require.NoError(t, err)
	b.sm.PutString("app/cfg", `{"KEEP":"k","NEW":"n"}`)
	ch, moved, err := w.Check(context.Background())
	require.NoError(t, err)
	require.True(t, moved)
	assert.Equal(t, []string{"GONE", "NEW"}, ch.Changed)

	b.sm.PutString("app/cfg", `{"KEEP":"k","NEW":"n"}`) // the same value stored again
	ch, moved, err = w.Check(context.Background())
	require.NoError(t, err)
	assert.True(t, moved, "a new version")
	assert.Empty(t, ch.Changed, "no variable changed")
}

func TestWatchDoesNotCheckASecretPinnedToAVersion(t *testing.T) {
	b := newBed(t)
	v1 := b.sm.PutString("app/pinned", `{"P":"1"}`)
	b.sm.PutString("app/live", `{"L":"1"}`)
	w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/pinned,version="+v1, "app/live"))
	require.NoError(t, err)
	b.sm.PutString("app/pinned", `{"P":"2"}`)
	_, moved, err := w.Check(context.Background())
	require.NoError(t, err)
	assert.False(t, moved)
	assert.Equal(t, 1, b.sm.Calls(secretsenvtest.OpDescribeSecret), "only the unpinned secret is described")
}

func TestWatchRunCallsBackOncePerChange(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"one"}`)
	w, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/db"), func(o *secretsenv.WatchOptions) {
		o.Interval, o.Jitter = time.Minute, time.Second
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan secretsenv.Change, 4)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(c secretsenv.Change) { changes <- c }) }()
	// The bed's clock advances by itself: every check runs at once, one after another.
	require.Eventually(t, func() bool { return b.sm.Calls(secretsenvtest.OpDescribeSecret) >= 3 }, 10*time.Second, time.Millisecond)
	b.sm.PutString("app/db", `{"DB_PASSWORD":"two"}`)
	var got secretsenv.Change
	select {
	case got = <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported")
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, "two", got.Vars["DB_PASSWORD"])
	assert.Empty(t, changes, "one change, one call")
}

func TestWatchRefusesOptionsThatCannotWork(t *testing.T) {
	b := newBed(t)
	b.sm.PutString("app/db", `{"A":"1"}`)
	for name, o := range map[string]secretsenv.WatchOptions{
		"negative interval": {Interval: -time.Second},
		"negative jitter":   {Jitter: -time.Second},
		"jitter over half":  {Interval: time.Minute, Jitter: 31 * time.Second},
	} {
		_, err := b.loader().Watch(context.Background(), b.client, specs(t, "app/db"), func(w *secretsenv.WatchOptions) { *w = o })
		require.ErrorIs(t, err, secretsenv.ErrInvalidInput, name)
	}
	_, err := b.loader().Watch(context.Background(), nil, specs(t, "app/db"))
	require.ErrorIs(t, err, secretsenv.ErrInvalidInput)
	assert.Zero(t, b.sm.Calls(secretsenvtest.OpGetSecretValue), "refused before any call")
}
