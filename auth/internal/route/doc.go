// Package route is the routing table of the auth methods under auth/: a
// list of path patterns, each with a handler per operation and an
// optional existence check, and the secrets.Backend dispatch over it
// (HandleRequest and Exists).
//
// A pattern is a list of slash-separated segments where "*" captures one
// non-empty segment (a username, a role name); the first route that
// matches wins, so a table is written in Vault's order. As in Vault, a
// create on a path without a create handler is served by its update
// handler, and the one trailing slash of a LIST path is ignored.
//
// The package imports only the standard library, storage and secrets.
package route
