package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteZipLayout(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.WriteFile(bin, []byte("ELF..."), 0o600))
	out := filepath.Join(dir, "layer.zip")
	require.NoError(t, writeZip(out, map[string]string{"bin/secretsenv": bin, "secretsenv-wrapper": "../../examples/secretsenv/layer/secretsenv-wrapper"}))
	zr, err := zip.OpenReader(out)
	require.NoError(t, err)
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		assert.Equal(t, os.FileMode(0o755), f.Mode().Perm(), f.Name)
	}
	assert.Equal(t, []string{"bin/secretsenv", "secretsenv-wrapper"}, names, "unpacked under /opt: /opt/bin/secretsenv and /opt/secretsenv-wrapper")
}
