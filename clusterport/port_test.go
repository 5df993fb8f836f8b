package clusterport

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func newPort(t *testing.T) *Port {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := New(Config{Listener: ln, HandshakeTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func issue(t *testing.T, ca *CA, id string) *Material {
	t.Helper()
	m, err := ca.Issue(id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// echoRaft accepts one raft connection on p and echoes what it reads.
func echoRaft(t *testing.T, p *Port) {
	t.Helper()
	go func() {
		c, err := p.Raft().Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
}

func TestPort_ALPNDispatch(t *testing.T) {
	ca := newCA(t)
	srv, cli := newPort(t), newPort(t)
	if err := srv.SetMaterial(issue(t, ca, "srv")); err != nil {
		t.Fatal(err)
	}
	if err := cli.SetMaterial(issue(t, ca, "cli")); err != nil {
		t.Fatal(err)
	}
	srv.SetForwardHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
		_, _ = io.WriteString(w, "forwarded "+r.URL.Path)
	}))

	// Raft: bytes reach the raft layer's Accept.
	echoRaft(t, srv)
	c, err := cli.Raft().Dial(raft.ServerAddress("127.0.0.1:"+portOf(srv)), 2*time.Second)
	if err != nil {
		t.Fatalf("raft dial: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("raft echo = %q, %v", buf, err)
	}

	// Forwarding: HTTP/2 served by the forward handler.
	hc := &http.Client{Transport: h2cTransport(cli), Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + srv.Addr() + "/v1/x")
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "forwarded /v1/x" || resp.Header.Get("X-Proto") != "HTTP/2.0" {
		t.Fatalf("forward answer = %q %q", body, resp.Header.Get("X-Proto"))
	}
}

func h2cTransport(p *Port) *http.Transport {
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	return &http.Transport{
		Protocols:   &protos,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) { return p.DialForward(ctx, addr) },
	}
}

func portOf(p *Port) string {
	_, port, _ := net.SplitHostPort(p.Addr())
	return port
}

func TestPort_RefusesPeersWithoutClusterCert(t *testing.T) {
	ca := newCA(t)
	srv := newPort(t)
	if err := srv.SetMaterial(issue(t, ca, "srv")); err != nil {
		t.Fatal(err)
	}
	srv.SetForwardHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("a refused peer reached the handler") }))
	go func() { // nothing may reach raft either
		if c, err := srv.Raft().Accept(); err == nil {
			t.Error("a refused peer reached raft")
			c.Close()
		}
	}()
	good := issue(t, ca, "x")
	goodCert, err := tls.X509KeyPair(good.NodeCertPEM, good.NodeKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	other := issue(t, newCA(t), "intruder")
	otherCert, err := tls.X509KeyPair(other.NodeCertPEM, other.NodeKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := good.Compile()
	cases := []struct {
		name string
		cfg  *tls.Config
	}{
		{"no client certificate", &tls.Config{RootCAs: m.Pool, ServerName: ServerName, NextProtos: []string{ProtoRaft}}},
		{"certificate from another CA", &tls.Config{RootCAs: m.Pool, ServerName: ServerName, NextProtos: []string{ProtoRaft}, Certificates: []tls.Certificate{otherCert}}},
		{"unknown protocol", &tls.Config{RootCAs: m.Pool, ServerName: ServerName, NextProtos: []string{"h2"}, Certificates: []tls.Certificate{goodCert}}},
		{"no protocol", &tls.Config{RootCAs: m.Pool, ServerName: ServerName, Certificates: []tls.Certificate{goodCert}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.MinVersion = tls.VersionTLS13
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", srv.Addr(), tc.cfg)
			if err != nil {
				return // refused in the handshake
			}
			defer c.Close()
			// TLS 1.3: a client-certificate failure surfaces on the first read.
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			_, _ = c.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatalf("peer was served")
			}
		})
	}

	// A dialler holding another CA's material refuses our server too.
	cli := newPort(t)
	if err := cli.SetMaterial(other); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Raft().Dial(raft.ServerAddress(srv.Addr()), time.Second); err == nil {
		t.Fatal("dial to a server of another cluster succeeded")
	}
}

func TestPort_NoMaterialUntilUnsealed(t *testing.T) {
	ca := newCA(t)
	srv, cli := newPort(t), newPort(t)
	if err := cli.SetMaterial(issue(t, ca, "cli")); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Raft().Dial(raft.ServerAddress(cli.Addr()), time.Second); !errors.Is(err, ErrNoMaterial) {
		t.Fatalf("dial without material = %v, want ErrNoMaterial", err)
	}
	if _, err := cli.Raft().Dial(raft.ServerAddress(srv.Addr()), time.Second); err == nil {
		t.Fatal("handshake with a node without material succeeded")
	}
	// Once the material arrives (unseal), the same port works.
	if err := srv.SetMaterial(issue(t, ca, "srv")); err != nil {
		t.Fatal(err)
	}
	echoRaft(t, srv)
	c, err := cli.Raft().Dial(raft.ServerAddress(srv.Addr()), 2*time.Second)
	if err != nil {
		t.Fatalf("dial after SetMaterial: %v", err)
	}
	c.Close()
}

func TestMaterial_EncodeDecode(t *testing.T) {
	ca := newCA(t)
	enc, err := ca.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ca2, err := DecodeCA(enc)
	if err != nil {
		t.Fatal(err)
	}
	m := issue(t, ca2, "n1")
	menc, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeMaterial(menc); err != nil {
		t.Fatal(err)
	}
	// A node certificate from another CA does not validate against this CA.
	other := issue(t, newCA(t), "n2")
	mixed := &Material{CACertPEM: m.CACertPEM, NodeCertPEM: other.NodeCertPEM, NodeKeyPEM: other.NodeKeyPEM}
	b, _ := mixed.Encode()
	if _, err := DecodeMaterial(b); !errors.Is(err, ErrBadMaterial) {
		t.Fatalf("mixed material = %v, want ErrBadMaterial", err)
	}
	// Keys never print.
	if s := strings.ToLower(m.NodeKeyPEM.String()); strings.Contains(s, "private") {
		t.Fatal("node key printed")
	}
	for _, bad := range []string{"", "{}", `{"cert":"eA=="}`, "null", "[1]"} {
		if _, err := DecodeCA([]byte(bad)); !errors.Is(err, ErrBadMaterial) {
			t.Errorf("DecodeCA(%q) = %v", bad, err)
		}
		if _, err := DecodeMaterial([]byte(bad)); !errors.Is(err, ErrBadMaterial) {
			t.Errorf("DecodeMaterial(%q) = %v", bad, err)
		}
	}
}

func FuzzDecodeMaterial(f *testing.F) {
	ca, err := NewCA("fuzz")
	if err != nil {
		f.Fatal(err)
	}
	m, err := ca.Issue("n")
	if err != nil {
		f.Fatal(err)
	}
	b, _ := m.Encode()
	cb, _ := ca.Encode()
	f.Add([]byte(b))
	f.Add([]byte(cb))
	f.Add([]byte(`{"ca_cert":"","cert":"","key":""}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if m, err := DecodeMaterial(in); err == nil && m == nil {
			t.Fatal("nil material without error")
		}
		if c, err := DecodeCA(in); err == nil && c == nil {
			t.Fatal("nil CA without error")
		}
	})
}

// TestPort_Replication: a DR secondary's certificate (issued by the
// primary's CA) reaches the replication handler with its ID, and nothing
// else; a node certificate cannot speak the replication protocol; without
// a handler the stream is closed.
func TestPort_Replication(t *testing.T) {
	ca := newCA(t)
	srv, node, sec := newPort(t), newPort(t), newPort(t)
	if err := srv.SetMaterial(issue(t, ca, "srv")); err != nil {
		t.Fatal(err)
	}
	if err := node.SetMaterial(issue(t, ca, "node")); err != nil {
		t.Fatal(err)
	}
	// The secondary cluster has its own CA for its own peers.
	if err := sec.SetMaterial(issue(t, newCA(t), "s1")); err != nil {
		t.Fatal(err)
	}
	peer, err := IssueReplicationPeer(ca, "dr-east")
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + portOf(srv)

	// No handler yet: closed.
	expectClosed := func(what string, c net.Conn) {
		t.Helper()
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatalf("%s: the connection was served", what)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%s: the connection was left open", what)
		}
	}
	c, err := sec.DialReplication(context.Background(), addr, peer)
	if err != nil {
		t.Fatalf("DialReplication: %v", err)
	}
	expectClosed("no handler", c)

	got := make(chan string, 4)
	srv.SetReplicationHandler(func(conn net.Conn, id string) {
		defer conn.Close()
		got <- id
		_, _ = conn.Write([]byte("ok"))
	})
	c, err = sec.DialReplication(context.Background(), addr, peer)
	if err != nil {
		t.Fatalf("DialReplication: %v", err)
	}
	buf := make([]byte, 2)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("replication answer %q, %v", buf, err)
	}
	c.Close()
	if id := <-got; id != "dr-east" {
		t.Fatalf("peer id = %q", id)
	}

	// A node certificate of the primary's cluster cannot speak replication.
	nodeMat := issue(t, ca, "n2")
	c, err = node.DialReplication(context.Background(), addr, nodeMat)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	expectClosed("node cert on replication", c)

	// The secondary's certificate cannot speak raft or forwarding.
	for _, proto := range []string{ProtoRaft, ProtoForward} {
		st, err := peer.Compile()
		if err != nil {
			t.Fatal(err)
		}
		c, err := sec.dialWith(context.Background(), addr, proto, st)
		if err != nil {
			t.Fatalf("dial %s: %v", proto, err)
		}
		expectClosed("replication peer on "+proto, c)
	}
	// A certificate from another CA is refused in the handshake.
	// (TLS 1.3: the client may finish its side before the server's alert.)
	if c, err := sec.DialReplication(context.Background(), addr, issue(t, newCA(t), ReplicationPeerPrefix+"x")); err == nil {
		expectClosed("replication peer from another CA", c)
	}
	select {
	case id := <-got:
		t.Fatalf("handler reached by %q", id)
	default:
	}
}
