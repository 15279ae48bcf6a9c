package secretsenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// OnChange is what Supervise does when the watched secrets change.
type OnChange int

const (
	// RestartChild stops the child (its StopSignal, then SIGKILL after StopTimeout) and
	// starts it again with the new variables. The default.
	RestartChild OnChange = iota
	// SignalChild sends the child ChangeSignal and leaves it running. Its environment can't
	// change in place: this suits a child that reads its secrets again itself.
	SignalChild
	// ExitOnChange stops the child as RestartChild does and returns ExitChanged, for a
	// supervisor (systemd, ECS, Kubernetes) to start the whole command again.
	ExitOnChange
)

// ExitChanged is Supervise's exit code after ExitOnChange stopped the child.
const ExitChanged = 3

// SuperviseOptions are the optional settings of Supervise.
type SuperviseOptions struct {
	// OnChange says what a change does. Default: RestartChild.
	OnChange OnChange
	// ChangeSignal is what SignalChild sends. Default: SIGHUP.
	ChangeSignal os.Signal
	// StopSignal asks the child to stop (a restart, ExitOnChange, ctx ending). Default: SIGTERM.
	StopSignal os.Signal
	// StopTimeout is how long a stopping child has before SIGKILL. Default: 10 s.
	StopTimeout time.Duration
	// Signals are forwarded to the child as they come (the caller subscribes them with
	// signal.Notify). A forwarded SIGINT or SIGTERM is the child's to act on: Supervise goes
	// on until the child exits and returns its status.
	Signals <-chan os.Signal
	// Stdin, Stdout and Stderr are the child's. Default: this process's.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// OnStart, when set, is told each time a child starts (its pid) and why.
	OnStart func(pid int, reason string)
}

// Supervise runs command with environ(w.Vars()) as a child process and keeps it running
// with the current values while w watches the secrets (it runs w.Run itself): on a change it
// restarts the child, signals it or returns, as OnChange says; a change is always the whole
// new set of variables, never half of one. It forwards Options.Signals to the child and
// returns when the child exits by itself, with its exit status (128 + the signal when a
// signal ended it), or ExitChanged. When ctx ends it stops the child and returns ctx's error
// with the child's status. A child that cannot be started is an error (status 1). Nothing is
// written to disk: the values live in this process's memory and the child's environment.
func Supervise(ctx context.Context, w *Watcher, environ func(map[string]string) []string, command string, args []string, optFns ...func(*SuperviseOptions)) (int, error) {
	var o SuperviseOptions
	for _, f := range optFns {
		f(&o)
	}
	if o.ChangeSignal == nil {
		o.ChangeSignal = syscall.SIGHUP
	}
	if o.StopSignal == nil {
		o.StopSignal = syscall.SIGTERM
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 10 * time.Second
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	path, err := exec.LookPath(command)
	if err != nil {
		return 1, fmt.Errorf("secretsenv: can't run %q: %w", command, err)
	}
	start := func(vars map[string]string, reason string) (*exec.Cmd, <-chan int, error) {
		cmd := exec.Command(path, args...)
		cmd.Args[0] = command
		cmd.Env = environ(vars)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
		if err := cmd.Start(); err != nil {
			return nil, nil, fmt.Errorf("secretsenv: starting %s: %w", path, err)
		}
		if o.OnStart != nil {
			o.OnStart(cmd.Process.Pid, reason)
		}
		done := make(chan int, 1)
		go func() { done <- status(cmd.Wait()) }()
		return cmd, done, nil
	}
	stop := func(cmd *exec.Cmd, done <-chan int) int {
		_ = cmd.Process.Signal(o.StopSignal)
		select {
		case code := <-done:
			return code
		case <-time.After(o.StopTimeout):
			_ = cmd.Process.Kill()
			return <-done
		}
	}

	cmd, done, err := start(w.Vars(), "start")
	if err != nil {
		return 1, err
	}
	wctx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	changes := make(chan Change, 1)
	go func() {
		_ = w.Run(wctx, func(c Change) {
			select { // keep only the latest: it is the whole set of variables
			case <-changes:
			default:
			}
			changes <- c
		})
	}()
	for {
		select {
		case code := <-done:
			return code, nil
		case sig := <-o.Signals:
			_ = cmd.Process.Signal(sig)
		case c := <-changes:
			switch o.OnChange {
			case SignalChild:
				_ = cmd.Process.Signal(o.ChangeSignal)
			case ExitOnChange:
				stop(cmd, done)
				return ExitChanged, nil
			default:
				stop(cmd, done)
				if cmd, done, err = start(c.Vars, fmt.Sprintf("restart: %v changed", c.Changed)); err != nil {
					return 1, err
				}
			}
		case <-ctx.Done():
			return stop(cmd, done), ctx.Err()
		}
	}
}

// status is a finished child's exit status: its exit code, or 128 + the signal that ended
// it (as a shell reports it).
func status(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}
