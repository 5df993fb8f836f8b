package tokens

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vaultd/vaultd/core/policies"
)

// Built-in policy names (core/policies owns them).
const (
	rootPolicy             = policies.RootPolicy
	defaultPolicy          = policies.DefaultPolicy
	responseWrappingPolicy = policies.ResponseWrappingPolicy
)

// ResponseAuth is the "auth" block of a login or token-create response.
type ResponseAuth struct {
	ClientToken   string   `json:"client_token"`
	Accessor      string   `json:"accessor"`
	Policies      []string `json:"policies"`
	TokenPolicies []string `json:"token_policies"`
	// IdentityPolicies are those the token's entity adds (login only).
	IdentityPolicies []string          `json:"identity_policies,omitempty"`
	Metadata         map[string]string `json:"metadata"`
	LeaseDuration    int               `json:"lease_duration"`
	Renewable        bool              `json:"renewable"`
	EntityID         string            `json:"entity_id"`
	TokenType        string            `json:"token_type"`
	Orphan           bool              `json:"orphan"`
	NumUses          int               `json:"num_uses"`
}

// AuthBlock is Vault's "auth" block for a token just issued or renewed.
func AuthBlock(te *Entry, ttl time.Duration) *ResponseAuth {
	meta := te.Meta
	return &ResponseAuth{
		ClientToken:   te.ID,
		Accessor:      te.Accessor,
		Policies:      te.Policies,
		TokenPolicies: te.Policies,
		Metadata:      meta,
		LeaseDuration: int(ttl / time.Second),
		Renewable:     te.Renewable,
		EntityID:      te.EntityID,
		TokenType:     te.Type,
		Orphan:        te.ParentHash == "",
		NumUses:       max(te.NumUses, 0),
	}
}

// SanitizePolicies trims, lower-cases, de-duplicates and sorts policy
// names, adds "default" when asked, and reduces any set holding "root" to
// just ["root"] (Vault's policyutil.SanitizePolicies).
func SanitizePolicies(in []string, addDefault bool) []string {
	out := make([]string, 0, len(in)+1)
	for _, p := range in {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if p == rootPolicy {
			return []string{rootPolicy}
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if addDefault && !slices.Contains(out, defaultPolicy) {
		out = append(out, defaultPolicy)
	}
	sort.Strings(out)
	return out
}

// SudoOn reports whether te's policies grant sudo on path.
func SudoOn(te *Entry, path string) bool {
	if te == nil || te.Authz == nil {
		return false
	}
	if te.Authz.ACL().IsRoot() {
		return true
	}
	for _, op := range []string{"read", "update", "list", "create", "delete", "patch"} {
		if _, sudo := te.Authz.ACL().Allowed(op, path); sudo {
			return true
		}
	}
	return false
}
