package secretsenv_test

import (
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// shellRoundTrip evaluates shell export lines in sh and prints the named variables back,
// NUL-separated, to prove the quoting gives the values byte for byte.
func shellRoundTrip(t testing.TB, exports []byte, vars map[string]string) map[string]string {
	t.Helper()
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	script := string(exports)
	for _, k := range names {
		script += `printf '%s\0' "$` + k + `"` + "\n"
	}
	out, err := exec.Command("sh", "-c", script).Output()
	require.NoError(t, err)
	parts := strings.Split(string(out), "\x00")
	require.Len(t, parts, len(names)+1)
	back := map[string]string{}
	for i, k := range names {
		back[k] = parts[i]
	}
	return back
}
