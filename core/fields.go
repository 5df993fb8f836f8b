package core

import "github.com/vaultd/vaultd/core/internal/reqfield"

// Request parameter decoding for core's own endpoints (core/internal/reqfield).
var (
	strField     = reqfield.String
	boolField    = reqfield.Bool
	intField     = reqfield.Int
	durField     = reqfield.Duration
	strListField = reqfield.Strings
	strMapField  = reqfield.StringMap
	ttlSeconds   = reqfield.TTLSeconds
)

// maxDuration bounds TTL-like fields (100 years) so arithmetic cannot overflow.
const maxDuration = reqfield.MaxDuration
