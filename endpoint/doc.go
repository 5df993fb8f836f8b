// Package endpoint is the one way vaultd declares an HTTP endpoint of a
// secrets engine, an auth method or a core subsystem.
//
// An engine lists its paths in a [Backend]. Each [Path] names a pattern,
// the operations it serves, and its typed request fields; the Backend
// implements [secrets.Backend], [secrets.ExistenceChecker] and
// [secrets.Unauthenticated], so core routes to it like to any engine.
//
// # Patterns
//
// A pattern is slash-separated segments matched against the request path
// (relative to the mount, no leading slash):
//
//   - a literal segment matches itself;
//   - {name} matches exactly one non-empty segment;
//   - {name?} matches one non-empty segment or nothing; optional segments
//     may only be followed by other optional segments (transit's
//     "hash/{algorithm?}");
//   - {name*}, only as the last segment, matches the rest of the path,
//     slashes included, and may be empty ("data/{path*}" matches "data/"
//     with path = ""). The segment before it must be followed by "/":
//     "data/{path*}" does not match "data".
//   - {name+}, only as the last segment, matches the rest of the path if
//     it names a leaf: not empty and not ending in "/" ("data/{path+}"
//     matches "data/a/b" but neither "data/" nor "data/a/").
//
// Paths are tried in the order given; the first pattern that matches
// serves the request, even if it does not serve the operation (that is a
// 405, [secrets.ErrUnsupportedOperation]). An unmatched path is a 404
// ([secrets.ErrUnsupportedPath], or what [Backend.Unmatched] answers).
//
// LIST is always of a folder: a LIST path without a trailing slash gets
// one (as the HTTP layer does) and is matched with it. When nothing
// matches, it is matched again without the slash, except by patterns
// that end in a rest capture. So "users" serves LIST users/ and
// "users/{name}" LIST users/bob (a 405 when it has no list handler),
// "metadata/{path*}" captures "a/" for LIST metadata/a, and
// "data/{path+}" does not serve LIST data/a at all. A Backend with
// StrictList never retries.
//
// # Operations
//
// Operations maps a [secrets.Operation] to its [Handler]. A create on a
// path without a create handler is served by its update handler (Vault's
// rule). Exists, when set, is the path's existence check: core asks it to
// tell create from update for ACLs; a path without one sees every write as
// an update.
//
// # Fields
//
// Before a handler runs, every declared field present in the request is
// converted to its [Type] with Vault's weak decoding (a number may arrive
// as a string from a query, "true" and 1 are booleans, "90", 90 and "1m30s"
// are the same duration). A value that cannot be converted is a 400
// naming the field and the expected type, never echoing the value (it may
// be a secret):
//
//	error converting input for field "ttl": expected a duration
//
// A field with AllowedValues accepts only those (after conversion; a 400
// lists them otherwise). A Required field that is absent or null is a 400
// `missing required field "name"`. Path captures ({name}) are fields too:
// they are strings unless the path declares them with another type, and
// they win over a body field of the same name.
//
// A JSON null is "absent" for Get/GetOk (the default applies) but is seen
// by [Data.IsNull], for endpoints where null means "reset".
//
// Request keys that are neither declared fields nor captures are ignored,
// and the response carries Vault's warning
//
//	Endpoint ignored these unrecognized parameters: [a b]
//
// (sorted) unless the path sets TakesArbitraryInput (KV v1 and cubbyhole,
// whose secrets are the whole body), whose handlers read req.Data.
//
// For inputs of other shapes (transit's batch_input items, core's sys
// endpoints) [NewData] converts any map with the same field rules, and
// [Convert] one value.
//
// # Documentation
//
// [Backend.OpenAPI] renders the OpenAPI 3 "paths" entries of a Backend
// mounted at a prefix, and [Backend.Endpoints] the rows of the endpoint
// table of docs/api.md; both come from the same declarations that serve
// requests, so the documents cannot drift from the code. An engine makes
// its declarations available with a method
//
//	Endpoints() *endpoint.Backend
//
// which the docs test (cmd/vaultd/internal/server, TestAPIDocs) and the
// OpenAPI rendering look for.
//
// This package imports only the standard library, storage and secrets.
package endpoint
