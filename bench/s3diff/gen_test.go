package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
)

// pinned is the start of the SHA-256 of one generated pair (see below).
const pinned = "3cc0ae9be62944a1"

// The figures are reproducible only if the generator is: the same case gives the same
// bytes every time, of about the size asked for, and the new version differs.
func TestGeneratorIsDeterministic(t *testing.T) {
	for _, c := range cases {
		o1, n1 := generate(c, 200_000, 40)
		o2, n2 := generate(c, 200_000, 40)
		if !bytes.Equal(o1, o2) || !bytes.Equal(n1, n2) {
			t.Fatalf("%s: two runs differ", c.name)
		}
		if len(o1) < 200_000 || len(o1) > 210_000 { // CRLF adds a byte a line
			t.Errorf("%s: old version has %d bytes, want about 200000", c.name, len(o1))
		}
		if bytes.Equal(o1, n1) {
			t.Errorf("%s: no change", c.name)
		}
	}
	o, n := hugeLine()
	if len(o) < 5<<20 || bytes.Equal(o, n) {
		t.Errorf("huge line pair: %d bytes, equal %v", len(o), bytes.Equal(o, n))
	}
	// Pin one case, so that a change to the generator is a visible change to the figures.
	o, n = generate(cases[2], 100_000, 40)
	if got := fmt.Sprintf("%x", sha256.Sum256(append(o, n...))); got[:16] != pinned {
		t.Errorf("changed-10%% at 100 kB hashes to %s; if the generator changed on purpose, rerun make bench and pin the new hash", got[:16])
	}
}
