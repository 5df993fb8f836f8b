// Node 1 of 3: every node lists all three peers, so whichever node is
// initialised first becomes the leader the others join.
storage "raft" {
  path                   = "/vault/data"
  node_id                = "vault-0"
  performance_multiplier = 1

  retry_join {
    leader_api_addr         = "https://vault-0.vault-internal:8200"
    leader_ca_cert_file     = "/vault/tls/ca.pem"
    leader_client_cert_file = "/vault/tls/tls.crt"
    leader_client_key_file  = "/vault/tls/tls.key"
  }
  retry_join {
    leader_api_addr         = "https://vault-1.vault-internal:8200"
    leader_ca_cert_file     = "/vault/tls/ca.pem"
    leader_client_cert_file = "/vault/tls/tls.crt"
    leader_client_key_file  = "/vault/tls/tls.key"
  }
  retry_join {
    leader_api_addr         = "https://vault-2.vault-internal:8200"
    leader_tls_servername   = "vault.internal"
    leader_ca_cert_file     = "/vault/tls/ca.pem"
    leader_client_cert_file = "/vault/tls/tls.crt"
    leader_client_key_file  = "/vault/tls/tls.key"
  }
}

listener "tcp" {
  address            = "0.0.0.0:8200"
  cluster_address    = "0.0.0.0:8201"
  tls_cert_file      = "/vault/tls/tls.crt"
  tls_key_file       = "/vault/tls/tls.key"
  tls_client_ca_file = "/vault/tls/ca.pem"
  tls_min_version    = "tls13"
}

api_addr          = "https://vault-0.vault-internal:8200"
cluster_addr      = "https://vault-0.vault-internal:8201"
log_level         = "debug"
log_format        = "json"
default_lease_ttl = "168h"
max_lease_ttl     = "32d"
cluster_name      = "vaultd-prod"
