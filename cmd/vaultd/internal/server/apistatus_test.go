package server

import (
	"sort"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/endpoint"
)

// This file is the one place that says how each declared endpoint
// compares with HashiCorp Vault's HTTP API. It is a table next to the
// generator rather than a field on endpoint.Path so that the declarations
// stay about what vaultd does, the whole comparison can be reviewed in one
// screen, and a change of status is a one-line diff here. TestAPIDocs
// fails when a declared endpoint has no entry, and when an entry names an
// endpoint nothing declares (it would be a stale claim).
// tests/e2e TestCompat_DocumentedStatus checks a sample of the claims
// (refusals, vaultd-only behaviour, missing endpoints) on a real vaultd.

// same is the status of an endpoint that takes Vault's fields and answers
// Vault's shapes and errors.
const same = "same"

// vaultStatus maps an endpoint as docs/api.md shows it (mount and pattern,
// as endpoint.Backend.Endpoints renders it) to "same" or
// "different: <why>".
var vaultStatus = map[string]string{
	// KV version 2.
	"secret/config":          same,
	"secret/data/:path+":     same,
	"secret/metadata/:path*": same,
	"secret/delete/:path*":   same,
	"secret/undelete/:path*": same,
	"secret/destroy/:path*":  same,
	"secret/subkeys/:path*":  same,
	// KV version 1.
	"kv/:path*": same,
	// Cubbyhole.
	"cubbyhole/:path*": same,

	// Transit.
	"transit/keys":                          same,
	"transit/keys/:name":                    "different: `derived=true` (and so convergent encryption) is refused; types `hmac`, `managed_key`, `aes128-cmac`/`aes256-cmac` and the `ecdsa`/`rsa` import types are unknown",
	"transit/keys/:name/config":             same,
	"transit/keys/:name/rotate":             "different: `managed_key_name`/`managed_key_id` (managed keys) are not taken",
	"transit/keys/:name/trim":               same,
	"transit/backup/:name":                  "different: the backup is vaultd's own format; it restores into vaultd, not into Vault (and Vault's does not restore into vaultd)",
	"transit/restore":                       "different: takes vaultd's backup format only",
	"transit/restore/:name":                 "different: takes vaultd's backup format only",
	"transit/encrypt/:name":                 "different: `nonce` is refused (nonces are never caller-chosen); `context` is validated but keys are not derived",
	"transit/decrypt/:name":                 "different: `context` is validated but keys are not derived",
	"transit/rewrap/:name":                  "different: `context` is validated but keys are not derived",
	"transit/datakey/:plaintext/:name":      "different: `nonce` is refused; `context` is validated but keys are not derived",
	"transit/sign/:name[/:urlalgorithm]":    same,
	"transit/verify/:name[/:urlalgorithm]":  same,
	"transit/hmac/:name[/:urlalgorithm]":    same,
	"transit/random[/:source][/:urlbytes]":  same,
	"transit/hash[/:urlalgorithm]":          same,
	"transit/export/:type/:name[/:version]": same,

	// PKI (Vault >= 1.11's multi-issuer API).
	"pki/ca":                              same,
	"pki/ca/pem":                          same,
	"pki/ca_chain":                        same,
	"pki/cert/ca_chain":                   same,
	"pki/cert/crl":                        same,
	"pki/cert/:serial":                    same,
	"pki/cert/:serial/raw":                same,
	"pki/cert/:serial/raw/pem":            same,
	"pki/certs":                           same,
	"pki/certs/revoked":                   same,
	"pki/crl":                             same,
	"pki/crl/pem":                         same,
	"pki/crl/rotate":                      same,
	"pki/config/urls":                     "different: `enable_templating=true` is refused",
	"pki/config/crl":                      "different: delta (`enable_delta`), unified and cross-cluster CRLs are refused; every revocation rebuilds the CRL",
	"pki/config/ca":                       same,
	"pki/config/issuers":                  same,
	"pki/config/keys":                     same,
	"pki/root/generate/:exported":         "different: type `kms` (managed keys) is refused",
	"pki/issuers/generate/root/:exported": "different: type `kms` (managed keys) is refused",
	"pki/intermediate/generate/:exported": "different: type `kms` (managed keys) is refused",
	"pki/issuers/generate/intermediate/:exported": "different: type `kms` (managed keys) is refused",
	"pki/intermediate/set-signed":                 same,
	"pki/issuers/import/cert":                     same,
	"pki/issuers/import/bundle":                   same,
	"pki/root/sign-intermediate":                  "different: `other_sans` is refused",
	"pki/issuer/:issuer_ref/sign-intermediate":    "different: `other_sans` is refused",
	"pki/root/replace":                            same,
	"pki/root":                                    same,
	"pki/roles":                                   same,
	"pki/roles/:name":                             "different: `generate_lease=true`, `allowed_domains_template`, `allowed_uri_sans_template`, `allow_token_displayname`, `no_store_metadata`, `allowed_other_sans`, `allowed_serial_numbers`, `allowed_user_ids` and `policy_identifiers` are refused",
	"pki/issue/:role":                             "different: no leases (`generate_lease` is refused on roles); `other_sans` is refused",
	"pki/issuer/:issuer_ref/issue/:role":          "different: no leases (`generate_lease` is refused on roles); `other_sans` is refused",
	"pki/sign/:role":                              "different: `other_sans` is refused",
	"pki/issuer/:issuer_ref/sign/:role":           "different: `other_sans` is refused",
	"pki/sign-verbatim":                           same,
	"pki/sign-verbatim/:role":                     same,
	"pki/issuer/:issuer_ref/sign-verbatim":        same,
	"pki/issuer/:issuer_ref/sign-verbatim/:role":  same,
	"pki/revoke":                                  same,
	"pki/tidy":                                    "different: tidy finishes before answering (still 202); `tidy_expired_issuers`, `tidy_move_legacy_ca_bundle`, `tidy_acme`, `tidy_cross_cluster_revoked_certs` and `tidy_revocation_queue` are refused",
	"pki/tidy-status":                             same,
	"pki/issuers":                                 same,
	"pki/issuer/:issuer_ref":                      "different: `revocation_signature_algorithm` and `enable_aia_url_templating` are refused",
	"pki/issuer/:issuer_ref/revoke":               same,
	"pki/issuer/:issuer_ref/json":                 same,
	"pki/issuer/:issuer_ref/der":                  same,
	"pki/issuer/:issuer_ref/pem":                  same,
	"pki/issuer/:issuer_ref/crl":                  same,
	"pki/issuer/:issuer_ref/crl/der":              same,
	"pki/issuer/:issuer_ref/crl/pem":              same,
	"pki/keys":                                    same,
	"pki/keys/generate/:exported":                 "different: type `kms` (managed keys) is refused",
	"pki/keys/import":                             same,
	"pki/key/:key_ref":                            same,
	"pki/ocsp":                                    "different: an Ed25519 issuer answers `internalError`",
	"pki/ocsp/:req*":                              "different: an Ed25519 issuer answers `internalError`",

	// Userpass.
	"auth/userpass/users":                    same,
	"auth/userpass/users/:username":          same,
	"auth/userpass/users/:username/password": same,
	"auth/userpass/users/:username/policies": same,
	"auth/userpass/login/:username":          same,

	// AppRole.
	"auth/approle/role":                                       same,
	"auth/approle/role/:role_name":                            same,
	"auth/approle/role/:role_name/role-id":                    same,
	"auth/approle/role/:role_name/secret-id":                  same,
	"auth/approle/role/:role_name/custom-secret-id":           same,
	"auth/approle/role/:role_name/secret-id/lookup":           same,
	"auth/approle/role/:role_name/secret-id/destroy":          same,
	"auth/approle/role/:role_name/secret-id-accessor/lookup":  same,
	"auth/approle/role/:role_name/secret-id-accessor/destroy": same,
	"auth/approle/login":                                      same,
	"auth/approle/tidy/secret-id":                             "different: the tidy finishes before answering, 200 with `secret_ids_deleted` (Vault answers 202 and tidies in the background)",

	// JWT.
	"auth/jwt/config":     "different: the OIDC browser-flow fields (`oidc_client_id`, `oidc_client_secret`, `oidc_response_mode`, `oidc_response_types`, `provider_config`, `namespace_in_state`) are refused",
	"auth/jwt/role":       same,
	"auth/jwt/role/:name": "different: only `role_type=jwt`; the OIDC role fields (`allowed_redirect_uris`, `oidc_scopes`, `verbose_oidc_logging`, `max_age`) are refused",
	"auth/jwt/login":      same,

	// Kubernetes.
	"auth/kubernetes/config":     "different: `use_annotations_as_alias_metadata` is refused",
	"auth/kubernetes/role":       same,
	"auth/kubernetes/role/:name": "different: `bound_service_account_namespace_selector` is refused",
	"auth/kubernetes/login":      same,

	// Identity store.
	"identity/entity":              same,
	"identity/entity/id":           same,
	"identity/entity/id/:id":       same,
	"identity/entity/name":         same,
	"identity/entity/name/:name":   same,
	"identity/entity-alias":        same,
	"identity/entity-alias/id":     same,
	"identity/entity-alias/id/:id": same,
	"identity/group":               same,
	"identity/group/id":            same,
	"identity/group/id/:id":        same,
	"identity/group/name":          same,
	"identity/group/name/:name":    same,
	"identity/group-alias":         same,
	"identity/group-alias/id":      same,
	"identity/group-alias/id/:id":  same,
	"identity/lookup/entity":       same,
	"identity/lookup/group":        same,

	// sys/, node-local (served by each node, never forwarded).
	"sys/init":                             same,
	"sys/seal-status":                      same,
	"sys/unseal":                           same,
	"sys/health":                           same,
	"sys/leader":                           same,
	"sys/monitor":                          same,
	"sys/storage/raft/join":                same,
	"sys/storage/raft/bootstrap/challenge": "different: vaultd's own join handshake (a Vault node cannot join a vaultd cluster, nor the reverse); a caller's pending challenges are bounded (429)",
	"sys/storage/raft/bootstrap/answer":    "different: vaultd's own join handshake (a Vault node cannot join a vaultd cluster, nor the reverse)",
	"sys/storage/raft/snapshot-init":       "different: vaultd only (Vault has no such endpoint)",
	"sys/storage/raft/known-peers":         "different: vaultd only (Vault has no such endpoint)",
	"sys/metrics":                          "same",
	"sys/health/ready":                     "different: vaultd only (readiness probe with its own checks; Vault has only sys/health)",
	"sys/health/live":                      "different: vaultd only (liveness probe; Vault has only sys/health)",
	"sys/pprof/:profile":                   "different: the named runtime profiles only (no index, cmdline, profile, symbol or trace); sudo",
	"sys/config/state/sanitized":           "same",

	// sys/.
	"sys/policy":                                 same,
	"sys/policy/:name+":                          "different: the Enterprise policy keys (`mfa_methods`, `control_group`, …) are refused",
	"sys/policies/acl":                           same,
	"sys/policies/acl/:name+":                    "different: the Enterprise policy keys (`mfa_methods`, `control_group`, …) are refused",
	"sys/capabilities":                           same,
	"sys/capabilities-self":                      same,
	"sys/capabilities-accessor":                  same,
	"sys/audit":                                  same,
	"sys/audit/:path+":                           "different: only the `file` device type, with `format=json`",
	"sys/audit-hash/:path+":                      same,
	"sys/rotate":                                 same,
	"sys/rotate/keyring":                         same,
	"sys/key-status":                             same,
	"sys/seal":                                   same,
	"sys/replication/status":                     "different: Vault Enterprise's endpoint; adds `epoch`, `lag_entries`, `lag_ms`, `last_contact`",
	"sys/replication/performance/status":         "different: Vault Enterprise's endpoint; adds `epoch`, `lag_entries`, `lag_ms`, `last_contact`",
	"sys/replication/performance/primary/enable": "different: Vault Enterprise's endpoint; the primary's cluster addresses are its nodes' own; paths filters are not served",
	"sys/replication/performance/primary/secondary-token":           "different: Vault Enterprise's endpoint; the wrapped token is a vaultd wrapping token, not a JWT, so secondary/enable needs `primary_api_addr`",
	"sys/replication/performance/primary/revoke-secondary":          "different: Vault Enterprise's endpoint",
	"sys/replication/performance/primary/demote":                    "different: Vault Enterprise's endpoint; demotes the primary for both kinds; it refuses client writes until enabled as a secondary",
	"sys/replication/performance/secondary/enable":                  "different: Vault Enterprise's endpoint; `primary_api_addr` is required; the nodes seal after the first sync and are unsealed with the primary's keys; tokens and leases are global (not local to the secondary)",
	"sys/replication/performance/secondary/update-primary":          "different: Vault Enterprise's endpoint; `primary_api_addr` is required; authorised by a sudo token",
	"sys/replication/dr/status":                                     "different: Vault Enterprise's endpoint; adds `epoch`, `lag_entries`, `lag_ms`, `last_contact`",
	"sys/replication/dr/primary/enable":                             "different: Vault Enterprise's endpoint; the primary's cluster addresses are its nodes' own",
	"sys/replication/dr/primary/secondary-token":                    "different: Vault Enterprise's endpoint; the wrapped token is a vaultd wrapping token, not a JWT, so secondary/enable needs `primary_api_addr`",
	"sys/replication/dr/primary/revoke-secondary":                   "different: Vault Enterprise's endpoint",
	"sys/replication/dr/primary/demote":                             "different: Vault Enterprise's endpoint; a demoted primary refuses client writes until enabled as a secondary",
	"sys/replication/dr/secondary/enable":                           "different: Vault Enterprise's endpoint; `primary_api_addr` is required; the nodes seal after the first sync and are unsealed with the primary's keys",
	"sys/replication/dr/secondary/promote":                          "different: Vault Enterprise's endpoint; the old primary is fenced by the new epoch when it comes back",
	"sys/replication/dr/secondary/update-primary":                   "different: Vault Enterprise's endpoint; `primary_api_addr` is required",
	"sys/replication/dr/secondary/generate-operation-token/attempt": "different: Vault Enterprise's endpoint; the token is kept as a hash in the secondary's own storage for 30 minutes (it outlives a leader change)",
	"sys/replication/dr/secondary/generate-operation-token/update":  "different: Vault Enterprise's endpoint",
	"sys/storage/raft/snapshot-auto/config":                         "different: Vault Enterprise's endpoint; only `storage_type=local`",
	"sys/storage/raft/snapshot-auto/config/:name":                   "different: Vault Enterprise's endpoint; only `storage_type=local`",
	"sys/storage/raft/snapshot-auto/status/:name":                   "different: Vault Enterprise's endpoint",
	"sys/mounts":                               same,
	"sys/mounts/auth/:path/tune":               same,
	"sys/mounts/auth/:path+":                   same,
	"sys/mounts/:path/tune":                    same,
	"sys/mounts/:path+":                        "different: only the engine types vaultd ships (`kv`, `generic`, `cubbyhole`, `transit`, `pki`); a KV mount's version cannot be changed in place",
	"sys/auth":                                 same,
	"sys/auth/:path/tune":                      same,
	"sys/auth/:path+":                          "different: only the auth types vaultd ships (`userpass`, `approle`, `jwt`, `kubernetes`)",
	"sys/leases/lookup":                        same,
	"sys/leases/lookup/:prefix*":               same,
	"sys/leases/renew":                         same,
	"sys/leases/renew/:url_lease_id+":          same,
	"sys/leases/revoke":                        "different: revocation always completes before the answer (`sync=false` is accepted but not asynchronous)",
	"sys/leases/revoke/:url_lease_id+":         "different: revocation always completes before the answer (`sync=false` is accepted but not asynchronous)",
	"sys/leases/revoke-prefix":                 "different: revocation always completes before the answer (`sync=false` is accepted but not asynchronous)",
	"sys/leases/revoke-prefix/:prefix+":        "different: revocation always completes before the answer (`sync=false` is accepted but not asynchronous)",
	"sys/leases/revoke-force":                  same,
	"sys/leases/revoke-force/:prefix+":         same,
	"sys/leases/tidy":                          same,
	"sys/renew":                                same,
	"sys/renew/:url_lease_id+":                 same,
	"sys/revoke":                               "different: revocation always completes before the answer (`sync=false` is accepted but not asynchronous)",
	"sys/revoke/:url_lease_id+":                "different: revocation always completes before the answer (`sync=false` is accepted but not asynchronous)",
	"sys/revoke-prefix/:prefix+":               "different: revocation always completes before the answer (`sync=false` is accepted but not asynchronous)",
	"sys/revoke-force/:prefix+":                same,
	"sys/wrapping/wrap":                        same,
	"sys/wrapping/unwrap":                      same,
	"sys/wrapping/rewrap":                      same,
	"sys/wrapping/lookup":                      same,
	"sys/rotate/config":                        same,
	"sys/rotate/keyring/config":                same,
	"sys/remount":                              same,
	"sys/remount/status/:migration_id":         same,
	"sys/ha-status":                            "different: adds `leader_changes` (raft elections the active node has seen since it started)",
	"sys/step-down":                            same,
	"sys/storage/raft/configuration":           same,
	"sys/storage/raft/remove-peer":             same,
	"sys/storage/raft/snapshot":                "different: vaultd's snapshot archive: a Vault snapshot does not restore into vaultd, nor the reverse",
	"sys/storage/raft/snapshot-force":          "different: vaultd's snapshot archive: a Vault snapshot does not restore into vaultd, nor the reverse",
	"sys/storage/raft/autopilot/state":         same,
	"sys/storage/raft/autopilot/configuration": same,
	"sys/rekey/init":                           same,
	"sys/rekey/update":                         same,
	"sys/rekey/verify":                         same,
	"sys/rekey/backup":                         same,
	"sys/rekey-recovery-key/init":              same,
	"sys/rekey-recovery-key/update":            same,
	"sys/rekey-recovery-key/verify":            same,
	"sys/rekey-recovery-key/backup":            same,
	"sys/generate-root/attempt":                same,
	"sys/generate-root/update":                 same,
	"sys/internal/ui/mounts":                   same,
	"sys/internal/ui/mounts/:path+":            same,
	"sys/internal/specs/openapi":               "different: documents only the endpoints declared through package endpoint that the token can reach",

	// Token store.
	"auth/token/create":            same,
	"auth/token/create-orphan":     same,
	"auth/token/create/:role_name": same,
	"auth/token/lookup":            same,
	"auth/token/lookup-self":       same,
	"auth/token/lookup-accessor":   same,
	"auth/token/renew":             same,
	"auth/token/renew-self":        same,
	"auth/token/renew-accessor":    same,
	"auth/token/revoke":            same,
	"auth/token/revoke-self":       same,
	"auth/token/revoke-accessor":   same,
	"auth/token/revoke-orphan":     same,
	"auth/token/accessors":         same,
	"auth/token/roles":             same,
	"auth/token/roles/:role_name+": "different: `token_type` other than service (`batch`, `default-batch`) is refused on roles",
	"auth/token/tidy":              same,
}

// vaultMissing lists, per area vaultd implements, the endpoints of Vault's
// HTTP API (as documented for Vault 1.19) that vaultd does not serve: a
// request to one is a 404. Kept by hand: nothing in the code can know what
// it lacks.
var vaultMissing = []struct{ area, paths string }{
	{"KV v1, KV v2, cubbyhole", "none"},
	{"Transit", "`keys/:name/import`, `keys/:name/import_version`, `wrapping_key`, `byok-export/:destination/:source[/:version]`, `keys/:name/csr`, `keys/:name/set-certificate`, `cache-config`, `config/keys`, `cmac/:name` and `sign`/`verify` with managed keys"},
	{"PKI", "`crl/delta[/pem]`, `issuer/:ref/crl/delta[/der|/pem]`, `unified-crl*`, `unified-ocsp*`, `acme/*` and `issuer/:ref/acme/*`, `est/*`, `cmpv2/*`, `scep/*`, `config/acme`, `config/est`, `config/cmpv2`, `config/scep`, `config/cluster`, `config/auto-tidy`, `tidy-cancel`, `root/sign-self-issued`, `issuer/:ref/sign-self-issued`, `revoke-with-key`, `issuer/:ref/resign-crls`, `issuer/:ref/sign-revocation-list`, `intermediate/cross-sign`, `certs/revocation-queue`, `certs/unified-revoked`, `certs/revoked-accessors` and `eab/*`"},
	{"Userpass", "none"},
	{"AppRole", "the per-field role endpoints `role/:role_name/policies`, `secret-id-num-uses`, `secret-id-ttl`, `token-num-uses`, `token-ttl`, `token-max-ttl`, `token-bound-cidrs`, `secret-id-bound-cidrs`, `bind-secret-id`, `period`, `local-secret-ids` and `bound-cidr-list` (write the role itself instead)"},
	{"JWT", "`oidc/auth_url`, `oidc/callback` (the OIDC browser flow)"},
	{"Kubernetes", "none"},
	{"Identity", "`entity/merge`, `entity/batch-delete`, `alias*` and `persona*` (deprecated), `oidc/*` (identity tokens and the OIDC provider), `mfa/*`"},
	{"Token store (`auth/token/`)", "none"},
	{"System (`sys/`)", "`sys/config/cors`, `sys/config/auditing/request-headers[/:name]`, `sys/config/ui/headers[/:name]`, `sys/config/ui/custom-messages*`, `sys/config/reload/:subsystem`, `sys/decode-token`, `sys/experiments`, `sys/generate-recovery-token/*`, `sys/host-info`, `sys/in-flight-req`, `sys/internal/counters/*`, `sys/internal/inspect/router/:tag`, `sys/internal/ui/feature-flags`, `sys/internal/ui/namespaces`, `sys/internal/ui/resultant-acl`, `sys/internal/ui/unauthenticated-messages`, `sys/internal/ui/version`, `sys/leases` and `sys/leases/count` (irrevocable leases), `sys/locked-users*`, `sys/loggers[/:name]`, `sys/plugins/*`, `sys/policies/password/*`, `sys/pprof/` (the index) and its `cmdline`, `profile`, `symbol` and `trace` profiles, `sys/quotas/*`, `sys/raw/*`, `sys/seal-backend-status`, `sys/tools/hash`, `sys/tools/random`, `sys/version-history`, `sys/mfa/*`, `sys/well-known/*`, and the Enterprise-only areas (`sys/namespaces`, `sys/replication/performance/*`, `sys/replication/dr/primary/disable`, `sys/replication/dr/secondary/disable`, `sys/replication/dr/secondary/recover`, `sys/replication/reindex` and the older `sys/replication/primary/*` and `sys/replication/secondary/*`, `sys/license/*`, `sys/control-group/*`, `sys/managed-keys/*`, `sys/policies/rgp|egp`)"},
}

// statusTable renders rows like endpoint.MarkdownTable, with a column for
// the endpoint's status against Vault; used collects the keys it looked up.
func statusTable(t *testing.T, rows []endpoint.EndpointRow, used map[string]bool) string {
	t.Helper()
	var sb strings.Builder
	sb.WriteString("| path | methods | what | vs Vault |\n|---|---|---|---|\n")
	for _, r := range rows {
		st, ok := vaultStatus[r.Path]
		if !ok {
			t.Errorf("%s has no status against Vault: add it to vaultStatus in apistatus_test.go (%q or \"different: <why>\")", r.Path, same)
			st = "?"
		} else if st != same && !strings.HasPrefix(st, "different: ") {
			t.Errorf("%s: status %q is neither %q nor \"different: <why>\"", r.Path, st, same)
		}
		used[r.Path] = true
		esc := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
		sb.WriteString("| `" + r.Path + "` | " + strings.Join(r.Methods, ", ") + " | " + esc(r.Summary) + " | " + esc(st) + " |\n")
	}
	return sb.String()
}

// checkStaleStatus fails for vaultStatus entries no declared endpoint has.
func checkStaleStatus(t *testing.T, used map[string]bool) {
	t.Helper()
	var stale []string
	for k := range vaultStatus {
		if !used[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	for _, k := range stale {
		t.Errorf("vaultStatus has %s, which no declaration serves: remove it", k)
	}
}

// renderMissing is the hand-kept list of Vault endpoints vaultd does not
// serve, in the generated section so it sits next to the tables.
func renderMissing() string {
	var sb strings.Builder
	sb.WriteString("\n### Vault endpoints vaultd does not serve\n\n" +
		"In the areas above, these endpoints of Vault's HTTP API are missing\n" +
		"(a request is a 404). Paths are relative to the mount. Served by the\n" +
		"HTTP layer rather than declared, so not in the tables above: `sys/metrics`,\n" +
		"`sys/monitor`, `sys/pprof/<profile>` and `sys/config/state/sanitized`\n" +
		"(sections above).\n\n" +
		"| area | missing |\n|---|---|\n")
	for _, m := range vaultMissing {
		sb.WriteString("| " + m.area + " | " + strings.ReplaceAll(m.paths, "|", "\\|") + " |\n")
	}
	return sb.String()
}
