package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// Logger is the log of a CLI: plain lines for a person on stderr, "prog: message key=value",
// no time and no level for Info ("prog: warning: ..." for Warn, "prog: error: ..." for Error);
// Debug lines only when verbose; nothing below Warn when quiet.
func Logger(prog string, w io.Writer, verbose, quiet bool) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case verbose:
		level = slog.LevelDebug
	case quiet:
		level = slog.LevelWarn
	}
	return slog.New(&human{prog: prog, w: w, level: level, mu: &sync.Mutex{}})
}

type human struct {
	prog  string
	w     io.Writer
	level slog.Level
	attrs []slog.Attr
	group string
	mu    *sync.Mutex
}

func (h *human) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *human) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(h.prog)
	b.WriteString(": ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	case r.Level < slog.LevelInfo:
		b.WriteString("debug: ")
	}
	b.WriteString(strings.TrimPrefix(r.Message, h.prog+": "))
	write := func(a slog.Attr) {
		v := a.Value.Resolve()
		if v.Kind() == slog.KindString && v.String() == "" {
			return // an empty value says nothing
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		s := v.String()
		if strings.ContainsAny(s, " \t\n\"=") {
			s = fmt.Sprintf("%q", s)
		}
		fmt.Fprintf(&b, " %s=%s", key, s)
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(func(a slog.Attr) bool { write(a); return true })
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *human) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *human) WithGroup(name string) slog.Handler {
	c := *h
	c.group = name
	return &c
}
