// Package benchproc runs a command as a process of its own and reports its wall time and peak
// resident memory, for benchmarks that compare whole programs.
//
// The peak RSS of a child forked straight from a big benchmark process would include the
// benchmark's own high-water mark (Linux carries it over at exec), so Run starts a small
// launcher first (the test binary itself, re-run with an environment variable that Main
// recognises) and the launcher starts the command.
package benchproc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

const (
	launchEnv = "SHIPSHAPE_BENCHPROC_LAUNCH" // the command, a JSON array
	resultEnv = "SHIPSHAPE_BENCHPROC_RESULT" // the file the launcher writes the Result to
)

// Result is how one run went.
type Result struct {
	PeakRSS  int64         `json:"peakRSS"` // bytes
	Elapsed  time.Duration `json:"elapsed"`
	ExitCode int           `json:"exitCode"`
	Stdout   string        `json:"-"`
	Stderr   string        `json:"-"`
}

// PeakRSSMiB is PeakRSS in MiB.
func (r Result) PeakRSSMiB() float64 { return float64(r.PeakRSS) / (1 << 20) }

// Main makes a test binary act as the launcher when Run re-runs it; call it first in TestMain.
// It returns at once when the binary was started for its tests.
func Main() {
	command := os.Getenv(launchEnv)
	if command == "" {
		return
	}
	os.Exit(launch(command, os.Getenv(resultEnv)))
}

func launch(command, resultFile string) int {
	var args []string
	if err := json.Unmarshal([]byte(command), &args); err != nil || len(args) == 0 || resultFile == "" {
		fmt.Fprintf(os.Stderr, "benchproc: bad launch request %q: %v\n", command, err)
		return 3
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool {
		return strings.HasPrefix(e, launchEnv+"=") || strings.HasPrefix(e, resultEnv+"=")
	})
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	res := Result{Elapsed: time.Since(start)}
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "benchproc:", err)
		return 3
	}
	res.ExitCode = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.PeakRSS = ru.Maxrss * 1024 // KiB on Linux
	}
	raw, _ := json.Marshal(res)
	if err := os.WriteFile(resultFile, raw, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "benchproc:", err)
		return 3
	}
	return 0
}

// Run runs args with env added to this process's environment, through the launcher, and
// returns its result. The test binary's TestMain must call Main. An exit code other than
// 0 is a result, not an error; an error means the command could not be run or measured.
func Run(env []string, args ...string) (Result, error) {
	self, err := os.Executable()
	if err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "benchproc")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	resultFile := dir + "/result.json"
	command, _ := json.Marshal(args)
	cmd := exec.Command(self)
	cmd.Env = append(append(os.Environ(), env...), launchEnv+"="+string(command), resultEnv+"="+resultFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("benchproc: launching %v: %w\n%s", args, err, stderr.String())
	}
	raw, err := os.ReadFile(resultFile)
	if err != nil {
		return Result{}, fmt.Errorf("benchproc: %v left no result: %w\n%s", args, err, stderr.String())
	}
	var res Result
	if err := json.Unmarshal(raw, &res); err != nil {
		return Result{}, err
	}
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	return res, nil
}
