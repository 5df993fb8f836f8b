package jwt

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/vaultd/vaultd/auth/internal/entries"
	"github.com/vaultd/vaultd/auth/internal/jwtverify"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// configKey is where the mount's config lives in its view.
const configKey = "config"

// config is the record at config. It holds no secret.
type config struct {
	JWKSURL        string   `json:"jwks_url,omitempty"`
	JWKSCAPEM      string   `json:"jwks_ca_pem,omitempty"`
	PubKeys        []string `json:"jwt_validation_pubkeys,omitempty"`
	DiscoveryURL   string   `json:"oidc_discovery_url,omitempty"`
	DiscoveryCAPEM string   `json:"oidc_discovery_ca_pem,omitempty"`
	BoundIssuer    string   `json:"bound_issuer,omitempty"`
	SupportedAlgs  []string `json:"jwt_supported_algs,omitempty"`
	DefaultRole    string   `json:"default_role,omitempty"`
}

// unsupportedConfigFields are Vault config fields of the OIDC browser
// flow, which vaultd does not implement: they are refused, not ignored.
var unsupportedConfigFields = []string{
	"oidc_client_id", "oidc_client_secret", "oidc_response_mode",
	"oidc_response_types", "provider_config", "namespace_in_state",
}

// loadConfig returns the stored config, or nil when there is none.
func loadConfig(ctx context.Context, s storage.Backend) (*config, error) {
	return entries.Load[config](ctx, s, configKey, ErrCorrupt, "jwt")
}

// configRead serves GET config.
func (e *engine) configRead(ctx context.Context, req *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, notFound()
	}
	return &secrets.Response{Data: map[string]any{
		"jwks_url":               c.JWKSURL,
		"jwks_ca_pem":            c.JWKSCAPEM,
		"jwt_validation_pubkeys": tokenparams.NonNil(c.PubKeys),
		"oidc_discovery_url":     c.DiscoveryURL,
		"oidc_discovery_ca_pem":  c.DiscoveryCAPEM,
		"bound_issuer":           c.BoundIssuer,
		"jwt_supported_algs":     tokenparams.NonNil(c.SupportedAlgs),
		"default_role":           c.DefaultRole,
	}}, nil
}

// configWrite serves POST config. As in Vault, a write replaces the whole
// config; it is checked (keys parsed, URLs fetched) before it is stored.
func (e *engine) configWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	for _, f := range unsupportedConfigFields {
		if d.Has(f) {
			return nil, invalidf("%q is not supported: vaultd's jwt auth method verifies JWTs and has no OIDC browser login", f)
		}
	}
	c := config{
		JWKSURL:        strings.TrimSpace(d.String("jwks_url")),
		JWKSCAPEM:      strings.TrimSpace(d.String("jwks_ca_pem")),
		DiscoveryURL:   strings.TrimSpace(d.String("oidc_discovery_url")),
		DiscoveryCAPEM: strings.TrimSpace(d.String("oidc_discovery_ca_pem")),
		BoundIssuer:    strings.TrimSpace(d.String("bound_issuer")),
		DefaultRole:    strings.TrimSpace(d.String("default_role")),
	}
	// One string may hold several PEM blocks; a list item too.
	for _, p := range d.Strings("jwt_validation_pubkeys") {
		c.PubKeys = append(c.PubKeys, splitPEM(p)...)
	}
	var err error
	if c.SupportedAlgs, err = jwtverify.ParseAlgs(d.Strings("jwt_supported_algs")); err != nil {
		return nil, invalidf("invalid jwt_supported_algs: %v", err)
	}
	if err := e.validateConfig(ctx, &c); err != nil {
		return nil, err
	}
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("jwt: encode config: %w", err)
	}
	if err := req.Storage.Put(ctx, &storage.Entry{Key: configKey, Value: b}); err != nil {
		return nil, fmt.Errorf("jwt: put config: %w", err)
	}
	e.keysMu.Lock()
	e.keys = nil
	e.keysMu.Unlock()
	return noContent(), nil
}

// splitPEM cuts a string into its PEM blocks.
func splitPEM(s string) []string {
	const begin = "-----BEGIN "
	var out []string
	s = strings.TrimSpace(s)
	for s != "" {
		next := strings.Index(s[1:], begin)
		if next < 0 {
			out = append(out, s)
			break
		}
		out = append(out, strings.TrimSpace(s[:next+1]))
		s = strings.TrimSpace(s[next+1:])
	}
	return out
}

// validateConfig applies Vault's rules: exactly one key source, CA PEMs
// only with their URL, keys parseable and URLs answering.
func (e *engine) validateConfig(ctx context.Context, c *config) error {
	n := 0
	for _, set := range []bool{len(c.PubKeys) > 0, c.JWKSURL != "", c.DiscoveryURL != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return invalidf("exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set")
	}
	if c.JWKSCAPEM != "" && c.JWKSURL == "" {
		return invalidf("'jwks_ca_pem' can only be set with 'jwks_url'")
	}
	if c.DiscoveryCAPEM != "" && c.DiscoveryURL == "" {
		return invalidf("'oidc_discovery_ca_pem' can only be set with 'oidc_discovery_url'")
	}
	for i, p := range c.PubKeys {
		if _, err := jwtverify.ParsePEMKey(p); err != nil {
			return invalidf("error parsing public key %d of 'jwt_validation_pubkeys': %v", i+1, err)
		}
	}
	switch {
	case c.JWKSURL != "":
		if _, err := jwtverify.CheckURL("jwks_url", c.JWKSURL); err != nil {
			return invalidf("%v", err)
		}
		if _, err := e.fetchKeys(ctx, c); err != nil {
			return invalidf("error checking jwks_url: %v", err)
		}
	case c.DiscoveryURL != "":
		if _, err := jwtverify.CheckURL("oidc_discovery_url", c.DiscoveryURL); err != nil {
			return invalidf("%v", err)
		}
		if _, err := e.fetchKeys(ctx, c); err != nil {
			return invalidf("error checking oidc discovery URL: %v", err)
		}
	}
	return nil
}

// httpClient is the client for a URL with an optional CA PEM.
func httpClient(caPEM, name string) (*http.Client, error) {
	roots, err := jwtverify.CertPool(name, caPEM)
	if err != nil {
		return nil, err
	}
	return jwtverify.NewClient(roots), nil
}
