// Package core is a vaultd node's state machine and request pipeline.
//
// Lifecycle: uninitialized → sealed → unsealed{standby | active}. A node is
// active when it is unsealed and the raft leader, and only after it has run
// its setup (raft Barrier, keyring reload, mount table, token store, leader
// advertisement). Losing leadership or sealing flips it out of active first,
// before anything is torn down, so a deposed node never serves.
//
// Requests: HandleRequest takes a Request from api and runs
// token lookup (+ num_uses) → audit (request) → ACL → router → engine →
// response wrapping → audit (response). Reads on the active node are
// preceded by Cluster.VerifyLeader so they are linearizable. The token,
// policy and audit model is described in docs/security.md.
//
// core keeps the lifecycle, the HA role, the router and the rules over
// the mount tables, the request pipeline and the declaration that routes
// sys/ (sysroutes.go; the node-local endpoints the HTTP layer serves are
// declared in nodelocal.go), and wires its subsystems, each a package
// that owns its state and storage and reaches core only through
// interfaces or callbacks it declares:
//
//	core/mounts      the secrets engines' and auth methods' mount tables
//	core/tokens      token store, expiration, auth/token/* endpoints
//	core/policies    ACL policies and their compiled form (core/acl evaluates)
//	core/identity    entities and groups, identity/*
//	core/audit       audit devices, broker and table
//	core/leases      sys/leases/*
//	core/wrapping    response wrapping, sys/wrapping/*
//	core/ceremony    sys/rekey/*, sys/generate-root/*
//	core/clusterops  sys/storage/raft/*, autopilot, the leader side of joins,
//	                 sys/ha-status and sys/step-down
//
// Storage layout owned by core itself (behind the barrier):
// core/cluster-info, core/cluster-tls, core/nodes/<id>, core/leader/<id>.
// core/mounts owns core/mounts and core/auth and the engines'
// logical/<mount uuid>/... and auth/<mount uuid>/... views. The
// subsystems document their own keys; core/seal-config (plaintext),
// core/sealed-root-key and core/keyring are owned by seal.Barrier.
package core
