// Command s3diff-bench compares the s3diff CLI (`s3diff diff -from-file OLD -to-file NEW`)
// with GNU `diff -u` on generated text, side by side on the same machine in the same run,
// and writes the figures behind docs/PERFORMANCE.md.
//
//	go run ./bench/s3diff [-sizes 1,10,100] [-lines 40,120] [-pairs 5] [-cases REGEXP] [-out DIR]
//
// S3DIFF_BENCH_SIZES (e.g. "1,10,100") overrides the default size list (1,10 MB: the 100 MB
// rows take a long while on a small machine). For each row it runs GNU diff and s3diff as
// separate processes, alternating which goes first, -pairs times, and reads each one's CPU
// time (user + system) and peak RSS from wait4 through a small launcher process (a child
// forked from a big process would inherit its peak RSS). Then it checks that
//   - every s3diff run printed the same bytes,
//   - GNU patch turns the old file into the new one with s3diff's output,
//   - s3diff prints the same bytes again while two busy loops keep both cores busy,
//
// and counts the changed lines of both diffs. Raw runs go to DIR/raw.tsv, the table to
// DIR/table.md (default DIR: bench/s3diff/results).
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const launchEnv = "S3DIFF_BENCH_LAUNCH" // launcher mode: stdout file, then the command

func main() {
	if os.Getenv(launchEnv) != "" {
		os.Exit(launch(os.Args[1:]))
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "s3diff-bench:", err)
		os.Exit(1)
	}
}

// launch runs args[1:] with stdout to the file args[0] and stderr to args[0]+".err", and
// prints "cpu-seconds peak-rss-kib exit-code".
func launch(args []string) int {
	out, err := os.Create(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	errf, err := os.Create(args[0] + ".err")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	path, err := exec.LookPath(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	pid, err := syscall.ForkExec(path, args[1:], &syscall.ProcAttr{
		Env:   slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, launchEnv+"=") }),
		Files: []uintptr{os.Stdin.Fd(), out.Fd(), errf.Fd()},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	if _, err := syscall.Wait4(pid, &ws, 0, &ru); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("%.6f %d %d\n", cpu.Seconds(), ru.Maxrss, ws.ExitStatus())
	return 0
}

type measurement struct {
	cpu  float64 // seconds
	rss  int64   // KiB
	code int
}

// measure runs a command through the launcher, stdout to outFile.
func measure(outFile string, command ...string) (measurement, error) {
	self, err := os.Executable()
	if err != nil {
		return measurement{}, err
	}
	cmd := exec.Command(self, append([]string{outFile}, command...)...)
	cmd.Env = append(os.Environ(), launchEnv+"=1")
	cmd.Stderr = os.Stderr
	text, err := cmd.Output()
	if err != nil {
		return measurement{}, fmt.Errorf("%v: %w", command, err)
	}
	var m measurement
	if _, err := fmt.Sscan(string(text), &m.cpu, &m.rss, &m.code); err != nil {
		return m, fmt.Errorf("launcher said %q: %w", text, err)
	}
	return m, nil
}

type config struct {
	sizes, lines []int
	pairs        int
	cases        *regexp.Regexp
	out, work    string
	cli          string
	raw          *bufio.Writer
	// start-up costs (two 1-line files): median CPU seconds and peak RSS KiB of each tool
	gnuBase, ourBase       float64
	gnuBaseRSS, ourBaseRSS int64
}

func run() error {
	sizes := flag.String("sizes", envOr("S3DIFF_BENCH_SIZES", "1,10"), "input sizes in MB (S3DIFF_BENCH_SIZES)")
	lines := flag.String("lines", "40,120", "mean line lengths in bytes")
	pairs := flag.Int("pairs", 5, "interleaved GNU/s3diff pairs per row")
	only := flag.String("cases", "", "only rows whose name matches this regular expression")
	out := flag.String("out", "bench/s3diff/results", "directory for raw.tsv and table.md")
	flag.Parse()
	c := &config{pairs: *pairs}
	var err error
	if c.sizes, err = ints(*sizes); err != nil {
		return err
	}
	if c.lines, err = ints(*lines); err != nil {
		return err
	}
	if c.cases, err = regexp.Compile(*only); err != nil {
		return err
	}
	c.out = *out
	for _, tool := range []string{"diff", "patch", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed: %w", tool, err)
		}
	}
	if c.work, err = os.MkdirTemp("", "s3diff-bench"); err != nil {
		return err
	}
	defer os.RemoveAll(c.work)
	c.cli = filepath.Join(c.work, "s3diff")
	build := exec.Command("go", "build", "-o", c.cli, "./examples/s3diff")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the CLI (run from the repository root): %w", err)
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	rawFile, err := os.Create(filepath.Join(c.out, "raw.tsv"))
	if err != nil {
		return err
	}
	defer rawFile.Close()
	c.raw = bufio.NewWriter(rawFile)
	defer c.raw.Flush()
	fmt.Fprintln(c.raw, "row\ttool\tpair\tcpu_s\tpeak_rss_kib\texit\toutput_bytes\tchanged_lines")

	var table []string
	table = append(table, "Command: `"+strings.TrimSpace("go run ./bench/s3diff "+strings.Join(os.Args[1:], " "))+"`"+sizesNote(), "", machine(), "", header)
	row, err := c.startup()
	if err != nil {
		return fmt.Errorf("start-up row: %w", err)
	}
	table = append(table, row)
	for _, size := range c.sizes {
		for _, mean := range c.lines {
			for _, cs := range cases {
				name := fmt.Sprintf("%d MB, %d B lines, %s", size, mean, cs.name)
				if !c.cases.MatchString(name) {
					continue
				}
				old, new := generate(cs, size*1000*1000, mean)
				row, err := c.row(name, old, new, "unified")
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				table = append(table, row)
				if size == 10 && cs.name == "changed-10%" {
					if row, err = c.row(name+", word diff", old, new, "word"); err != nil {
						return fmt.Errorf("%s, word diff: %w", name, err)
					}
					table = append(table, row)
				}
			}
		}
	}
	if name := "5 MB line, 1% of other lines changed"; c.cases.MatchString(name) {
		old, new := hugeLine()
		row, err := c.row(name, old, new, "unified")
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		table = append(table, row)
	}
	return os.WriteFile(filepath.Join(c.out, "table.md"), []byte(strings.Join(table, "\n")+"\n"), 0o644)
}

const header = "| row | GNU CPU s (median) | s3diff CPU s (median) | CPU ratio (median of pairs; min-max) | changed lines GNU / s3diff (ratio) | s3diff peak RSS / inputs | GNU peak RSS / inputs | net of start-up: CPU ratio; s3diff RSS / inputs | patch applies | deterministic (idle runs; under CPU hog) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"

// startup measures both tools on two 1-line files: what a run costs before any diffing
// (process start, and for s3diff the Go runtime and the AWS SDK's package initialisation).
func (c *config) startup() (string, error) {
	oldPath, newPath := filepath.Join(c.work, "old.txt"), filepath.Join(c.work, "new.txt")
	if err := os.WriteFile(oldPath, []byte("x\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(newPath, []byte("y\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(c.work, "startup.out")
	var gnu, ours []float64
	for range 2 * c.pairs {
		g, err := measure(out, "diff", "-u", oldPath, newPath)
		if err != nil {
			return "", err
		}
		o, err := measure(out, c.cli, "diff", "-from-file", oldPath, "-to-file", newPath)
		if err != nil {
			return "", err
		}
		gnu, ours = append(gnu, g.cpu), append(ours, o.cpu)
		c.gnuBaseRSS, c.ourBaseRSS = max(c.gnuBaseRSS, g.rss), max(c.ourBaseRSS, o.rss)
		fmt.Fprintf(c.raw, "start-up\tgnu\t\t%.6f\t%d\t%d\t\t\n", g.cpu, g.rss, g.code)
		fmt.Fprintf(c.raw, "start-up\ts3diff\t\t%.6f\t%d\t%d\t\t\n", o.cpu, o.rss, o.code)
	}
	c.gnuBase, c.ourBase = median(gnu), median(ours)
	return fmt.Sprintf("| start-up only (two 1-line files) | %.4f | %.4f | %.2fx | | %d KiB | %d KiB | | | |",
		c.gnuBase, c.ourBase, c.ourBase/c.gnuBase, c.ourBaseRSS, c.gnuBaseRSS), nil
}

// machine describes where the figures come from.
func machine() string {
	model := "unknown CPU"
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(info), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
				break
			}
		}
	}
	gv, _ := exec.Command("go", "version").Output()
	dv, _ := exec.Command("diff", "--version").Output()
	first := func(b []byte) string { return strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]) }
	return fmt.Sprintf("Machine: %d CPUs (%s); %s; %s.", runtime.NumCPU(), model, first(gv), first(dv))
}

func sizesNote() string {
	if v := os.Getenv("S3DIFF_BENCH_SIZES"); v != "" {
		return " with S3DIFF_BENCH_SIZES=" + v
	}
	return ""
}

// row measures one pair of texts and returns its table row.
func (c *config) row(name string, old, new []byte, format string) (string, error) {
	oldPath, newPath := filepath.Join(c.work, "old.txt"), filepath.Join(c.work, "new.txt")
	if err := os.WriteFile(oldPath, old, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(newPath, new, 0o644); err != nil {
		return "", err
	}
	inputs := float64(len(old) + len(new))
	fmt.Fprintf(os.Stderr, "%s: %d + %d bytes\n", name, len(old), len(new))
	gnuCmd := []string{"diff", "-u", oldPath, newPath}
	ourCmd := []string{c.cli, "diff", "-from-file", oldPath, "-to-file", newPath, "-max-bytes", strconv.Itoa(1 << 30)}
	if format != "unified" {
		ourCmd = append(ourCmd, "-format", format)
	}
	gnuOut, ourOut := filepath.Join(c.work, "gnu.out"), filepath.Join(c.work, "ours.out")
	var gnu, ours []measurement
	var ratios []float64
	var ourHash [32]byte
	deterministic := true
	for k := range c.pairs {
		var g, o measurement
		var err error
		first, second := func() error { g, err = measure(gnuOut, gnuCmd...); return err }, func() error { o, err = measure(ourOut, ourCmd...); return err }
		if k%2 == 1 {
			first, second = second, first
		}
		if err := first(); err != nil {
			return "", err
		}
		if err := second(); err != nil {
			return "", err
		}
		if g.code != 1 {
			return "", fmt.Errorf("GNU diff exited %d (want 1: differences)", g.code)
		}
		if o.code != 0 {
			msg, _ := os.ReadFile(ourOut + ".err")
			return "", fmt.Errorf("s3diff exited %d: %s", o.code, msg)
		}
		h, n, changed, err := summarize(ourOut)
		if err != nil {
			return "", err
		}
		if k == 0 {
			ourHash = h
		} else if h != ourHash {
			deterministic = false
		}
		_, gn, gchanged, err := summarize(gnuOut)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(c.raw, "%s\tgnu\t%d\t%.6f\t%d\t%d\t%d\t%d\n", name, k, g.cpu, g.rss, g.code, gn, gchanged)
		fmt.Fprintf(c.raw, "%s\ts3diff-%s\t%d\t%.6f\t%d\t%d\t%d\t%d\n", name, format, k, o.cpu, o.rss, o.code, n, changed)
		gnu, ours = append(gnu, g), append(ours, o)
		ratios = append(ratios, o.cpu/g.cpu)
		fmt.Fprintf(os.Stderr, "  pair %d: GNU %.3fs %d KiB, s3diff %.3fs %d KiB\n", k, g.cpu, g.rss, o.cpu, o.rss)
	}
	_, _, gchanged, _ := summarize(gnuOut)
	_, _, changed, _ := summarize(ourOut)

	applies := "n/a (word diff)"
	if format == "unified" {
		applies = "yes"
		if err := patchApplies(c.work, oldPath, newPath, ourOut); err != nil {
			applies = "NO: " + err.Error()
		}
	}
	// The same diff with both cores busy.
	hogged, err := underHog(func() error { _, err := measure(ourOut, ourCmd...); return err })
	if err != nil {
		return "", err
	}
	h, _, _, err := summarize(ourOut)
	if err != nil {
		return "", err
	}
	hogSame := h == ourHash
	fmt.Fprintf(c.raw, "%s\ts3diff-%s-under-hog\t0\t%.6f\t\t\t\t\n", name, format, hogged.Seconds())

	det := "yes; yes"
	if !deterministic || !hogSame {
		det = fmt.Sprintf("%v; %v", yes(deterministic), yes(hogSame))
	}
	slices.Sort(ratios)
	changedCol := fmt.Sprintf("%d / %d (%.3f)", gchanged, changed, float64(changed)/float64(max(gchanged, 1)))
	if format != "unified" {
		changedCol = "n/a (word diff)"
	}
	gm, om := median(cpus(gnu)), median(cpus(ours))
	net := fmt.Sprintf("%.2fx; %.2fx", (om-c.ourBase)/(gm-c.gnuBase), float64(maxRSS(ours)-c.ourBaseRSS)*1024/inputs)
	return fmt.Sprintf("| %s | %.3f | %.3f | **%.2fx** (%.2f-%.2f) | %s | %.2fx | %.2fx | %s | %s | %s |",
		name, gm, om, median(ratios), ratios[0], ratios[len(ratios)-1],
		changedCol, float64(maxRSS(ours))*1024/inputs, float64(maxRSS(gnu))*1024/inputs, net, applies, det), nil
}

// summarize hashes a diff and counts its bytes and its changed lines (lines that start
// with '-' or '+' after the two header lines).
func summarize(path string) (hash [32]byte, n int64, changed int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return hash, 0, 0, err
	}
	defer f.Close()
	sum := sha256.New()
	r := bufio.NewReaderSize(io.TeeReader(f, sum), 1<<20)
	line := 0
	atStart := true
	for {
		b, err := r.ReadSlice('\n')
		if len(b) > 0 {
			n += int64(len(b))
			if atStart && line >= 2 && (b[0] == '-' || b[0] == '+') {
				changed++
			}
		}
		if err == bufio.ErrBufferFull {
			atStart = false
			continue
		}
		atStart = true
		line++
		if err == io.EOF {
			break
		}
		if err != nil {
			return hash, n, changed, err
		}
	}
	copy(hash[:], sum.Sum(nil))
	return hash, n, changed, nil
}

func patchApplies(dir, oldPath, newPath, diffPath string) error {
	patched := filepath.Join(dir, "patched.txt")
	in, err := os.Open(diffPath)
	if err != nil {
		return err
	}
	defer in.Close()
	cmd := exec.Command("patch", "--batch", "--quiet", "-o", patched, oldPath)
	cmd.Stdin = in
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("patch: %v: %s", err, bytes.TrimSpace(out))
	}
	got, err := os.ReadFile(patched)
	if err != nil {
		return err
	}
	want, err := os.ReadFile(newPath)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("the patched file differs from the new one")
	}
	return nil
}

// underHog runs fn while two busy-loop processes keep both cores busy, and returns its wall
// time. The hogs are this run's own children, ended by their process ids.
func underHog(fn func() error) (time.Duration, error) {
	var hogs []*exec.Cmd
	defer func() {
		for _, h := range hogs {
			_ = h.Process.Kill()
			_ = h.Wait()
		}
	}()
	for range 2 {
		h := exec.Command("/bin/sh", "-c", "while :; do :; done")
		if err := h.Start(); err != nil {
			return 0, err
		}
		hogs = append(hogs, h)
	}
	time.Sleep(200 * time.Millisecond) // let them get going
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

func cpus(ms []measurement) []float64 {
	out := make([]float64, len(ms))
	for i, m := range ms {
		out[i] = m.cpu
	}
	return out
}

func maxRSS(ms []measurement) int64 {
	var m int64
	for _, x := range ms {
		m = max(m, x.rss)
	}
	return m
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad number %q in %q", f, s)
		}
		out = append(out, n)
	}
	return out, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
