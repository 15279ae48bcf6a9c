package benchproc_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/benchproc"
)

func TestMain(m *testing.M) {
	benchproc.Main()
	os.Exit(m.Run())
}

func TestPeakRSSIsTheCommandsOwn(t *testing.T) {
	ballast := make([]byte, 300<<20) // the test process is big; its children must not look so
	for i := range ballast {
		ballast[i] = 1
	}
	small, err := benchproc.Run(nil, "sh", "-c", "echo hello; echo oops >&2; exit 4")
	require.NoError(t, err)
	assert.Equal(t, 4, small.ExitCode)
	assert.Equal(t, "hello\n", small.Stdout)
	assert.Equal(t, "oops\n", small.Stderr)
	assert.Less(t, small.PeakRSSMiB(), 50.0, "not the benchmark's 300 MiB")

	big, err := benchproc.Run([]string{"BENCHPROC_MIB=120"}, "python3", "-c", "import os; b = bytearray(int(os.environ['BENCHPROC_MIB']) << 20)")
	require.NoError(t, err)
	assert.Zero(t, big.ExitCode, big.Stderr)
	assert.Greater(t, big.PeakRSSMiB(), 120.0)
	assert.Less(t, big.PeakRSSMiB(), 200.0)
	assert.Positive(t, big.Elapsed)
	_ = ballast[len(ballast)-1]
}
