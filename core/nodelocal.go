package core

import (
	"context"
	"sync"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// The node-local endpoints answer on every node, sealed or not, from the
// node's own state, so the HTTP layer serves them itself (api: sys/init,
// sys/seal-status, sys/unseal, sys/health, sys/leader, sys/monitor; the
// server's raft routes: sys/storage/raft/join, bootstrap/challenge and
// answer, snapshot-init, known-peers) and they never reach core's router.
// They are declared here, once, so the OpenAPI document and docs/api.md
// list them; TestOpenAPI_CoversEveryRoute checks every route the HTTP
// layer registers against this table. Their handlers only answer a
// request that reached core by mistake.

var (
	nodeLocalOnce sync.Once
	nodeLocal     *endpoint.Backend
)

func servedByHTTPLayer(context.Context, *secrets.Request, *endpoint.Data) (*secrets.Response, error) {
	return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path: served by each node's HTTP layer")
}

// NodeLocalEndpoints declares the node-local sys/ endpoints, relative to
// sys/ (see above).
func NodeLocalEndpoints() *endpoint.Backend {
	nodeLocalOnce.Do(func() {
		h := servedByHTTPLayer
		str := func(desc string) *endpoint.Field {
			return &endpoint.Field{Type: endpoint.TypeString, Description: desc}
		}
		query := func(t endpoint.Type, desc string) *endpoint.Field {
			return &endpoint.Field{Type: t, Description: desc, Query: true}
		}
		code := func(desc string) *endpoint.Field { return query(endpoint.TypeInt, desc) }
		nodeLocal = &endpoint.Backend{
			Help:            "Node-local endpoints, answered by each node from its own state.",
			StorageOptional: true,
			Paths: []*endpoint.Path{
				{
					Pattern: "init", Unauthenticated: true,
					Summary: "Whether the cluster is initialised (GET), or initialise it (PUT): split the unseal key into shares.",
					Fields: map[string]*endpoint.Field{
						"secret_shares":      {Type: endpoint.TypeInt, Description: "How many unseal key shares to make."},
						"secret_threshold":   {Type: endpoint.TypeInt, Description: "How many shares unseal."},
						"pgp_keys":           {Type: endpoint.TypeCommaStringSlice, Description: "OpenPGP public keys (base64), one per share, to encrypt the shares to."},
						"root_token_pgp_key": str("An OpenPGP public key (base64) to encrypt the root token to."),
						"stored_shares":      {Type: endpoint.TypeInt, Description: "Vault compatibility: refused (400) under a Shamir seal; under an auto seal the unseal key is always stored, wrapped by the seal."},
						"recovery_shares":    {Type: endpoint.TypeInt, Description: "Under an auto seal: how many recovery key shares to make."},
						"recovery_threshold": {Type: endpoint.TypeInt, Description: "Under an auto seal: how many recovery shares authorise a rekey or root generation."},
						"recovery_pgp_keys":  {Type: endpoint.TypeCommaStringSlice, Description: "OpenPGP public keys (base64), one per recovery share, to encrypt them to."},
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h, secrets.OpUpdate: h},
				},
				{
					Pattern: "seal-status", Unauthenticated: true,
					Summary:    "This node's seal status: sealed, threshold, progress, version, cluster.",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "unseal", Unauthenticated: true,
					Summary: "Submit an unseal key share to this node.",
					Fields: map[string]*endpoint.Field{
						"key":     str("An unseal key share (base64 or hex)."),
						"reset":   {Type: endpoint.TypeBool, Description: "Forget the shares submitted so far."},
						"migrate": {Type: endpoint.TypeBool, Description: "The share is for a seal migration (the configured seal changed)."},
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: h},
				},
				{
					Pattern: "health", Unauthenticated: true,
					Summary: "This node's health as an HTTP status (GET or HEAD): 200 active, 429 standby, 501 uninitialised, 503 sealed, 530 removed.",
					Fields: map[string]*endpoint.Field{
						"standbyok":              query(endpoint.TypeBool, "Answer activecode on a standby."),
						"perfstandbyok":          query(endpoint.TypeBool, "Answer activecode on a performance standby."),
						"activecode":             code("The status of an active node."),
						"standbycode":            code("The status of a standby."),
						"drsecondarycode":        code("The status of a DR secondary."),
						"performancestandbycode": code("The status of a performance standby."),
						"sealedcode":             code("The status of a sealed node."),
						"uninitcode":             code("The status of an uninitialised node."),
						"removedcode":            code("The status of a node removed from the cluster."),
						"haunhealthycode":        code("The status of an unhealthy HA node."),
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "leader", Unauthenticated: true,
					Summary:    "Whether HA is enabled, this node's role and the active node's address.",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "monitor",
					Summary: "Stream this node's log lines until the client goes away (needs sudo on sys/monitor; never forwarded).",
					Fields: map[string]*endpoint.Field{
						"log_level":  query(endpoint.TypeString, "The lowest level streamed: trace, debug, info, warn or error."),
						"log_format": query(endpoint.TypeString, "standard or json."),
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "storage/raft/join", Unauthenticated: true,
					Summary: "Join this (uninitialised) node to a raft cluster through a leader's API address.",
					Fields: map[string]*endpoint.Field{
						"leader_api_addr":       str("The leader's API address."),
						"leader_ca_cert":        str("The PEM CA certificate of the leader's API listener."),
						"leader_client_cert":    str("A PEM client certificate for the leader's API listener."),
						"leader_client_key":     str("Its PEM private key."),
						"leader_tls_servername": str("The server name to verify the leader's certificate against."),
						"retry":                 {Type: endpoint.TypeBool, Description: "Keep retrying until the join succeeds."},
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: h},
				},
				{
					Pattern: "storage/raft/bootstrap/challenge", Unauthenticated: true,
					Summary:    "A joining node asks the active node for a challenge only the holders of the unseal keys can answer.",
					Fields:     map[string]*endpoint.Field{"server_id": str("The joiner's node ID.")},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: h},
				},
				{
					Pattern: "storage/raft/bootstrap/answer", Unauthenticated: true,
					Summary: "A joining node answers the challenge; the active node adds it to the raft cluster.",
					Fields: map[string]*endpoint.Field{
						"server_id":    str("The joiner's node ID."),
						"answer":       str("The opened challenge (base64)."),
						"cluster_addr": str("The joiner's cluster address."),
						"non_voter":    {Type: endpoint.TypeBool, Description: "Join as a non-voter."},
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: h},
				},
				{
					Pattern: "storage/raft/snapshot-init", Unauthenticated: true,
					Summary:    "Restore an operator snapshot archive (the request body) into this never-initialised node, which stays sealed until the old cluster's shares unseal it.",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: h},
				},
				{
					Pattern: "storage/raft/known-peers", Unauthenticated: true,
					Summary:    "The raft peers this node knows of (used by retry_join).",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "metrics",
					Summary: "This node's metrics (needs read on sys/metrics unless the listener allows unauthenticated_metrics_access); never forwarded.",
					Fields: map[string]*endpoint.Field{
						"format": query(endpoint.TypeString, "prometheus for the Prometheus text format; empty for Vault's JSON shape."),
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "health/ready", Unauthenticated: true,
					Summary: "Readiness probe (GET or HEAD): 200 when every check passes (not removed, initialised, unsealed, quorum, raft lag, audit not blocked), else 503 with the failing checks.",
					Fields: map[string]*endpoint.Field{
						"sealedok":            query(endpoint.TypeBool, "A sealed node counts as ready."),
						"uninitok":            query(endpoint.TypeBool, "An uninitialised node counts as ready."),
						"standbyok":           query(endpoint.TypeBool, "A standby counts as ready (default true)."),
						"max_lag":             query(endpoint.TypeInt, "The most raft entries this node's applied index may trail the commit index."),
						"max_last_contact":    query(endpoint.TypeString, "The longest time since a follower last heard from the leader (a duration)."),
						"audit_blocked_after": query(endpoint.TypeString, "How long an audit write may be pending before the node counts as blocked (a duration)."),
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "health/live", Unauthenticated: true,
					Summary: "Liveness probe (GET or HEAD): 503 only for a node removed from the cluster or an audit write stuck past audit_blocked_after.",
					Fields: map[string]*endpoint.Field{
						"audit_blocked_after": query(endpoint.TypeString, "How long an audit write may be pending before the node counts as stuck (a duration, default 60s)."),
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "pprof/{profile}",
					Summary: "A runtime profile of this node (allocs, block, goroutine, heap, mutex, threadcreate); needs sudo on the path; never forwarded.",
					Fields: map[string]*endpoint.Field{
						"profile": str("The profile's name."),
						"debug":   query(endpoint.TypeInt, "0 for the binary pprof format, 1 or 2 for text."),
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "replication/status", Unauthenticated: true,
					Summary:    "This node's view of the cluster's replication: dr and performance (each: mode, state, epoch, known_secondaries or primary_cluster_addr, last_wal, last_remote_wal, lag_entries, lag_ms, last_contact).",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "replication/performance/status", Unauthenticated: true,
					Summary:    "This node's view of the cluster's performance replication (the performance part of replication/status; on a performance secondary, its lag).",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "replication/dr/status", Unauthenticated: true,
					Summary:    "This node's view of the cluster's DR replication (the dr part of replication/status).",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
				{
					Pattern: "replication/dr/secondary/generate-operation-token/attempt", Unauthenticated: true,
					Summary: "On a DR secondary: read, start or cancel the generation of a DR operation token from the keyholders' unseal key shares (as generate-root); forwarded to the leader.",
					Fields: map[string]*endpoint.Field{
						"otp":     str("A one-time password to XOR the token with (default: the server makes one and returns it once)."),
						"pgp_key": str("An OpenPGP public key (base64) to encrypt the token to instead."),
						"nonce":   str("The attempt's nonce (cancel)."),
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h, secrets.OpUpdate: h, secrets.OpDelete: h},
				},
				{
					Pattern: "replication/dr/secondary/generate-operation-token/update", Unauthenticated: true,
					Summary: "On a DR secondary: submit an unseal key share (of the primary's unseal key) to the operation-token generation in progress.",
					Fields: map[string]*endpoint.Field{
						"key":   str("An unseal key share."),
						"nonce": str("The attempt's nonce."),
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: h},
				},
				{
					Pattern: "replication/dr/secondary/promote", Unauthenticated: true,
					Summary: "Promote this DR secondary to primary at the next replication epoch (needs dr_operation_token); forwarded to the leader.",
					Fields: map[string]*endpoint.Field{
						"dr_operation_token":   str("A DR operation token (generate-operation-token)."),
						"primary_cluster_addr": str("Vault compatibility: the new primary's cluster addresses are its nodes' own."),
						"force":                {Type: endpoint.TypeBool, Description: "Vault compatibility: promotion never waits for the old primary."},
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: h},
				},
				{
					Pattern: "replication/dr/secondary/update-primary", Unauthenticated: true,
					Summary: "Point this DR secondary at another primary with a new activation token (needs dr_operation_token); it resynchronises from that primary.",
					Fields: map[string]*endpoint.Field{
						"dr_operation_token":   str("A DR operation token."),
						"token":                str("An activation token made by the new primary (wrap_info.token)."),
						"primary_api_addr":     str("The new primary's API address."),
						"ca_file":              str("A PEM CA file to verify the primary's API certificate."),
						"ca_path":              str("A directory of PEM CA files."),
						"primary_cluster_addr": str("Comma-separated cluster addresses to dial instead of those in the token."),
					},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: h},
				},
				{
					Pattern:    "config/state/sanitized",
					Summary:    "This node's configuration with secrets removed (sudo); never forwarded.",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: h},
				},
			},
		}
	})
	return nodeLocal
}
