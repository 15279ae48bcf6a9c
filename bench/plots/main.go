// Command plots draws the figures of docs/PERFORMANCE.md from the benchmark results that
// `make bench` writes: bench/results/bench.txt and bench/results/scale.txt (`go test -bench`
// output) and bench/s3diff/results/raw.tsv (the s3diff CLI against GNU diff). It writes PNG
// files into docs/img. The same results give the same files, byte for byte: nothing but the
// figures goes into them (no time, no machine name).
//
//	go run ./bench/plots [-results bench/results] [-s3diff bench/s3diff/results/raw.tsv] [-out docs/img]
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func main() {
	results := flag.String("results", "bench/results", "folder of bench.txt and scale.txt (go test -bench output)")
	rawTSV := flag.String("s3diff", "bench/s3diff/results/raw.tsv", "the s3diff CLI benchmark's raw results")
	out := flag.String("out", "docs/img", "folder the PNG files go to")
	flag.Parse()
	files, err := figures(*results, *rawTSV)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plots:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "plots:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(*out, name), files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "plots:", err)
			os.Exit(1)
		}
		fmt.Println("plots: wrote", filepath.Join(*out, name))
	}
}

// figures reads the results and returns the PNG files by name.
func figures(results, rawTSV string) (map[string][]byte, error) {
	bench, err := readBench(filepath.Join(results, "bench.txt"))
	if err != nil {
		return nil, err
	}
	scale, err := readBench(filepath.Join(results, "scale.txt"))
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(rawTSV)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for name, mk := range map[string]func() (*plot.Plot, error){
		"s3diff-vs-gnu-diff.png":  func() (*plot.Plot, error) { return s3diffVsGNU(raw) },
		"retain-prefix-calls.png": func() (*plot.Plot, error) { return retainPrefixCalls(bench, scale) },
		"retain-prefix-time.png":  func() (*plot.Plot, error) { return retainPrefixTime(bench, scale) },
		"imds-requests.png":       func() (*plot.Plot, error) { return imdsRequests(bench) },
		"dr-sweep-calls.png":      func() (*plot.Plot, error) { return drSweep(bench) },
	} {
		p, err := mk()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if _, log := p.Y.Scale.(plot.LogScale); log {
			p.Y.Max *= 8 // room above the lines for the legend
		}
		svg, err := render(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		files[name] = svg
	}
	return files, nil
}

// benchResult is one line of `go test -bench` output: the metrics by unit.
type benchResult map[string]float64

// readBench reads `go test -bench` output: the name (without the -N CPU suffix) to its
// metrics, ns/op included.
func readBench(path string) (map[string]benchResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]benchResult{}
	cpu := regexp.MustCompile(`-\d+$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		r := benchResult{}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %w", path, sc.Text(), err)
			}
			r[fields[i+1]] = v
		}
		out[cpu.ReplaceAllString(fields[0], "")] = r
	}
	return out, sc.Err()
}

func need(results map[string]benchResult, name, unit string) (float64, error) {
	r, ok := results[name]
	if !ok {
		return 0, fmt.Errorf("no result for %s (run make bench)", name)
	}
	v, ok := r[unit]
	if !ok {
		return 0, fmt.Errorf("%s has no %s", name, unit)
	}
	return v, nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

// logTicks marks powers of ten on a log axis.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); math.Pow(10, e) <= max*1.0001; e++ {
		v := math.Pow(10, e)
		ticks = append(ticks, plot.Tick{Value: v, Label: thousands(v)})
	}
	return ticks
}

// thousands writes v with a comma between each group of three digits (0.001, 1, 10,000).
func thousands(v float64) string {
	if v < 1 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	digits := strconv.FormatFloat(v, 'f', 0, 64)
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

func logAxes(p *plot.Plot, x, y bool) {
	if x {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, logTicks{}
	}
	if y {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	}
}

// line adds a polyline with points, styled as the n-th series, to the legend as name.
func line(p *plot.Plot, n int, name string, xy plotter.XYs, dashed bool) error {
	l, pts, err := plotter.NewLinePoints(xy)
	if err != nil {
		return err
	}
	l.Color, pts.Color = plotutil.Color(n), plotutil.Color(n)
	pts.Shape = plotutil.Shape(n)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l, pts)
	p.Legend.Add(name, l, pts)
	return nil
}

// s3diffVsGNU: CPU seconds (median of the pairs) of the s3diff CLI and GNU diff -u by change
// ratio, one pair of lines per input size.
func s3diffVsGNU(raw []byte) (*plot.Plot, error) {
	type key struct{ size, change, tool string }
	samples := map[key][]float64{}
	rowRE := regexp.MustCompile(`^(\d+ MB), 40 B lines, changed-([0-9.]+)%$`)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 4 {
			continue
		}
		m := rowRE.FindStringSubmatch(f[0])
		if m == nil || (f[1] != "gnu" && f[1] != "s3diff-unified") {
			continue
		}
		cpu, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			return nil, fmt.Errorf("raw.tsv: %q: %w", sc.Text(), err)
		}
		samples[key{m[1], m[2], f[1]}] = append(samples[key{m[1], m[2], f[1]}], cpu)
	}
	sizes := map[string]bool{}
	for k := range samples {
		sizes[k.size] = true
	}
	if len(sizes) == 0 {
		return nil, fmt.Errorf("raw.tsv has no \"N MB, 40 B lines, changed-X%%\" rows")
	}
	sizeList := make([]string, 0, len(sizes))
	for s := range sizes {
		sizeList = append(sizeList, s)
	}
	sort.Slice(sizeList, func(i, j int) bool { return atoi(sizeList[i]) < atoi(sizeList[j]) })
	p := newPlot("s3diff diff and GNU diff -u: CPU time by change ratio", "lines changed (%)", "CPU seconds (median)")
	logAxes(p, true, true)
	n := 0
	for _, size := range sizeList {
		for _, tool := range []string{"s3diff-unified", "gnu"} {
			var xy plotter.XYs
			for k, v := range samples {
				if k.size == size && k.tool == tool {
					x, _ := strconv.ParseFloat(k.change, 64)
					xy = append(xy, plotter.XY{X: x, Y: median(v)})
				}
			}
			sort.Slice(xy, func(i, j int) bool { return xy[i].X < xy[j].X })
			name := map[string]string{"s3diff-unified": "s3diff", "gnu": "GNU diff"}[tool] + ", " + size
			if err := line(p, n, name, xy, tool == "gnu"); err != nil {
				return nil, err
			}
		}
		n++
	}
	return p, nil
}

func atoi(s string) int { n, _ := strconv.Atoi(strings.Fields(s)[0]); return n }

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

var prefixKeys = []int{1_000, 10_000, 100_000, 1_000_000}

const versityRun = "BenchmarkRetainPrefixOnVersity/keys=10000/one-pass"

// retainPrefixCalls: ListObjectVersions and DeleteObjects calls of RetainPrefix by number of
// keys (3 versions each, keep 1), with the minimum S3 allows drawn as lines, and the 10,000
// keys on Versity.
func retainPrefixCalls(bench, scale map[string]benchResult) (*plot.Plot, error) {
	p := newPlot("s3diff retain -prefix: calls by number of keys (the dashed minimum lies under the measured line)", "keys", "calls")
	logAxes(p, true, true)
	for i, c := range []struct{ unit, min, name string }{{"list-calls", "list-minimum", "ListObjectVersions"}, {"delete-calls", "delete-minimum", "DeleteObjects"}} {
		var got, least plotter.XYs
		for _, k := range prefixKeys {
			name := fmt.Sprintf("BenchmarkRetainPrefixByKeys/keys=%d", k)
			v, err := need(bench, name, c.unit)
			if err != nil {
				return nil, err
			}
			m, err := need(bench, name, c.min)
			if err != nil {
				return nil, err
			}
			got = append(got, plotter.XY{X: float64(k), Y: v})
			least = append(least, plotter.XY{X: float64(k), Y: m})
		}
		if err := line(p, i, c.name+" (fake)", got, false); err != nil {
			return nil, err
		}
		if err := line(p, i, c.name+": the minimum, ceil(entries/1000)", least, true); err != nil {
			return nil, err
		}
		v, err := need(scale, versityRun, c.unit)
		if err != nil {
			return nil, err
		}
		s, err := plotter.NewScatter(plotter.XYs{{X: 10_000, Y: v}})
		if err != nil {
			return nil, err
		}
		s.Color, s.Shape, s.Radius = plotutil.Color(i), draw.CrossGlyph{}, vg.Points(5)
		p.Add(s)
		p.Legend.Add(c.name+" (Versity)", s)
	}
	return p, nil
}

// retainPrefixTime: the seconds a pass takes by number of keys.
func retainPrefixTime(bench, scale map[string]benchResult) (*plot.Plot, error) {
	p := newPlot("s3diff retain -prefix: time of a pass by number of keys", "keys", "seconds")
	logAxes(p, true, true)
	var xy plotter.XYs
	for _, k := range prefixKeys {
		ns, err := need(bench, fmt.Sprintf("BenchmarkRetainPrefixByKeys/keys=%d", k), "ns/op")
		if err != nil {
			return nil, err
		}
		xy = append(xy, plotter.XY{X: float64(k), Y: ns / 1e9})
	}
	if err := line(p, 0, "in-memory fake, in process", xy, false); err != nil {
		return nil, err
	}
	ns, err := need(scale, versityRun, "ns/op")
	if err != nil {
		return nil, err
	}
	s, err := plotter.NewScatter(plotter.XYs{{X: 10_000, Y: ns / 1e9}})
	if err != nil {
		return nil, err
	}
	s.Color, s.Shape, s.Radius = plotutil.Color(1), draw.CrossGlyph{}, vg.Points(5)
	p.Add(s)
	p.Legend.Add("Versity S3 Gateway, the s3diff binary", s)
	return p, nil
}

// imdsRequests: requests to instance metadata in a simulated day of credential reads.
func imdsRequests(bench map[string]benchResult) (*plot.Plot, error) {
	var vals plotter.Values
	labels := []string{"shipshape imds", "aws-sdk-go-v2"}
	for _, name := range []string{"BenchmarkSimulatedDay/shipshape", "BenchmarkSimulatedDay/aws-sdk-go-v2"} {
		v, err := need(bench, name, "requests/day")
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	p := newPlot("Instance metadata requests in a day of credential reads", "", "requests per day")
	bars, err := plotter.NewBarChart(vals, vg.Points(60))
	if err != nil {
		return nil, err
	}
	bars.Color = plotutil.Color(0)
	p.Add(bars)
	p.NominalX(labels...)
	p.Legend.Top = false
	return p, nil
}

// drSweep: RDS calls of the source side's scheduled sweep by the snapshots it looks at, and
// the least it can make: two listings of 100 a page, the quota, the two cluster listings and
// one copy per missing DR copy.
func drSweep(bench map[string]benchResult) (*plot.Plot, error) {
	p := newPlot("dr sweep: RDS calls of a scheduled run by number of snapshots", "automated snapshots", "calls")
	logAxes(p, true, true)
	var got, least plotter.XYs
	for _, n := range []int{100, 500, 1000, 2500, 5000} {
		name := fmt.Sprintf("BenchmarkSweepBySnapshots/snapshots=%d", n)
		calls, err := need(bench, name, "calls/run")
		if err != nil {
			return nil, err
		}
		copies, err := need(bench, name, "copies")
		if err != nil {
			return nil, err
		}
		got = append(got, plotter.XY{X: float64(n), Y: calls})
		least = append(least, plotter.XY{X: float64(n), Y: 2*math.Ceil(float64(n)/100) + 3 + copies})
	}
	if err := line(p, 0, "calls a run makes", got, false); err != nil {
		return nil, err
	}
	if err := line(p, 1, "the minimum: 2 x ceil(n/100) listings + quota + 2 cluster listings + copies", least, true); err != nil {
		return nil, err
	}
	return p, nil
}

// render draws p as a PNG of 7 x 4.5 inches at 120 dots per inch.
func render(p *plot.Plot) ([]byte, error) {
	c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(7*vg.Inch, 4.5*vg.Inch), vgimg.UseDPI(120))}
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(io.Writer(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
