package secretsenv_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/secretsenv"
	"github.com/shipshape-dev/shipshape/secretsenv/secretsenvtest"
)

// roundTrip checks that vars survive every printed format byte for byte.
func roundTrip(t *testing.T, vars map[string]string) {
	for _, format := range []string{secretsenv.FormatDotenv, secretsenv.FormatJSON, secretsenv.FormatShell} {
		out, err := secretsenv.Format(vars, format)
		if errors.Is(err, secretsenv.ErrCannotFormat) && format == secretsenv.FormatDotenv {
			for k, v := range vars {
				if len(v) > 3 && strings.Contains(err.Error(), v) {
					t.Fatalf("the refusal prints the value of %s: %v", k, err)
				}
			}
			continue // refused, with a reason: fine
		}
		if err != nil {
			t.Fatalf("Format %s of converted variables: %v", format, err)
		}
		var back map[string]string
		switch format {
		case secretsenv.FormatDotenv:
			back, err = secretsenv.ParseDotenv(out)
		case secretsenv.FormatJSON:
			err = json.Unmarshal(out, &back)
		case secretsenv.FormatShell:
			back = shellRoundTrip(t, out, vars)
		}
		if err != nil {
			t.Fatalf("reading %s back: %v", format, err)
		}
		for k, v := range vars {
			if back[k] != v {
				t.Fatalf("%s: %s came back as %q, want %q", format, k, back[k], v)
			}
		}
	}
}

func fuzzLoad(doc string, strict bool) (map[string]string, error) {
	fake := secretsenvtest.NewSecretsManager()
	fake.PutString("plain", doc)
	fake.PutString("object", doc)
	l, err := secretsenv.New(fake, func(o *secretsenv.Options) { o.Environ = []string{}; o.Strict = strict; o.Normalize = true })
	if err != nil {
		return nil, err
	}
	vars, err := l.Load(context.Background(), []secretsenv.Secret{{ID: "plain", Var: "PLAIN_VALUE"}})
	if err != nil {
		return nil, err
	}
	objVars, err := l.Load(context.Background(), []secretsenv.Secret{{ID: "object"}})
	if err == nil {
		for k, v := range objVars {
			vars["OBJ_"+k] = v
		}
	}
	return vars, nil
}

// FuzzSecretValues: any secret string either becomes variables that round-trip byte for byte
// through every format, or is rejected with an error; never a panic.
func FuzzSecretValues(f *testing.F) {
	for _, seed := range []string{
		"plain", "a\nb", `{"A":"x","b-c":1.50,"n":null,"o":{"z":[1,2]}}`, `{"A":"$(id)` + "`id`" + `|*"}`, "\x00", "\xff\xfe",
		`{"A":"a","A":"b"}`, `{"":"x"}`, `[1,2,3]`, `"str"`, `{"PATH":"/evil"}`, `{"k":"\u0000"}`, "'\"'\"'", "",
	} {
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, doc string, strict bool) {
		vars, err := fuzzLoad(doc, strict)
		if err != nil {
			return // rejected with an error: fine
		}
		if vars["PLAIN_VALUE"] != doc {
			t.Fatalf("plaintext secret changed: %q -> %q", doc, vars["PLAIN_VALUE"])
		}
		roundTrip(t, vars)
	})
}
