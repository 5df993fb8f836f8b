// Package audit is vaultd's audit broker and its file device.
//
// Core hands the broker one Input per request (before the request runs) and
// one per response (after it ran, with the error if it failed). For every
// enabled device the broker formats the input as one JSON line in Vault's
// audit entry shape
//
//	{"time":…,"type":"request","auth":{…},"request":{…},"error":…}
//	{"time":…,"type":"response","auth":{…},"request":{…},"response":{…},"error":…}
//
// and writes it. Before formatting, every string value in request and
// response data, every token and (unless the device sets
// hmac_accessor=false) every accessor is replaced by
// "hmac-sha256:<hex>", an HMAC-SHA256 keyed with the device's own salt.
// The salt lives behind the barrier (core stores it); Hasher.Hash lets an
// operator compute the HMAC of a known value (sys/audit-hash).
//
// Invariants:
//   - The broker never mutates an Input: hashing builds new maps.
//   - Values of types the hasher does not know (structs, typed slices) are
//     normalised through JSON first, so no string can slip through unhashed.
//   - Fail closed: LogRequest and LogResponse return ErrAllDevicesFailed when
//     at least one device is enabled and none recorded the entry. With no
//     device enabled there is nothing to fail and they return nil.
//   - A device that could not be opened is registered as Unavailable: it
//     counts as enabled and failing, so it cannot silently disable auditing.
//
// The package imports only the standard library; it knows nothing of
// storage, tokens or HTTP.
package audit
