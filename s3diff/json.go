package s3diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// JSONChange is one difference between two JSON documents.
type JSONChange struct {
	// Path locates the value: $ is the document, $.a.b a member, $["odd key"] a member whose
	// name is not an identifier, $.list[2] an array element.
	Path string `json:"path"`
	// Op is "added", "removed" or "changed".
	Op string `json:"op"`
	// Old and New are the values as compact JSON ("" where there is none).
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
}

// IsJSONKey reports whether the key names a JSON object (ends in .json, any case).
func IsJSONKey(key string) bool { return strings.HasSuffix(strings.ToLower(key), ".json") }

// JSONChanges compares the two versions as JSON documents and returns what was added,
// removed or changed, by path, sorted by path. Objects are compared member by member,
// arrays element by element. It fails, saying which side, when a version is not JSON.
func (r *Result) JSONChanges() ([]JSONChange, error) {
	if r.Status == StatusNoChanges {
		return nil, nil
	}
	if r.Status != StatusChanged {
		return nil, fmt.Errorf("%w: no structural diff of a %s result", ErrInvalidInput, r.Status)
	}
	return diffJSON([]byte(r.oldText), []byte(r.newText))
}

func diffJSON(oldDoc, newDoc []byte) ([]JSONChange, error) {
	a, err := decodeJSON(oldDoc)
	if err != nil {
		return nil, fmt.Errorf("%w: the old version is not JSON: %v", ErrInvalidInput, err)
	}
	b, err := decodeJSON(newDoc)
	if err != nil {
		return nil, fmt.Errorf("%w: the new version is not JSON: %v", ErrInvalidInput, err)
	}
	var out []JSONChange
	walkJSON("$", a, b, &out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func decodeJSON(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func member(path, name string) string {
	if identifier.MatchString(name) {
		return path + "." + name
	}
	return path + "[" + strconv.Quote(name) + "]"
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func walkJSON(path string, a, b any, out *[]JSONChange) {
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok {
			for k, x := range av {
				if y, ok := bv[k]; ok {
					walkJSON(member(path, k), x, y, out)
				} else {
					*out = append(*out, JSONChange{Path: member(path, k), Op: "removed", Old: compact(x)})
				}
			}
			for k, y := range bv {
				if _, ok := av[k]; !ok {
					*out = append(*out, JSONChange{Path: member(path, k), Op: "added", New: compact(y)})
				}
			}
			return
		}
	case []any:
		if bv, ok := b.([]any); ok {
			for i := 0; i < max(len(av), len(bv)); i++ {
				p := fmt.Sprintf("%s[%d]", path, i)
				switch {
				case i >= len(bv):
					*out = append(*out, JSONChange{Path: p, Op: "removed", Old: compact(av[i])})
				case i >= len(av):
					*out = append(*out, JSONChange{Path: p, Op: "added", New: compact(bv[i])})
				default:
					walkJSON(p, av[i], bv[i], out)
				}
			}
			return
		}
	}
	if ca, cb := compact(a), compact(b); ca != cb {
		*out = append(*out, JSONChange{Path: path, Op: "changed", Old: ca, New: cb})
	}
}
