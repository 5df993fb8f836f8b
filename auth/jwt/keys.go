package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/vaultd/vaultd/auth/internal/jwtverify"
)

// keysTTL is how long fetched keys are used before they are fetched
// again; refetchAfter is the least time between two fetches forced by a
// token signed with a key the cache does not know (key rotation), so a
// stream of bad tokens cannot turn into a stream of fetches.
const (
	keysTTL      = 5 * time.Minute
	refetchAfter = 10 * time.Second
)

// keySet is the verification material of one config.
type keySet struct {
	keys []jose.JSONWebKey
	// issuer is the issuer the discovery document names ("" otherwise):
	// a token must carry it as iss.
	issuer string
}

// keyCache is the key set of the config it was made from.
type keyCache struct {
	fingerprint string
	set         *keySet
	fetched     time.Time
}

// fingerprint identifies a config's key source.
func fingerprint(c *config) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// discoveryDoc is the part of an OpenID provider's configuration used here.
type discoveryDoc struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// fetchKeys builds c's key set: parsed PEM keys, the JWKS at jwks_url, or
// the JWKS named by the discovery document. It does not touch the cache.
func (e *engine) fetchKeys(ctx context.Context, c *config) (*keySet, error) {
	switch {
	case len(c.PubKeys) > 0:
		set := &keySet{}
		for _, p := range c.PubKeys {
			k, err := jwtverify.ParsePEMKey(p)
			if err != nil {
				return nil, err
			}
			set.keys = append(set.keys, jose.JSONWebKey{Key: k})
		}
		return set, nil
	case c.JWKSURL != "":
		keys, err := e.fetchJWKS(ctx, c.JWKSURL, c.JWKSCAPEM, "jwks_ca_pem")
		if err != nil {
			return nil, err
		}
		return &keySet{keys: keys}, nil
	case c.DiscoveryURL != "":
		client, err := e.newClient(c.DiscoveryCAPEM, "oidc_discovery_ca_pem")
		if err != nil {
			return nil, err
		}
		base := strings.TrimSuffix(c.DiscoveryURL, "/")
		var doc discoveryDoc
		if err := jwtverify.GetJSON(ctx, client, base+"/.well-known/openid-configuration", &doc); err != nil {
			return nil, err
		}
		// OpenID Connect Discovery 1.0 §4.3: the issuer must be the URL
		// the document was fetched from.
		if strings.TrimSuffix(doc.Issuer, "/") != base {
			return nil, fmt.Errorf("issuer %q in the discovery document does not match the discovery URL %q", doc.Issuer, c.DiscoveryURL)
		}
		if _, err := jwtverify.CheckURL("jwks_uri", doc.JWKSURI); err != nil {
			return nil, fmt.Errorf("discovery document: %v", err)
		}
		keys, err := e.fetchJWKS(ctx, doc.JWKSURI, c.DiscoveryCAPEM, "oidc_discovery_ca_pem")
		if err != nil {
			return nil, err
		}
		return &keySet{keys: keys, issuer: doc.Issuer}, nil
	}
	return nil, errors.New("no key source configured")
}

func (e *engine) fetchJWKS(ctx context.Context, u, caPEM, caField string) ([]jose.JSONWebKey, error) {
	client, err := e.newClient(caPEM, caField)
	if err != nil {
		return nil, err
	}
	status, body, err := jwtverify.Do(ctx, client, "GET", u, nil, nil)
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, fmt.Errorf("GET %s: unexpected status %d", u, status)
	}
	return jwtverify.ParseKeySet(body)
}

// keysFor returns c's key set from the cache, fetching it when the cache
// is for another config, older than keysTTL, or (refresh) when a token
// was signed by a key it does not hold and the last fetch is older than
// refetchAfter.
func (e *engine) keysFor(ctx context.Context, c *config, refresh bool) (*keySet, error) {
	fp := fingerprint(c)
	now := e.now()
	e.keysMu.Lock()
	cached := e.keys
	e.keysMu.Unlock()
	if cached != nil && cached.fingerprint == fp {
		age := now.Sub(cached.fetched)
		if age < keysTTL && (!refresh || age < refetchAfter) {
			return cached.set, nil
		}
	}
	set, err := e.fetchKeys(ctx, c)
	if err != nil {
		if cached != nil && cached.fingerprint == fp && now.Sub(cached.fetched) < 2*keysTTL {
			// The key server is briefly unreachable: keep using the keys
			// it served last, for a bounded time.
			e.log.Warn("could not refresh JWT verification keys; using the cached ones", "error", err)
			return cached.set, nil
		}
		return nil, err
	}
	e.keysMu.Lock()
	e.keys = &keyCache{fingerprint: fp, set: set, fetched: now}
	e.keysMu.Unlock()
	return set, nil
}
