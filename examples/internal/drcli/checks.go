package drcli

import (
	"fmt"
	"strings"

	"github.com/shipshape-dev/shipshape/dr"
)

// ChecksFromFlags builds Checks from the binaries' check flags: -version-prefix, -min-tables,
// -min-rows TABLE=N (repeatable) and -query NAME|SQL|WANT (repeatable; NAME ends at the first
// |, WANT starts after the last |, so the SQL may contain ||, and NAME and WANT can't contain
// |). Errors name the flag.
func ChecksFromFlags(versionPrefix string, minTables int, minRows, queries []string) (dr.Checks, error) {
	c := dr.Checks{ServerVersionPrefix: versionPrefix, MinTables: minTables, MinRows: map[string]int64{}}
	if minTables < 0 {
		return c, fmt.Errorf("%w: -min-tables %d: want 0 or more", dr.ErrInvalidInput, minTables)
	}
	for _, r := range minRows {
		table, n, ok := strings.Cut(r, "=")
		var count int64
		_, err := fmt.Sscan(n, &count)
		if !ok || strings.TrimSpace(table) == "" || err != nil || count < 0 || strings.TrimSpace(n) != fmt.Sprint(count) {
			return c, fmt.Errorf("%w: -min-rows %q: want TABLE=N with N 0 or more", dr.ErrInvalidInput, r)
		}
		if _, dup := c.MinRows[table]; dup {
			return c, fmt.Errorf("%w: -min-rows: table %q is given twice", dr.ErrInvalidInput, table)
		}
		c.MinRows[table] = count
	}
	for _, q := range queries {
		// NAME ends at the first |, WANT starts after the last |: the SQL in between may use
		// PostgreSQL's || operator.
		name, rest, ok1 := strings.Cut(q, "|")
		i := strings.LastIndex(rest, "|")
		if !ok1 || i < 0 || strings.TrimSpace(name) == "" || strings.TrimSpace(rest[:i]) == "" {
			return c, fmt.Errorf("%w: -query %q: want NAME|SQL|WANT (NAME up to the first |, WANT after the last |)", dr.ErrInvalidInput, q)
		}
		c.Queries = append(c.Queries, dr.QueryCheck{Name: name, SQL: rest[:i], Want: rest[i+1:]})
	}
	return c, nil
}
