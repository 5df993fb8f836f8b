package pki

import (
	"context"
	"crypto/x509"
	"net/url"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// urlsConf is config/urls: the AIA and CRL distribution URLs put into
// every certificate issued afterwards.
type urlsConf struct {
	IssuingCertificates []string `json:"issuing_certificates"`
	CRLDistribution     []string `json:"crl_distribution_points"`
	OCSPServers         []string `json:"ocsp_servers"`
}

func checkURLs(field string, v []string) error {
	for _, s := range v {
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return invalidf("invalid URL %q in %s", s, field)
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (e *engine) urlsRead(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	var c urlsConf
	if _, err := getJSON(ctx, req.Storage, urlsConfig, &c); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{
		"issuing_certificates": nonNil(c.IssuingCertificates), "crl_distribution_points": nonNil(c.CRLDistribution),
		"ocsp_servers": nonNil(c.OCSPServers), "enable_templating": false,
	}}, nil
}

func (e *engine) urlsWrite(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var c urlsConf
	if _, err := getJSON(ctx, req.Storage, urlsConfig, &c); err != nil {
		return nil, err
	}
	for field, dst := range map[string]*[]string{
		"issuing_certificates": &c.IssuingCertificates, "crl_distribution_points": &c.CRLDistribution, "ocsp_servers": &c.OCSPServers,
	} {
		if d.has(field) {
			v := d.list(field, nil)
			if err := checkURLs(field, v); err != nil {
				return nil, err
			}
			*dst = v
		}
	}
	if d.boolean("enable_templating", false) {
		return nil, invalidf("enable_templating is not supported by vaultd")
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, urlsConfig, &c); err != nil {
		return nil, err
	}
	return e.urlsRead(ctx, req, d)
}

// applyURLs sets a template's AIA and CRL distribution points: the
// issuer's own URLs when it has any, else the mount's config/urls.
func (e *engine) applyURLs(ctx context.Context, s storage.Backend, iss *issuerEntry, t *x509.Certificate) error {
	if iss != nil && (len(iss.IssuingCertificates) > 0 || len(iss.CRLDistribution) > 0 || len(iss.OCSPServers) > 0) {
		t.IssuingCertificateURL, t.CRLDistributionPoints, t.OCSPServer = iss.IssuingCertificates, iss.CRLDistribution, iss.OCSPServers
		return nil
	}
	var c urlsConf
	if _, err := getJSON(ctx, s, urlsConfig, &c); err != nil {
		return err
	}
	t.IssuingCertificateURL, t.CRLDistributionPoints, t.OCSPServer = c.IssuingCertificates, c.CRLDistribution, c.OCSPServers
	return nil
}

// crlConf is config/crl. Every revocation rebuilds the CRL at once; with
// auto_rebuild a CRL read also rebuilds it once it is within
// auto_rebuild_grace_period of its nextUpdate. Delta CRLs and
// cross-cluster or unified CRLs are refused.
type crlConf struct {
	Expiry                 string `json:"expiry"`
	Disable                bool   `json:"disable"`
	OCSPDisable            bool   `json:"ocsp_disable"`
	OCSPExpiry             string `json:"ocsp_expiry"`
	AutoRebuild            bool   `json:"auto_rebuild"`
	AutoRebuildGracePeriod string `json:"auto_rebuild_grace_period"`
}

func loadCRLConf(ctx context.Context, s storage.Backend) (*crlConf, error) {
	c := &crlConf{Expiry: "72h", OCSPExpiry: "12h", AutoRebuildGracePeriod: "12h"}
	if _, err := getJSON(ctx, s, crlConfigKey, c); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *crlConf) expiry() time.Duration {
	d, err := parseDuration(c.Expiry)
	if err != nil || d <= 0 {
		return 72 * time.Hour
	}
	return d
}

func (c *crlConf) gracePeriod() time.Duration {
	d, err := parseDuration(c.AutoRebuildGracePeriod)
	if err != nil {
		return 12 * time.Hour
	}
	return d
}

func (c *crlConf) ocspExpiry() time.Duration {
	d, err := parseDuration(c.OCSPExpiry)
	if err != nil {
		return 12 * time.Hour
	}
	return d
}

func (c *crlConf) data() map[string]any {
	return map[string]any{
		"expiry": c.Expiry, "disable": c.Disable, "ocsp_disable": c.OCSPDisable, "ocsp_expiry": c.OCSPExpiry,
		"auto_rebuild": c.AutoRebuild, "auto_rebuild_grace_period": c.AutoRebuildGracePeriod,
		"enable_delta": false, "delta_rebuild_interval": "15m", "cross_cluster_revocation": false,
		"unified_crl": false, "unified_crl_on_existing_paths": false,
	}
}

func (e *engine) crlConfigRead(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	c, err := loadCRLConf(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: c.data()}, nil
}

func (e *engine) crlConfigWrite(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := loadCRLConf(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	durField := func(name string, dst *string) error {
		if !d.has(name) {
			return nil
		}
		v := d.str(name, "")
		if _, err := parseDuration(v); err != nil {
			return invalidf("given %s could not be decoded: %q", name, v)
		}
		*dst = v
		return nil
	}
	if err := durField("expiry", &c.Expiry); err != nil {
		return nil, err
	}
	if err := durField("ocsp_expiry", &c.OCSPExpiry); err != nil {
		return nil, err
	}
	if err := durField("auto_rebuild_grace_period", &c.AutoRebuildGracePeriod); err != nil {
		return nil, err
	}
	c.Disable = d.boolean("disable", c.Disable)
	c.OCSPDisable = d.boolean("ocsp_disable", c.OCSPDisable)
	c.AutoRebuild = d.boolean("auto_rebuild", c.AutoRebuild)
	for _, f := range []string{"enable_delta", "cross_cluster_revocation", "unified_crl", "unified_crl_on_existing_paths"} {
		if d.boolean(f, false) {
			return nil, invalidf("%s is not supported by vaultd", f)
		}
	}
	_ = d.str("delta_rebuild_interval", "")
	if err := d.err(); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, crlConfigKey, c); err != nil {
		return nil, err
	}
	// The new settings (expiry, disable) apply to the CRLs at once.
	issuers, err := loadIssuers(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	for _, i := range issuers {
		if err := e.rebuildCRLLocked(ctx, req.Storage, i); err != nil {
			return nil, err
		}
	}
	return &secrets.Response{Data: c.data()}, nil
}
