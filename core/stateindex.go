package core

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// X-Vault-Index state tokens (Vault's read-your-writes headers), within
// one cluster. A response carries the index this node had applied when it
// answered (for a write on the active node: at least the write's own);
// a read that presents tokens is answered by a standby only once it has
// applied the highest of them. The encoding is Vault's, so the official
// client's ReadYourWrites and MergeReplicationStates understand it:
// base64("v1:<cluster id>:<index>:0:<hex HMAC-SHA256>"), the HMAC keyed by
// a key derived from the cluster's token salt, so only the cluster's own
// nodes make tokens and a tampered one is refused. Tokens are opaque to
// clients. See docs/consistency.md.

// ErrBadStateToken: an X-Vault-Index value that is not a state token of
// this cluster (400).
var ErrBadStateToken = badRequest("invalid X-Vault-Index state token")

// StateToken is the state token of this node's applied index, or "" when
// it cannot make one (single-process storage, sealed, salt not loaded).
func (c *Core) StateToken() string {
	ci := c.info.Load()
	if c.cfg.Reads == nil || ci == nil {
		return ""
	}
	idx := c.cfg.Reads.AppliedIndex()
	if c.IsPerfSecondary() {
		// The primary's index space (perfsecondary.go).
		idx = c.perfReplicatedIndex(context.Background())
	}
	state := "v1:" + ci.ID + ":" + strconv.FormatUint(idx, 10) + ":0"
	mac, err := c.tokens.StateMAC([]byte(state))
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(state + ":" + hex.EncodeToString(mac)))
}

// stateIndex returns the highest index of the given state tokens (0 for
// none); ErrBadStateToken for one that is malformed, from another cluster
// or whose HMAC does not match.
func (c *Core) stateIndex(tokens []string) (uint64, error) {
	var max uint64
	for _, t := range tokens {
		idx, err := c.parseStateToken(strings.TrimSpace(t))
		if err != nil {
			return 0, err
		}
		max = maxU(max, idx)
	}
	return max, nil
}

func (c *Core) parseStateToken(t string) (uint64, error) {
	ci := c.info.Load()
	if ci == nil { // not loaded on this standby yet: the active node answers
		return 0, ErrForward
	}
	raw, err := base64.StdEncoding.DecodeString(t)
	if err != nil || len(raw) > 512 {
		return 0, ErrBadStateToken
	}
	i := strings.LastIndexByte(string(raw), ':')
	if i < 0 {
		return 0, ErrBadStateToken
	}
	state, macHex := string(raw[:i]), string(raw[i+1:])
	got, err := hex.DecodeString(macHex)
	if err != nil {
		return 0, ErrBadStateToken
	}
	want, err := c.tokens.StateMAC([]byte(state))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrForward, err)
	}
	if !hmac.Equal(got, want) {
		return 0, ErrBadStateToken
	}
	p := strings.Split(state, ":")
	if len(p) != 4 || p[0] != "v1" || p[1] != ci.ID {
		return 0, ErrBadStateToken
	}
	idx, err := strconv.ParseUint(p[2], 10, 64)
	if err != nil {
		return 0, ErrBadStateToken
	}
	return idx, nil
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
