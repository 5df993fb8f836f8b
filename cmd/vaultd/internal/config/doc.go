// Package config reads vaultd's server configuration: the HashiCorp Vault
// server configuration language (HCL v1 or JSON), the environment overrides
// Vault applies (VAULT_API_ADDR, VAULT_RAFT_PATH, ...), and whole documents
// passed in VAULTD_LOCAL_CONFIG / VAULT_LOCAL_CONFIG as Vault's Docker image
// does. It is the only HCL-aware code in vaultd; every other package takes a
// typed Config from cmd/vaultd.
//
// # Supported schema
//
//	storage "raft" {            # or "inmem" (tests, -dev); anything else is an error
//	  path                   = "/vault/data"
//	  node_id                = "vault-0"     # may be empty: the server generates and persists one
//	  performance_multiplier = 3             # 0 → 3 (Vault: 5), at most 10
//	  trailing_logs          = 10000
//	  snapshot_threshold     = 8192
//	  snapshot_interval      = "5s"          # or seconds as a number (Vault: 120s)
//	  max_entry_size         = 1048576
//	  retry_join {
//	    leader_api_addr         = "https://vault-1:8200"
//	    leader_tls_servername   = "vault.internal"
//	    leader_ca_cert_file     = "/vault/tls/ca.pem"
//	    leader_client_cert_file = "/vault/tls/tls.crt"
//	    leader_client_key_file  = "/vault/tls/tls.key"
//	  }
//	}
//	listener "tcp" {            # one or more; only "tcp"
//	  address            = "0.0.0.0:8200"     # default 127.0.0.1:8200
//	  cluster_address    = "0.0.0.0:8201"     # default: address port + 1
//	  tls_disable        = false              # true, "true", 1, "1" ...
//	  tls_cert_file      = "/vault/tls/tls.crt"
//	  tls_key_file       = "/vault/tls/tls.key"
//	  tls_client_ca_file = "/vault/tls/ca.pem"
//	  tls_min_version    = "tls12"            # tls12 or tls13
//	  tls_max_version    = "tls13"
//	  tls_cipher_suites  = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,..." # TLS 1.2, secure ones only
//	  tls_require_and_verify_client_cert = true # needs tls_client_ca_file
//	  max_request_size   = 33554432           # 0 → 32 MiB, < 0 → no limit
//	  max_request_duration     = "90s"
//	  http_read_header_timeout = "10s"
//	  http_read_timeout        = "30s"        # covers the body: cuts slow bodies off
//	  http_write_timeout       = "0"          # none
//	  http_idle_timeout        = "5m"
//	  x_forwarded_for_authorized_addrs      = "10.0.0.0/8"  # load balancers
//	  x_forwarded_for_hop_skips             = 0
//	  x_forwarded_for_reject_not_authorized = true
//	  x_forwarded_for_reject_not_present    = true
//	  disable_request_limiter = false         # Vault 1.16
//	}
//	request_limiter {           # Vault 1.16; on by default (docs/operations.md)
//	  disable   = false
//	  min_limit = 32                          # vaultd: bounds of the adaptive limit
//	  max_limit = 4096
//	}
//	cpu_pool {                  # vaultd: bcrypt/RSA work; on by default
//	  disable  = false
//	  size     = 0                            # 0 → GOMAXPROCS
//	  queue    = 0                            # 0 → 64 × size
//	  max_wait = "2s"
//	}
//	api_addr          = "https://vault-0.vault-internal:8200"
//	cluster_addr      = "https://vault-0.vault-internal:8201"
//	ui                = true
//	disable_mlock     = true
//	log_level         = "info"                # trace debug info warn error
//	log_format        = "json"                # standard or json
//	default_lease_ttl = "768h"                # Go duration, "32d", or seconds
//	max_lease_ttl     = "768h"
//	cluster_name      = "vaultd"
//	service_registration "kubernetes" { namespace = "vault"  pod_name = "vault-0" }
//	telemetry {                               # Config.TelemetrySettings; docs/observability.md
//	  prometheus_retention_time = "24h"         # 0 disables ?format=prometheus
//	  enable_hostname_label     = false
//	}
//	seal "transit" { address = "https://t:8200"  token = "…"  mount_path = "transit/"  key_name = "k" }
//
// Every key or stanza vaultd does not know (ha_storage, audit, ...)
// produces an entry in Config.Warnings naming the file and line; unknown
// input is never fatal. A security setting vaultd cannot honour
// (disable_unauthed_rekey_endpoints = true, an insecure or TLS 1.3 cipher
// suite name) is refused instead: nothing security-relevant is accepted
// and ignored. Seal stanzas likewise: "shamir" is the default, "transit"
// is applied (Config.Seals), and any other seal type is an error, because
// ignoring it would protect the root key less than the operator asked.
// Wrong types, bad syntax, duplicate attributes and
// unsupported storage types are errors (*Error) naming the file and line.
// Duplicate attributes are an error, as in Vault 1.21: HCL's historical
// "last one wins" rule let a second line silently change a setting.
//
// # Using it
//
// The usual sequence in the server command is Resolve, or by hand:
//
//	cfg, err := config.Load(path)        // a file or a directory of *.hcl / *.json
//	env, err := config.FromEnv(getenv)    // optional: ErrNoEnvConfig when unset
//	cfg = cfg.Merge(env)
//	cfg.ApplyEnv(getenv)                  // VAULT_API_ADDR, VAULT_RAFT_NODE_ID, ...
//	cfg.ApplyDefaults()
//	err = cfg.Validate()
//
// Zero values in a parsed Config mean "not set" so that Merge can tell a
// later file's setting from an absent one. ApplyDefaults fills them in.
// Listener and storage stanzas are never merged field by field, so Parse
// already fills their defaults.
//
// # JSON
//
// HCL v1's JSON parser drops the source position of every JSON token, so a
// JSON document (one whose first non-space character is '{', the same rule
// HCL uses) is read with encoding/json instead. Both syntaxes are converted
// to one internal tree and decoded by the same code, so they accept the same
// schema, including Vault's `"listener": [{"tcp": {...}}]` array form.
package config
