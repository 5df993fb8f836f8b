// Package jwt is Vault's JWT auth method (the "jwt" type; no OIDC browser
// flow) behind the secrets.Backend contract: a workload presents a JWT
// signed by an issuer the operator trusts (a CI system, an identity
// provider, a Kubernetes cluster) and gets a token with the role's
// policies.
//
// # Paths
//
// Relative to the mount, as in Vault's HTTP API:
//
//	config        read, update {jwt_validation_pubkeys | jwks_url [jwks_ca_pem] |
//	              oidc_discovery_url [oidc_discovery_ca_pem], bound_issuer,
//	              jwt_supported_algs, default_role}
//	role          list
//	role/:name    read, create/update, delete {role_type=jwt, user_claim (required),
//	              user_claim_json_pointer, bound_audiences, bound_subject, bound_claims,
//	              bound_claims_type=string|glob, claim_mappings, groups_claim,
//	              clock_skew_leeway, expiration_leeway, not_before_leeway, token_*}
//	login         update {role, jwt} → Response.Auth (no token needed)
//
// The OIDC browser flow (oidc_client_id, role_type=oidc, oidc/auth_url,
// oidc/callback) is not implemented: its fields are refused, not ignored.
//
// # Storage layout
//
//	config        JSON config (public keys, URLs, CA PEMs: no secret)
//	role/<name>   JSON role
//
// # Invariants
//
//   - Exactly one key source is configured, and it is checked when it is
//     written (PEM keys parsed; the JWKS or discovery document fetched).
//   - Only asymmetric algorithms are accepted (jwtverify.Asymmetric, or the
//     configured subset): "none" and HMAC are refused before any key is
//     tried, so a public key is never used as an HMAC secret. Keys in the
//     token's header are never used.
//   - Outbound requests go only to the configured jwks_url, discovery URL
//     and the jwks_uri its document names; TLS is verified against the
//     configured CA (or the system roots); no redirects, no proxy, 10s
//     timeout, 1 MiB answers. Fetched keys are cached for 5 minutes; an
//     unknown signing key forces a refetch at most every 10 seconds.
//   - With discovery, iss must equal the discovered issuer (which must
//     equal the discovery URL); with bound_issuer, iss must equal it.
//   - exp is required; exp, nbf and iat are checked with the role's
//     leeways (Vault's defaults: 60s clock skew, 150s expiration and
//     not-before; -1 means none).
//   - With bound_audiences, aud must contain one of them; without, a token
//     that carries aud is refused (Vault's rule).
//   - bound_subject, bound_claims (all must match; a list claim matches
//     when any element does; "*" globs with bound_claims_type=glob) and
//     user_claim (the alias name) are checked on the verified claims only.
//   - groups_claim, when set, must be present and a string or a list of
//     strings; its values are the login's group aliases (the entity joins
//     the external identity groups aliased by them on this mount).
//   - claim_mappings copy scalar claims into the token metadata, next to
//     "role" (reserved).
//   - Tokens are never logged or stored.
package jwt
