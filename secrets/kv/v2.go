package kv

import (
	"sync"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// v2 is the versioned KV engine's state. Handlers live in one file per path
// family (config.go, data.go, metadata.go, delete.go, undelete.go,
// destroy.go, subkeys.go).
type v2 struct {
	now   func() time.Time
	locks *lockSet   // per-key locks around every read-modify-write of a key
	cfgMu sync.Mutex // serializes read-modify-writes of the mount config
}

// routes is the v2 routing table, in Vault's order.
func (b *v2) routes() routeTable {
	return routeTable{
		routes: []route{
			{exact: "config", ops: map[secrets.Operation]handler{
				secrets.OpRead:   b.configRead,
				secrets.OpUpdate: b.configWrite,
			}},
			{prefix: "data/", leafOnly: true, exists: metaExists, ops: map[secrets.Operation]handler{
				secrets.OpRead:   b.dataRead,
				secrets.OpCreate: b.dataWrite,
				secrets.OpUpdate: b.dataWrite,
				secrets.OpPatch:  b.dataPatch,
				secrets.OpDelete: b.dataDelete,
			}},
			{prefix: "metadata/", exists: metaExists, ops: map[secrets.Operation]handler{
				secrets.OpRead:   b.metadataRead,
				secrets.OpCreate: b.metadataWrite,
				secrets.OpUpdate: b.metadataWrite,
				secrets.OpPatch:  b.metadataPatch,
				secrets.OpDelete: b.metadataDelete,
				secrets.OpList:   b.metadataList,
			}},
			{prefix: "delete/", ops: map[secrets.Operation]handler{secrets.OpUpdate: b.deleteVersions}},
			{prefix: "undelete/", ops: map[secrets.Operation]handler{secrets.OpUpdate: b.undeleteVersions}},
			{prefix: "destroy/", ops: map[secrets.Operation]handler{secrets.OpUpdate: b.destroyVersions}},
			{prefix: "subkeys/", ops: map[secrets.Operation]handler{secrets.OpRead: b.subkeysRead}},
		},
		invalid: v2Invalid,
	}
}

// v2Invalid is Vault's answer for paths outside the v2 API (a 404).
func v2Invalid(op secrets.Operation, path string) error {
	switch path {
	case "metadata", "data", "delete", "undelete", "destroy":
		return secrets.Errorf(secrets.ErrUnsupportedPath,
			"Non-listing operations on the root of a K/V v2 mount are not supported.")
	}
	var sub string
	switch op {
	case secrets.OpCreate, secrets.OpUpdate:
		sub = "put"
	case secrets.OpPatch:
		sub = "patch"
	case secrets.OpRead:
		sub = "get"
	case secrets.OpList:
		sub = "list"
	case secrets.OpDelete:
		sub = "delete"
	}
	return secrets.Errorf(secrets.ErrUnsupportedPath,
		"Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv %s' for this operation.", sub)
}
