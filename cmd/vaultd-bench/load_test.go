package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeKV is a minimal KV v2 data endpoint: versions, check-and-set, token
// check, and a key that always answers 503.
type fakeKV struct {
	mu        sync.Mutex
	versions  map[string]int
	conflicts int
	broken    string
}

func (f *fakeKV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Vault-Token") != "tok" {
		http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
		return
	}
	key, ok := strings.CutPrefix(r.URL.Path, "/v1/secret/data/")
	if !ok {
		http.Error(w, `{"errors":["no handler"]}`, http.StatusNotFound)
		return
	}
	if key == f.broken {
		http.Error(w, `{"errors":["sealed"]}`, http.StatusServiceUnavailable)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.Method {
	case http.MethodGet:
		v, ok := f.versions[key]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[]}`)
			return
		}
		fmt.Fprintf(w, `{"data":{"data":{"v":"x"},"metadata":{"version":%d}}}`, v)
	case http.MethodPut, http.MethodPost:
		var in struct {
			Options struct {
				CAS *int `json:"cas"`
			} `json:"options"`
			Data map[string]string `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Data["v"] == "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"errors":["bad body"]}`)
			return
		}
		if in.Options.CAS != nil && *in.Options.CAS != f.versions[key] {
			f.conflicts++
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"errors":["check-and-set parameter did not match the current version"]}`)
			return
		}
		f.versions[key]++
		fmt.Fprintf(w, `{"data":{"version":%d}}`, f.versions[key])
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func TestLoadModes(t *testing.T) {
	for _, client := range []string{"http", "api"} {
		for _, tc := range []struct {
			mode          string
			workers, keys int
			broken        string
			wantOps       []string
			wantErrStatus string
			wantConflicts bool
		}{
			{mode: modeWrite, workers: 3, keys: 10, wantOps: []string{"write"}},
			{mode: modeRead, workers: 3, keys: 10, wantOps: []string{"read"}},
			{mode: modeMixed, workers: 3, keys: 10, wantOps: []string{"write", "read"}},
			{mode: modeCAS, workers: 3, keys: 10, wantOps: []string{"cas"}},
			{mode: modeCAS, workers: 4, keys: 2, wantOps: []string{"cas"}, wantErrStatus: "400", wantConflicts: true},
			{mode: modeRead, workers: 2, keys: 3, broken: "bench/1", wantOps: []string{"read"}, wantErrStatus: "503"},
		} {
			t.Run(client+"/"+tc.mode+"/"+fmt.Sprint(tc.workers, "x", tc.keys), func(t *testing.T) {
				f := &fakeKV{versions: map[string]int{}}
				srv := httptest.NewServer(f)
				defer srv.Close()
				tr := newHTTPTransport(tc.workers, false)
				defer tr.CloseIdleConnections()
				var kc kvClient = newRawClient(srv.URL, "secret", "tok", "value", tr, 5*time.Second)
				if client == "api" {
					ac, err := newAPIClient(srv.URL, "secret", "tok", "value", tr, 5*time.Second)
					if err != nil {
						t.Fatal(err)
					}
					kc = ac
				}
				l := &load{clients: []kvClient{kc}, mode: tc.mode, workers: tc.workers, keys: keyNames("bench", tc.keys),
					readRatio: 0.5, warmup: 20 * time.Millisecond, duration: 250 * time.Millisecond}
				ctx := context.Background()
				f.broken = "" // prepare must succeed
				if err := l.prepare(ctx); err != nil {
					t.Fatal(err)
				}
				f.mu.Lock()
				f.broken = tc.broken
				f.mu.Unlock()
				recs, elapsed := l.run(ctx)
				if elapsed <= 0 || elapsed > time.Second {
					t.Errorf("elapsed = %s", elapsed)
				}
				res := summarize(recs, elapsed)
				got := map[string]OpResult{}
				for _, r := range res {
					got[r.Op] = r
				}
				for _, op := range tc.wantOps {
					r := got[op]
					if r.OK == 0 || r.OpsPerSec <= 0 || r.P50 <= 0 || r.Max < r.P99 || r.P99 < r.P50 {
						t.Errorf("%s: %+v", op, r)
					}
				}
				var errs int
				for _, r := range res {
					errs += r.Errors
					if tc.wantErrStatus != "" && r.ByStatus[tc.wantErrStatus] > 0 {
						errs -= r.ByStatus[tc.wantErrStatus]
						tc.wantErrStatus = "" // seen
					}
				}
				if tc.wantErrStatus != "" {
					t.Errorf("no %s errors recorded: %+v", tc.wantErrStatus, res)
				}
				if errs != 0 {
					t.Errorf("unexpected errors: %+v", res)
				}
				f.mu.Lock()
				defer f.mu.Unlock()
				if (f.conflicts > 0) != tc.wantConflicts {
					t.Errorf("cas conflicts = %d, want some: %v", f.conflicts, tc.wantConflicts)
				}
			})
		}
	}
}

func TestPrepareFailsClearly(t *testing.T) {
	srv := httptest.NewServer(&fakeKV{versions: map[string]int{}})
	defer srv.Close()
	tr := newHTTPTransport(1, false)
	defer tr.CloseIdleConnections()
	l := &load{clients: []kvClient{newRawClient(srv.URL, "secret", "wrong", "v", tr, time.Second)}, workers: 2, keys: keyNames("k", 4)}
	err := l.prepare(context.Background())
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("prepare = %v, want a 403 setup error", err)
	}
}

func TestRootTokenWriter(t *testing.T) {
	w := &rootTokenWriter{got: make(chan struct{})}
	for _, chunk := range []string{"WARNING! dev mode\nUnseal Key: c2VjcmV0\nRoot To", "ken: hvs.abc\n", "Development mode...\n"} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	select {
	case <-w.got:
	default:
		t.Fatal("token not seen")
	}
	if w.token != "hvs.abc" || w.buf != nil {
		t.Fatalf("token = %q, buf kept = %v", w.token, w.buf != nil)
	}
}

func TestParseFlags(t *testing.T) {
	t.Setenv("VAULT_ADDR", "")
	t.Setenv("VAULT_TOKEN", "")
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-token", "t"}, true},
		{[]string{"-token", "t", "-addr", "127.0.0.1:1", "-addr", "localhost:2", "-op", "cas"}, true},
		{[]string{"-spawn", "1", "-storage", "inmem"}, true},
		{[]string{"-spawn", "3", "-failover"}, true},
		{[]string{}, false}, // no token
		{[]string{"-token", "t", "-addr", "192.168.1.1:8200"}, false},
		{[]string{"-token", "t", "-op", "delete"}, false},
		{[]string{"-token", "t", "-workers", "0"}, false},
		{[]string{"-token", "t", "-client", "grpc"}, false},
		{[]string{"-spawn", "1", "-failover"}, false},
		{[]string{"-spawn", "1", "-addr", "127.0.0.1:1"}, false},
		{[]string{"-spawn", "1", "-storage", "consul"}, false},
		{[]string{"-token", "t", "extra"}, false},
		{[]string{"-spawn", "3", "-targets", "standbys"}, true},
		{[]string{"-spawn", "1", "-targets", "active"}, false},
		{[]string{"-spawn", "3", "-targets", "leader"}, false},
	} {
		_, err := parseFlags(tc.args, &strings.Builder{})
		if (err == nil) != tc.ok {
			t.Errorf("parseFlags(%q) = %v, want ok=%v", tc.args, err, tc.ok)
		}
	}
}
