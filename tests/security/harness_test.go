package security

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/tests/internal/vaultproc"
)

var binPath string

func TestMain(m *testing.M) { vaultproc.Main(m, "vaultd-security-bin", &binPath) }

func freePort(t testing.TB) int {
	t.Helper()
	return vaultproc.FreePort(t, "127.0.0.1")
}

var waitFor = vaultproc.WaitFor

// node is one vaultd process.
type node struct {
	id   string
	addr string // http://127.0.0.1:port
	host string // 127.0.0.1:port
	p    *vaultproc.Proc
}

func (n *node) kill() { n.p.Kill() }

// listenerExtra is added to every node's listener stanza: the cluster sits
// behind a "load balancer" on 127.0.0.1, whose X-Forwarded-For is believed;
// a header from any other address is refused.
const listenerExtra = `
  x_forwarded_for_authorized_addrs   = "127.0.0.1/32"
  x_forwarded_for_reject_not_present = false
  http_read_timeout                  = "2s"
  max_request_size                   = 65536
`

func startNode(t *testing.T, id string, apiPort, clPort int, joins []string) *node {
	t.Helper()
	n, err := tryStartNode(t, id, apiPort, clPort, joins)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tryStartNode starts a node; an error means it exited before listening
// (typically a port taken since freePort chose it).
func tryStartNode(t *testing.T, id string, apiPort, clPort int, joins []string) (*node, error) {
	t.Helper()
	nc := vaultproc.Node{Dir: t.TempDir(), ID: id, APIPort: apiPort, ClusterPort: clPort, Joins: joins, Listener: listenerExtra}
	cfg := nc.Write(t)
	n := &node{id: id, addr: nc.Addr(), host: fmt.Sprintf("127.0.0.1:%d", apiPort)}
	p, err := vaultproc.TryStart(t, binPath, n.addr, vaultproc.Opts{}, "server", "-config", cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	n.p = p
	vaultproc.LogOnFailure(t, id, p, 40)
	return n, nil
}

// cluster is a running 3-node cluster: one active node and two standbys.
type cluster struct {
	nodes    []*node
	active   *node
	standbys []*node
	root     string
	key      string // the unseal key (1 of 1), base64
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{}
	for attempt := 1; ; attempt++ {
		var api, cl [3]int
		for i := range api {
			api[i], cl[i] = freePort(t), freePort(t)
		}
		first := fmt.Sprintf("http://127.0.0.1:%d", api[0])
		c.nodes = nil
		var err error
		for i, id := range []string{"node1", "node2", "node3"} {
			var joins []string
			if i > 0 {
				joins = []string{first}
			}
			var n *node
			if n, err = tryStartNode(t, id, api[i], cl[i], joins); err != nil {
				break
			}
			c.nodes = append(c.nodes, n)
		}
		if err == nil {
			break
		}
		for _, n := range c.nodes {
			n.kill()
		}
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("retrying the cluster start on other ports: %v", err)
	}
	vc := client(t, c.nodes[0], "127.0.0.1", "")
	init, err := vc.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	c.root, c.key = init.RootToken, init.KeysB64[0]
	for _, n := range c.nodes {
		nc := client(t, n, "127.0.0.1", "")
		waitFor(t, 30*time.Second, n.id+" to know the cluster's seal", func() bool {
			st, err := nc.Sys().SealStatus()
			return err == nil && st.Initialized && st.N == 1
		})
		if _, err := nc.Sys().Unseal(init.KeysB64[0]); err != nil {
			t.Fatalf("unseal %s: %v", n.id, err)
		}
	}
	waitFor(t, 30*time.Second, "one active node and two standbys that agree on it", func() bool {
		c.active, c.standbys = nil, nil
		for _, n := range c.nodes {
			h, err := client(t, n, "127.0.0.1", "").Sys().Health()
			if err != nil || h.Sealed {
				return false
			}
			if h.Standby {
				c.standbys = append(c.standbys, n)
			} else {
				c.active = n
			}
		}
		if c.active == nil || len(c.standbys) != 2 {
			return false
		}
		for _, n := range c.standbys {
			li, err := client(t, n, "127.0.0.1", "").Sys().Leader()
			if err != nil || li.LeaderAddress != c.active.addr {
				return false
			}
		}
		return true
	})
	// A standby forwards once it has the active node's cluster address.
	waitFor(t, 30*time.Second, "standbys to forward", func() bool {
		for _, n := range c.standbys {
			if _, err := client(t, n, "127.0.0.1", c.root).Auth().Token().LookupSelf(); err != nil {
				return false
			}
		}
		return true
	})
	return c
}

// client is a Vault API client talking to n from the loopback address src.
func client(t testing.TB, n *node, src, token string) *vaultapi.Client {
	t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = n.addr
	cfg.MaxRetries = 0
	cfg.Timeout = 15 * time.Second
	cfg.HttpClient = &http.Client{Transport: transportFrom(src), Timeout: 15 * time.Second}
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

func transportFrom(src string) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
}

// raw sends one request from src and returns the status and body.
func raw(t testing.TB, n *node, src, method, path, token string, body any, hdr map[string]string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, n.addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	hc := &http.Client{Transport: transportFrom(src), Timeout: 15 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// writePolicy stores a policy through the active node.
func (c *cluster) writePolicy(t *testing.T, name, hcl string) {
	t.Helper()
	if err := client(t, c.active, "127.0.0.1", c.root).Sys().PutPolicy(name, hcl); err != nil {
		t.Fatalf("policy %s: %v", name, err)
	}
}

// token creates a token as root with the given auth/token/create body.
func (c *cluster) token(t *testing.T, body map[string]any) string {
	t.Helper()
	path := "auth/token/create"
	if cidrs, ok := body["token_bound_cidrs"]; ok {
		// Tokens get CIDRs from a role (as in Vault).
		role := fmt.Sprintf("cidr-%d", time.Now().UnixNano())
		if _, err := client(t, c.active, "127.0.0.1", c.root).Logical().Write("auth/token/roles/"+role,
			map[string]any{"token_bound_cidrs": cidrs, "allowed_policies": body["policies"]}); err != nil {
			t.Fatalf("token role: %v", err)
		}
		path += "/" + role
	}
	s, err := client(t, c.active, "127.0.0.1", c.root).Logical().Write(path, body)
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	return s.Auth.ClientToken
}
