// Package field reads the weakly typed fields of an auth method's
// requests and formats the fields of its responses, as Vault's field
// types do.
//
// Request data arrives as decoded JSON (float64 or json.Number, bool,
// string, []any, map[string]any) for writes, and as strings for query
// parameters; the readers accept both (Vault's weak decoding). Each reader
// returns (value, set, err): set is false when the field is absent or
// null, and err is a *secrets.Error of kind secrets.ErrInvalidRequest that
// names the field but never echoes its value, since the value may be a
// password or a secret ID.
//
// The package is shared by the auth methods under auth/ (userpass,
// approle) and imports only the standard library and secrets.
package field
