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

// loadServerConfig builds a non-dev server configuration from the -config
// paths (files or directories) and the document in VAULTD_LOCAL_CONFIG /
// VAULT_LOCAL_CONFIG, merged in that order as Vault's container image does
// (its entrypoint writes VAULT_LOCAL_CONFIG into the config directory).
// Only one source may define storage. A config directory without *.hcl or
// *.json files is accepted when the environment holds a document, so the
// container image's empty /vault/config works with env-only
// configuration. Environment overrides (VAULT_API_ADDR, ...) are applied and
// the result is validated.
func loadServerConfig(paths []string, getenv func(string) string) (*config.Config, error) {
	env, err := config.FromEnv(getenv)
	if err != nil && !errors.Is(err, config.ErrNoEnvConfig) {
		return nil, err
	}
	var cfg *config.Config
	storageFrom := ""
	add := func(c *config.Config, source string) error {
		if c.Storage != nil {
			if storageFrom != "" {
				return fmt.Errorf("%w: %s defines storage, but %s already does; define it once", config.ErrInvalid, source, storageFrom)
			}
			storageFrom = source
		}
		cfg = cfg.Merge(c)
		return nil
	}
	for _, p := range paths {
		c, err := config.Load(p)
		switch {
		case errors.Is(err, config.ErrNoConfigFiles) && env != nil:
			continue // the image's empty config directory; the document comes from the environment
		case errors.Is(err, config.ErrNoConfigFiles):
			return nil, fmt.Errorf("%w (add a config file there or set %s)", err, config.EnvLocalConfig)
		case err != nil:
			return nil, err
		}
		if err := add(c, p); err != nil {
			return nil, err
		}
	}
	if env != nil {
		if err := add(env, "the environment ($"+config.EnvLocalConfig+")"); err != nil {
			return nil, err
		}
	}
	if cfg == nil {
		return nil, errNoConfig
	}
	cfg.ApplyEnv(getenv)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// A missing or unreadable certificate is a configuration error: report
	// it now, before raft opens and the node starts logging.
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
