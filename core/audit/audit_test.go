package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core/audit"
)

// memDevice records lines; fail makes every write fail.
type memDevice struct {
	mu     sync.Mutex
	lines  [][]byte
	fail   bool
	closed bool
}

func (m *memDevice) Write(_ context.Context, line []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("disk full")
	}
	m.lines = append(m.lines, append([]byte(nil), line...))
	return nil
}
func (m *memDevice) Reopen() error { return nil }
func (m *memDevice) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}

func sampleInput() *audit.Input {
	return &audit.Input{
		Time: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		Auth: &audit.Auth{
			ClientToken: "hvs.TOKEN", Accessor: "ACCESSOR", DisplayName: "token-ci",
			Policies: []string{"default"}, TokenPolicies: []string{"default"}, TokenType: "service",
			Metadata: map[string]string{"team": "db"}, TokenTTL: 60, TokenIssueTime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		Request: &audit.Request{
			ID: "req-1", Operation: "update", Path: "secret/data/app", ClientToken: "hvs.TOKEN",
			ClientTokenAccessor: "ACCESSOR", RemoteAddress: "10.0.0.1",
			Data: map[string]any{
				"data":  map[string]any{"password": "SECRET-1", "list": []any{"SECRET-2", 3.0, true, nil}},
				"port":  5432.0,
				"typed": struct{ Inner string }{"SECRET-3"},
				"strs":  []string{"SECRET-4"},
			},
		},
		Response: &audit.Response{
			MountType: "kv", Data: map[string]any{"value": "SECRET-5"},
			Auth:     &audit.Auth{ClientToken: "hvs.ISSUED", Accessor: "ISSUED-ACC"},
			WrapInfo: &audit.WrapInfo{Token: "hvs.WRAP", Accessor: "WRAP-ACC", TTL: time.Minute, CreationPath: "x"},
		},
	}
}

func TestBroker_FormatsAndHashes(t *testing.T) {
	b := audit.NewBroker(nil)
	dev := &memDevice{}
	salt := []byte("0123456789abcdef0123456789abcdef")
	b.Register("mem/", dev, salt, audit.Options{HMACAccessor: true})
	in := sampleInput()
	if err := b.LogRequest(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if err := b.LogResponse(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if len(dev.lines) != 2 {
		t.Fatalf("%d lines, want 2", len(dev.lines))
	}
	all := bytes.Join(dev.lines, nil)
	for _, s := range []string{"hvs.TOKEN", "ACCESSOR", "SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4", "SECRET-5", "hvs.ISSUED", "ISSUED-ACC", "hvs.WRAP", "WRAP-ACC"} {
		if bytes.Contains(all, []byte(s)) {
			t.Errorf("%q appears unhashed", s)
		}
	}
	var req, resp map[string]any
	if err := json.Unmarshal(dev.lines[0], &req); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(dev.lines[1], &resp); err != nil {
		t.Fatal(err)
	}
	if req["type"] != "request" || resp["type"] != "response" || req["time"] != "2030-01-02T03:04:05Z" {
		t.Fatalf("types/time: %v %v %v", req["type"], resp["type"], req["time"])
	}
	if _, ok := req["response"]; ok {
		t.Fatal("request entry has a response")
	}
	h, err := b.Hash("mem/", "hvs.TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	auth := req["auth"].(map[string]any)
	r := req["request"].(map[string]any)
	if auth["client_token"] != h || r["client_token"] != h || auth["display_name"] != "token-ci" || r["path"] != "secret/data/app" {
		t.Fatalf("auth %v request %v; want token hash %s", auth, r, h)
	}
	if auth["metadata"].(map[string]any)["team"] != "db" {
		t.Fatalf("metadata must stay readable: %v", auth["metadata"])
	}
	data := r["data"].(map[string]any)
	if data["port"] != 5432.0 || !strings.HasPrefix(data["data"].(map[string]any)["password"].(string), audit.HashPrefix) {
		t.Fatalf("data = %v", data)
	}
	list := data["data"].(map[string]any)["list"].([]any)
	if list[1] != 3.0 || list[2] != true || list[3] != nil {
		t.Fatalf("non-strings must pass through: %v", list)
	}
	if ns := r["namespace"].(map[string]any); ns["id"] != "root" {
		t.Fatalf("namespace = %v", ns)
	}
	// The input is not modified.
	if in.Request.Data["data"].(map[string]any)["password"] != "SECRET-1" {
		t.Fatal("the broker mutated its input")
	}
	// Another device, another salt, another hash.
	b.Register("mem2/", &memDevice{}, []byte("another salt"), audit.Options{})
	h2, _ := b.Hash("mem2/", "hvs.TOKEN")
	if h2 == h {
		t.Fatal("two salts gave the same hash")
	}
	if _, err := b.Hash("nope/", "x"); !errors.Is(err, audit.ErrUnknownDevice) {
		t.Fatalf("hash on unknown device: %v", err)
	}
}

func TestBroker_FailClosed(t *testing.T) {
	b := audit.NewBroker(nil)
	in := sampleInput()
	if err := b.LogRequest(t.Context(), in); err != nil {
		t.Fatalf("no devices: %v, want nil", err)
	}
	bad, good := &memDevice{fail: true}, &memDevice{}
	b.Register("bad/", bad, []byte("s"), audit.Options{})
	if err := b.LogRequest(t.Context(), in); !errors.Is(err, audit.ErrAllDevicesFailed) {
		t.Fatalf("only a failing device: %v, want ErrAllDevicesFailed", err)
	}
	b.Register("good/", good, []byte("s"), audit.Options{})
	if err := b.LogRequest(t.Context(), in); err != nil {
		t.Fatalf("one working device: %v", err)
	}
	b.Register("unavail/", audit.Unavailable(errors.New("no such dir")), []byte("s"), audit.Options{})
	if err := b.Deregister("good/"); err != nil || !good.closed {
		t.Fatalf("deregister: %v closed=%v", err, good.closed)
	}
	if err := b.LogResponse(t.Context(), in); !errors.Is(err, audit.ErrAllDevicesFailed) {
		t.Fatalf("failing + unavailable: %v", err)
	}
	if got := b.Paths(); strings.Join(got, ",") != "bad/,unavail/" {
		t.Fatalf("paths = %v", got)
	}
	b.Close()
	if b.Enabled() || !bad.closed {
		t.Fatal("Close left devices open")
	}
}

func TestOpen_Options(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	cases := []struct {
		name string
		cfg  audit.Config
		ok   bool
	}{
		{"file", audit.Config{Type: "file", Options: map[string]string{"file_path": p}}, true},
		{"legacy path", audit.Config{Type: "file", Options: map[string]string{"path": p}}, true},
		{"stdout", audit.Config{Type: "file", Options: map[string]string{"file_path": "stdout"}, Stdout: &bytes.Buffer{}}, true},
		{"dash", audit.Config{Type: "file", Options: map[string]string{"file_path": "-"}, Stdout: &bytes.Buffer{}}, true},
		{"discard", audit.Config{Type: "file", Options: map[string]string{"file_path": "discard"}}, true},
		{"mode", audit.Config{Type: "file", Options: map[string]string{"file_path": p, "mode": "0640"}}, true},
		{"socket type", audit.Config{Type: "socket", Options: map[string]string{"address": "x"}}, false},
		{"no path", audit.Config{Type: "file", Options: map[string]string{}}, false},
		{"log_raw", audit.Config{Type: "file", Options: map[string]string{"file_path": p, "log_raw": "true"}}, false},
		{"prefix", audit.Config{Type: "file", Options: map[string]string{"file_path": p, "prefix": "#!/bin/sh"}}, false},
		{"jsonx", audit.Config{Type: "file", Options: map[string]string{"file_path": p, "format": "jsonx"}}, false},
		{"executable mode", audit.Config{Type: "file", Options: map[string]string{"file_path": p, "mode": "0755"}}, false},
		{"bad mode", audit.Config{Type: "file", Options: map[string]string{"file_path": p, "mode": "rw"}}, false},
		{"bad bool", audit.Config{Type: "file", Options: map[string]string{"file_path": p, "hmac_accessor": "maybe"}}, false},
		{"directory", audit.Config{Type: "file", Options: map[string]string{"file_path": dir}}, false},
		{"missing parent", audit.Config{Type: "file", Options: map[string]string{"file_path": filepath.Join(dir, "no", "x.log")}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dev, _, err := audit.Open(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("Open = %v, want ok=%v", err, tc.ok)
			}
			if dev != nil {
				if err := dev.Write(t.Context(), []byte("{}\n")); err != nil {
					t.Fatal(err)
				}
				dev.Close()
			}
		})
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("mode option: %v %v", st, err)
	}
}

func TestFile_ReopenAfterRotation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.log")
	f, err := audit.OpenFile(p, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Write(t.Context(), []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(t.Context(), []byte("two\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two\n" {
		t.Fatalf("new file = %q", b)
	}
	if b, _ := os.ReadFile(p + ".1"); string(b) != "one\n" {
		t.Fatalf("rotated file = %q", b)
	}
	f.Close()
	if err := f.Write(t.Context(), []byte("x\n")); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("write after close = %v", err)
	}
}

func TestOpenRetrying_Recovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	p := filepath.Join(dir, "audit.log")
	dev, _, err := audit.OpenRetrying(audit.Config{Type: "file", Options: map[string]string{"file_path": p}})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if err := dev.Write(t.Context(), []byte("x\n")); err == nil {
		t.Fatal("write to an unopenable path succeeded")
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := dev.Reopen(); err != nil {
		t.Fatalf("reopen once the path exists: %v", err)
	}
	if err := dev.Write(t.Context(), []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := audit.OpenRetrying(audit.Config{Type: "file", Options: map[string]string{"file_path": p, "log_raw": "true"}}); !errors.Is(err, audit.ErrInvalidConfig) {
		t.Fatalf("config errors still fail: %v", err)
	}
}

func TestBroker_ElideListResponses(t *testing.T) {
	b := audit.NewBroker(nil)
	dev := &memDevice{}
	b.Register("m/", dev, []byte("s"), audit.Options{ElideListResponses: true})
	in := &audit.Input{Request: &audit.Request{Path: "kv/"}, Response: &audit.Response{Data: map[string]any{"keys": []any{"a", "b", "c"}}}}
	if err := b.LogResponse(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(dev.lines[0], []byte(`"keys":3`)) {
		t.Fatalf("elided line = %s", dev.lines[0])
	}
}

// FuzzBroker_NoStringLeaks: whatever JSON a client sends, no string of it
// (long enough to be recognisable) appears in the audit line.
func FuzzBroker_NoStringLeaks(f *testing.F) {
	f.Add(`{"password":"hunter2-secret"}`)
	f.Add(`{"a":{"b":[{"c":"deeply-nested-secret"}]},"n":1,"t":true}`)
	f.Add(`{"k":["one-secret","two-secret"],"z":null}`)
	f.Add(`{"unicode":"sécrèt-välue-ü"}`)
	b := audit.NewBroker(nil)
	dev := &memDevice{}
	b.Register("m/", dev, []byte("fuzz-salt"), audit.Options{HMACAccessor: true})
	// The fixed part of a line (field names, times): a value that happens
	// to be part of it, or of a key the client chose, is not a leak.
	if err := b.LogResponse(f.Context(), &audit.Input{Request: &audit.Request{Path: "p"}, Response: &audit.Response{}}); err != nil {
		f.Fatal(err)
	}
	fixed := string(dev.lines[0]) + `"client_token_accessor","remote_address","mount_point","mount_type","display_name","token_policies","token_issue_time","wrapped_accessor","creation_time","creation_path","hmac-sha256:"`
	f.Fuzz(func(t *testing.T, body string) {
		var data map[string]any
		if json.Unmarshal([]byte(body), &data) != nil {
			return
		}
		var keys strings.Builder
		var collect func(v any)
		collect = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					keys.WriteString(k + "\x00")
					collect(e)
				}
			case []any:
				for _, e := range x {
					collect(e)
				}
			}
		}
		collect(data)
		known := fixed + keys.String()
		dev.mu.Lock()
		dev.lines = nil
		dev.mu.Unlock()
		in := &audit.Input{Request: &audit.Request{Path: "p", Data: data}, Response: &audit.Response{Data: data}}
		if err := b.LogResponse(t.Context(), in); err != nil {
			return // too deeply nested: refused, which fails the request closed
		}
		line := dev.lines[0]
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				if len(x) >= 12 && !strings.Contains(known, x) {
					enc, _ := json.Marshal(x)
					if bytes.Contains(line, enc[1:len(enc)-1]) {
						t.Fatalf("string %q leaked into %s", x, line)
					}
				}
			case map[string]any:
				for _, e := range x {
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(data)
	})
}
