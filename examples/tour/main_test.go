package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMain lets the test binary play the tour's child process, as the tour binary does.
func TestMain(m *testing.M) {
	if os.Getenv(wrapperEnv) != "" {
		fmt.Fprintln(os.Stderr, "tour wrapper:", runWrapper())
		os.Exit(1)
	}
	if os.Getenv(childEnv) != "" {
		printChildEnv()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestTourRunsEveryChapter(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	for _, c := range chapters {
		require.Contains(t, out.String(), ". "+c.name+"\n", "chapter %q did not run", c.name)
	}
	require.Contains(t, out.String(), "end of the tour")
	require.Contains(t, out.String(), `child sees DB_PASSWORD="pa$$ w0rd'\"\n"`, "the exec wrapper chain delivers the secret")
	require.Contains(t, out.String(), "3 BatchGetSecretValue calls")
	require.Contains(t, out.String(), "the watcher gates it: CONTINUE", "the warm-pool resume is gated")
	require.Contains(t, out.String(), "nothing re-published; the hook: CONTINUE", "the drain Lambda path")
	require.Contains(t, out.String(), "two minutes later EC2 reclaims it", "the Spot watcher")
	require.Contains(t, out.String(), `child sees APP_API_TOKEN="t0k$(rm -rf ~)`+"`id`"+`|*\"'"`, "secretsenv values arrive byte for byte")
}
