package security

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// TestAttacks runs every row of docs/security.md's threat-model table
// against one 3-node cluster. Each subtest names its row.
func TestAttacks(t *testing.T) {
	c := startCluster(t)
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) { a.run(t, c) })
	}
}

var attacks = []struct {
	name string
	run  func(t *testing.T, c *cluster)
}{
	{"cidr/standby-does-not-launder-the-client-address", attackCIDRThroughStandby},
	{"cidr/spoofed-x-forwarded-for", attackSpoofedXFF},
	{"cidr/spoofed-internal-client-header", attackSpoofedClientHeader},
	{"acl/sys-allowed-parameters", attackSysAllowedParameters},
	{"acl/sys-wrapping-ttl-window", attackSysWrappingWindow},
	{"acl/bare-mount-path", attackBareMount},
	{"acl/case-userpass-user", attackCaseUserpass},
	{"acl/case-policy-name", attackCasePolicy},
	{"cidr/userpass-login-through-standby", attackUserpassLoginCIDR},
	{"acl/path-tricks", attackPathTricks},
	{"token/child-inherits-bound-cidrs", attackChildTokenCIDRs},
	{"token/body-token-bound-cidrs", attackBodyTokenCIDRs},
	{"join/challenge-flood", attackJoinFlood},
	{"join/one-loop-per-node", attackJoinLoops},
	{"disk/key-rotation", attackKeyRotation},
	{"ceremony/rekey-lost-answer", attackRekeyLostAnswer},
	{"dos/oversized-body", attackOversized},
	{"dos/slow-body", attackSlowBody},
}

// Row: token holder with token_bound_cidrs, next to a standby. The CIDR is
// checked against the real client on every node, so choosing a standby
// neither bypasses nor wrongly fails the check.
func attackCIDRThroughStandby(t *testing.T, c *cluster) {
	tok := c.token(t, map[string]any{"policies": "default", "token_bound_cidrs": "127.0.0.5/32"})
	for _, n := range c.nodes {
		if code, body := raw(t, n, "127.0.0.5", "GET", "/v1/auth/token/lookup-self", tok, nil, nil); code != 200 {
			t.Errorf("%s: the token's own client 127.0.0.5 got %d %s", n.id, code, body)
		}
		if code, _ := raw(t, n, "127.0.0.6", "GET", "/v1/auth/token/lookup-self", tok, nil, nil); code != 403 {
			t.Errorf("%s: client 127.0.0.6 outside the token's CIDR got %d, want 403", n.id, code)
		}
	}
	// The node's own address (where a standby's forwarded request comes
	// from) must not be what is checked.
	self := c.token(t, map[string]any{"policies": "default", "token_bound_cidrs": "127.0.0.1/32"})
	for _, n := range c.standbys {
		if code, _ := raw(t, n, "127.0.0.7", "GET", "/v1/auth/token/lookup-self", self, nil, nil); code != 403 {
			t.Errorf("%s: client 127.0.0.7 used a 127.0.0.1-bound token through the standby: %d", n.id, code)
		}
	}
}

// Row: anonymous network client sends X-Forwarded-For. Only the configured
// proxy (127.0.0.1) is believed; anyone else sending it is refused.
func attackSpoofedXFF(t *testing.T, c *cluster) {
	tok := c.token(t, map[string]any{"policies": "default", "token_bound_cidrs": "127.0.0.9/32"})
	for _, n := range c.nodes {
		hdr := map[string]string{"X-Forwarded-For": "127.0.0.9"}
		if code, body := raw(t, n, "127.0.0.8", "GET", "/v1/auth/token/lookup-self", tok, nil, hdr); code != 400 {
			t.Errorf("%s: X-Forwarded-For from an unauthorized address got %d %s, want 400", n.id, code, body)
		}
		if code, body := raw(t, n, "127.0.0.1", "GET", "/v1/auth/token/lookup-self", tok, nil, hdr); code != 200 {
			t.Errorf("%s: X-Forwarded-For from the authorized proxy was not believed: %d %s", n.id, code, body)
		}
		if code, _ := raw(t, n, "127.0.0.1", "GET", "/v1/auth/token/lookup-self", tok, nil, map[string]string{"X-Forwarded-For": "127.0.0.10"}); code != 403 {
			t.Errorf("%s: proxy-reported client outside the CIDR got %d, want 403", n.id, code)
		}
	}
}

// Row: a client sets the header standbys use to pass the client address.
// It is believed only over the authenticated cluster port.
func attackSpoofedClientHeader(t *testing.T, c *cluster) {
	tok := c.token(t, map[string]any{"policies": "default", "token_bound_cidrs": "127.0.0.11/32"})
	for _, n := range c.nodes {
		hdr := map[string]string{"X-Vaultd-Client-Addr": "127.0.0.11"}
		if code, _ := raw(t, n, "127.0.0.12", "GET", "/v1/auth/token/lookup-self", tok, nil, hdr); code != 403 {
			t.Errorf("%s: spoofed client-address header accepted: %d", n.id, code)
		}
	}
}

// Row: anonymous client sends a body above max_request_size. The server
// answers 413 (it may close before the client has written everything, so
// a broken pipe also counts as refused; an accepted write never does).
func attackOversized(t *testing.T, c *cluster) {
	big, _ := json.Marshal(map[string]map[string]string{"data": {"v": strings.Repeat("x", 70000)}})
	for _, n := range c.nodes {
		got413 := false
		for try := 0; try < 5 && !got413; try++ {
			req, _ := http.NewRequest("PUT", n.addr+"/v1/secret/data/big", bytes.NewReader(big))
			req.Header.Set("X-Vault-Token", c.root)
			resp, err := (&http.Client{Transport: transportFrom("127.0.0.1"), Timeout: 15 * time.Second}).Do(req)
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				t.Fatalf("%s: oversized body accepted", n.id)
			}
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("%s: oversized body got %d, want 413", n.id, resp.StatusCode)
			}
			got413 = true
		}
		if !got413 {
			t.Errorf("%s: no 413 in 5 tries", n.id)
		}
	}
}

// Row: anonymous client announces a body and stalls (slowloris); the
// http_read_timeout (2 s here) cuts it off.
func attackSlowBody(t *testing.T, c *cluster) {
	for _, n := range c.nodes {
		conn, err := net.Dial("tcp", n.host)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(conn, "PUT /v1/sys/unseal HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
		_ = conn.SetReadDeadline(time.Now().Add(25 * time.Second))
		_, err = io.ReadAll(conn)
		conn.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: a stalled body held the connection open", n.id)
		}
	}
}

// Row: token holder whose policy allows mounting only kv tries to mount
// transit through sys/mounts (on every node). Refused, nothing created.
func attackSysAllowedParameters(t *testing.T, c *cluster) {
	c.writePolicy(t, "mount-kv-only", `
path "sys/mounts/*" {
  capabilities = ["create", "update"]
  allowed_parameters = { "type" = ["kv"] }
}`)
	tok := c.token(t, map[string]any{"policies": "mount-kv-only"})
	for i, n := range c.nodes {
		tr := fmt.Sprintf("tr%d", i)
		if code, body := raw(t, n, "127.0.0.1", "POST", "/v1/sys/mounts/"+tr, tok, map[string]any{"type": "transit"}, nil); code != 403 {
			t.Errorf("%s: mounting transit against allowed_parameters got %d %s, want 403", n.id, code, body)
		}
		mounts, err := client(t, c.active, "127.0.0.1", c.root).Sys().ListMounts()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := mounts[tr+"/"]; ok {
			t.Errorf("%s: the refused mount %s/ exists", n.id, tr)
		}
		kvp := fmt.Sprintf("okkv%d", i)
		if code, body := raw(t, n, "127.0.0.1", "POST", "/v1/sys/mounts/"+kvp, tok, map[string]any{"type": "kv"}, nil); code/100 != 2 {
			t.Errorf("%s: mounting kv within allowed_parameters got %d %s", n.id, code, body)
		}
	}
}

// Row: token holder with a wrapping-TTL window on sys/wrapping/wrap. A
// request inside the window passes; outside it, or unwrapped, is refused.
func attackSysWrappingWindow(t *testing.T, c *cluster) {
	c.writePolicy(t, "wrap-window", `
path "sys/wrapping/wrap" {
  capabilities = ["update"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = "1h"
}`)
	tok := c.token(t, map[string]any{"policies": "wrap-window"})
	for _, n := range c.nodes {
		for ttl, want := range map[string]int{"5m": 200, "2h": 403, "10s": 403, "": 403} {
			hdr := map[string]string{}
			if ttl != "" {
				hdr["X-Vault-Wrap-TTL"] = ttl
			}
			code, body := raw(t, n, "127.0.0.1", "POST", "/v1/sys/wrapping/wrap", tok, map[string]any{"k": "v"}, hdr)
			if code != want {
				t.Errorf("%s: wrap with TTL %q got %d %s, want %d", n.id, ttl, code, body, want)
			}
		}
	}
}

// Row: token holder denied a key named like its mount reads the bare
// mount path. The engine gets the mount root, never the key "kv1".
func attackBareMount(t *testing.T, c *cluster) {
	rc := client(t, c.active, "127.0.0.1", c.root)
	if err := rc.Sys().Mount("kv1", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Logical().Write("kv1/kv1", map[string]any{"secret": "bare-mount-leak"}); err != nil {
		t.Fatal(err)
	}
	c.writePolicy(t, "kv1-not-kv1", `
path "kv1*" { capabilities = ["read", "list"] }
path "kv1/kv1" { capabilities = ["deny"] }`)
	tok := c.token(t, map[string]any{"policies": "kv1-not-kv1"})
	for _, n := range c.nodes {
		for _, p := range []string{"/v1/kv1", "/v1/kv1/kv1", "/v1/KV1/kv1", "/v1/kv1//kv1", "/v1/kv1/./kv1", "/v1/kv1/x/../kv1", "/v1/kv1/%6Bv1", "/v1/kv1/kv1/"} {
			code, body := raw(t, n, "127.0.0.1", "GET", p, tok, nil, nil)
			if strings.Contains(body, "bare-mount-leak") {
				t.Errorf("%s: GET %s leaked the denied secret (%d)", n.id, p, code)
			}
		}
	}
}

// Row: holder of a CIDR-bound token mints a child without a role and uses
// it from elsewhere. The child inherits the parent's token_bound_cidrs.
func attackChildTokenCIDRs(t *testing.T, c *cluster) {
	c.writePolicy(t, "child-maker", `path "auth/token/create" { capabilities = ["update"] }`)
	parent := c.token(t, map[string]any{"policies": "child-maker", "token_bound_cidrs": "127.0.0.5/32"})
	for _, n := range c.nodes {
		pc := client(t, n, "127.0.0.5", parent)
		s, err := pc.Logical().Write("auth/token/create", map[string]any{"policies": "child-maker"})
		if err != nil {
			t.Fatalf("%s: child create: %v", n.id, err)
		}
		child := s.Auth.ClientToken
		if code, _ := raw(t, n, "127.0.0.6", "GET", "/v1/auth/token/lookup-self", child, nil, nil); code != 403 {
			t.Errorf("%s: child of a 127.0.0.5-bound token used from 127.0.0.6 got %d, want 403", n.id, code)
		}
		if code, _ := raw(t, n, "127.0.0.5", "GET", "/v1/auth/token/lookup-self", child, nil, nil); code != 200 {
			t.Errorf("%s: child used from its parent's address got %d, want 200", n.id, code)
		}
	}
}

// Row: token holder with a deny on auth/userpass/users/admin* rewrites
// admin's password through a differently-cased name, on every node.
func attackCaseUserpass(t *testing.T, c *cluster) {
	rc := client(t, c.active, "127.0.0.1", c.root)
	if err := rc.Sys().EnableAuthWithOptions("userpass", &vaultapi.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Logical().Write("auth/userpass/users/admin", map[string]any{"password": "admin-pw", "policies": "default"}); err != nil {
		t.Fatal(err)
	}
	c.writePolicy(t, "userpass-not-admin", `
path "auth/userpass/users/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "auth/userpass/users/admin*" { capabilities = ["deny"] }`)
	tok := c.token(t, map[string]any{"policies": "userpass-not-admin"})
	for _, n := range c.nodes {
		for _, name := range []string{"ADMIN", "Admin", "aDmIn"} {
			code, _ := raw(t, n, "127.0.0.1", "POST", "/v1/auth/userpass/users/"+name+"/password", tok, map[string]any{"password": "owned"}, nil)
			if code != 403 {
				t.Errorf("%s: password change through %q got %d, want 403", n.id, name, code)
			}
		}
		if code, _ := raw(t, n, "127.0.0.1", "POST", "/v1/auth/userpass/login/admin", "", map[string]any{"password": "owned"}, nil); code == 200 {
			t.Fatalf("%s: admin's password was changed", n.id)
		}
		if code, body := raw(t, n, "127.0.0.1", "POST", "/v1/auth/userpass/login/admin", "", map[string]any{"password": "admin-pw"}, nil); code != 200 {
			t.Errorf("%s: admin cannot log in with the real password: %d %s", n.id, code, body)
		}
	}
}

// Row: token holder allowed to write policies except admin rewrites the
// admin policy through a differently-cased or padded name.
func attackCasePolicy(t *testing.T, c *cluster) {
	c.writePolicy(t, "admin", `path "*" { capabilities = ["read"] }`)
	c.writePolicy(t, "policy-writer", `
path "sys/policies/acl/*" { capabilities = ["create", "update", "read"] }
path "sys/policy/*" { capabilities = ["create", "update", "read"] }
path "sys/policies/acl/admin" { capabilities = ["deny"] }
path "sys/policy/admin" { capabilities = ["deny"] }`)
	tok := c.token(t, map[string]any{"policies": "policy-writer"})
	evil := map[string]any{"policy": `path "*" { capabilities = ["sudo", "create", "read", "update", "delete", "list"] }`}
	for _, n := range c.nodes {
		for _, p := range []string{"/v1/sys/policies/acl/ADMIN", "/v1/sys/policy/Admin", "/v1/sys/policies/acl/%20admin", "/v1/sys/policies/acl/admin%20"} {
			if code, _ := raw(t, n, "127.0.0.1", "PUT", p, tok, evil, nil); code/100 == 2 {
				t.Errorf("%s: PUT %s rewrote a denied policy (%d)", n.id, p, code)
			}
		}
	}
	got, err := client(t, c.active, "127.0.0.1", c.root).Sys().GetPolicy("admin")
	if err != nil || strings.Contains(got, "sudo") {
		t.Fatalf("admin policy = %q, %v", got, err)
	}
}

// Row: token holder denied one key tries encodings, "..", double and
// trailing slashes to reach it.
func attackPathTricks(t *testing.T, c *cluster) {
	rc := client(t, c.active, "127.0.0.1", c.root)
	if err := rc.Sys().Mount("tricks", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Logical().Write("tricks/hidden", map[string]any{"v": "trick-leak"}); err != nil {
		t.Fatal(err)
	}
	c.writePolicy(t, "tricks", `
path "tricks/*" { capabilities = ["read", "list"] }
path "tricks/hidden" { capabilities = ["deny"] }`)
	tok := c.token(t, map[string]any{"policies": "tricks"})
	for _, n := range c.nodes {
		for _, p := range []string{"/v1/tricks/hidden", "/v1/tricks//hidden", "/v1/tricks/./hidden", "/v1/tricks/x/../hidden",
			"/v1/tricks/%68idden", "/v1/tricks/hidden/", "/v1/tricks/x/%2e%2e/hidden", "/v1//tricks/hidden", "/v1/tricks/hidden%00"} {
			code, body := raw(t, n, "127.0.0.1", "GET", p, tok, nil, nil)
			if strings.Contains(body, "trick-leak") {
				t.Errorf("%s: GET %s leaked the denied key (%d)", n.id, p, code)
			}
		}
	}
}

// Row: someone holding a stolen CIDR-bound token (and a token of their
// own that may look tokens up) names it in a request body from outside
// its CIDRs. The body's token is bound like the caller's own.
func attackBodyTokenCIDRs(t *testing.T, c *cluster) {
	c.writePolicy(t, "token-inspector", `
path "auth/token/lookup" { capabilities = ["update"] }
path "auth/token/renew" { capabilities = ["update"] }
path "sys/capabilities" { capabilities = ["update"] }`)
	inspector := c.token(t, map[string]any{"policies": "token-inspector"})
	stolen := c.token(t, map[string]any{"policies": "default", "token_bound_cidrs": "127.0.0.5/32"})
	for _, n := range c.nodes {
		for _, p := range []string{"/v1/auth/token/lookup", "/v1/auth/token/renew", "/v1/sys/capabilities"} {
			body := map[string]any{"token": stolen, "paths": []string{"secret/x"}}
			if code, _ := raw(t, n, "127.0.0.6", "POST", p, inspector, body, nil); code/100 == 2 {
				t.Errorf("%s: %s with a token bound elsewhere got %d", n.id, p, code)
			}
			if code, b := raw(t, n, "127.0.0.5", "POST", p, inspector, body, nil); code/100 != 2 {
				t.Errorf("%s: %s from the token's own address got %d %s", n.id, p, code, b)
			}
		}
	}
}

// Row: anonymous network client floods bootstrap/challenge (through every
// node) and tries to take over a joiner's pending challenge.
func attackJoinFlood(t *testing.T, c *cluster) {
	ok := 0
	for i := 0; i < 60; i++ {
		n := c.nodes[i%3]
		code, body := raw(t, n, "127.0.0.30", "POST", "/v1/sys/storage/raft/bootstrap/challenge", "", map[string]any{"server_id": fmt.Sprintf("flood-%d", i)}, nil)
		switch code {
		case 200:
			ok++
		case 429:
		default:
			t.Fatalf("%s: flood challenge got %d %s", n.id, code, body)
		}
	}
	if ok > 4 {
		t.Errorf("one source holds %d pending challenges, want at most 4", ok)
	}
	for _, n := range c.nodes {
		id := "victim-" + n.id
		if code, body := raw(t, n, "127.0.0.31", "POST", "/v1/sys/storage/raft/bootstrap/challenge", "", map[string]any{"server_id": id}, nil); code != 200 {
			t.Errorf("%s: a joiner at another address was locked out by the flood: %d %s", n.id, code, body)
		}
		if code, _ := raw(t, n, "127.0.0.32", "POST", "/v1/sys/storage/raft/bootstrap/challenge", "", map[string]any{"server_id": id}, nil); code != 429 {
			t.Errorf("%s: another address replaced a live challenge: %d", n.id, code)
		}
	}
}

// Row: anonymous client asks a fresh node to join again and again; it runs
// one join loop, not one per call.
func attackJoinLoops(t *testing.T, c *cluster) {
	fresh := startNode(t, "fresh", freePort(t), freePort(t), nil)
	started := 0
	for i := 0; i < 30; i++ {
		code, body := raw(t, fresh, "127.0.0.40", "POST", "/v1/sys/storage/raft/join", "", map[string]any{"leader_api_addr": "http://127.0.0.1:1", "retry": true}, nil)
		switch code {
		case 200:
			started++
		case 400:
		default:
			t.Fatalf("join %d: %d %s", i, code, body)
		}
	}
	if started != 1 {
		t.Errorf("%d join loops started, want 1", started)
	}
}

// Row: someone with a copy of the disk benefits from a data key used for
// too many encryptions (GCM nonce reuse). sys/key-status shows the count
// and the rotation policy on every node; sys/rotate/config is replicated
// and needs sudo; data stays readable across terms.
func attackKeyRotation(t *testing.T, c *cluster) {
	sb := c.standbys[0]
	rc := client(t, sb, "127.0.0.1", c.root)
	if _, err := rc.Logical().Write("sys/rotate/config", map[string]any{"max_operations": 2000000000, "interval": "48h"}); err != nil {
		t.Fatalf("sys/rotate/config through a standby: %v", err)
	}
	if _, err := rc.Logical().Write("sys/rotate/config", map[string]any{"max_operations": 5}); err == nil {
		t.Error("max_operations below 1,000,000 accepted")
	}
	c.writePolicy(t, "rotate-no-sudo", `path "sys/rotate/*" { capabilities = ["update", "read"] }`)
	nosudo := c.token(t, map[string]any{"policies": "rotate-no-sudo"})
	if code, _ := raw(t, sb, "127.0.0.1", "POST", "/v1/sys/rotate/config", nosudo, map[string]any{"enabled": false}, nil); code != 403 {
		t.Errorf("sys/rotate/config without sudo got %d, want 403", code)
	}
	if err := rc.Sys().Mount("rot", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Logical().Write("rot/old", map[string]any{"v": "old-term"}); err != nil {
		t.Fatal(err)
	}
	var term0 float64
	for _, n := range c.nodes {
		ks, err := client(t, n, "127.0.0.1", c.root).Logical().Read("sys/key-status")
		if err != nil {
			t.Fatal(err)
		}
		if ks.Data["rotation_period"] != "48h0m0s" || ks.Data["encryptions"] == nil {
			t.Errorf("%s: key-status = %v", n.id, ks.Data)
		}
		term0, _ = ks.Data["term"].(json.Number).Float64()
	}
	if _, err := rc.Logical().Write("sys/rotate", nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.nodes {
		nc := client(t, n, "127.0.0.1", c.root)
		ks, err := nc.Logical().Read("sys/key-status")
		if err != nil {
			t.Fatal(err)
		}
		if term, _ := ks.Data["term"].(json.Number).Float64(); term != term0+1 {
			t.Errorf("%s: term %v after a rotation from %v", n.id, term, term0)
		}
		s, err := nc.Logical().Read("rot/old")
		if err != nil || s == nil || s.Data["v"] != "old-term" {
			t.Errorf("%s: data from the old term = %v, %v", n.id, s, err)
		}
	}
}

// Row: a rekey answer (the new shares) is lost on its way to the
// keyholders, or an operator mistypes. With require_verification the old
// key stays in force until a threshold of the new shares is presented
// back; every step goes through a standby.
func attackRekeyLostAnswer(t *testing.T, c *cluster) {
	sys := client(t, c.standbys[0], "127.0.0.1", c.root).Sys()
	rekey := func() *vaultapi.RekeyUpdateResponse {
		t.Helper()
		st, err := sys.RekeyInit(&vaultapi.RekeyInitRequest{SecretShares: 1, SecretThreshold: 1, RequireVerification: true})
		if err != nil {
			t.Fatal(err)
		}
		if !st.VerificationRequired {
			t.Fatalf("status = %+v", st)
		}
		up, err := sys.RekeyUpdate(c.key, st.Nonce)
		if err != nil {
			t.Fatalf("rekey with the current key: %v", err)
		}
		if !up.Complete || !up.VerificationRequired || up.VerificationNonce == "" || len(up.KeysB64) != 1 {
			t.Fatalf("update = %+v", up)
		}
		return up
	}
	rekey() // ...and the answer is lost:
	if err := sys.RekeyCancel(); err != nil {
		t.Fatal(err)
	}
	up := rekey() // the old key still works
	if _, err := sys.RekeyVerificationUpdate(c.key, up.VerificationNonce); err == nil {
		t.Fatal("the old key verified the new one")
	}
	v, err := sys.RekeyVerificationUpdate(up.KeysB64[0], up.VerificationNonce)
	if err != nil || !v.Complete {
		t.Fatalf("verification = %+v, %v", v, err)
	}
	old := c.key
	c.key = up.KeysB64[0]
	st, err := sys.RekeyInit(&vaultapi.RekeyInitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.RekeyUpdate(old, st.Nonce); err == nil {
		t.Error("the old key still rekeys after a verified rekey")
	}
	if err := sys.RekeyCancel(); err != nil {
		t.Fatal(err)
	}
}

// Row: a userpass user bound to 127.0.0.5 logs in through a standby, from
// its address and from elsewhere (the login check sees the real client).
// Runs after acl/case-userpass-user, which enables userpass.
func attackUserpassLoginCIDR(t *testing.T, c *cluster) {
	rc := client(t, c.active, "127.0.0.1", c.root)
	if _, err := rc.Logical().Write("auth/userpass/users/bound", map[string]any{"password": "pw", "token_bound_cidrs": "127.0.0.5/32"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.nodes {
		if code, body := raw(t, n, "127.0.0.5", "POST", "/v1/auth/userpass/login/bound", "", map[string]any{"password": "pw"}, nil); code != 200 {
			t.Errorf("%s: login from the bound address got %d %s", n.id, code, body)
		}
		if code, _ := raw(t, n, "127.0.0.6", "POST", "/v1/auth/userpass/login/bound", "", map[string]any{"password": "pw"}, nil); code == 200 {
			t.Errorf("%s: login from outside token_bound_cidrs succeeded", n.id)
		}
	}
}
