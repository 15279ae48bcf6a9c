package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
)

// The generator: deterministic text pairs (a fixed PCG seed per case), so that anyone
// reproduces the inputs byte for byte.
//
// Text looks like code or configuration: lines of words from a 500-word vocabulary, with
// tab indentation, and duplicates as real text has them (4% blank lines, 3% closing braces,
// 1% "return nil" / "end" / "else {" lines), the rest unique. Line lengths vary around the
// mean (half of it to one and a half times it).

type gen struct {
	rng   *rand.Rand
	vocab []string
	mean  int // mean line length, bytes
}

func newGen(seed uint64, mean int) *gen {
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x5eed)), mean: mean}
	const letters = "abcdefghijklmnopqrstuvwxyz"
	seen := map[string]bool{}
	for len(g.vocab) < 500 {
		n := 2 + g.rng.IntN(8)
		var b strings.Builder
		for range n {
			b.WriteByte(letters[g.rng.IntN(len(letters))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			g.vocab = append(g.vocab, w)
		}
	}
	return g
}

var common = []string{"}", "return nil", "end", "else {", "\t}", "\t\t}"}

// line returns a new line, without its "\n".
func (g *gen) line() string {
	switch p := g.rng.IntN(100); {
	case p < 4:
		return ""
	case p < 7:
		return strings.Repeat("\t", g.rng.IntN(3)) + "}"
	case p < 8:
		return common[g.rng.IntN(len(common))]
	}
	return g.fresh()
}

// fresh returns a line that is, with overwhelming probability, unique.
func (g *gen) fresh() string {
	var b strings.Builder
	b.WriteString(strings.Repeat("\t", g.rng.IntN(4)))
	target := g.mean/2 + g.rng.IntN(g.mean+1)
	for b.Len() < target || b.Len() < 12 {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\t") {
			b.WriteByte(' ')
		}
		b.WriteString(g.vocab[g.rng.IntN(len(g.vocab))])
	}
	return b.String()
}

// modify changes one word of a line (or replaces a line that has no word to change).
func (g *gen) modify(l string) string {
	words := strings.Split(l, " ")
	if len(words) < 3 {
		return g.fresh()
	}
	i := g.rng.IntN(len(words))
	for {
		w := g.vocab[g.rng.IntN(len(g.vocab))]
		if strings.TrimLeft(words[i], "\t") != w {
			words[i] = strings.Repeat("\t", len(words[i])-len(strings.TrimLeft(words[i], "\t"))) + w
			return strings.Join(words, " ")
		}
	}
}

func (g *gen) lines(size int) []string {
	var out []string
	n := 0
	for n < size {
		l := g.line()
		out = append(out, l)
		n += len(l) + 1
	}
	return out
}

// edit changes a fraction p of the lines: half modified in place, a quarter deleted, a
// quarter preceded by an inserted line.
func (g *gen) edit(old []string, p float64) []string {
	out := make([]string, 0, len(old)+len(old)/8)
	for _, l := range old {
		if g.rng.Float64() >= p {
			out = append(out, l)
			continue
		}
		switch r := g.rng.IntN(4); {
		case r < 2:
			out = append(out, g.modify(l))
		case r == 2:
		default:
			out = append(out, g.fresh(), l)
		}
	}
	return out
}

func join(lines []string, eol string, finalNewline bool) []byte {
	var b bytes.Buffer
	for i, l := range lines {
		b.WriteString(l)
		if i < len(lines)-1 || finalNewline {
			b.WriteString(eol)
		}
	}
	return b.Bytes()
}

// A benchmark case.
type input struct {
	name string // e.g. "changed-10%", "block-moved"
	p    float64
}

var cases = []input{
	{"changed-0.1%", 0.001}, {"changed-1%", 0.01}, {"changed-10%", 0.1}, {"changed-50%", 0.5}, {"changed-100%", 1},
	{"block-moved", 0}, {"reordered", 0}, {"crlf-1%", 0.01}, {"no-final-newline-1%", 0.01},
}

// generate returns the old and new texts of a case with about size bytes each and lines of
// about mean bytes.
func generate(c input, size, mean int) (old, new []byte) {
	seed := uint64(size)*1000 + uint64(mean)
	for _, ch := range c.name {
		seed = seed*31 + uint64(ch)
	}
	g := newGen(seed, mean)
	lines := g.lines(size)
	switch {
	case strings.HasPrefix(c.name, "changed-"):
		return join(lines, "\n", true), join(g.edit(lines, c.p), "\n", true)
	case c.name == "block-moved":
		// A block of 5% of the lines moves from the first half to the second.
		n := len(lines)
		k := max(n/20, 1)
		from := n/10 + g.rng.IntN(max(n*3/10, 1))
		block := append([]string(nil), lines[from:from+k]...)
		rest := append(append([]string(nil), lines[:from]...), lines[from+k:]...)
		to := from + n/5 + g.rng.IntN(max(n/5, 1))
		to = min(to, len(rest))
		moved := append(append(append([]string(nil), rest[:to]...), block...), rest[to:]...)
		return join(lines, "\n", true), join(moved, "\n", true)
	case c.name == "reordered":
		// The text cut into paragraphs of 10 to 100 lines, put in a random order.
		var paras [][]string
		for i := 0; i < len(lines); {
			k := min(10+g.rng.IntN(91), len(lines)-i)
			paras = append(paras, lines[i:i+k])
			i += k
		}
		g.rng.Shuffle(len(paras), func(i, j int) { paras[i], paras[j] = paras[j], paras[i] })
		var shuffled []string
		for _, p := range paras {
			shuffled = append(shuffled, p...)
		}
		return join(lines, "\n", true), join(shuffled, "\n", true)
	case strings.HasPrefix(c.name, "crlf-"):
		return join(lines, "\r\n", true), join(g.edit(lines, c.p), "\r\n", true)
	case strings.HasPrefix(c.name, "no-final-newline-"):
		edited := g.edit(lines, c.p)
		edited[len(edited)-1] = g.modify(edited[len(edited)-1])
		return join(lines, "\n", false), join(edited, "\n", false)
	}
	panic(fmt.Sprintf("unknown case %q", c.name))
}

// hugeLine returns a pair around one line of about 5 MB: 100 lines, the huge line, 100
// lines; the new version changes a few words of the huge line and 1% of the other lines.
func hugeLine() (old, new []byte) {
	g := newGen(5<<20, 40)
	before, after := g.lines(4000), g.lines(4000)
	var huge strings.Builder
	for huge.Len() < 5<<20 {
		huge.WriteString(g.vocab[g.rng.IntN(len(g.vocab))])
		huge.WriteByte(' ')
	}
	h := huge.String()
	h2 := h[:len(h)/3] + "changed " + h[len(h)/3:2*len(h)/3] + " changed" + h[2*len(h)/3:]
	o := append(append(append([]string(nil), before...), h), after...)
	n := append(append(append([]string(nil), g.edit(before, 0.01)...), h2), g.edit(after, 0.01)...)
	return join(o, "\n", true), join(n, "\n", true)
}
