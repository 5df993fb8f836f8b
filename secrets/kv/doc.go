// Package kv is Vault's key/value secrets engine, version 1 and version 2,
// behind the secrets.Backend contract.
//
// Factory picks the variant from the mount option "version": "1" (or empty)
// is the unversioned KV v1, "2" the versioned KV v2. The engine stores only
// into req.Storage, the mount's view (already behind the barrier), and
// imports nothing but the standard library, storage and secrets.
//
// # Paths
//
// KV v1 serves read, create/update, delete and list on any path below the
// mount; it has no patch.
//
// KV v2 serves the paths of Vault's KV v2 HTTP API, relative to the mount:
//
//	config            read, update        max_versions, cas_required, delete_version_after
//	data/:path        read, create/update, patch, delete (soft delete of the latest version)
//	metadata/:path    read, create/update, patch, delete (everything), list
//	delete/:path      update              {"versions":[...]} soft delete
//	undelete/:path    update              {"versions":[...]}
//	destroy/:path     update              {"versions":[...]} permanent
//	subkeys/:path     read                ?version=N&depth=D
//
// A LIST request's path is treated as a folder (a "/" is appended, as
// Vault's HTTP layer does). Any other path answers ErrUnsupportedPath; a
// known path with an operation it does not serve answers
// ErrUnsupportedOperation.
//
// # Storage layout
//
// KV v1 stores each secret as one entry at its own path in the view; the
// value is the JSON object as written. Listing is storage.List.
//
// KV v2 uses three kinds of entries in the view:
//
//	config                              JSON {max_versions, cas_required, delete_version_after (ns; -1s = disabled)}
//	metadata/<path>                     JSON key metadata: current_version, oldest_version,
//	                                    created_time, updated_time, max_versions, cas_required,
//	                                    delete_version_after, custom_metadata, and versions
//	                                    {"<n>": {created_time, deletion_time, destroyed}}
//	versions/<hex sha256(path)>/<n>     JSON {"data": {...}}: the secret's data at version n
//
// Metadata is laid out by the secret's path, so LIST metadata/<folder>/ is
// storage.List("metadata/<folder>/") and gives Vault's listing (children,
// with sub-folders ending in "/"). Version data is keyed by a hash of the
// path, so no secret's versions can collide with another secret's folder.
//
// # Invariants
//
//   - Every change to a key is one storage.Txn: a new version is
//     {put version, delete trimmed versions, put metadata}; destroy is
//     {put metadata, delete version data}; deleting the metadata deletes
//     every version in the same Txn. A crash never half-applies a write.
//   - Every read-modify-write of a key (cas, metadata + version) runs under
//     a per-key lock (256 striped RW mutexes keyed by an FNV hash of the
//     path); reads take the read lock. Concurrent writers to one key get
//     distinct, consecutive versions, and for a given cas value exactly one
//     writer wins. Config changes take their own mutex.
//   - The lock is not the guarantee: every write Txn also carries the
//     precondition that the metadata record (or the mount config) is the
//     one it was computed from (storage.CheckRev, evaluated where the Txn
//     applies, in raft's FSM), so a write whose entry outlived its request
//     and its lock can never commit over a later write. A refused Txn
//     wrote nothing; the handler runs again from its reads
//     (retryOnConflict, five attempts, then 409).
//   - Version data exists exactly for the versions in the metadata's map
//     that are not destroyed. Destroyed versions stay in the map with
//     destroyed=true, as in Vault.
//   - User paths go through storage.ValidateKey ("..", ".", "//", a leading
//     "/" and NUL are rejected with ErrInvalidRequest) and every key is
//     built below the view, so no request can reach outside the mount.
//   - Timestamps are RFC 3339 with nanoseconds, UTC, from Config.Now.
//     A version counts as deleted once its deletion_time is not after now.
//   - The number of versions kept is the larger of the key's and the
//     mount's max_versions, or 10 when both are 0 (Vault's rule); the
//     oldest versions beyond it are removed on the next write.
package kv
