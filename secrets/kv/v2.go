package kv

import (
	"sync"
	"time"

	"github.com/vaultd/vaultd/endpoint"
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

// paths declares KV v2, in Vault's order.
func (b *v2) paths() *endpoint.Backend {
	path := &endpoint.Field{Type: endpoint.TypeString, Description: "Path of the secret."}
	version := &endpoint.Field{Type: endpoint.TypeInt64, Query: true, Description: "Version to read; 0 or absent: the latest."}
	settings := map[string]*endpoint.Field{
		"max_versions":         {Type: endpoint.TypeInt64, Description: "Number of versions kept (0: the default, 10)."},
		"cas_required":         {Type: endpoint.TypeBool, Description: "Writes must carry the cas option."},
		"delete_version_after": {Type: endpoint.TypeDurationSecond, Description: "Versions are soft-deleted this long after they are written (0: never)."},
	}
	with := func(base map[string]*endpoint.Field, extra map[string]*endpoint.Field) map[string]*endpoint.Field {
		out := map[string]*endpoint.Field{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	versions := map[string]*endpoint.Field{
		"path":     path,
		"versions": {Type: endpoint.TypeCommaIntSlice, Description: "The versions to act on."},
	}
	type ops = map[secrets.Operation]endpoint.Handler
	return &endpoint.Backend{
		Help:      "Versioned key/value secret storage (KV version 2).",
		Unmatched: func(req *secrets.Request) error { return v2Invalid(req.Operation, folderPath(req)) },
		Paths: []*endpoint.Path{
			{
				Pattern: "config", Summary: "Read or set the mount's defaults for every key.",
				Fields:     settings,
				Operations: ops{secrets.OpRead: b.configRead, secrets.OpUpdate: retryOnConflict(b.configWrite)},
			},
			{
				Pattern: "data/{path+}", Summary: "Read, write, patch or delete a version of a secret.",
				Fields: map[string]*endpoint.Field{
					"path":    path,
					"version": version,
					"data":    {Type: endpoint.TypeMap, Description: "The secret's key/value pairs."},
					"options": {Type: endpoint.TypeMap, Description: "Write options: cas, the version the write expects to replace (0: the key must not exist)."},
				},
				Exists: existsCheck(metaExists),
				Operations: ops{
					secrets.OpRead: b.dataRead, secrets.OpUpdate: retryOnConflict(b.dataWrite),
					secrets.OpPatch: retryOnConflict(b.dataPatch), secrets.OpDelete: retryOnConflict(b.dataDelete),
				},
			},
			{
				Pattern: "metadata/{path*}", Summary: "Read, write, patch, list or delete a secret's metadata and versions.",
				Fields: with(settings, map[string]*endpoint.Field{
					"path":            path,
					"custom_metadata": {Type: endpoint.TypeMap, Description: "User-provided key/value pairs (strings)."},
				}),
				Exists: existsCheck(metaExists),
				Operations: ops{
					secrets.OpRead: b.metadataRead, secrets.OpUpdate: retryOnConflict(b.metadataWrite), secrets.OpPatch: retryOnConflict(b.metadataPatch),
					secrets.OpDelete: retryOnConflict(b.metadataDelete), secrets.OpList: b.metadataList,
				},
			},
			{Pattern: "delete/{path*}", Summary: "Soft-delete versions of a secret.", Fields: versions, Operations: ops{secrets.OpUpdate: retryOnConflict(b.deleteVersions)}},
			{Pattern: "undelete/{path*}", Summary: "Restore soft-deleted versions of a secret.", Fields: versions, Operations: ops{secrets.OpUpdate: retryOnConflict(b.undeleteVersions)}},
			{Pattern: "destroy/{path*}", Summary: "Permanently destroy versions of a secret.", Fields: versions, Operations: ops{secrets.OpUpdate: retryOnConflict(b.destroyVersions)}},
			{
				Pattern: "subkeys/{path*}", Summary: "Read the structure of a secret without its values.",
				Fields: map[string]*endpoint.Field{
					"path":    path,
					"version": version,
					"depth":   {Type: endpoint.TypeInt64, Query: true, Description: "Depth below which values are not shown (0: no limit)."},
				},
				Operations: ops{secrets.OpRead: b.subkeysRead},
			},
		},
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
