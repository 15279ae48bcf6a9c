package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/secretsenv"
)

// forwarded are the signals exec -watch passes on to the command.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// signalNames are the signals -on-change signal:NAME may send.
var signalNames = map[string]syscall.Signal{"HUP": syscall.SIGHUP, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
	"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "QUIT": syscall.SIGQUIT}

// parseWatch checks the -watch flags: only with exec -watch, and values that can work.
func parseWatch(fs *flag.FlagSet, st *settings, onChange string) error {
	if !st.watch {
		for _, name := range []string{"interval", "list", "on-change", "stop-timeout"} {
			if cli.IsSet(fs, name) {
				return fmt.Errorf("-%s is for exec -watch", name)
			}
		}
		return nil
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", st.interval}, {"stop-timeout", st.stopTimeout}} {
		if err := cli.Duration(d.name, d.v); err != nil {
			return err
		}
	}
	if st.interval < time.Second {
		return fmt.Errorf("-interval %s is too short: want at least 1s (each check makes one call per secret)", st.interval)
	}
	switch name, sig, _ := strings.Cut(onChange, ":"); {
	case onChange == "restart":
		st.onChange = secretsenv.RestartChild
	case onChange == "exit":
		st.onChange = secretsenv.ExitOnChange
	case name == "signal":
		s, ok := signalNames[strings.TrimPrefix(strings.ToUpper(sig), "SIG")]
		if !ok {
			return fmt.Errorf("-on-change %q: the signal must be one of HUP, USR1, USR2, INT, TERM, QUIT", onChange)
		}
		st.onChange, st.signal = secretsenv.SignalChild, s
	default:
		return fmt.Errorf("-on-change %q: want restart, signal:NAME (e.g. signal:HUP) or exit", onChange)
	}
	return nil
}

// superviseCommand is exec -watch: load the secrets, run the command as a child, follow
// rotation. A signal before the command starts stops the load: nothing runs.
func superviseCommand(ctx context.Context, st settings, command []string, signals <-chan os.Signal, stderr io.Writer, logger *slog.Logger, watch func(context.Context) (*secretsenv.Watcher, *secretsenv.Loader, error)) int {
	loadCtx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	loaded, listening := make(chan struct{}), make(chan os.Signal, 1)
	go func() {
		defer close(listening)
		select {
		case s := <-signals:
			listening <- s
			cancelLoad()
		case <-loaded:
		}
	}()
	w, loader, err := watch(loadCtx)
	close(loaded)
	if s, ok := <-listening; ok {
		fmt.Fprintf(stderr, "secretsenv: stopped by %s while loading the secrets: nothing was run\n", s)
		if n, ok := s.(syscall.Signal); ok {
			return 128 + int(n)
		}
		return cli.ExitInterrupted
	}
	if errors.Is(err, cli.ErrNoRegion) {
		fmt.Fprintln(stderr, "secretsenv:", cli.NoRegion)
		return cli.ExitUsage
	}
	if err != nil {
		return cli.Fail(stderr, "secretsenv", err)
	}
	code, err := secretsenv.Supervise(ctx, w, loader.Environ, command[0], command[1:], func(o *secretsenv.SuperviseOptions) {
		o.OnChange, o.StopTimeout, o.Signals = st.onChange, st.stopTimeout, signals
		if st.signal != 0 {
			o.ChangeSignal = st.signal
		}
		o.OnStart = func(pid int, reason string) {
			if reason != "start" {
				fmt.Fprintf(stderr, "secretsenv: %s (pid %d)\n", reason, pid)
			}
			logger.Debug("secretsenv: command started", "pid", pid, "why", reason)
		}
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return cli.Fail(stderr, "secretsenv", err)
	}
	return code
}
