package clusterport

import "github.com/vaultd/vaultd/clusterport/clustertls"

// The TLS material the port serves with lives in clusterport/clustertls;
// these names keep the composition root's spelling.
type (
	// CA is the cluster certificate authority.
	CA = clustertls.CA
	// Material is one node's CA certificate, certificate and key.
	Material = clustertls.Material
)

// ServerName is the DNS name in every node certificate.
const ServerName = clustertls.ServerName

var (
	// ErrBadMaterial: TLS material does not parse or does not match.
	ErrBadMaterial = clustertls.ErrBadMaterial
	// NewCA generates a self-signed ECDSA P-256 cluster CA.
	NewCA = clustertls.NewCA
	// DecodeCA parses CA.Encode's output.
	DecodeCA = clustertls.DecodeCA
	// DecodeMaterial parses Material.Encode's output and validates it.
	DecodeMaterial = clustertls.DecodeMaterial
)

// IssueReplicationPeer issues, from the primary cluster's CA, the
// certificate a DR secondary presents on ProtoReplication (common name
// ReplicationPeerPrefix + id). The port refuses it for raft and forwarding.
func IssueReplicationPeer(ca *CA, id string) (*Material, error) {
	if id == "" {
		return nil, ErrBadMaterial
	}
	return ca.Issue(ReplicationPeerPrefix + id)
}
