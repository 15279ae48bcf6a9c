package secretsenv

import (
	"bufio"
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
	FormatDotenv = "dotenv" // NAME="value" lines with backslash escapes
	FormatJSON   = "json"   // one JSON object
)

// Format prints vars, sorted by name, in one of the formats. Every format gives back the
// values byte for byte: shell through `eval`, dotenv through ParseDotenv (and the usual
// dotenv readers for values without control characters), JSON through any JSON decoder.
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
			b.WriteString(k + "=" + dotenvQuote(vars[k]) + "\n")
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

// dotenvQuote double-quotes s, escaping backslash, double quote, dollar, backtick, newline,
// carriage return and tab, so that no dotenv reader expands or splits it.
func dotenvQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '$':
			b.WriteString(`\$`)
		case '`':
			b.WriteString("\\`")
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ParseDotenv reads what Format(FormatDotenv) writes: NAME="escaped value" lines.
func ParseDotenv(data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, q, ok := strings.Cut(line, "=")
		if !ok || !validName(k) || len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
			return nil, fmt.Errorf("%w: dotenv line %d is not NAME=\"value\"", ErrInvalidInput, n)
		}
		var v strings.Builder
		body := q[1 : len(q)-1]
		for i := 0; i < len(body); i++ {
			c := body[i]
			if c == '"' {
				return nil, fmt.Errorf("%w: dotenv line %d has an unescaped quote", ErrInvalidInput, n)
			}
			if c != '\\' {
				v.WriteByte(c)
				continue
			}
			if i++; i == len(body) {
				return nil, fmt.Errorf("%w: dotenv line %d ends in a lone backslash", ErrInvalidInput, n)
			}
			switch body[i] {
			case 'n':
				v.WriteByte('\n')
			case 'r':
				v.WriteByte('\r')
			case 't':
				v.WriteByte('\t')
			case '\\', '"', '$', '`':
				v.WriteByte(body[i])
			default:
				return nil, fmt.Errorf("%w: dotenv line %d has an unknown escape \\%c", ErrInvalidInput, n, body[i])
			}
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%w: dotenv sets %s twice", ErrInvalidInput, k)
		}
		out[k] = v.String()
	}
	return out, sc.Err()
}
