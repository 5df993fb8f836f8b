package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

// errNoConfig is returned when no -config path is given and the
// environment holds no configuration document.
var errNoConfig = errors.New("no configuration: pass -config FILE|DIR, set VAULTD_LOCAL_CONFIG, or use -dev")

// loadServerConfig builds a non-dev server configuration with
// config.Resolve: the -config paths (files or directories) and the document
// in VAULTD_LOCAL_CONFIG / VAULT_LOCAL_CONFIG, merged in that order as
// Vault's container image does, storage defined once, env overrides and
// defaults applied, validated. An empty config directory is accepted when
// the environment holds the document (the image's empty /vault/config).
// On top of Resolve it turns "nothing given" and "empty directory" into
// errors that say what to do, and loads TLS certificates now, so a missing
// one fails before raft opens.
func loadServerConfig(paths []string, getenv func(string) string) (*config.Config, error) {
	cfg, err := config.Resolve(paths, getenv)
	switch {
	case err == nil:
	case len(paths) == 0 && errors.Is(err, config.ErrNoEnvConfig):
		return nil, errNoConfig
	case errors.Is(err, config.ErrNoConfigFiles):
		return nil, fmt.Errorf("%w (add a config file there or set %s)", err, config.EnvLocalConfig)
	default:
		return nil, err
	}
	for _, l := range cfg.Listeners {
		if l.TLSDisable {
			continue
		}
		if _, err := tls.LoadX509KeyPair(l.TLSCertFile, l.TLSKeyFile); err != nil {
			return nil, fmt.Errorf("listener %s: loading TLS certificate: %w", l.Address, err)
		}
	}
	return cfg, nil
}

// oneLine makes err print on a single line: config.Validate joins every
// problem it finds with newlines, and `vaultd server` reports a failed start
// with one line on stderr (what a container log or `kubectl logs` shows
// best). errors.Is and errors.As still see the original error.
func oneLine(err error) error {
	if err == nil || !strings.Contains(err.Error(), "\n") {
		return err
	}
	return &lineError{err: err}
}

type lineError struct{ err error }

func (e *lineError) Error() string {
	lines := strings.Split(strings.TrimSpace(e.err.Error()), "\n")
	kept := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "; ")
}

func (e *lineError) Unwrap() error { return e.err }
