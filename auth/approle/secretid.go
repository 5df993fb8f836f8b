package approle

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vaultd/vaultd/auth/internal/cidr"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// maxMetadataKeys bounds a secret ID's metadata.
const maxMetadataKeys = 256

// roleForSecretIDs loads the role of a secret ID operation, and the salt, under
// the role's read lock; the caller must call unlock.
func (e *engine) roleForSecretIDs(ctx context.Context, req *secrets.Request, d *endpoint.Data) (r *roleEntry, k hmacKey, unlock func(), err error) {
	name, err := canonicalRoleName(d.String("role_name"))
	if err != nil {
		return nil, nil, nil, err
	}
	mu := e.roleLocks.ForKey(name)
	mu.RLock()
	r, err = loadRole(ctx, req.Storage, name)
	if err == nil && r == nil {
		err = errNoRole(name)
	}
	if err == nil {
		k, err = e.saltFor(ctx, req.Storage, true)
	}
	if err != nil {
		mu.RUnlock()
		return nil, nil, nil, err
	}
	return r, k, mu.RUnlock, nil
}

// secretIDGenerate serves POST role/:role_name/secret-id.
func (e *engine) secretIDGenerate(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	id, err := newUUID()
	if err != nil {
		return nil, err
	}
	return e.issueSecretID(ctx, req, d, id)
}

// secretIDCustom serves POST role/:role_name/custom-secret-id {secret_id}.
func (e *engine) secretIDCustom(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	id, _, err := idField(d, "secret_id")
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, invalidf("missing secret_id")
	}
	return e.issueSecretID(ctx, req, d, id)
}

// issueSecretID stores secretID (as an HMAC) against the role with the
// request's metadata, cidr_list, token_bound_cidrs, num_uses and ttl.
func (e *engine) issueSecretID(ctx context.Context, req *secrets.Request, d *endpoint.Data, secretID string) (*secrets.Response, error) {
	r, k, unlock, err := e.roleForSecretIDs(ctx, req, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !r.BindSecretID {
		return nil, invalidf("bind_secret_id is not set on the role")
	}
	ent, err := secretIDParams(d, r)
	if err != nil {
		return nil, err
	}
	accessor, err := newUUID()
	if err != nil {
		return nil, err
	}
	now := e.now()
	ent.Accessor = accessor
	ent.CreationTime = now
	ent.LastUpdatedTime = now
	if ent.TTL > 0 {
		ent.ExpirationTime = now.Add(ent.TTL)
	}
	sh := k.mac(domainSecretID, secretID)
	ent.SecretIDHMAC = sh
	key := secretIDDir(k, r.Name) + sh

	mu := e.secretLocks.ForKey(sh)
	mu.Lock()
	defer mu.Unlock()
	existing, err := loadSecretID(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return nil, invalidf("SecretID is already registered")
	}
	put, err := putOp(key, ent)
	if err != nil {
		return nil, err
	}
	putAcc, err := putOp(accessorKey(k, accessor), accessorEntry{
		RoleNameHMAC: k.mac(domainRoleName, r.Name), SecretIDHMAC: sh,
	})
	if err != nil {
		return nil, err
	}
	if err := txn(ctx, req.Storage, put, putAcc); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{
		"secret_id":          secretID,
		"secret_id_accessor": accessor,
		"secret_id_ttl":      tokenparams.Seconds(ent.TTL),
		"secret_id_num_uses": ent.NumUses,
	}}, nil
}

// secretIDParams parses the per-secret-ID fields, defaulting to (and
// bounded by) the role's settings.
func secretIDParams(d *endpoint.Data, r *roleEntry) (*secretIDEntry, error) {
	ent := &secretIDEntry{NumUses: r.SecretIDNumUses, TTL: r.SecretIDTTL}
	meta, err := metadataField(d.Get("metadata"))
	if err != nil {
		return nil, err
	}
	ent.Metadata = meta
	if d.Has("cidr_list") {
		if ent.CIDRList, err = cidr.Validate("cidr_list", d.Strings("cidr_list")); err != nil {
			return nil, err
		}
		if !cidrSubset(ent.CIDRList, r.SecretIDBoundCIDRs) {
			return nil, invalidf("cidr_list must be a subset of the role's secret_id_bound_cidrs")
		}
	}
	if d.Has("token_bound_cidrs") {
		if ent.TokenBoundCIDRs, err = cidr.Validate("token_bound_cidrs", d.Strings("token_bound_cidrs")); err != nil {
			return nil, err
		}
		if !cidrSubset(ent.TokenBoundCIDRs, r.BoundCIDRs) {
			return nil, invalidf("token_bound_cidrs must be a subset of the role's token_bound_cidrs")
		}
	}
	if d.Has("num_uses") {
		n := d.Int("num_uses")
		if n < 0 {
			return nil, invalidf("num_uses cannot be negative")
		}
		if r.SecretIDNumUses > 0 && (n == 0 || n > r.SecretIDNumUses) {
			return nil, invalidf("num_uses cannot be higher than the role's secret_id_num_uses")
		}
		ent.NumUses = n
	}
	if d.Has("ttl") {
		ttl := d.Duration("ttl")
		if ttl < 0 {
			return nil, invalidf("ttl cannot be negative")
		}
		if r.SecretIDTTL > 0 && (ttl == 0 || ttl > r.SecretIDTTL) {
			return nil, invalidf("ttl cannot be longer than the role's secret_id_ttl")
		}
		ent.TTL = ttl
	}
	return ent, nil
}

// metadataField reads "metadata": a JSON object of strings, given as such
// or as a string holding one (Vault's form).
func metadataField(v any) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	var obj map[string]any
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, nil
		}
		if err := json.Unmarshal([]byte(x), &obj); err != nil || obj == nil {
			return nil, invalidf("failed to parse metadata: must be a JSON object of strings")
		}
	case map[string]any:
		obj = x
	default:
		return nil, invalidf("failed to parse metadata: must be a JSON object of strings")
	}
	if len(obj) > maxMetadataKeys {
		return nil, invalidf("metadata has more than %d keys", maxMetadataKeys)
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		s, ok := v.(string)
		if !ok || k == "" {
			return nil, invalidf("failed to parse metadata: must be a JSON object of strings")
		}
		out[k] = s
	}
	return out, nil
}

// cidrSubset reports whether every block of child lies within a block of
// parent; any child is a subset of an empty parent (no restriction).
func cidrSubset(child, parent []string) bool {
	if len(parent) == 0 {
		return true
	}
	var ps []netip.Prefix
	for _, s := range parent {
		if p, ok := cidr.Parse(s); ok {
			ps = append(ps, p)
		}
	}
	for _, s := range child {
		c, ok := cidr.Parse(s)
		if !ok {
			return false
		}
		if !slices.ContainsFunc(ps, func(p netip.Prefix) bool {
			return p.Bits() <= c.Bits() && p.Contains(c.Masked().Addr())
		}) {
			return false
		}
	}
	return true
}

// secretIDList serves LIST role/:role_name/secret-id: the accessors of the
// role's live secret IDs.
func (e *engine) secretIDList(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	r, k, unlock, err := e.roleForSecretIDs(ctx, req, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	dir := secretIDDir(k, r.Name)
	children, err := req.Storage.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("approle: list secret ids: %w", err)
	}
	now := e.now()
	keys := make([]string, 0, len(children))
	for _, c := range children {
		ent, err := loadSecretID(ctx, req.Storage, dir+c)
		if err != nil {
			return nil, err
		}
		if ent != nil && !ent.expired(now) {
			keys = append(keys, ent.Accessor)
		}
	}
	if len(keys) == 0 {
		return nil, notFound()
	}
	slices.Sort(keys)
	return &secrets.Response{Data: map[string]any{"keys": keys}}, nil
}

// secretIDTarget reads the required secret_id of a request on
// role/:role_name/secret-id/... and returns the role (its lock held until
// unlock), the mount's HMAC key and the secret ID's HMAC.
func (e *engine) secretIDTarget(ctx context.Context, req *secrets.Request, d *endpoint.Data) (r *roleEntry, k hmacKey, sh string, unlock func(), err error) {
	id, _, err := idField(d, "secret_id")
	if err != nil {
		return nil, nil, "", nil, err
	}
	if id == "" {
		return nil, nil, "", nil, invalidf("missing secret_id")
	}
	r, k, unlock, err = e.roleForSecretIDs(ctx, req, d)
	if err != nil {
		return nil, nil, "", nil, err
	}
	return r, k, k.mac(domainSecretID, id), unlock, nil
}

// secretIDLookup serves POST role/:role_name/secret-id/lookup {secret_id}.
// An unknown or expired secret ID is an empty answer (204), as in Vault.
func (e *engine) secretIDLookup(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	r, k, sh, unlock, err := e.secretIDTarget(ctx, req, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	mu := e.secretLocks.ForKey(sh)
	mu.RLock()
	defer mu.RUnlock()
	ent, err := loadSecretID(ctx, req.Storage, secretIDDir(k, r.Name)+sh)
	if err != nil {
		return nil, err
	}
	if ent == nil || !sameSecret(ent.SecretIDHMAC, sh) || ent.expired(e.now()) {
		return noContent(), nil
	}
	return &secrets.Response{Data: ent.view()}, nil
}

// secretIDDestroy serves POST/DELETE role/:role_name/secret-id/destroy
// {secret_id} (idempotent).
func (e *engine) secretIDDestroy(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	r, k, sh, unlock, err := e.secretIDTarget(ctx, req, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := e.destroySecretID(ctx, req.Storage, k, r.Name, sh); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// destroySecretID deletes a secret ID entry and its accessor under the
// secret ID's lock. The caller holds the role's lock.
func (e *engine) destroySecretID(ctx context.Context, s storage.Backend, k hmacKey, roleName, sh string) error {
	mu := e.secretLocks.ForKey(sh)
	mu.Lock()
	defer mu.Unlock()
	key := secretIDDir(k, roleName) + sh
	ent, err := loadSecretID(ctx, s, key)
	if err != nil || ent == nil {
		return err
	}
	return txn(ctx, s, deleteOp(key), deleteOp(accessorKey(k, ent.Accessor)))
}

// accessorTarget resolves an accessor of the role to its secret ID HMAC,
// or answers 404.
func (e *engine) accessorTarget(ctx context.Context, req *secrets.Request, d *endpoint.Data, k hmacKey, r *roleEntry) (string, error) {
	acc, _, err := idField(d, "secret_id_accessor")
	if err != nil {
		return "", err
	}
	if acc == "" {
		return "", invalidf("missing secret_id_accessor")
	}
	ae, err := loadAccessor(ctx, req.Storage, accessorKey(k, acc))
	if err != nil {
		return "", err
	}
	if ae == nil || !sameSecret(ae.RoleNameHMAC, k.mac(domainRoleName, r.Name)) {
		return "", &secrets.Error{Kind: secrets.ErrNotFound,
			Msg: fmt.Sprintf("failed to find accessor entry for secret_id_accessor: %q", acc)}
	}
	return ae.SecretIDHMAC, nil
}

// accessorLookup serves POST role/:role_name/secret-id-accessor/lookup
// {secret_id_accessor}.
func (e *engine) accessorLookup(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	r, k, unlock, err := e.roleForSecretIDs(ctx, req, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	sh, err := e.accessorTarget(ctx, req, d, k, r)
	if err != nil {
		return nil, err
	}
	mu := e.secretLocks.ForKey(sh)
	mu.RLock()
	defer mu.RUnlock()
	ent, err := loadSecretID(ctx, req.Storage, secretIDDir(k, r.Name)+sh)
	if err != nil {
		return nil, err
	}
	if ent == nil || ent.expired(e.now()) {
		return noContent(), nil
	}
	return &secrets.Response{Data: ent.view()}, nil
}

// accessorDestroy serves POST/DELETE
// role/:role_name/secret-id-accessor/destroy {secret_id_accessor}.
func (e *engine) accessorDestroy(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	r, k, unlock, err := e.roleForSecretIDs(ctx, req, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	sh, err := e.accessorTarget(ctx, req, d, k, r)
	if err != nil {
		return nil, err
	}
	if err := e.destroySecretID(ctx, req.Storage, k, r.Name, sh); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// tidy serves POST tidy/secret-id: it deletes every expired secret ID
// (and its accessor) now, role by role, and reports how many went.
func (e *engine) tidy(ctx context.Context, req *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
	names, err := req.Storage.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("approle: list roles: %w", err)
	}
	k, err := e.saltFor(ctx, req.Storage, false)
	if err != nil || k == nil {
		return &secrets.Response{Data: map[string]any{"secret_ids_deleted": 0}}, err
	}
	deleted := 0
	for _, name := range names {
		if strings.HasSuffix(name, "/") {
			continue
		}
		n, err := e.tidyRole(ctx, req.Storage, k, name)
		deleted += n
		if err != nil {
			return nil, err
		}
	}
	return &secrets.Response{Data: map[string]any{"secret_ids_deleted": deleted}}, nil
}

// tidyRole deletes the expired secret IDs of one role under its lock.
func (e *engine) tidyRole(ctx context.Context, s storage.Backend, k hmacKey, name string) (int, error) {
	mu := e.roleLocks.ForKey(name)
	mu.Lock()
	defer mu.Unlock()
	dir := secretIDDir(k, name)
	children, err := s.List(ctx, dir)
	if err != nil {
		return 0, fmt.Errorf("approle: list secret ids: %w", err)
	}
	now := e.now()
	var ops []storage.Op
	for _, c := range children {
		ent, err := loadSecretID(ctx, s, dir+c)
		if err != nil {
			return 0, err
		}
		if ent != nil && ent.expired(now) {
			ops = append(ops, deleteOp(dir+c), deleteOp(accessorKey(k, ent.Accessor)))
		}
	}
	if len(ops) == 0 {
		return 0, nil
	}
	if err := txn(ctx, s, ops...); err != nil {
		return 0, err
	}
	return len(ops) / 2, nil
}
