package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

// Listener defaults, as Vault's.
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultIdleTimeout       = 5 * time.Minute
)

// httpServer applies the listener's HTTP timeouts. A zero setting takes
// Vault's default (read-header 10 s, read 30 s, idle 5 min, no write
// timeout). The read timeout covers headers and body, so a client that
// sends a Content-Length and then stalls is cut off.
func httpServer(l config.Listener, h http.Handler, log *slog.Logger) *http.Server {
	or := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	return &http.Server{
		Handler:           growStackOnce(h), // stackgrow.go
		ConnContext:       connStackContext,
		ReadHeaderTimeout: or(l.HTTPReadHeaderTimeout, defaultReadHeaderTimeout),
		ReadTimeout:       or(l.HTTPReadTimeout, defaultReadTimeout),
		WriteTimeout:      l.HTTPWriteTimeout,
		IdleTimeout:       or(l.HTTPIdleTimeout, defaultIdleTimeout),
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// listenerTLS builds the API listener's TLS configuration from every tls_*
// setting vaultd accepts; none is accepted and ignored.
func listenerTLS(l config.Listener) (*tls.Config, error) {
	where := "listener " + l.Address
	cert, err := tls.LoadX509KeyPair(l.TLSCertFile, l.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%s: loading TLS certificate: %w", where, err)
	}
	minV, err := tlsVersion(l.TLSMinVersion, tls.VersionTLS12)
	if err != nil {
		return nil, fmt.Errorf("%s: tls_min_version: %w", where, err)
	}
	maxV, err := tlsVersion(l.TLSMaxVersion, tls.VersionTLS13)
	if err != nil {
		return nil, fmt.Errorf("%s: tls_max_version: %w", where, err)
	}
	if minV > maxV {
		return nil, fmt.Errorf("%s: tls_min_version is above tls_max_version", where)
	}
	suites, err := config.CipherSuiteIDs(l.TLSCipherSuites)
	if err != nil {
		return nil, fmt.Errorf("%s: tls_cipher_suites: %w", where, err)
	}
	if len(suites) > 0 && minV == tls.VersionTLS13 {
		return nil, fmt.Errorf("%s: tls_cipher_suites applies to TLS 1.2 only, but tls_min_version is tls13", where)
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   minV,
		MaxVersion:   maxV,
		CipherSuites: suites,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if l.TLSClientCAFile != "" {
		pem, err := os.ReadFile(l.TLSClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: tls_client_ca_file: %w", where, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: tls_client_ca_file %s holds no PEM certificate", where, l.TLSClientCAFile)
		}
		tc.ClientCAs = pool
	}
	switch {
	case l.TLSRequireAndVerifyClientCert:
		if tc.ClientCAs == nil {
			return nil, fmt.Errorf("%s: tls_require_and_verify_client_cert needs tls_client_ca_file", where)
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	case l.TLSDisableClientCerts:
		if tc.ClientCAs != nil {
			return nil, fmt.Errorf("%s: tls_client_ca_file is set but tls_disable_client_certs disables client certificates", where)
		}
		tc.ClientAuth = tls.NoClientCert
	case tc.ClientCAs != nil:
		// A client certificate is optional, but one that is presented must
		// chain to the configured CA.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	default:
		tc.ClientAuth = tls.NoClientCert
	}
	return tc, nil
}

func tlsVersion(s string, def uint16) (uint16, error) {
	switch s {
	case "":
		return def, nil
	case "tls12":
		return tls.VersionTLS12, nil
	case "tls13":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("%q is not tls12 or tls13", s)
}

// xffConfig turns the listener's x_forwarded_for_* settings into the API's.
func xffConfig(l config.Listener) (*api.XFFConfig, error) {
	if len(l.XFFAuthorizedAddrs) == 0 {
		return nil, nil
	}
	ps, err := config.ParsePrefixes(l.XFFAuthorizedAddrs)
	if err != nil {
		return nil, fmt.Errorf("listener %s: x_forwarded_for_authorized_addrs: %w", l.Address, err)
	}
	return &api.XFFConfig{AuthorizedAddrs: ps, HopSkips: l.XFFHopSkips,
		AllowNotAuthorized: l.XFFAllowNotAuthorized, AllowNotPresent: l.XFFAllowNotPresent}, nil
}
