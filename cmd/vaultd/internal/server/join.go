package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	"github.com/vaultd/vaultd/core"
)

// joinLeader is the HTTP side of a join: one leader candidate's API
// (core.JoinTransport).
type joinLeader struct {
	addr   string // leader_api_addr
	client *http.Client
}

var _ core.JoinTransport = (*joinLeader)(nil)

// joinTLS is the TLS material to reach a leader's API (PEM).
type joinTLS struct {
	CACert, ClientCert, ClientKey []byte
	ServerName                    string
}

func newJoinLeader(addr string, t joinTLS, src net.IP) (*joinLeader, error) {
	addr = strings.TrimSuffix(strings.TrimSpace(addr), "/")
	if !strings.HasPrefix(addr, "http://") && !strings.HasPrefix(addr, "https://") {
		return nil, fmt.Errorf("leader_api_addr %q must start with http:// or https://", addr)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if len(t.CACert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(t.CACert) {
			return nil, fmt.Errorf("leader_ca_cert for %s holds no PEM certificate", addr)
		}
		tc.RootCAs = pool
	}
	if len(t.ClientCert) > 0 || len(t.ClientKey) > 0 {
		cert, err := tls.X509KeyPair(t.ClientCert, t.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("leader client certificate for %s: %w", addr, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return &joinLeader{addr: addr, client: &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DialContext:           dialerFrom(src).DialContext,
			TLSClientConfig:       tc,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 15 * time.Second,
		},
	}}, nil
}

func (j *joinLeader) Leader() string { return j.addr }

// challengeWire and answerWire are the bootstrap endpoints' bodies.
type challengeWire struct {
	Challenge     []byte `json:"challenge"`
	SealConfig    []byte `json:"seal_config"`
	SealedRootKey []byte `json:"sealed_root_key"`
	Keyring       []byte `json:"keyring"`
	WrappedKey    []byte `json:"wrapped_unseal_key,omitempty"`
}

type answerReqWire struct {
	ServerID    string `json:"server_id"`
	Answer      []byte `json:"answer"`
	ClusterAddr string `json:"cluster_addr"`
	APIAddr     string `json:"api_addr"`
	NonVoter    bool   `json:"non_voter"`
}

type answerRespWire struct {
	TLS []byte `json:"tls"`
}

func (j *joinLeader) call(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, j.addr+"/v1/"+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", errLeaderUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: reading the answer: %v", errLeaderUnreachable, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("%w: %s answered %d: %s", errLeaderRefused, j.addr, resp.StatusCode, strings.Join(e.Errors, "; "))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: bad answer from %s: %v", errLeaderRefused, j.addr, err)
	}
	return nil
}

// Join errors.
var (
	errLeaderUnreachable = errors.New("leader unreachable")
	errLeaderRefused     = errors.New("leader refused")
)

func (j *joinLeader) Challenge(ctx context.Context, serverID string) (*core.JoinChallenge, error) {
	var w challengeWire
	if err := j.call(ctx, "sys/storage/raft/bootstrap/challenge", map[string]string{"server_id": serverID}, &w); err != nil {
		return nil, err
	}
	return &core.JoinChallenge{Challenge: w.Challenge, SealConfig: w.SealConfig, SealedRootKey: w.SealedRootKey, Keyring: w.Keyring, WrappedKey: w.WrappedKey}, nil
}

func (j *joinLeader) Answer(ctx context.Context, a core.JoinAnswer) (*core.JoinAnswerResult, error) {
	var w answerRespWire
	in := answerReqWire{ServerID: a.ServerID, Answer: a.Answer, ClusterAddr: a.ClusterAddr, APIAddr: a.APIAddr, NonVoter: a.NonVoter}
	if err := j.call(ctx, "sys/storage/raft/bootstrap/answer", in, &w); err != nil {
		return nil, err
	}
	return &core.JoinAnswerResult{TLS: w.TLS}, nil
}

// retryJoinLeaders turns the retry_join blocks into leader candidates.
// dialerFrom dials from src (nil: any address).
func dialerFrom(src net.IP) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	return d
}

func retryJoinLeaders(blocks []config.RetryJoin, src net.IP, log *slog.Logger) []*joinLeader {
	var out []*joinLeader
	for _, b := range blocks {
		if b.LeaderAPIAddr == "" {
			log.Warn("retry_join without leader_api_addr ignored (auto_join is not supported)")
			continue
		}
		t := joinTLS{CACert: []byte(b.LeaderCACert), ClientCert: []byte(b.LeaderClientCert), ClientKey: b.LeaderClientKey, ServerName: b.LeaderTLSServerName}
		for _, f := range []struct {
			path string
			dst  *[]byte
		}{{b.LeaderCACertFile, &t.CACert}, {b.LeaderClientCertFile, &t.ClientCert}, {b.LeaderClientKeyFile, &t.ClientKey}} {
			if f.path == "" {
				continue
			}
			v, err := os.ReadFile(f.path)
			if err != nil {
				log.Error("retry_join: reading TLS file", "leader", b.LeaderAPIAddr, "file", f.path, "error", err)
				continue
			}
			*f.dst = v
		}
		l, err := newJoinLeader(b.LeaderAPIAddr, t, src)
		if err != nil {
			log.Error("retry_join entry ignored", "error", err)
			continue
		}
		out = append(out, l)
	}
	return out
}

// startJoinLoop runs joinLoop in the background unless one is already
// running: a node runs at most one join loop, however many
// sys/storage/raft/join calls (anonymous on a fresh node) it gets.
func (n *Node) startJoinLoop(leaders []*joinLeader) bool {
	if len(leaders) == 0 || !n.joining.CompareAndSwap(false, true) {
		return false
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer n.joining.Store(false)
		n.joinLoop(n.runCtx, leaders)
	}()
	return true
}

// joinLoop tries the leaders in turn, with backoff, until this node has a
// pending join (it then waits for the operators' unseal) or belongs to a
// cluster. A join challenge expires, so a pending join that sits unsealed
// for longer is asked again.
func (n *Node) joinLoop(ctx context.Context, leaders []*joinLeader) {
	if len(leaders) == 0 {
		return
	}
	delay := 500 * time.Millisecond
	var pendingSince time.Time
	for attempt := 0; ; attempt++ {
		pending := n.Core.JoinPending()
		if !pending && n.Core.Status(ctx).Initialized {
			return
		}
		if !pending || time.Since(pendingSince) > 4*time.Minute { // challenges expire after 5 minutes
			for _, l := range leaders {
				jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				err := n.Core.Join(jctx, l)
				cancel()
				if err == nil {
					pendingSince = time.Now()
					delay = 500 * time.Millisecond
					break
				}
				if errors.Is(err, core.ErrAlreadyJoined) {
					return
				}
				lv := slog.LevelWarn
				if attempt%10 != 0 { // say it clearly now and then, not every retry
					lv = slog.LevelDebug
				}
				n.log.Log(ctx, lv, "join attempt failed; will retry", "leader", l.addr, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}
