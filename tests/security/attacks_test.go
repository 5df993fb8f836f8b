package security

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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

// Row: anonymous client sends a body above max_request_size.
func attackOversized(t *testing.T, c *cluster) {
	big := map[string]string{"v": strings.Repeat("x", 70000)}
	for _, n := range c.nodes {
		if code, _ := raw(t, n, "127.0.0.1", "PUT", "/v1/secret/data/big", c.root, big, nil); code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: oversized body got %d, want 413", n.id, code)
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
