package api

import (
	"net/http"
	"strings"
)

// Headers of the read modes (docs/consistency.md, "Reads on a standby").
const (
	// HeaderInconsistent is Vault's header; its value
	// InconsistentForwardActive makes a standby forward a read it could
	// answer itself.
	HeaderInconsistent        = "X-Vault-Inconsistent"
	InconsistentForwardActive = "forward-active-node"
	// HeaderMaxStaleness opts a read into bounded staleness: a standby may
	// answer it from its local state without contacting the active node if
	// it completed a read index less than this long ago (a Go duration or
	// seconds).
	HeaderMaxStaleness = "X-Vaultd-Max-Staleness"
	// HeaderIndex is Vault's state token header: answers carry the index
	// the node had applied; a read presenting tokens is answered by a
	// standby only once it has applied the highest of them.
	HeaderIndex = "X-Vault-Index"
)

// LocalReadCandidate reports whether a standby may try to answer r itself
// (forward.Options.Local): a read or list without response wrapping,
// X-Vault-Inconsistent: forward-active-node or X-Vault-No-Request-Forwarding,
// outside sys/, auth/ and identity/. Core decides the rest (the mount's engine, the token) and
// declines with core.ErrForward, which forwards the request.
func LocalReadCandidate(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, "LIST":
	default:
		return false
	}
	// X-Vault-No-Request-Forwarding keeps its meaning: the client is sent
	// to the active node (307) rather than answered here.
	if r.Header.Get("X-Vault-No-Request-Forwarding") != "" || r.Header.Get("X-Vault-Wrap-TTL") != "" || strings.EqualFold(strings.TrimSpace(r.Header.Get(HeaderInconsistent)), InconsistentForwardActive) {
		return false
	}
	if r.URL.Query().Has("help") {
		return false
	}
	p, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		return false
	}
	for _, pre := range []string{"sys/", "auth/", "identity/"} {
		if strings.HasPrefix(p, pre) || p+"/" == pre {
			return false
		}
	}
	return p != ""
}

// stateTokener is implemented by a core that makes X-Vault-Index state
// tokens (*core.Core).
type stateTokener interface{ StateToken() string }
