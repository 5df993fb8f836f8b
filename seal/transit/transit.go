// Package transit is the "transit" auto seal: a seal.Wrapper that has a
// remote vault's transit engine (vaultd's, Vault's or OpenBao's) encrypt
// and decrypt the unseal key, over that vault's HTTP API
// (POST /v1/<mount>/encrypt/<key> and /decrypt/<key>). It also keeps its
// token alive with auth/token/renew-self unless renewal is disabled.
//
// The token, the plaintext and the remote's answers never appear in logs
// or errors.
package transit

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Type is the seal type.
const Type = "transit"

// Config is the seal "transit" stanza.
type Config struct {
	Address     string // https://vault:8200
	Token       string
	MountPath   string // "transit/"
	KeyName     string
	KeyIDPrefix string // prefixed to the key ID recorded with each wrapped value

	TLSCACert     string // PEM file
	TLSClientCert string
	TLSClientKey  string
	TLSServerName string
	TLSSkipVerify bool

	DisableRenewal bool
	Logger         *slog.Logger
	// HTTPClient overrides the client built from the TLS settings (tests).
	HTTPClient *http.Client
}

// Seal is the transit auto seal. Safe for concurrent use.
type Seal struct {
	cfg    Config
	base   *url.URL
	client *http.Client
	log    *slog.Logger
	token  string
}

// New checks cfg and builds the seal. It does not contact the remote.
func New(cfg Config) (*Seal, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"address", cfg.Address}, {"token", cfg.Token}, {"mount_path", cfg.MountPath}, {"key_name", cfg.KeyName},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("seal \"transit\": missing %s", strings.Join(missing, ", "))
	}
	u, err := url.Parse(strings.TrimRight(cfg.Address, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("seal \"transit\": address %q is not an http(s) URL", cfg.Address)
	}
	if strings.ContainsAny(cfg.KeyName, "/?#") {
		return nil, fmt.Errorf("seal \"transit\": key_name %q must be one path segment", cfg.KeyName)
	}
	cfg.MountPath = strings.Trim(cfg.MountPath, "/")
	s := &Seal{cfg: cfg, base: u, token: cfg.Token, log: cfg.Logger.With("component", "seal-transit")}
	if cfg.HTTPClient != nil {
		s.client = cfg.HTTPClient
	} else {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		s.client = &http.Client{
			Timeout:   15 * time.Second,
			Transport: &http.Transport{TLSClientConfig: tc, Proxy: nil, TLSHandshakeTimeout: 5 * time.Second},
		}
	}
	return s, nil
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLSServerName, InsecureSkipVerify: cfg.TLSSkipVerify} //nolint:gosec // operator's explicit tls_skip_verify
	if cfg.TLSCACert != "" {
		pem, err := os.ReadFile(cfg.TLSCACert)
		if err != nil {
			return nil, fmt.Errorf("seal \"transit\": tls_ca_cert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("seal \"transit\": tls_ca_cert %s holds no PEM certificate", cfg.TLSCACert)
		}
		tc.RootCAs = pool
	}
	if (cfg.TLSClientCert == "") != (cfg.TLSClientKey == "") {
		return nil, errors.New("seal \"transit\": tls_client_cert and tls_client_key go together")
	}
	if cfg.TLSClientCert != "" {
		c, err := tls.LoadX509KeyPair(cfg.TLSClientCert, cfg.TLSClientKey)
		if err != nil {
			return nil, fmt.Errorf("seal \"transit\": client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc, nil
}

// Type implements seal.Wrapper.
func (s *Seal) Type() string { return Type }

// keyID is recorded with every wrapped value, so a value wrapped by
// another transit seal is told apart from a decryption failure.
func (s *Seal) keyID() string { return s.cfg.KeyIDPrefix + s.cfg.MountPath + "/" + s.cfg.KeyName }

// blob is the stored form of a wrapped value.
type blob struct {
	KeyID      string `json:"key_id"`
	Ciphertext string `json:"ciphertext"`
}

// Encrypt implements seal.Wrapper.
func (s *Seal) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	in := map[string]string{"plaintext": base64.StdEncoding.EncodeToString(plaintext)}
	var out struct {
		Data struct {
			Ciphertext string `json:"ciphertext"`
		} `json:"data"`
	}
	if err := s.call(ctx, "encrypt", in, &out); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(out.Data.Ciphertext, "vault:") {
		return nil, errors.New("transit seal: the remote returned no ciphertext")
	}
	return json.Marshal(blob{KeyID: s.keyID(), Ciphertext: out.Data.Ciphertext})
}

// Decrypt implements seal.Wrapper.
func (s *Seal) Decrypt(ctx context.Context, wrapped []byte) ([]byte, error) {
	var b blob
	if err := json.Unmarshal(wrapped, &b); err != nil || b.Ciphertext == "" {
		return nil, errors.New("transit seal: the stored wrapped key is malformed")
	}
	if b.KeyID != s.keyID() {
		return nil, fmt.Errorf("transit seal: the stored key was wrapped by %q, this seal is configured with %q", b.KeyID, s.keyID())
	}
	var out struct {
		Data struct {
			Plaintext string `json:"plaintext"`
		} `json:"data"`
	}
	if err := s.call(ctx, "decrypt", map[string]string{"ciphertext": b.Ciphertext}, &out); err != nil {
		return nil, err
	}
	pt, err := base64.StdEncoding.DecodeString(out.Data.Plaintext)
	if err != nil {
		return nil, errors.New("transit seal: the remote returned a malformed plaintext")
	}
	return pt, nil
}

// ErrUnavailable wraps a failure to reach the remote (network, 5xx, 429):
// worth retrying. Other errors (403, 400) are the remote's refusal.
var ErrUnavailable = errors.New("transit seal: the remote vault is unavailable")

func (s *Seal) call(ctx context.Context, op string, in any, out any) error {
	return s.do(ctx, http.MethodPost, s.cfg.MountPath+"/"+op+"/"+url.PathEscape(s.cfg.KeyName), in, out)
}

func (s *Seal) do(ctx context.Context, method, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	defer clear(body)
	u := *s.base
	u.Path = strings.TrimRight(u.Path, "/") + "/v1/" + path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Vault-Token", s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is fine to show, but keep messages short
		}
		return fmt.Errorf("%w: %s %s: %v", ErrUnavailable, method, s.base.Host, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: reading the answer: %v", ErrUnavailable, err)
	}
	defer clear(raw)
	if resp.StatusCode/100 != 2 {
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(raw, &e)
		msg := fmt.Sprintf("transit seal: %s /v1/%s answered %d: %s", method, path, resp.StatusCode, clipErrors(e.Errors))
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return fmt.Errorf("%w: %s", ErrUnavailable, msg)
		}
		return errors.New(msg)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("transit seal: /v1/%s: malformed answer", path)
	}
	return nil
}

// clipErrors joins the remote's error messages, bounded. The remote's
// errors never hold our plaintext (we send only ciphertext to decrypt and
// the remote does not echo input).
func clipErrors(errs []string) string {
	s := strings.Join(errs, "; ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// tokenInfo is what renewal needs from lookup-self and renew-self.
type tokenInfo struct {
	TTL       time.Duration
	Renewable bool
}

func (s *Seal) lookupSelf(ctx context.Context) (tokenInfo, error) {
	var out struct {
		Data struct {
			TTL       int64 `json:"ttl"`
			Renewable bool  `json:"renewable"`
		} `json:"data"`
	}
	if err := s.do(ctx, http.MethodGet, "auth/token/lookup-self", nil, &out); err != nil {
		return tokenInfo{}, err
	}
	return tokenInfo{TTL: time.Duration(out.Data.TTL) * time.Second, Renewable: out.Data.Renewable}, nil
}

func (s *Seal) renewSelf(ctx context.Context) (tokenInfo, error) {
	var out struct {
		Auth struct {
			LeaseDuration int64 `json:"lease_duration"`
			Renewable     bool  `json:"renewable"`
		} `json:"auth"`
	}
	if err := s.do(ctx, http.MethodPost, "auth/token/renew-self", map[string]any{}, &out); err != nil {
		return tokenInfo{}, err
	}
	return tokenInfo{TTL: time.Duration(out.Auth.LeaseDuration) * time.Second, Renewable: out.Auth.Renewable}, nil
}

// RenewLoop keeps the token alive until ctx ends: it looks the token up,
// and renews it at half its remaining TTL, retrying with backoff (capped at
// a minute, and never later than the token's expiry allows) when the
// remote is unreachable. A token without a TTL (root, periodic with no
// expiry) or that is not renewable needs nothing. With DisableRenewal it
// returns at once.
func (s *Seal) RenewLoop(ctx context.Context) {
	if s.cfg.DisableRenewal {
		return
	}
	backoff := time.Second
	info, err := s.lookupSelf(ctx)
	for {
		var wait time.Duration
		switch {
		case err != nil:
			s.log.Warn("transit seal: token lookup/renewal failed; retrying", "error", err, "retry_in", backoff)
			wait = backoff
			backoff = min(2*backoff, time.Minute)
		case info.TTL <= 0:
			s.log.Info("transit seal: the token does not expire; no renewal needed")
			return
		case !info.Renewable:
			s.log.Warn("transit seal: the token is not renewable; it expires", "ttl", info.TTL)
			return
		default:
			backoff = time.Second
			wait = max(info.TTL/2, time.Second)
			s.log.Debug("transit seal: token renewal scheduled", "in", wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err == nil {
			info, err = s.renewSelf(ctx)
			if err == nil {
				s.log.Info("transit seal: token renewed", "ttl", info.TTL)
			}
		} else {
			info, err = s.lookupSelf(ctx)
		}
	}
}
