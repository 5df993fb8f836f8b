package raftstore

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestHCLogAdapter(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := newHCLogger(base, "raft").Named("net").With("peer", "n2")

	l.Trace("trace spam")
	l.Debug("debug spam")
	l.Log(hclog.Debug, "debug via Log")
	l.Info("elected", "term", 3)
	l.Warn("slow", "ms", 12)
	l.Error("failed", "error", "boom")
	l.StandardLogger(nil).Print("std line")

	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad log line %q: %v", line, err)
		}
		got = append(got, m)
	}
	want := []struct{ level, msg string }{
		{"INFO", "elected"}, {"WARN", "slow"}, {"ERROR", "failed"}, {"INFO", "std line"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d (trace/debug must be dropped):\n%s", len(got), len(want), buf.String())
	}
	for i, w := range want {
		if got[i]["level"] != w.level || got[i]["msg"] != w.msg {
			t.Errorf("line %d = %v %v, want %s %s", i, got[i]["level"], got[i]["msg"], w.level, w.msg)
		}
		if got[i]["logger"] != "raft.net" || got[i]["peer"] != "n2" {
			t.Errorf("line %d attrs = %v, want logger=raft.net peer=n2", i, got[i])
		}
	}
	if l.IsDebug() || l.IsTrace() || !l.IsInfo() || !l.IsError() {
		t.Errorf("level predicates wrong")
	}
	if l.Name() != "raft.net" || l.ResetNamed("x").Name() != "x" {
		t.Errorf("names: %q %q", l.Name(), l.ResetNamed("x").Name())
	}
	if got := l.ImpliedArgs(); len(got) != 2 || got[0] != "peer" {
		t.Errorf("ImpliedArgs = %v", got)
	}
}
