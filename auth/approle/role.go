package approle

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"

	"github.com/vaultd/vaultd/auth/internal/cidr"
	"github.com/vaultd/vaultd/auth/internal/entries"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// legacyFields maps the deprecated role fields to their token_* successors.
var legacyFields = map[string]string{
	"policies": "token_policies",
	"period":   "token_period",
}

// roleList serves LIST role.
func (e *engine) roleList(ctx context.Context, req *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
	return entries.List(ctx, req.Storage, rolePrefix, "approle: roles")
}

// readRole loads the role a request's role_name names under its read
// lock (held until unlock); an absent role is a 404.
func (e *engine) readRole(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*roleEntry, func(), error) {
	name, err := canonicalRoleName(d.String("role_name"))
	if err != nil {
		return nil, nil, err
	}
	mu := e.roleLocks.ForKey(name)
	mu.RLock()
	r, err := loadRole(ctx, req.Storage, name)
	if err == nil && r == nil {
		err = notFound()
	}
	if err != nil {
		mu.RUnlock()
		return nil, nil, err
	}
	return r, mu.RUnlock, nil
}

// roleRead serves GET role/:role_name. The role ID is read separately.
func (e *engine) roleRead(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	r, unlock, err := e.readRole(ctx, req, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	data := map[string]any{
		"bind_secret_id":        r.BindSecretID,
		"secret_id_bound_cidrs": tokenparams.NonNil(r.SecretIDBoundCIDRs),
		"secret_id_num_uses":    r.SecretIDNumUses,
		"secret_id_ttl":         tokenparams.Seconds(r.SecretIDTTL),
		"local_secret_ids":      r.LocalSecretIDs,
	}
	r.Params.Populate(data)
	data["policies"] = data["token_policies"] // deprecated names, still shown by Vault
	data["period"] = data["token_period"]
	return &secrets.Response{Data: data}, nil
}

// roleWrite serves POST role/:role_name: it creates the role (with a new
// role ID unless role_id is given) or updates the fields given.
func (e *engine) roleWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name := d.String("role_name")
	name, err := canonicalRoleName(name)
	if err != nil {
		return nil, err
	}
	mu := e.roleLocks.ForKey(name)
	mu.Lock()
	defer mu.Unlock()
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	create := r == nil
	if create {
		r = &roleEntry{Name: name, BindSecretID: true}
	}
	if err := r.parseRoleFields(d, create); err != nil {
		return nil, err
	}
	roleID, roleIDSet, err := idField(d, "role_id")
	if err != nil {
		return nil, err
	}
	if roleIDSet && roleID == "" {
		return nil, invalidf("missing role_id")
	}
	if !roleIDSet && create {
		if roleID, err = newUUID(); err != nil {
			return nil, err
		}
	}
	if !create && !roleIDSet {
		roleID = r.RoleID
	}
	k, err := e.saltFor(ctx, req.Storage, true)
	if err != nil {
		return nil, err
	}
	if err := e.saveRole(ctx, req.Storage, k, r, roleID); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// parseRoleFields applies the role fields present in data to r.
func (r *roleEntry) parseRoleFields(d *endpoint.Data, create bool) error {
	if d.Has("bind_secret_id") {
		r.BindSecretID = d.Bool("bind_secret_id")
	}
	if d.Has("secret_id_bound_cidrs") {
		cidrs, err := cidr.Canonical("secret_id_bound_cidrs", d.Strings("secret_id_bound_cidrs"))
		if err != nil {
			return err
		}
		r.SecretIDBoundCIDRs = cidrs
	}
	if d.Has("secret_id_num_uses") {
		n := d.Int("secret_id_num_uses")
		if n < 0 {
			return invalidf("secret_id_num_uses cannot be negative")
		}
		r.SecretIDNumUses = n
	}
	if d.Has("secret_id_ttl") {
		ttl := d.Duration("secret_id_ttl")
		if ttl < 0 {
			return invalidf("secret_id_ttl cannot be negative")
		}
		r.SecretIDTTL = ttl
	}
	if d.Has("local_secret_ids") {
		b := d.Bool("local_secret_ids")
		if !create && b != r.LocalSecretIDs {
			return invalidf("local_secret_ids can only be modified during role creation")
		}
		r.LocalSecretIDs = b
	}
	if err := r.Params.Parse(d, legacyFields); err != nil {
		return err
	}
	if !r.BindSecretID && len(r.SecretIDBoundCIDRs) == 0 && len(r.BoundCIDRs) == 0 {
		return invalidf("at least one constraint should be enabled on the role")
	}
	return nil
}

// saveRole writes r with role ID roleID, moving the role_id index when the
// role ID changes, in one transaction. The caller holds the role's lock.
func (e *engine) saveRole(ctx context.Context, s storage.Backend, k hmacKey, r *roleEntry, roleID string) error {
	e.roleIDMu.Lock()
	defer e.roleIDMu.Unlock()
	var ops []storage.Op
	if roleID != r.RoleID || r.RoleID == "" {
		newKey := roleIDKey(k, roleID)
		var owner roleIDEntry
		found, err := getJSON(ctx, s, newKey, &owner)
		if err != nil {
			return err
		}
		if found && owner.Name != r.Name {
			return invalidf("role_id already in use")
		}
		if r.RoleID != "" {
			ops = append(ops, deleteOp(roleIDKey(k, r.RoleID)))
		}
		op, err := putOp(newKey, roleIDEntry{Name: r.Name})
		if err != nil {
			return err
		}
		ops = append(ops, op)
		r.RoleID = roleID
	}
	op, err := putOp(roleKey(r.Name), r)
	if err != nil {
		return err
	}
	return txn(ctx, s, append(ops, op)...)
}

// roleDelete serves DELETE role/:role_name: the role, its role_id index
// and every secret ID issued against it go in one transaction.
func (e *engine) roleDelete(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name := d.String("role_name")
	name, err := canonicalRoleName(name)
	if err != nil {
		return nil, err
	}
	mu := e.roleLocks.ForKey(name)
	mu.Lock()
	defer mu.Unlock()
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return noContent(), nil
	}
	k, err := e.saltFor(ctx, req.Storage, true)
	if err != nil {
		return nil, err
	}
	ops := []storage.Op{deleteOp(roleKey(name)), deleteOp(roleIDKey(k, r.RoleID))}
	dir := secretIDDir(k, name)
	children, err := req.Storage.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("approle: list secret ids: %w", err)
	}
	for _, c := range children {
		ent, err := loadSecretID(ctx, req.Storage, dir+c)
		if err != nil {
			return nil, err
		}
		if ent != nil {
			ops = append(ops, deleteOp(accessorKey(k, ent.Accessor)))
		}
		ops = append(ops, deleteOp(dir+c))
	}
	e.roleIDMu.Lock()
	defer e.roleIDMu.Unlock()
	if err := txn(ctx, req.Storage, ops...); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// roleIDRead serves GET role/:role_name/role-id.
func (e *engine) roleIDRead(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	r, unlock, err := e.readRole(ctx, req, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return &secrets.Response{Data: map[string]any{"role_id": r.RoleID}}, nil
}

// roleIDWrite serves POST role/:role_name/role-id {role_id}.
func (e *engine) roleIDWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name := d.String("role_name")
	name, err := canonicalRoleName(name)
	if err != nil {
		return nil, err
	}
	roleID, _, err := idField(d, "role_id")
	if err != nil {
		return nil, err
	}
	if roleID == "" {
		return nil, invalidf("missing role_id")
	}
	mu := e.roleLocks.ForKey(name)
	mu.Lock()
	defer mu.Unlock()
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errNoRole(name)
	}
	k, err := e.saltFor(ctx, req.Storage, true)
	if err != nil {
		return nil, err
	}
	if err := e.saveRole(ctx, req.Storage, k, r, roleID); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// idField reads a role_id, secret_id or accessor: a string, trimmed, of
// bounded size. Its errors never echo the value.
func idField(d *endpoint.Data, name string) (string, bool, error) {
	s, set := strings.TrimSpace(d.String(name)), d.Has(name)
	if len(s) > maxIDBytes {
		return "", false, invalidf("%s is longer than %d bytes", name, maxIDBytes)
	}
	return s, set, nil
}

// sameSecret compares two HMACs in constant time.
func sameSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
