package clusterport

import (
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// With LocalIP set, raft and forwarding connections leave from that
// address, so a firewall rule on node addresses cuts both (tests/faults).
func TestPort_DialsFromLocalIP(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs all of 127.0.0.0/8 on loopback (Linux)")
	}
	ca := newCA(t)
	srvLn, err := net.Listen("tcp", "127.0.77.22:0")
	if err != nil {
		t.Skipf("cannot bind 127.0.77.22: %v", err)
	}
	srv := New(Config{Listener: srvLn, HandshakeTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = srv.Close() })
	cliLn, err := net.Listen("tcp", "127.0.77.21:0")
	if err != nil {
		t.Skipf("cannot bind 127.0.77.21: %v", err)
	}
	cli := New(Config{Listener: cliLn, HandshakeTimeout: 2 * time.Second, LocalIP: net.ParseIP("127.0.77.21")})
	t.Cleanup(func() { _ = cli.Close() })
	for _, p := range []*Port{srv, cli} {
		if err := p.SetMaterial(issue(t, ca, p.Addr())); err != nil {
			t.Fatal(err)
		}
	}
	seen := make(chan string, 2)
	srv.SetForwardHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		seen <- host
	}))
	go func() {
		c, err := srv.Raft().Accept()
		if err != nil {
			return
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		seen <- host
		c.Close()
	}()
	c, err := cli.Raft().Dial(raft.ServerAddress(srv.Addr()), 2*time.Second)
	if err != nil {
		t.Fatalf("raft dial: %v", err)
	}
	defer c.Close()
	if got := <-seen; got != "127.0.77.21" {
		t.Fatalf("raft connection came from %s, want 127.0.77.21", got)
	}
	hc := &http.Client{Transport: h2cTransport(cli), Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + srv.Addr() + "/v1/x")
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	resp.Body.Close()
	if got := <-seen; got != "127.0.77.21" {
		t.Fatalf("forwarded request came from %s, want 127.0.77.21", got)
	}
}
