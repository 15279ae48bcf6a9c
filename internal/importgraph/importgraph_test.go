// Package importgraph holds the test that keeps the import graph between shipshape's
// packages the small DAG the house style describes.
package importgraph

import (
	"bufio"
	"bytes"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/shipshape-dev/shipshape"

// allowed lists, per top-level package, the sibling packages it may depend on (directly or
// not). Every package may use the ground floor: internal/, clock (the one time source,
// public because Options.Clock is), envelope (the one decoder of invocation payloads) and fakeapi (what the fakes are built from; libraries
// may not use it, only fakes, tests and binaries); and its own subpackages. The ground
// floor uses nothing above it; nothing may use examples/.
var allowed = map[string][]string{
	"imds":       nil,
	"secretsenv": nil,
	"s3diff":     {"textdiff"},
	"dr":         nil,
	"lifecycle":  {"imds"},
	"drain":      {"lifecycle", "imds"},
	"clock":      nil,
	"textdiff":   nil,
	"fakeapi":    nil,
	"envelope":   nil,
}

// within lists, for the packages below a top-level package, which packages of the same top
// each may depend on (directly or not; an entry ending in "/" is every package under it).
// Layers only point down: dr (the snapshot side and the shared vocabulary) uses only
// dr/internal/snaps; dr/restore and dr/failover use dr and dr/internal/..., never each
// other; nothing under dr uses them. A package of a top not listed here may use its top's
// packages freely.
var within = map[string][]string{
	"dr":                    {"dr/internal/snaps"},
	"dr/internal/snaps":     nil,
	"dr/internal/restoring": {"dr", "dr/internal/snaps"},
	"dr/restore":            {"dr", "dr/internal/"},
	"dr/failover":           {"dr", "dr/internal/"},
	"dr/drtest":             {"dr", "dr/internal/"},
}

// withinAllowed reports whether pkg may depend on dep, a package of its own top.
func withinAllowed(pkg, dep string) bool {
	from := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	to := strings.TrimPrefix(strings.TrimPrefix(dep, module), "/")
	rules, ok := within[from]
	if !ok {
		_, topListed := within[top(pkg)]
		return !topListed || !strings.HasPrefix(from, top(pkg)+"/")
	}
	for _, r := range rules {
		if to == r || strings.HasSuffix(r, "/") && strings.HasPrefix(to, r) {
			return true
		}
	}
	return false
}

// isLibrary: pkg is a capability package or one of its non-fake subpackages (not a
// <pkg>test fake, not a binary, script, benchmark or end-to-end test).
func isLibrary(pkg string) bool {
	if _, ok := allowed[top(pkg)]; !ok {
		return false
	}
	last := pkg[strings.LastIndex(pkg, "/")+1:]
	return !strings.HasSuffix(last, "test")
}

// top returns the first path element below the module ("imds" for .../imds/imdstest).
func top(pkg string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	first, _, _ := strings.Cut(rest, "/")
	return first
}

func TestImportGraph(t *testing.T) {
	// Non-test dependencies of every package of the module, transitively.
	out, err := exec.Command("go", "list", "-deps=false", "-f",
		`{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	require.NoError(t, err, "go list: %s", out)

	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg, deps := fields[0], fields[1:]
		from := top(pkg)
		var bad []string
		for _, dep := range deps {
			if !strings.HasPrefix(dep, module+"/") {
				continue
			}
			to := top(dep)
			switch {
			case to == "fakeapi" && isLibrary(pkg):
				bad = append(bad, dep+" (fakes are for tests: only <pkg>test packages, tests and binaries use fakeapi)")
			case to == from && !withinAllowed(pkg, dep):
				bad = append(bad, dep+" (layers below "+from+" only point down: see within)")
			case to == from:
			case from == "clock" || from == "fakeapi" || from == "textdiff" || from == "envelope":
				bad = append(bad, dep+" ("+from+" is the ground floor: it imports nothing of the module)")
			case to == "internal" || to == "clock" || to == "fakeapi" || to == "envelope":
			case to == "examples" && from != "examples":
				bad = append(bad, dep+" (nothing may import examples/)")
			case from == "internal":
				// The ground floor imports no capability package: helpers that need one live
				// with the binaries (examples/internal/).
				bad = append(bad, dep+" (internal/ is below every capability package)")
			case from == "examples" || from == "bench" || from == "scripts" || from == "e2e":
				// Binaries, their helpers, benchmarks and scripts may use any package.
			default:
				ok := false
				for _, a := range allowed[from] {
					ok = ok || a == to
				}
				if !ok {
					bad = append(bad, dep)
				}
			}
		}
		sort.Strings(bad)
		require.Empty(t, bad, "%s imports packages the import graph does not allow (see HOUSE_STYLE / README)", pkg)
		checked++
	}
	require.NoError(t, sc.Err())
	require.GreaterOrEqual(t, checked, len(allowed), "go list returned fewer packages than the graph names")
}
