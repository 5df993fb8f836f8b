package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/vaultd/vaultd/auth/internal/field"
	"github.com/vaultd/vaultd/auth/internal/jwtverify"
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

// configFields are the fields config accepts.
var configFields = []string{
	"jwks_url", "jwks_ca_pem", "jwt_validation_pubkeys", "oidc_discovery_url",
	"oidc_discovery_ca_pem", "bound_issuer", "jwt_supported_algs", "default_role",
}

// unsupportedConfigFields are Vault config fields of the OIDC browser
// flow, which vaultd does not implement: they are refused, not ignored.
var unsupportedConfigFields = []string{
	"oidc_client_id", "oidc_client_secret", "oidc_response_mode",
	"oidc_response_types", "provider_config", "namespace_in_state",
}

// loadConfig returns the stored config, or nil when there is none.
func loadConfig(ctx context.Context, s storage.Backend) (*config, error) {
	ent, err := s.Get(ctx, configKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jwt: get config: %w", err)
	}
	var c config
	if err := json.Unmarshal(ent.Value, &c); err != nil {
		return nil, fmt.Errorf("%w: config: %v", ErrCorrupt, err)
	}
	return &c, nil
}

// configRead serves GET config.
func (e *engine) configRead(ctx context.Context, req *secrets.Request, _ string) (*secrets.Response, error) {
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
		"jwt_validation_pubkeys": field.NonNil(c.PubKeys),
		"oidc_discovery_url":     c.DiscoveryURL,
		"oidc_discovery_ca_pem":  c.DiscoveryCAPEM,
		"bound_issuer":           c.BoundIssuer,
		"jwt_supported_algs":     field.NonNil(c.SupportedAlgs),
		"default_role":           c.DefaultRole,
	}}, nil
}

// configWrite serves POST config. As in Vault, a write replaces the whole
// config; it is checked (keys parsed, URLs fetched) before it is stored.
func (e *engine) configWrite(ctx context.Context, req *secrets.Request, _ string) (*secrets.Response, error) {
	for _, f := range unsupportedConfigFields {
		if field.Present(req.Data, f) {
			return nil, invalidf("%q is not supported: vaultd's jwt auth method verifies JWTs and has no OIDC browser login", f)
		}
	}
	var c config
	strs := []struct {
		name string
		dst  *string
	}{
		{"jwks_url", &c.JWKSURL}, {"jwks_ca_pem", &c.JWKSCAPEM},
		{"oidc_discovery_url", &c.DiscoveryURL}, {"oidc_discovery_ca_pem", &c.DiscoveryCAPEM},
		{"bound_issuer", &c.BoundIssuer}, {"default_role", &c.DefaultRole},
	}
	for _, f := range strs {
		v, _, err := field.String(req.Data, f.name)
		if err != nil {
			return nil, err
		}
		*f.dst = strings.TrimSpace(v)
	}
	var err error
	if c.PubKeys, err = pemList(req.Data, "jwt_validation_pubkeys"); err != nil {
		return nil, err
	}
	algs, _, err := field.StringList(req.Data, "jwt_supported_algs")
	if err != nil {
		return nil, err
	}
	if c.SupportedAlgs, err = jwtverify.ParseAlgs(algs); err != nil {
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
	resp := noContent()
	if w := unknownFields(req.Data, configFields); w != "" {
		resp.Warnings = []string{w}
	}
	return resp, nil
}

// pemList reads a list of PEM blocks: a JSON array, or one string that may
// hold several blocks (a comma-separated string would split a PEM apart).
func pemList(data map[string]any, name string) ([]string, error) {
	v, ok := data[name]
	if !ok || v == nil {
		return nil, nil
	}
	if s, isStr := v.(string); isStr {
		return splitPEM(s), nil
	}
	list, _, err := field.StringList(data, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range list {
		out = append(out, splitPEM(s)...)
	}
	return out, nil
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

// unknownFields is Vault's warning for request fields the path does not
// know, or "" when there are none.
func unknownFields(data map[string]any, known []string) string {
	var extra []string
	for k := range data {
		if !slices.Contains(known, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return ""
	}
	sort.Strings(extra)
	return fmt.Sprintf("Endpoint ignored these unrecognized parameters: %v", extra)
}
