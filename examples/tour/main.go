// Command tour runs every capability of shipshape end to end, in one process, against the
// packages' own fakes: no AWS account, no network, no test bed. `make demo` runs it.
//
// Each chapter lives in its own file of this folder and narrates what it does in plain lines.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// chapter is one capability of the tour.
type chapter struct {
	order int // chapters run in this order (each file registers its own in init)
	name  string
	run   func(ctx context.Context, say func(format string, args ...any)) error
}

// chapters in the order they run; each package issue adds its own.
var chapters = []chapter{}

func main() {
	if os.Getenv(wrapperEnv) != "" {
		fmt.Fprintln(os.Stderr, "tour wrapper:", runWrapper())
		os.Exit(1)
	}
	if os.Getenv(childEnv) != "" {
		printChildEnv()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tour:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	sort.SliceStable(chapters, func(i, j int) bool { return chapters[i].order < chapters[j].order })
	fmt.Fprintf(w, "shipshape tour: %d chapter(s), all in process against the packages' fakes\n", len(chapters))
	for i, c := range chapters {
		fmt.Fprintf(w, "\n== %d. %s\n", i+1, c.name)
		say := func(format string, args ...any) { fmt.Fprintf(w, "   "+format+"\n", args...) }
		if err := c.run(ctx, say); err != nil {
			return fmt.Errorf("chapter %q: %w", c.name, err)
		}
	}
	fmt.Fprintln(w, "\nend of the tour")
	return nil
}
