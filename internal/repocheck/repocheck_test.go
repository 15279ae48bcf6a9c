// Package repocheck holds the checks of the repository as a whole: what may be tracked.
package repocheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxTracked is the largest file the repository tracks outside testdata/ and benchmark
// results: every `go get` of the module downloads what is tracked.
const maxTracked = 1 << 20

// compiled reports which kind of compiled binary head starts like, or "".
func compiled(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "ELF"
	case bytes.HasPrefix(head, []byte{0xfe, 0xed, 0xfa, 0xce}), bytes.HasPrefix(head, []byte{0xfe, 0xed, 0xfa, 0xcf}),
		bytes.HasPrefix(head, []byte{0xce, 0xfa, 0xed, 0xfe}), bytes.HasPrefix(head, []byte{0xcf, 0xfa, 0xed, 0xfe}),
		bytes.HasPrefix(head, []byte{0xca, 0xfe, 0xba, 0xbe}):
		return "Mach-O"
	case bytes.HasPrefix(head, []byte("MZ")):
		return "PE"
	}
	return ""
}

// allowedLarge reports whether path may exceed maxTracked.
func allowedLarge(path string) bool {
	return strings.Contains("/"+path, "/testdata/") || (strings.HasPrefix(path, "bench/") && strings.Contains(path, "results"))
}

// TestNoBuildOutputIsTracked: no tracked file is a compiled binary (ELF, Mach-O or PE; a
// script with the run bit is fine), and none is over 1 MiB outside testdata/ and benchmark
// results.
func TestNoBuildOutputIsTracked(t *testing.T) {
	root := filepath.Join("..", "..")
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	require.NoError(t, err, "git ls-files: the checks need a git checkout")
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	require.Greater(t, len(files), 100, "git ls-files listed too few files")
	for _, f := range files {
		p := filepath.Join(root, f)
		info, err := os.Lstat(p)
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not yet committed
		}
		require.NoError(t, err)
		if !info.Mode().IsRegular() {
			continue
		}
		assert.False(t, info.Size() > maxTracked && !allowedLarge(f), "%s is %d bytes: build output in git? (limit %d outside testdata/)", f, info.Size(), maxTracked)
		head := make([]byte, 4)
		fh, err := os.Open(p)
		require.NoError(t, err)
		n, _ := fh.Read(head)
		fh.Close()
		if kind := compiled(head[:n]); kind != "" {
			t.Errorf("%s is a compiled %s binary: remove it from git (git rm --cached) and let .gitignore keep it out", f, kind)
		}
	}
}

// TestTheGuardSeesBinaries: the header check knows the three formats and leaves text and
// scripts alone.
func TestTheGuardSeesBinaries(t *testing.T) {
	for head, want := range map[string]string{
		"\x7fELF\x02\x01": "ELF", "\xcf\xfa\xed\xfe": "Mach-O", "\xca\xfe\xba\xbe": "Mach-O", "MZ\x90\x00": "PE",
		"#!/usr/bin/env bash": "", "package main": "", "": "",
	} {
		assert.Equal(t, want, compiled([]byte(head)), "%q", head)
	}
	assert.True(t, allowedLarge("s3diff/testdata/big.txt"))
	assert.True(t, allowedLarge("bench/s3diff/results.json"))
	assert.False(t, allowedLarge("s3diff-lambda"))
}
