package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTourRunsEveryChapter(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	for _, c := range chapters {
		require.Contains(t, out.String(), ". "+c.name+"\n", "chapter %q did not run", c.name)
	}
	require.Contains(t, out.String(), "end of the tour")
}
