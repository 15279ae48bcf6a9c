package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestThePlotsAreTheResults: the PNG files in docs/img are exactly what the committed
// results give (regenerate them with `make bench`, or `go run ./bench/plots` from the
// results), drawing them twice gives the same bytes, and PERFORMANCE.md shows each one.
func TestThePlotsAreTheResults(t *testing.T) {
	root := filepath.Join("..", "..")
	first, err := figures(filepath.Join(root, "bench", "results"), filepath.Join(root, "bench", "s3diff", "results", "raw.tsv"))
	require.NoError(t, err)
	second, err := figures(filepath.Join(root, "bench", "results"), filepath.Join(root, "bench", "s3diff", "results", "raw.tsv"))
	require.NoError(t, err)
	require.Len(t, first, 5)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "PERFORMANCE.md"))
	require.NoError(t, err)
	for name, png := range first {
		assert.True(t, bytes.Equal(png, second[name]), "%s: drawn twice, the bytes differ", name)
		committed, err := os.ReadFile(filepath.Join(root, "docs", "img", name))
		require.NoError(t, err, "docs/img/%s: run go run ./bench/plots", name)
		assert.True(t, bytes.Equal(png, committed), "docs/img/%s is not what bench/results gives: run go run ./bench/plots", name)
		assert.True(t, strings.Contains(string(doc), "](img/"+name+")"), "docs/PERFORMANCE.md does not show img/%s", name)
	}
}

func TestReadBenchTakesEveryMetric(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bench.txt")
	require.NoError(t, os.WriteFile(path, []byte("goos: linux\nBenchmarkSweepBySnapshots/snapshots=100-2  \t 1\t 2780920 ns/op\t 6.000 calls/run\t 1.000 copies\nPASS\n"), 0o600))
	got, err := readBench(path)
	require.NoError(t, err)
	assert.Equal(t, benchResult{"ns/op": 2780920, "calls/run": 6, "copies": 1}, got["BenchmarkSweepBySnapshots/snapshots=100"])
	_, err = need(got, "BenchmarkNope", "x")
	assert.ErrorContains(t, err, "make bench")
}
