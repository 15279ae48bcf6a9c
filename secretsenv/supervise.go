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
	// SignalChild sends the child's process group ChangeSignal and leaves it running. Its
	// environment can't change in place: this suits a child that reads its secrets again
	// itself.
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
	// Signals are forwarded to the child's process group as they come (the caller subscribes
	// them with signal.Notify). A forwarded SIGINT or SIGTERM is the child's to act on:
	// Supervise goes on until the child exits and returns its status.
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
// new set of variables, never half of one, and a new version that changes no variable (the
// same value stored again) changes nothing. The child runs in a process group of its own,
// and every signal (a stop, a forwarded one, ChangeSignal) goes to the whole group, so that
// stopping the command also stops what it started: no process keeps running with the old
// values. (A program in its own group can't read the terminal: Supervise is for services,
// not interactive programs.) Supervise returns when the child exits by itself, with its
// exit status (128 + the signal when a signal ended it), or ExitChanged. A SIGINT, SIGTERM
// or SIGQUIT forwarded while a restart is stopping the old child ends it there: no new
// child is started, and its status is returned. When ctx ends it stops the child and
// returns ctx's error with the child's status; when ctx has ended already, nothing starts.
// A child that cannot be started is an error (status 1). Nothing is written to disk: the
// values live in this process's memory and the child's environment.
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
	if err := ctx.Err(); err != nil {
		return 1, err // nothing started
	}
	start := func(vars map[string]string, reason string) (*exec.Cmd, <-chan int, error) {
		cmd := exec.Command(path, args...)
		cmd.Args[0] = command
		cmd.Env = environ(vars)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
		// A process group of its own: stopping the command stops what it started too (no
		// process keeps running with the old values), and a terminal's Ctrl-C reaches it
		// once, through Signals, not twice.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		// A process that left the group but kept the command's output open must not keep
		// Supervise waiting for the pipe.
		cmd.WaitDelay = o.StopTimeout
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
	signal := func(cmd *exec.Cmd, sig os.Signal) {
		if n, ok := sig.(syscall.Signal); ok {
			_ = syscall.Kill(-cmd.Process.Pid, n) // the whole group
			return
		}
		_ = cmd.Process.Signal(sig)
	}
	// stop asks the command's group to stop, kills it after StopTimeout, and returns its
	// status and whether a stop signal (INT, TERM, QUIT) came meanwhile: the operator asked
	// for an end then, not for a new command. Other signals go on to the stopping group.
	stop := func(cmd *exec.Cmd, done <-chan int) (int, bool) {
		signal(cmd, o.StopSignal)
		kill := time.NewTimer(o.StopTimeout)
		defer kill.Stop()
		ended := false
		for {
			select {
			case code := <-done:
				return code, ended
			case sig := <-o.Signals:
				switch sig {
				case syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT:
					ended = true
				default:
					signal(cmd, sig)
				}
			case <-kill.C:
				signal(cmd, syscall.SIGKILL)
			}
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
			signal(cmd, sig)
		case c := <-changes:
			select { // the command ended by itself meanwhile: that is its status
			case code := <-done:
				return code, nil
			default:
			}
			if len(c.Changed) == 0 {
				continue // a new version with the same values: nothing the command sees changed
			}
			switch o.OnChange {
			case SignalChild:
				signal(cmd, o.ChangeSignal)
			case ExitOnChange:
				stop(cmd, done)
				return ExitChanged, nil
			default:
				code, ended := stop(cmd, done)
				if ended {
					return code, nil
				}
				if cmd, done, err = start(c.Vars, fmt.Sprintf("restart: %v changed", c.Changed)); err != nil {
					return 1, err
				}
			}
		case <-ctx.Done():
			code, _ := stop(cmd, done)
			return code, ctx.Err()
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
