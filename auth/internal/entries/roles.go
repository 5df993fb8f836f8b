package entries

import (
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// CheckRoleName applies Vault's role name rule (word characters, "-", "."
// and "@", starting and ending with a word character, at most max bytes),
// so that a name is one safe storage segment. A bad name is a 400.
func CheckRoleName(name string, max int) error {
	if name == "" {
		return secrets.Errorf(secrets.ErrInvalidRequest, "missing role name")
	}
	if len(name) > max {
		return secrets.Errorf(secrets.ErrInvalidRequest, "role name is longer than %d bytes", max)
	}
	word := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !word(c) && c != '-' && c != '.' && c != '@' {
			return secrets.Errorf(secrets.ErrInvalidRequest, "invalid role name %q", name)
		}
	}
	if !word(name[0]) || !word(name[len(name)-1]) {
		return secrets.Errorf(secrets.ErrInvalidRequest, "invalid role name %q", name)
	}
	return nil
}

// RoleHandlers are the handlers of a method's role paths.
type RoleHandlers struct {
	List, Read, Write, Delete endpoint.Handler
}

// RolePaths declares the two paths of a method's roles as Vault has them:
// "role" (LIST) and "role/{name}" (read, create/update, delete) with the
// role's fields; n (whose Capture is "name") is the existence check.
func RolePaths(n Named, fields map[string]*endpoint.Field, h RoleHandlers) []*endpoint.Path {
	return []*endpoint.Path{
		{
			Pattern:    "role",
			Summary:    "List the roles.",
			Operations: map[secrets.Operation]endpoint.Handler{secrets.OpList: h.List},
		},
		{
			Pattern: "role/{" + n.Capture + "}",
			Summary: "Create, read, update or delete a role.",
			Fields:  fields,
			Exists:  n.Exists,
			Operations: map[secrets.Operation]endpoint.Handler{
				secrets.OpRead:   h.Read,
				secrets.OpUpdate: h.Write,
				secrets.OpDelete: h.Delete,
			},
		},
	}
}

// JWTMethod describes the paths of a method that logs in with a JWT and a
// role (auth/jwt, auth/kubernetes): config (read, write), the role paths
// (RolePaths) and login (unauthenticated update with role and jwt).
type JWTMethod struct {
	ConfigSummary           string
	ConfigFields            map[string]*endpoint.Field
	ConfigRead, ConfigWrite endpoint.Handler
	Roles                   Named
	RoleFields              map[string]*endpoint.Field
	RoleHandlers            RoleHandlers
	LoginSummary            string
	LoginRole, LoginJWT     string // the descriptions of login's role and jwt fields
	Login                   endpoint.Handler
}

// Paths declares config, role, role/{name} and login, in that order.
func (m JWTMethod) Paths() []*endpoint.Path {
	ps := []*endpoint.Path{{
		Pattern: "config",
		Summary: m.ConfigSummary,
		Fields:  m.ConfigFields,
		Operations: map[secrets.Operation]endpoint.Handler{
			secrets.OpRead:   m.ConfigRead,
			secrets.OpUpdate: m.ConfigWrite,
		},
	}}
	ps = append(ps, RolePaths(m.Roles, m.RoleFields, m.RoleHandlers)...)
	return append(ps, &endpoint.Path{
		Pattern:         "login",
		Summary:         m.LoginSummary,
		Unauthenticated: true,
		Fields: map[string]*endpoint.Field{
			"role": {Type: endpoint.TypeString, Description: m.LoginRole},
			"jwt":  {Type: endpoint.TypeString, Description: m.LoginJWT},
		},
		Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: m.Login},
	})
}
