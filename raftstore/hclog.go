package raftstore

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// hclogAdapter is the hclog.Logger that hashicorp/raft needs, written on the
// injected *slog.Logger. raft's Trace and Debug output (per-RPC chatter) is
// dropped; Info, Warn and Error go to slog at the same level, with the hclog
// name as the "logger" attribute.
type hclogAdapter struct {
	base    *slog.Logger // without the name attribute
	l       *slog.Logger // base + implied args + name
	name    string
	implied []any
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func newHCLogger(base *slog.Logger, name string) hclog.Logger {
	return newHCLoggerWith(base, name, nil)
}

func newHCLoggerWith(base *slog.Logger, name string, implied []any) *hclogAdapter {
	l := base
	if len(implied) > 0 {
		l = l.With(implied...)
	}
	if name != "" {
		l = l.With("logger", name)
	}
	return &hclogAdapter{base: base, l: l, name: name, implied: implied}
}

func slogLevel(level hclog.Level) (slog.Level, bool) {
	switch level {
	case hclog.Info, hclog.NoLevel, hclog.DefaultLevel:
		return slog.LevelInfo, true
	case hclog.Warn:
		return slog.LevelWarn, true
	case hclog.Error:
		return slog.LevelError, true
	default: // Trace, Debug, Off
		return 0, false
	}
}

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	lvl, ok := slogLevel(level)
	if !ok {
		return
	}
	a.l.Log(context.Background(), lvl, msg, args...)
}

func (a *hclogAdapter) Trace(string, ...any)          {}
func (a *hclogAdapter) Debug(string, ...any)          {}
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }
func (a *hclogAdapter) IsTrace() bool                 { return false }
func (a *hclogAdapter) IsDebug() bool                 { return false }
func (a *hclogAdapter) IsInfo() bool                  { return a.enabled(slog.LevelInfo) }
func (a *hclogAdapter) IsWarn() bool                  { return a.enabled(slog.LevelWarn) }
func (a *hclogAdapter) IsError() bool                 { return a.enabled(slog.LevelError) }
func (a *hclogAdapter) ImpliedArgs() []any            { return append([]any(nil), a.implied...) }
func (a *hclogAdapter) Name() string                  { return a.name }
func (a *hclogAdapter) SetLevel(hclog.Level)          {}
func (a *hclogAdapter) GetLevel() hclog.Level         { return hclog.Info }
func (a *hclogAdapter) enabled(l slog.Level) bool     { return a.l.Enabled(context.Background(), l) }
func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	return newHCLoggerWith(a.base, name, a.implied)
}

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	implied := append(append([]any(nil), a.implied...), args...)
	return newHCLoggerWith(a.base, a.name, implied)
}

func (a *hclogAdapter) Named(name string) hclog.Logger {
	if a.name != "" {
		name = a.name + "." + name
	}
	return newHCLoggerWith(a.base, name, a.implied)
}

func (a *hclogAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(a.l.Handler(), slog.LevelInfo)
}

func (a *hclogAdapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return a.StandardLogger(opts).Writer()
}
