package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseMix(t *testing.T) {
	m, err := parseMix(defaultMix)
	if err != nil || len(m) != 6 {
		t.Fatalf("parseMix(default) = %v, %v", m, err)
	}
	m, err = parseMix(" kvv1-read=3 , approle-login=0,transit-decrypt=1")
	if err != nil || len(m) != 2 || m[0] != (mixEntry{"kvv1-read", 3}) || m[1] != (mixEntry{"transit-decrypt", 1}) {
		t.Fatalf("parseMix = %v, %v", m, err)
	}
	for _, bad := range []string{"", "kvv1-read", "nope=1", "kvv1-read=-1", "kvv1-read=x", "kvv1-read=0"} {
		if _, err := parseMix(bad); !errors.Is(err, ErrUsage) {
			t.Errorf("parseMix(%q) = %v, want ErrUsage", bad, err)
		}
	}
	if _, err := parseFlags([]string{"-op", "transit-encrypt", "-client", "api", "-token", "t"}, &bytes.Buffer{}); !errors.Is(err, ErrUsage) {
		t.Errorf("a workload with -client api: %v, want ErrUsage", err)
	}
}

// TestWorkloadsAgainstExternalServer spawns one raft node, then runs every
// vault-benchmark workload and the mix against it the way a user would
// against a server the tool did not start (-addr, -token): each workload
// sets itself up (mount, key, role, user), every request succeeds, and the
// mounts it created are gone afterwards. It builds vaultd, so -short skips
// it; each run is 400 ms.
func TestWorkloadsAgainstExternalServer(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds vaultd and runs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := spawn(ctx, spawnOptions{n: 1, storage: "raft", mount: "secret", logLevel: "warn", stderr: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.addrs()[0]
	for _, op := range append(workloadNames(), "mix") {
		if op == wlUserpassLogin {
			continue // bcrypt: covered by the mix below and TestLoginStorm
		}
		t.Run(op, func(t *testing.T) {
			var out bytes.Buffer
			args := []string{"-addr", addr, "-token", c.token, "-op", op, "-workers", "3", "-keys", "10",
				"-value-size", "16", "-duration", "400ms", "-warmup", "100ms", "-json", "-transit-key-type", "aes256-gcm96"}
			if op == modeMix {
				args = append(args, "-mix", defaultMix+",userpass-login=1,transit-decrypt=5")
			}
			if err := run(ctx, args, &out, os.Stderr); err != nil {
				t.Fatal(err)
			}
			var rep Report
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("%v: %s", err, out.String())
			}
			want := 1
			if op == modeMix {
				want = 6 // userpass logins (bcrypt) may not finish inside 400 ms: not required
			}
			var okKinds int
			for _, r := range rep.Results {
				if r.Errors != 0 {
					t.Errorf("%s: %d errors: %v", r.Op, r.Errors, r.ByStatus)
				}
				if r.OK > 0 && r.Op != "login" {
					okKinds++
				}
			}
			if okKinds < want {
				t.Errorf("%d request kinds succeeded, want %d: %s", okKinds, want, out.String())
			}
		})
	}
	// Every vb-* mount and auth mount was removed again.
	for _, p := range []string{"sys/mounts", "sys/auth"} {
		var m map[string]any
		if _, err := jsonCall(ctx, &http.Client{Timeout: 5 * time.Second}, http.MethodGet, addr, p, c.token, nil, &m); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(m)
		if strings.Contains(string(b), `"vb-`) {
			t.Errorf("%s still lists a benchmark mount: %s", p, b)
		}
	}
}
