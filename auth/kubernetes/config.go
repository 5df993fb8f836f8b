package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vaultd/vaultd/auth/internal/entries"
	"github.com/vaultd/vaultd/auth/internal/jwtverify"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

const configKey = "config"

// config is the record at config. TokenReviewerJWT is a credential: it is
// stored behind the barrier like every engine record, never returned and
// never logged.
type config struct {
	Host                 string   `json:"kubernetes_host"`
	CACert               string   `json:"kubernetes_ca_cert,omitempty"`
	TokenReviewerJWT     string   `json:"token_reviewer_jwt,omitempty"`
	PEMKeys              []string `json:"pem_keys,omitempty"`
	Issuer               string   `json:"issuer,omitempty"`
	DisableISSValidation bool     `json:"disable_iss_validation"`
	DisableLocalCAJWT    bool     `json:"disable_local_ca_jwt"`
}

func loadConfig(ctx context.Context, s storage.Backend) (*config, error) {
	return entries.Load[config](ctx, s, configKey, ErrCorrupt, "kubernetes")
}

// configRead serves GET config; the reviewer JWT is shown only as set or not.
func (e *engine) configRead(ctx context.Context, req *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, notFound()
	}
	return &secrets.Response{Data: map[string]any{
		"kubernetes_host":        c.Host,
		"kubernetes_ca_cert":     c.CACert,
		"token_reviewer_jwt_set": c.TokenReviewerJWT != "",
		"pem_keys":               tokenparams.NonNil(c.PEMKeys),
		"issuer":                 c.Issuer,
		"disable_iss_validation": c.DisableISSValidation,
		"disable_local_ca_jwt":   c.DisableLocalCAJWT,
	}}, nil
}

// configWrite serves POST config. Fields not given keep their value
// (the reviewer JWT in particular need not be sent again).
func (e *engine) configWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	for _, f := range []string{"use_annotations_as_alias_metadata"} {
		if d.Has(f) {
			return nil, invalidf("%q is not supported by vaultd", f)
		}
	}
	old, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	c := config{DisableISSValidation: true}
	if old != nil {
		c = *old
	}
	for name, dst := range map[string]*string{
		"kubernetes_host": &c.Host, "kubernetes_ca_cert": &c.CACert,
		"token_reviewer_jwt": &c.TokenReviewerJWT, "issuer": &c.Issuer,
	} {
		if d.Has(name) {
			*dst = strings.TrimSpace(d.String(name))
		}
	}
	for name, dst := range map[string]*bool{
		"disable_iss_validation": &c.DisableISSValidation, "disable_local_ca_jwt": &c.DisableLocalCAJWT,
	} {
		if d.Has(name) {
			*dst = d.Bool(name)
		}
	}
	if d.Has("pem_keys") {
		c.PEMKeys = nil
		for _, p := range d.Strings("pem_keys") {
			c.PEMKeys = append(c.PEMKeys, splitPEM(p)...)
		}
	}
	if c.Host == "" {
		return nil, invalidf("no host provided")
	}
	if _, err := jwtverify.CheckURL("kubernetes_host", c.Host); err != nil {
		return nil, invalidf("%v", err)
	}
	c.Host = strings.TrimSuffix(c.Host, "/")
	if _, err := jwtverify.CertPool("kubernetes_ca_cert", c.CACert); err != nil {
		return nil, invalidf("%v", err)
	}
	for i, p := range c.PEMKeys {
		if _, err := jwtverify.ParsePEMKey(p); err != nil {
			return nil, invalidf("error parsing public key %d of 'pem_keys': %v", i+1, err)
		}
	}
	if c.TokenReviewerJWT != "" {
		if _, _, err := jwtverify.Parse(c.TokenReviewerJWT, nil); err != nil {
			return nil, invalidf("'token_reviewer_jwt' is not a JWT")
		}
	}
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: encode config: %w", err)
	}
	if err := req.Storage.Put(ctx, &storage.Entry{Key: configKey, Value: b}); err != nil {
		return nil, fmt.Errorf("kubernetes: put config: %w", err)
	}
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
