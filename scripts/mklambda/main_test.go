package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/scripts/internal/samdist"
)

const repo = "../.."

// TestMakeLambdaWritesTemplatesThatDeployWhatWasBuilt: a real function, built as `make
// lambda` builds it for each architecture, gets a template that deploys it as that
// architecture (samdist.Write reads the bootstrap's ELF machine); the other architecture's
// build in its place is refused. (samdist's tests cover every other shape with fake ELF
// headers; this one shows the compiler's output is what they fake.)
func TestMakeLambdaWritesTemplatesThatDeployWhatWasBuilt(t *testing.T) {
	const fn = "drain-lambda"
	dest := t.TempDir()
	src, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(samdist.Source(fn))))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dest, "examples", fn), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dest, filepath.FromSlash(samdist.Source(fn))), src, 0o644))
	for _, a := range samdist.Arches {
		require.NoError(t, Bootstrap(repo, dest, fn, a))
		p, err := samdist.Write(dest, fn, a)
		require.NoError(t, err, "the %s build under its %s template", a, a.Lambda())
		tpl, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(p)))
		require.NoError(t, err)
		assert.Contains(t, string(tpl), "Architectures: ["+a.Lambda()+"]")
		assert.Contains(t, string(tpl), "CodeUri: ../../lambda/"+string(a)+"/"+fn+"/")
	}
	// Swap the two builds: neither template may be written now.
	arm := filepath.Join(dest, filepath.FromSlash(samdist.BundleDir(samdist.ARM64, fn)), "bootstrap")
	amd := filepath.Join(dest, filepath.FromSlash(samdist.BundleDir(samdist.AMD64, fn)), "bootstrap")
	require.NoError(t, os.Rename(arm, arm+".tmp"))
	require.NoError(t, os.Rename(amd, arm))
	require.NoError(t, os.Rename(arm+".tmp", amd))
	for _, a := range samdist.Arches {
		_, err := samdist.Write(dest, fn, a)
		require.Error(t, err, "the other architecture's build under the %s template", a)
		assert.Contains(t, err.Error(), "but the template deploys it as "+a.Lambda())
	}
}

// TestTheTemplatesOfBothArchitecturesLintClean: every template, as written for arm64 and for
// amd64, passes cfn-lint (scripts/lint-templates does the same in `make test`).
func TestTheTemplatesOfBothArchitecturesLintClean(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	require.NoError(t, err, "cfn-lint must be on PATH (pip install cfn-lint), as for make test")
	dir := t.TempDir()
	names, err := templates(repo)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(names), 7)
	var files []string
	for _, a := range samdist.Arches {
		require.NoError(t, renderAll(repo, filepath.Join(dir, string(a)), a))
		for _, n := range names {
			files = append(files, filepath.Join(dir, string(a), n+".yaml"))
		}
	}
	out, err := exec.Command(lint, files...).CombinedOutput()
	assert.NoError(t, err, "cfn-lint:\n%s", out)
	assert.Empty(t, strings.TrimSpace(string(out)))
}
