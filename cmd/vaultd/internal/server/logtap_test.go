package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// The tap keeps what the node logs (its level) and gives a subscriber the
// lower levels it asks for, with the logger's attributes and groups.
func TestLogTap(t *testing.T) {
	tap := newLogTap()
	log := slog.New(tap.wrap(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})))
	log = log.With("component", "core").WithGroup("g")
	log.Debug("not kept", "k", 1)
	log.Info("kept", "k", 2)
	rec := tap.recent()
	if len(rec) != 1 || !strings.Contains(string(rec[0]), "msg=kept") || !strings.Contains(string(rec[0]), "component=core g.k=2") {
		t.Fatalf("recent = %q", rec)
	}
	sub := tap.subscribe(slog.LevelDebug)
	log.Debug("for the subscriber")
	select {
	case l := <-sub.ch:
		if !strings.Contains(string(l), "msg=\"for the subscriber\"") || lineLevel(l) != slog.LevelDebug {
			t.Errorf("line %q", l)
		}
	default:
		t.Fatal("the subscriber got nothing")
	}
	if len(tap.recent()) != 1 {
		t.Error("a debug line only a subscriber wanted was kept")
	}
	tap.unsubscribe(sub)
	if log.Handler().Enabled(context.Background(), slog.LevelDebug) {
		t.Error("debug is still enabled without subscribers")
	}
	// The ring keeps the last lines, oldest first, under concurrent logging.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range recentLogLines {
				log.Info(fmt.Sprintf("line %d-%d", g, i))
			}
		}()
	}
	wg.Wait()
	if n := len(tap.recent()); n != recentLogLines {
		t.Errorf("%d lines kept, want %d", n, recentLogLines)
	}
}
