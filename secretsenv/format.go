package secretsenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Formats that Format prints.
const (
	FormatShell  = "shell"  // export NAME='value' lines for a POSIX shell's eval
	FormatDotenv = "dotenv" // NAME=value, NAME='value' or NAME="value", never an escape
	FormatJSON   = "json"   // one JSON object
)

// Format prints vars, sorted by name, in one of the formats. Every format gives back the
// values byte for byte: shell through `eval`, JSON through any JSON decoder, dotenv through
// ParseDotenv, python-dotenv, the npm dotenv package and Node's util.parseEnv. A value the
// dotenv format can't carry exactly for all of those readers (see dotenvValue) is an error
// wrapping ErrCannotFormat that names the variable, never the value.
func Format(vars map[string]string, format string) ([]byte, error) {
	names := make([]string, 0, len(vars))
	for k, v := range vars {
		if !validName(k) {
			return nil, fmt.Errorf("%w: %q", ErrInvalidName, k)
		}
		if strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v) {
			return nil, fmt.Errorf("%w: %s holds a NUL byte or invalid UTF-8, which %s can't carry", ErrInvalidSecret, k, format)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	switch format {
	case FormatShell:
		for _, k := range names {
			b.WriteString("export " + k + "=" + shellQuote(vars[k]) + "\n")
		}
	case FormatDotenv:
		for _, k := range names {
			v, err := dotenvValue(k, vars[k])
			if err != nil {
				return nil, err
			}
			b.WriteString(k + "=" + v + "\n")
		}
	case FormatJSON:
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(vars); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: format %q is not shell, dotenv or json", ErrInvalidInput, format)
	}
	return b.Bytes(), nil
}

// shellQuote single-quotes s; a single quote inside becomes '\”. Nothing inside single
// quotes is special to a POSIX shell, so $(...), backticks, globs and newlines stay text.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// dotenvValue writes a value so that the mainstream dotenv readers give it back exactly:
// python-dotenv (as Debian ships it, 0.21, which expands ${NAME} even inside single
// quotes), the npm dotenv package and Node's util.parseEnv. The one form those readers
// agree on is the literal one, with no escapes at all:
//
//   - NAME=value unquoted when the value is only letters, digits and _./:@%+,=- (docker
//     --env-file, which strips no quotes, also reads these lines exactly);
//   - NAME='value' single-quoted (newlines included) when the value holds no single quote,
//     no backslash before a quote or another backslash or at the end, no carriage return
//     and no ${...};
//   - NAME="value" double-quoted when it holds a single quote but no double quote, no
//     backslash, no carriage return and no ${...}.
//
// Any other value is refused with an error that names the variable and the reason, never
// the value: -format shell or json carry every value.
func dotenvValue(name, s string) (string, error) {
	switch {
	case s != "" && strings.Trim(s, dotenvPlain) == "" && !strings.ContainsAny(s[:1], "=-"):
		return s, nil
	case strings.ContainsRune(s, '\r'):
		return "", dotenvRefusal(name, "a carriage return (Node drops it, python-dotenv and npm dotenv turn it into a newline)")
	case dotenvExpands(s):
		return "", dotenvRefusal(name, "${...}, which python-dotenv replaces with the reader's own variable")
	case !strings.Contains(s, "'") && !badSingleQuoteBackslash(s):
		return "'" + s + "'", nil
	case !strings.ContainsAny(s, `"\`):
		return `"` + s + `"`, nil
	}
	return "", dotenvRefusal(name, "both quote kinds, or a quote and a backslash, which the readers unescape differently")
}

// dotenvPlain are the characters an unquoted dotenv value may consist of.
const dotenvPlain = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:@%+,=-"

func dotenvRefusal(name, why string) error {
	return fmt.Errorf("%w: %s can't be written as dotenv that every common reader reads back exactly: its value holds %s; use the shell or json format", ErrCannotFormat, name, why)
}

// dotenvExpands reports whether s holds ${...}, which python-dotenv expands.
func dotenvExpands(s string) bool {
	i := strings.Index(s, "${")
	return i >= 0 && strings.Contains(s[i:], "}")
}

// badSingleQuoteBackslash: python-dotenv unescapes \\ and \' inside single quotes (the other
// readers do not), and a final backslash would escape the closing quote.
func badSingleQuoteBackslash(s string) bool {
	return strings.Contains(s, `\\`) || strings.HasSuffix(s, `\`)
}

// ParseDotenv reads what Format(FormatDotenv) writes: NAME=value, NAME='value' or
// NAME="value" (quoted values may span lines; nothing inside quotes is unescaped), blank
// lines and # comments. It is strict: anything else is an error.
func ParseDotenv(data []byte) (map[string]string, error) {
	out := map[string]string{}
	s := string(data)
	for n := 1; s != ""; n++ {
		line, rest, _ := strings.Cut(s, "\n")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			s = rest
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !validName(k) {
			return nil, fmt.Errorf("%w: dotenv line %d is not NAME=value", ErrInvalidInput, n)
		}
		switch {
		case v != "" && (v[0] == '\'' || v[0] == '"'):
			// The value runs from after the quote to the next quote of the same kind.
			start := len(k) + 2
			end := strings.IndexByte(s[start:], v[0])
			if end < 0 {
				return nil, fmt.Errorf("%w: dotenv line %d opens a %c quote that never closes", ErrInvalidInput, n, v[0])
			}
			v = s[start : start+end]
			tail, more, _ := strings.Cut(s[start+end+1:], "\n")
			if tail != "" {
				return nil, fmt.Errorf("%w: dotenv line %d has text after the closing quote", ErrInvalidInput, n)
			}
			n += strings.Count(v, "\n")
			s = more
		case strings.Trim(v, dotenvPlain) != "":
			return nil, fmt.Errorf("%w: dotenv line %d has an unquoted value with characters that need quotes", ErrInvalidInput, n)
		default:
			s = rest
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%w: dotenv sets %s twice", ErrInvalidInput, k)
		}
		out[k] = v
	}
	return out, nil
}
