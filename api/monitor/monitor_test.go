package monitor_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/api/monitor"
)

func recv(t *testing.T, s *monitor.Subscription) string {
	t.Helper()
	select {
	case l, ok := <-s.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		return string(l)
	default:
		t.Fatal("no line")
	}
	return ""
}

func TestBroker_StreamsBelowTheNodeLevel(t *testing.T) {
	var node bytes.Buffer
	b := monitor.New()
	log := slog.New(b.Handler(slog.NewTextHandler(&node, &slog.HandlerOptions{Level: slog.LevelWarn}))).With("component", "core")
	log.Debug("before any subscriber")

	s, err := b.Subscribe(slog.LevelDebug, "standard")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	log.WithGroup("g").Debug("debug line", "k", "v")
	if got := recv(t, s); !strings.Contains(got, `level=DEBUG msg="debug line" component=core g.k=v`) || !strings.HasSuffix(got, "\n") {
		t.Fatalf("line = %q", got)
	}
	if node.Len() != 0 {
		t.Fatalf("the node's warn-level log got %q", node.String())
	}
	log.Warn("warned")
	if got := recv(t, s); !strings.Contains(got, "msg=warned") {
		t.Fatalf("line = %q", got)
	}
	if !strings.Contains(node.String(), "msg=warned") {
		t.Fatalf("node log = %q, want the warning", node.String())
	}
}

func TestBroker_LevelAndJSON(t *testing.T) {
	b := monitor.New()
	log := slog.New(b.Handler(slog.DiscardHandler))
	s, err := b.Subscribe(slog.LevelWarn, "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("too low")
	log.Error("boom", "n", 3)
	var m map[string]any
	if err := json.Unmarshal([]byte(recv(t, s)), &m); err != nil || m["msg"] != "boom" || m["level"] != "ERROR" || m["n"] != 3.0 {
		t.Fatalf("json line %v (err %v)", m, err)
	}
	select {
	case l := <-s.C:
		t.Fatalf("unexpected line %q", l)
	default:
	}
}

func TestBroker_DropsAndCounts(t *testing.T) {
	b := monitor.New()
	log := slog.New(b.Handler(slog.DiscardHandler))
	s, _ := b.Subscribe(slog.LevelInfo, "standard")
	for range monitor.Buffer + 5 {
		log.Info("x")
	}
	for range monitor.Buffer {
		<-s.C
	}
	log.Info("after")
	if got := recv(t, s); got != "Monitor dropped 5 logs during monitor request\n" {
		t.Fatalf("line = %q", got)
	}
	if got := recv(t, s); !strings.Contains(got, "msg=after") {
		t.Fatalf("line = %q", got)
	}
}

func TestBroker_Close(t *testing.T) {
	b := monitor.New()
	s, _ := b.Subscribe(slog.LevelInfo, "")
	s2, _ := b.Subscribe(slog.LevelInfo, "")
	s2.Close()
	s2.Close()
	b.Close()
	if _, ok := <-s.C; ok {
		t.Fatal("subscription open after broker Close")
	}
	s.Close()
	if _, err := b.Subscribe(slog.LevelInfo, ""); !errors.Is(err, monitor.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	if _, err := monitor.New().Subscribe(slog.LevelInfo, "xml"); err == nil {
		t.Fatal("format xml accepted")
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"trace": monitor.LevelTrace, "DEBUG": slog.LevelDebug, "": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := monitor.ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := monitor.ParseLevel("loud"); err == nil {
		t.Error("ParseLevel(loud) accepted")
	}
}
