package e2e

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestPKI_Cluster: a CA made on the active node of a 3-node raft cluster
// issues through a standby (forwarded), and every node answers the public
// CA and CRL reads (raw DER) without a token.
func TestPKI_Cluster(t *testing.T) {
	nodes, root := startCluster(t)
	active := waitAgreedActive(t, nodes)
	standby := (active + 1) % len(nodes)
	c := newClient(t, nodes[active].addr, root)
	if _, err := c.Logical().Write("sys/mounts/pki", map[string]any{"type": "pki"}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Logical().Write("pki/root/generate/internal", map[string]any{"common_name": "cluster root", "key_type": "ec", "ttl": "24h"})
	if err != nil {
		t.Fatal(err)
	}
	rootCert := mustParse(t, out.Data["certificate"].(string))
	if _, err := c.Logical().Write("pki/roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "key_type": "ec"}); err != nil {
		t.Fatal(err)
	}
	sc := newClient(t, nodes[standby].addr, root)
	var iss map[string]any
	var lastErr error
	t.Cleanup(func() {
		if lastErr != nil && t.Failed() {
			t.Logf("last error issuing through the standby: %v", lastErr)
		}
	})
	waitFor(t, 20*time.Second, "issue through a standby", func() bool {
		s, err := sc.Logical().Write("pki/issue/web", map[string]any{"common_name": "www.example.com", "ttl": "1h"})
		if err != nil || s == nil {
			lastErr = err
			return false
		}
		iss = s.Data
		return true
	})
	checkLeaf(t, iss["certificate"].(string), toStrings(iss["ca_chain"]), "www.example.com")
	for _, n := range nodes {
		var body []byte
		waitFor(t, 20*time.Second, "public ca read on "+n.id, func() bool {
			resp, err := http.Get(n.addr + "/v1/pki/ca")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			body, _ = io.ReadAll(resp.Body)
			return resp.StatusCode == 200
		})
		if !bytes.Equal(body, rootCert.Raw) {
			t.Fatalf("%s: pki/ca differs from the root", n.id)
		}
		resp, err := http.Get(n.addr + "/v1/pki/crl")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pkix-crl" {
			t.Fatalf("%s: pki/crl %d %q", n.id, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}
