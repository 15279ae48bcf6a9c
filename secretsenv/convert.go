package secretsenv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Secret names one secret to load.
type Secret struct {
	// ID is the secret's name, full ARN, or partial ARN (without the random suffix).
	ID string
	// VersionStage pins a staging label, e.g. AWSPREVIOUS. Default: AWSCURRENT.
	VersionStage string
	// VersionID pins one version.
	VersionID string
	// Var is the variable for a secret that is not a JSON object (plaintext, a JSON string,
	// number or array) or is binary. A JSON object secret gives one variable per key instead.
	Var string
}

// ParseSecret reads the flag form of a Secret: ID[,stage=LABEL][,version=ID][,var=NAME].
// Secret names and ARNs never contain ',' so the separator is unambiguous.
func ParseSecret(s string) (Secret, error) {
	parts := strings.Split(s, ",")
	sec := Secret{ID: strings.TrimSpace(parts[0])}
	if sec.ID == "" {
		return Secret{}, fmt.Errorf("%w: %q names no secret; want NAME-or-ARN[,stage=LABEL][,version=ID][,var=NAME]", ErrInvalidInput, s)
	}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || v == "" {
			return Secret{}, fmt.Errorf("%w: %q: %q is not key=value (stage, version or var)", ErrInvalidInput, s, p)
		}
		switch k {
		case "stage":
			sec.VersionStage = v
		case "version":
			sec.VersionID = v
		case "var":
			sec.Var = v
		default:
			return Secret{}, fmt.Errorf("%w: %q: unknown option %q (want stage, version or var)", ErrInvalidInput, s, k)
		}
	}
	if sec.VersionStage != "" && sec.VersionID != "" {
		return Secret{}, fmt.Errorf("%w: %q: give stage or version, not both", ErrInvalidInput, s)
	}
	return sec, nil
}

func (s Secret) String() string {
	out := s.ID
	if s.VersionStage != "" {
		out += ",stage=" + s.VersionStage
	}
	if s.VersionID != "" {
		out += ",version=" + s.VersionID
	}
	if s.Var != "" {
		out += ",var=" + s.Var
	}
	return out
}

// BinaryMode says what to do with a SecretBinary.
type BinaryMode int

const (
	// BinaryError refuses binary secrets (the default).
	BinaryError BinaryMode = iota
	// BinaryBase64 puts the bytes, base64-encoded (standard alphabet), in Secret.Var.
	BinaryBase64
)

// Value is a secret as fetched: exactly one of String and Binary is set.
type Value struct {
	Secret    Secret
	ARN, Name string
	VersionID string
	String    *string
	Binary    []byte
}

// variable is one variable with where it came from, for conflict messages.
type variable struct {
	name, value, source string
}

// maxEnvString is Linux's limit for one "NAME=value" string (MAX_ARG_STRLEN, 32 pages).
const maxEnvString = 128 << 10

// validName reports whether s matches [A-Za-z_][A-Za-z0-9_]* (written out rather than as a
// regexp: the layer binary is smaller without the regexp package).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// convert turns one fetched secret into variables, following the package's one policy.
func (l *Loader) convert(v Value) ([]variable, error) {
	fail := func(key string, format string, args ...any) error {
		return &SecretError{SecretID: v.Secret.ID, Key: key, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalidSecret}, args...)...)}
	}
	source := v.Secret.ID
	switch {
	case v.String != nil && v.Binary != nil:
		return nil, fail("", "Secrets Manager returned both SecretString and SecretBinary")
	case v.String == nil && v.Binary == nil:
		return nil, fail("", "Secrets Manager returned neither SecretString nor SecretBinary")
	case v.Binary != nil:
		if l.opts.Binary != BinaryBase64 {
			return nil, fail("", "it is binary (SecretBinary); load it base64-encoded with the binary option, into a variable named with var=")
		}
		if v.Secret.Var == "" {
			return nil, fail("", "a binary secret needs a variable name: add var=NAME")
		}
		return []variable{{name: v.Secret.Var, value: base64.StdEncoding.EncodeToString(v.Binary), source: source}}, nil
	}

	s := *v.String
	fields, isObject, err := jsonObject(s)
	if err != nil {
		return nil, fail("", "%v", err)
	}
	if !isObject {
		if v.Secret.Var == "" {
			return nil, fail("", "it is not a JSON object, so it becomes one variable: name it with var=NAME")
		}
		return []variable{{name: v.Secret.Var, value: s, source: source}}, nil
	}
	if v.Secret.Var != "" {
		return nil, fail("", "var=%s is for secrets that are not JSON objects; this one is an object, one variable per key", v.Secret.Var)
	}
	out := make([]variable, 0, len(fields))
	for _, f := range fields {
		value, ok, err := jsonValue(f.raw, l.opts.Strict)
		if err != nil {
			return nil, fail(f.key, "%v", err)
		}
		if !ok {
			l.log.Warn("secretsenv: skipped a null value", "secret", v.Secret.ID, "key", f.key)
			continue
		}
		name, ok, err := l.varName(f.key)
		if err != nil {
			return nil, &SecretError{SecretID: v.Secret.ID, Key: f.key, Err: err}
		}
		if !ok {
			l.log.Warn("secretsenv: skipped a key that is no valid variable name (lenient mode)", "secret", v.Secret.ID, "key", f.key)
			continue
		}
		out = append(out, variable{name: name, value: value, source: source + " key " + fmt.Sprintf("%q", f.key)})
	}
	return out, nil
}

type field struct {
	key string
	raw json.RawMessage
}

// jsonObject parses s as a JSON object, keeping every value's raw text and the key order,
// and refusing duplicate keys. isObject is false (and err nil) when s is not a JSON object
// at all: plaintext, or another JSON value.
func jsonObject(s string) (fields []field, isObject bool, err error) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") || !json.Valid([]byte(t)) {
		return nil, false, nil
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // {
		return nil, false, err
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, true, err
		}
		key := tok.(string)
		if seen[key] {
			return nil, true, fmt.Errorf("key %q appears twice in the JSON object", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, true, err
		}
		fields = append(fields, field{key: key, raw: raw})
	}
	if _, err := dec.Token(); err != nil && err != io.EOF { // }
		return nil, true, err
	}
	return fields, true, nil
}

// jsonValue converts one top-level value: strings as they are, numbers as written, booleans
// as true/false, objects and arrays as compact JSON, null as "" (ok=false in lenient mode
// means skip; strict mode makes null an error).
func jsonValue(raw json.RawMessage, strict bool) (value string, ok bool, err error) {
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, err
		}
		if strings.IndexByte(s, 0) >= 0 {
			return "", false, fmt.Errorf("%w: the value contains a NUL byte, which no environment variable can hold", ErrInvalidSecret)
		}
		return s, true, nil
	case '{', '[':
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return "", false, err
		}
		return b.String(), true, nil
	case 'n':
		if strict {
			return "", false, fmt.Errorf("%w: the value is null (strict mode)", ErrInvalidSecret)
		}
		return "", true, nil
	}
	return string(raw), true, nil // a number exactly as written, or true/false
}

// varName maps a JSON key to a variable name: a rename if one is configured (taken as is),
// else the key transformed (when Options.Normalize) and prefixed. ok is false when the
// result is invalid in lenient mode.
func (l *Loader) varName(key string) (string, bool, error) {
	name, renamed := l.opts.Renames[key]
	if !renamed {
		name = key
		if l.opts.Normalize {
			name = normalize(name)
		}
		name = l.opts.Prefix + name
	}
	if !validName(name) {
		if l.opts.Strict || renamed {
			return "", false, fmt.Errorf("%w: %q is not [A-Za-z_][A-Za-z0-9_]*: rename the key, or turn on name normalisation", ErrInvalidName, name)
		}
		return "", false, nil
	}
	return name, true, nil
}

// normalize upper-cases and turns '-', '.' and ' ' into '_'.
func normalize(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', ' ':
			return '_'
		}
		return r
	}, strings.ToUpper(s))
}

// reserved reports whether a secret may never set name, and why.
func reserved(name string) (string, bool) {
	for _, p := range []string{"AWS_", "LAMBDA_", "_X_AMZN_", "LD_", "SECRETSENV_"} {
		if strings.HasPrefix(name, p) {
			return "names starting with " + p + " belong to the runtime or to secretsenv itself", true
		}
	}
	switch name {
	case "PATH", "HOME", "_HANDLER":
		return name + " belongs to the runtime", true
	}
	return "", false
}

// checkValue refuses values no environment can hold.
func checkValue(v variable) error {
	if strings.IndexByte(v.value, 0) >= 0 {
		return fmt.Errorf("%w: %s (from %s) contains a NUL byte, which no environment variable can hold", ErrInvalidSecret, v.name, v.source)
	}
	if len(v.name)+1+len(v.value) > maxEnvString {
		return fmt.Errorf("%w: %s (from %s) is %d bytes; Linux allows %d for one variable", ErrInvalidSecret, v.name, v.source, len(v.value), maxEnvString-1-len(v.name))
	}
	if !utf8.ValidString(v.value) {
		return fmt.Errorf("%w: %s (from %s) is not valid UTF-8", ErrInvalidSecret, v.name, v.source)
	}
	return nil
}
