package secretsenv_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
	"github.com/shipshape-dev/shipshape/secretsenv"
)

// dotenvCarried are values the dotenv format must carry exactly, each with the line it is
// written as.
var dotenvCarried = map[string]struct{ value, line string }{
	"PLAIN":    {"abc/def:ghi@host.example+x,y=1%2-z", "PLAIN=abc/def:ghi@host.example+x,y=1%2-z"},
	"EMPTY":    {"", "EMPTY=''"},
	"SPACES":   {"  a b  ", "SPACES='  a b  '"},
	"HASH":     {"a #not a comment", "HASH='a #not a comment'"},
	"DOLLAR":   {"$HOME and $(id) and `id`", "DOLLAR='$HOME and $(id) and `id`'"},
	"DQUOTE":   {`a"b`, `DQUOTE='a"b'`},
	"BACKSL":   {`C:\temp\new`, `BACKSL='C:\temp\new'`},
	"ESCAPE_N": {`\n stays two characters`, `ESCAPE_N='\n stays two characters'`},
	"NEWLINES": {"-----BEGIN KEY-----\nMIIB\n-----END KEY-----\n", "NEWLINES='-----BEGIN KEY-----\nMIIB\n-----END KEY-----\n'"},
	"TAB":      {"a\tb", "TAB='a\tb'"},
	"SQUOTE":   {"it's", `SQUOTE="it's"`},
	"SQ_NL":    {"it's\nline 2", "SQ_NL=\"it's\nline 2\""},
	"UNICODE":  {"héllo ☃ 🚀", "UNICODE='héllo ☃ 🚀'"},
	"EQUALS":   {"=a", "EQUALS='=a'"},
	"DASH":     {"-a", "DASH='-a'"},
	"BRACE":    {"${ unclosed", "BRACE='${ unclosed'"},
}

// dotenvRefused are values no single dotenv encoding gives back exactly to every reader.
var dotenvRefused = map[string]string{
	"CR":        "a\rb",
	"EXPANDS":   "x${HOME}y",
	"BOTH":      `'"`,
	"SQ_BSLASH": `it's C:\x`,
	"BSBS":      `a\\b`,
	"BS_END":    `ab\`,
}

func TestDotenvEncoding(t *testing.T) {
	vars := map[string]string{}
	for name, c := range dotenvCarried {
		vars[name] = c.value
		out, err := secretsenv.Format(map[string]string{name: c.value}, secretsenv.FormatDotenv)
		require.NoError(t, err, name)
		assert.Equal(t, c.line+"\n", string(out), name)
	}
	out, err := secretsenv.Format(vars, secretsenv.FormatDotenv)
	require.NoError(t, err)
	back, err := secretsenv.ParseDotenv(out)
	require.NoError(t, err)
	assert.Equal(t, vars, back)

	for name, v := range dotenvRefused {
		_, err := secretsenv.Format(map[string]string{name: v}, secretsenv.FormatDotenv)
		require.ErrorIs(t, err, secretsenv.ErrCannotFormat, name)
		assert.Contains(t, err.Error(), name, "the error names the variable")
		assert.NotContains(t, err.Error(), v, "the error never prints the value")
		for _, format := range []string{secretsenv.FormatShell, secretsenv.FormatJSON} {
			_, err := secretsenv.Format(map[string]string{name: v}, format)
			assert.NoError(t, err, "%s carries %s", format, name)
		}
	}

	for _, bad := range []string{"A=\"unclosed\n", "A='x' trailing\n", "A=a b\n", "9A=x\n", "A=x\nA=y\n"} {
		_, err := secretsenv.ParseDotenv([]byte(bad))
		assert.ErrorIs(t, err, secretsenv.ErrInvalidInput, "%q", bad)
	}
}

// TestIntegrationDotenvReaders reads the dotenv output with the real readers: python-dotenv
// (with its default interpolation), the npm dotenv package and Node's util.parseEnv.
func TestIntegrationDotenvReaders(t *testing.T) {
	readers := testbed.Dotenv(t)
	vars := map[string]string{}
	for name, c := range dotenvCarried {
		vars[name] = c.value
	}
	out, err := secretsenv.Format(vars, secretsenv.FormatDotenv)
	require.NoError(t, err)
	dir := t.TempDir()
	file := filepath.Join(dir, "secrets.env")
	require.NoError(t, os.WriteFile(file, out, 0o600))

	py := exec.Command(readers.Python, "-c", `import json, sys
from dotenv import dotenv_values
print(json.dumps(dotenv_values(sys.argv[1])))`, file)
	py.Env = append(os.Environ(), "HOME=/home/reader")
	js := exec.Command("node", "-e", `const fs = require("fs"), util = require("util");
const src = fs.readFileSync(process.argv[1], "utf8");
console.log(JSON.stringify({npm: require("dotenv").parse(src), node: util.parseEnv(src)}));`, file)
	js.Env = append(os.Environ(), "NODE_PATH="+readers.NodePath)

	pyOut, err := py.Output()
	require.NoError(t, err, "python-dotenv: %s", exitText(err))
	var fromPython map[string]string
	require.NoError(t, json.Unmarshal(pyOut, &fromPython))
	jsOut, err := js.Output()
	require.NoError(t, err, "node: %s", exitText(err))
	var fromNode struct{ NPM, Node map[string]string }
	require.NoError(t, json.Unmarshal(jsOut, &fromNode))

	for reader, got := range map[string]map[string]string{"python-dotenv": fromPython, "npm dotenv": fromNode.NPM, "util.parseEnv": fromNode.Node} {
		assert.Equal(t, vars, got, "%s reads the values back exactly", reader)
	}
}

func exitText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return strings.TrimSpace(string(ee.Stderr))
	}
	if err != nil {
		return err.Error()
	}
	return ""
}
