package clusterport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/vaultd/vaultd/clusterport/clustertls"
	"golang.org/x/net/http2"
)

// ALPN protocol names on the cluster port.
const (
	ProtoRaft    = "vaultd-raft/1"
	ProtoForward = "vaultd-fwd/1"
	// ProtoReplication carries a DR secondary's replication stream to the
	// primary's active node (package replication).
	ProtoReplication = "vaultd-repl/1"
)

// ReplicationPeerPrefix starts the certificate common name of a DR
// secondary (IssueReplicationPeer): a certificate from the cluster CA
// with that name may speak ProtoReplication and nothing else, and only
// such a certificate may speak ProtoReplication. A secondary cluster never
// reaches the primary's raft or forwarding. Node IDs never contain ':'
// (the configuration refuses them), so no node certificate has it.
const ReplicationPeerPrefix = "vaultd-replication-peer:"

// Errors.
var (
	// ErrNoMaterial: the node has no cluster TLS material yet (it is sealed
	// and was never unsealed since it started).
	ErrNoMaterial = errors.New("clusterport: no cluster TLS material yet (node not unsealed)")
	// ErrClosed: the port was closed.
	ErrClosed = errors.New("clusterport: closed")
	// ErrProtocol: the peer did not agree on the requested ALPN protocol.
	ErrProtocol = errors.New("clusterport: protocol not negotiated")
)

// Config configures a Port.
type Config struct {
	// Listener is the bound cluster listener (plain TCP); the Port owns it.
	Listener net.Listener
	// Advertise is the host:port peers dial; defaults to Listener.Addr().
	Advertise string
	Logger    *slog.Logger
	// HandshakeTimeout bounds each TLS handshake and dial (default 5 s).
	HandshakeTimeout time.Duration
	// LocalIP, when set, is the source address of every outgoing cluster
	// connection (raft and forwarding): on a multi-homed host the node
	// talks to its peers from the address it listens on.
	LocalIP net.IP
}

// Port is one node's cluster port. It is safe for concurrent use.
type Port struct {
	ln        net.Listener
	advertise string
	log       *slog.Logger
	hsTimeout time.Duration
	localIP   net.IP

	state atomic.Pointer[clustertls.Compiled]
	fwd   atomic.Pointer[http.Handler]
	repl  atomic.Pointer[func(conn net.Conn, peerID string)]
	h2    *http2.Server

	raftConns chan net.Conn
	raft      *raftLayer

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // forwarding connections being served
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// New starts serving cfg.Listener. Until SetMaterial is called every
// handshake fails.
func New(cfg Config) *Port {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 5 * time.Second
	}
	if cfg.Advertise == "" {
		cfg.Advertise = cfg.Listener.Addr().String()
	}
	p := &Port{
		ln:        cfg.Listener,
		advertise: cfg.Advertise,
		log:       cfg.Logger.With("component", "clusterport"),
		hsTimeout: cfg.HandshakeTimeout,
		localIP:   cfg.LocalIP,
		h2:        &http2.Server{IdleTimeout: 5 * time.Minute},
		raftConns: make(chan net.Conn),
		conns:     map[net.Conn]struct{}{},
		closed:    make(chan struct{}),
	}
	p.raft = &raftLayer{p: p, addr: addrString(cfg.Advertise), closed: make(chan struct{})}
	p.wg.Add(1)
	go p.acceptLoop()
	return p
}

// SetMaterial installs (or replaces) the node's TLS material; handshakes
// after it succeed with peers holding certificates from the same CA.
func (p *Port) SetMaterial(m *Material) error {
	c, err := m.Compile()
	if err != nil {
		return err
	}
	p.state.Store(c)
	return nil
}

// HasMaterial reports whether SetMaterial has been called.
func (p *Port) HasMaterial() bool { return p.state.Load() != nil }

// SetForwardHandler sets the handler that serves forwarded requests (the
// node's API handler chain). Until set, forwarding connections are closed.
func (p *Port) SetForwardHandler(h http.Handler) { p.fwd.Store(&h) }

// SetReplicationHandler sets the function that serves a DR secondary's
// replication stream; peerID is the secondary's ID from its certificate.
// It owns conn. Until set (and with nil), such connections are closed.
func (p *Port) SetReplicationHandler(h func(conn net.Conn, peerID string)) {
	if h == nil {
		p.repl.Store(nil)
		return
	}
	p.repl.Store(&h)
}

// Addr is the advertised address.
func (p *Port) Addr() string { return p.advertise }

// Raft returns the StreamLayer raft's NetworkTransport runs on.
func (p *Port) Raft() raft.StreamLayer { return p.raft }

func (p *Port) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{ProtoRaft, ProtoForward, ProtoReplication},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			st := p.state.Load()
			if st == nil {
				return nil, ErrNoMaterial
			}
			return &tls.Config{
				MinVersion:   tls.VersionTLS13,
				NextProtos:   []string{ProtoRaft, ProtoForward, ProtoReplication},
				Certificates: []tls.Certificate{st.Cert},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    st.Pool,
			}, nil
		},
	}
}

func (p *Port) acceptLoop() {
	defer p.wg.Done()
	var delay time.Duration
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			p.log.Error("cluster listener stopped", "error", err)
			return
		}
		delay = 0
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(conn)
		}()
	}
}

func (p *Port) handle(raw net.Conn) {
	tc := tls.Server(raw, p.serverConfig())
	ctx, cancel := context.WithTimeout(context.Background(), p.hsTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		p.log.Debug("cluster handshake refused", "remote", raw.RemoteAddr().String(), "error", err)
		_ = raw.Close()
		return
	}
	cs := tc.ConnectionState()
	peerID, isReplPeer := "", false
	if len(cs.PeerCertificates) > 0 {
		peerID, isReplPeer = strings.CutPrefix(cs.PeerCertificates[0].Subject.CommonName, ReplicationPeerPrefix)
	}
	if isReplPeer != (cs.NegotiatedProtocol == ProtoReplication) {
		p.log.Warn("cluster connection refused: a replication peer speaks only the replication protocol, and only it does",
			"remote", raw.RemoteAddr().String(), "protocol", cs.NegotiatedProtocol)
		_ = tc.Close()
		return
	}
	switch cs.NegotiatedProtocol {
	case ProtoReplication:
		hp := p.repl.Load()
		if hp == nil || peerID == "" || !p.track(tc) {
			_ = tc.Close()
			return
		}
		defer p.untrack(tc)
		(*hp)(tc, peerID)
	case ProtoRaft:
		select {
		case p.raftConns <- tc:
		case <-p.raft.closed:
			_ = tc.Close()
		case <-p.closed:
			_ = tc.Close()
		}
	case ProtoForward:
		hp := p.fwd.Load()
		if hp == nil || !p.track(tc) {
			_ = tc.Close()
			return
		}
		defer p.untrack(tc)
		p.h2.ServeConn(tc, &http2.ServeConnOpts{Handler: *hp, BaseConfig: &http.Server{ReadHeaderTimeout: 10 * time.Second}})
	default:
		_ = tc.Close()
	}
}

func (p *Port) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closed:
		return false
	default:
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Port) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

// netDialer binds outgoing connections to LocalIP (nil: the kernel picks).
func (p *Port) netDialer() *net.Dialer {
	if p.localIP == nil {
		return nil
	}
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: p.localIP}}
}

// dial opens an mTLS connection to addr speaking proto.
func (p *Port) dial(ctx context.Context, addr, proto string) (net.Conn, error) {
	st := p.state.Load()
	if st == nil {
		return nil, ErrNoMaterial
	}
	return p.dialWith(ctx, addr, proto, st)
}

// DialReplication opens a replication stream (ALPN vaultd-repl/1) to a
// primary cluster's node at addr with m, the material the primary issued
// to this secondary (IssueReplicationPeer): the primary's CA and the
// secondary's certificate, not this node's own cluster material.
func (p *Port) DialReplication(ctx context.Context, addr string, m *Material) (net.Conn, error) {
	st, err := m.Compile()
	if err != nil {
		return nil, err
	}
	return p.dialWith(ctx, addr, ProtoReplication, st)
}

func (p *Port) dialWith(ctx context.Context, addr, proto string, st *clustertls.Compiled) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.hsTimeout)
	defer cancel()
	d := tls.Dialer{NetDialer: p.netDialer(), Config: &tls.Config{
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{proto},
		Certificates: []tls.Certificate{st.Cert},
		RootCAs:      st.Pool,
		ServerName:   ServerName,
	}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("clusterport: dial %s: %w", addr, err)
	}
	tc := c.(*tls.Conn)
	if tc.ConnectionState().NegotiatedProtocol != proto {
		_ = c.Close()
		return nil, fmt.Errorf("%w: %s with %s", ErrProtocol, proto, addr)
	}
	return tc, nil
}

// DialForward opens a forwarding connection (ALPN vaultd-fwd/1) to a
// peer's cluster address. The returned conn hides its TLS type so an HTTP
// client speaks HTTP/2 over it with prior knowledge.
func (p *Port) DialForward(ctx context.Context, addr string) (net.Conn, error) {
	c, err := p.dial(ctx, addr, ProtoForward)
	if err != nil {
		return nil, err
	}
	return opaqueConn{c}, nil
}

type opaqueConn struct{ net.Conn }

// Close stops the listener, the raft layer and every forwarding connection,
// and waits for the port's goroutines.
func (p *Port) Close() error {
	var err error
	p.once.Do(func() {
		p.mu.Lock()
		close(p.closed)
		for c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		err = p.ln.Close()
		_ = p.raft.Close()
	})
	p.wg.Wait()
	return err
}

// raftLayer adapts the port to raft.StreamLayer.
type raftLayer struct {
	p      *Port
	addr   net.Addr
	once   sync.Once
	closed chan struct{}
}

func (r *raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-r.p.raftConns:
		return c, nil
	case <-r.closed:
		return nil, ErrClosed
	case <-r.p.closed:
		return nil, ErrClosed
	}
}

// Close stops Accept; raft calls it when its transport shuts down. The
// port itself (and forwarding) keeps running until Port.Close.
func (r *raftLayer) Close() error {
	r.once.Do(func() { close(r.closed) })
	return nil
}

func (r *raftLayer) Addr() net.Addr { return r.addr }

func (r *raftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return r.p.dial(ctx, string(address), ProtoRaft)
}

type addrString string

func (a addrString) Network() string { return "tcp" }
func (a addrString) String() string  { return string(a) }
