package approle

import (
	"context"
	"maps"
	"slices"

	"github.com/vaultd/vaultd/auth/internal/cidr"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// errInvalidCredentials is the one answer for an unknown role_id, a wrong,
// used-up or expired secret_id, or a missing secret_id: a client cannot
// tell them apart (Vault's text, 400).
func errInvalidCredentials() error {
	return invalidf("invalid role or secret ID")
}

// login serves POST login {role_id, secret_id}.
//
// Every failure before the secret ID is accepted does the same work: one
// HMAC of the role ID and of the secret ID, and three storage reads (the
// role_id index, the role, the secret ID entry), reading keys under a
// name no role can have when the real ones are unknown.
func (e *engine) login(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	roleID, _, err := idField(d, "role_id")
	if err != nil {
		return nil, err
	}
	if roleID == "" {
		return nil, invalidf("missing role_id")
	}
	secretID, _, err := idField(d, "secret_id")
	if err != nil {
		return nil, err
	}
	s := req.Storage
	k, err := e.saltFor(ctx, s, false)
	if err != nil {
		return nil, err
	}
	if k == nil {
		k = e.ephemeral // no salt yet: no role exists
	}
	sh := k.mac(domainSecretID, secretID)

	var idx roleIDEntry
	found, err := getJSON(ctx, s, roleIDKey(k, roleID), &idx)
	if err != nil {
		return nil, err
	}
	name := dummyName
	if found {
		name = idx.Name
	}
	mu := e.roleLocks.ForKey(name)
	mu.RLock()
	defer mu.RUnlock()
	r, err := loadRole(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if r == nil || !sameSecret(r.RoleID, roleID) {
		return nil, e.failLogin(ctx, s, k, sh)
	}

	meta := map[string]string{}
	var secretIDCIDRs []string
	if r.BindSecretID {
		if secretID == "" {
			return nil, e.failLogin(ctx, s, k, sh)
		}
		ent, err := e.consumeSecretID(ctx, req, k, r, sh)
		if err != nil {
			return nil, err
		}
		maps.Copy(meta, ent.Metadata)
		secretIDCIDRs = ent.TokenBoundCIDRs
	} else if err := checkLoginCIDRs(req, r, nil); err != nil {
		return nil, err
	}
	meta["role_name"] = r.Name
	auth := r.Params.Auth("", r.RoleID, meta)
	if len(secretIDCIDRs) > 0 { // the secret ID's bound CIDRs replace the role's, as in Vault
		auth.BoundCIDRs = slices.Clone(secretIDCIDRs)
	}
	if slices.Contains(auth.Policies, tokenparams.RootPolicy) {
		return nil, invalidf("auth methods cannot create root tokens")
	}
	return &secrets.Response{Auth: auth}, nil
}

// failLogin does the storage read a wrong secret ID would have done, then
// answers the generic error.
func (e *engine) failLogin(ctx context.Context, s storage.Backend, k hmacKey, sh string) error {
	if _, err := loadSecretID(ctx, s, secretIDDir(k, dummyName)+sh); err != nil {
		return err
	}
	return errInvalidCredentials()
}

// consumeSecretID validates the secret ID (HMAC sh) against role r and
// the client's address and uses it up by one, under the secret ID's lock:
// with secret_id_num_uses = n, exactly n logins succeed, and the entry is
// deleted with the last. An expired entry is deleted and refused.
func (e *engine) consumeSecretID(ctx context.Context, req *secrets.Request, k hmacKey, r *roleEntry, sh string) (*secretIDEntry, error) {
	s := req.Storage
	mu := e.secretLocks.ForKey(sh)
	mu.Lock()
	defer mu.Unlock()
	key := secretIDDir(k, r.Name) + sh
	ent, err := loadSecretID(ctx, s, key)
	if err != nil {
		return nil, err
	}
	if ent == nil || !sameSecret(ent.SecretIDHMAC, sh) {
		return nil, errInvalidCredentials()
	}
	now := e.now()
	if ent.expired(now) {
		if err := txn(ctx, s, deleteOp(key), deleteOp(accessorKey(k, ent.Accessor))); err != nil {
			return nil, err
		}
		return nil, errInvalidCredentials()
	}
	if err := checkLoginCIDRs(req, r, ent); err != nil {
		return nil, err
	}
	switch {
	case ent.NumUses == 1:
		if err := txn(ctx, s, deleteOp(key), deleteOp(accessorKey(k, ent.Accessor))); err != nil {
			return nil, err
		}
	case ent.NumUses > 1:
		ent.NumUses--
		ent.LastUpdatedTime = now
		op, err := putOp(key, ent)
		if err != nil {
			return nil, err
		}
		if err := txn(ctx, s, op); err != nil {
			return nil, err
		}
	}
	return ent, nil
}

// checkLoginCIDRs checks the client's address against the secret ID's
// cidr_list, the role's secret_id_bound_cidrs and the token bound CIDRs
// (the secret ID's, else the role's), before any use is consumed.
func checkLoginCIDRs(req *secrets.Request, r *roleEntry, ent *secretIDEntry) error {
	if ent != nil && !cidr.Allowed(req.RemoteAddr, ent.CIDRList) {
		return invalidf("source address %q unauthorized through CIDR restrictions on the secret ID", req.RemoteAddr)
	}
	if !cidr.Allowed(req.RemoteAddr, r.SecretIDBoundCIDRs) {
		return invalidf("source address %q unauthorized by CIDR restrictions on the role", req.RemoteAddr)
	}
	tokenCIDRs := r.BoundCIDRs
	if ent != nil && len(ent.TokenBoundCIDRs) > 0 {
		tokenCIDRs = ent.TokenBoundCIDRs
	}
	if !cidr.Allowed(req.RemoteAddr, tokenCIDRs) {
		return secrets.Errorf(secrets.ErrPermissionDenied, "permission denied")
	}
	return nil
}
