// Package keylock is a fixed set of striped RW mutexes for the per-key
// read-modify-write sections of the auth methods under auth/ (a user, a
// role, a secret ID).
//
// A key maps to one of 256 stripes by its FNV-1a hash. Two keys may share
// a stripe (they then serialize), which is harmless as long as a request
// never holds more than one stripe of the same Set. The package imports
// only the standard library.
package keylock
