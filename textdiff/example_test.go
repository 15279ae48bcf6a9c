package textdiff_test

import (
	"bufio"
	"context"
	"fmt"
	"os"

	"github.com/shipshape-dev/shipshape/textdiff"
)

// Two texts in one call: the unified diff GNU patch applies.
func ExampleUnified() {
	old := "alpha\nbeta\ngamma\n"
	new := "alpha\nBETA\ngamma\ndelta\n"
	out, err := textdiff.Unified(context.Background(), "a/greek.txt", "b/greek.txt", old, new)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(out)
	// Output:
	// --- a/greek.txt
	// +++ b/greek.txt
	// @@ -1,3 +1,4 @@
	//  alpha
	// -beta
	// +BETA
	//  gamma
	// +delta
}

// The same diff, word by word: only the changed words are marked.
func ExampleDiff_WriteWordDiff() {
	d, err := textdiff.Lines(context.Background(), "the quick brown fox\n", "the quick red fox\n", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	w := bufio.NewWriter(os.Stdout)
	d.WriteWordDiff(w, d.Hunks(3), 0)
	_ = w.Flush()
	// Output:
	// @@ -1 +1 @@
	// the quick [-brown-]{+red+} fox
}
