package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// TestIdentity drives the token store, policies, capabilities, cubbyhole,
// response wrapping, leases and the file audit device of one real vaultd
// process through the official client.
func TestIdentity(t *testing.T) {
	p, c, root := unsealedNode(t)
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	if err := c.Sys().EnableAuditWithOptions("file", &vaultapi.EnableAuditOptions{
		Type: "file", Description: "e2e", Options: map[string]string{"file_path": auditPath},
	}); err != nil {
		t.Fatalf("enable audit: %v", err)
	}
	if err := c.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	const secretValue = "Tr0ub4dor&3-in-the-vault"
	if _, err := c.KVv2("secret").Put(t.Context(), "app/db", map[string]any{"password": secretValue}); err != nil {
		t.Fatal(err)
	}
	// Every token this test sees; none may reach the audit file or the log.
	var tokens []string
	keep := func(s *vaultapi.Secret) *vaultapi.Secret {
		t.Helper()
		if s == nil || s.Auth == nil {
			t.Fatalf("no auth block in %+v", s)
		}
		tokens = append(tokens, s.Auth.ClientToken)
		return s
	}
	as := func(tok string) *vaultapi.Client { return newClient(t, p.Addr, tok) }

	t.Run("policies", func(t *testing.T) {
		err := c.Sys().PutPolicy("app", `
path "secret/data/app/*" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update"] }
`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Sys().GetPolicy("app")
		if err != nil || !strings.Contains(got, "secret/data/app/*") {
			t.Fatalf("GetPolicy = %q, %v", got, err)
		}
		names, err := c.Sys().ListPolicies()
		if err != nil || !slices.Equal(names, []string{"app", "default", "root"}) {
			t.Fatalf("ListPolicies = %v, %v", names, err)
		}
		err = c.Sys().PutPolicy("broken", "path \"a\" {\n  capabilities = [\"read\"]\n}\n\npath \"b\" {\n  capabilities = \"read\"\n}\n")
		if !isStatus(err, 400) || !strings.Contains(err.Error(), "line ") {
			t.Fatalf("malformed policy: %v, want 400 naming the line", err)
		}
		if err := c.Sys().DeletePolicy("default"); !isStatus(err, 400) {
			t.Fatalf("delete default: %v, want 400", err)
		}
		if err := c.Sys().PutPolicy("root", `path "*" { capabilities = ["read"] }`); !isStatus(err, 400) {
			t.Fatalf("write root: %v, want 400", err)
		}
		app := keep(mustCreate(t, c, &vaultapi.TokenCreateRequest{Policies: []string{"app"}}))
		ac := as(app.Auth.ClientToken)
		if err := ac.Sys().PutPolicy("app", `path "*" { capabilities = ["sudo", "update"] }`); !isStatus(err, 403) {
			t.Fatalf("policy write without permission: %v, want 403", err)
		}
		s, err := ac.KVv2("secret").Get(t.Context(), "app/db")
		if err != nil || s.Data["password"] != secretValue {
			t.Fatalf("read with policy: %+v, %v", s, err)
		}
		if _, err := ac.KVv2("secret").Put(t.Context(), "app/db", map[string]any{"x": "y"}); !isStatus(err, 403) {
			t.Fatalf("write without capability: %v, want 403", err)
		}
	})

	t.Run("tokens", func(t *testing.T) {
		parent := keep(mustCreate(t, c, &vaultapi.TokenCreateRequest{Policies: []string{"app"}, TTL: "1h", DisplayName: "parent"}))
		pc := as(parent.Auth.ClientToken)
		self, err := pc.Auth().Token().LookupSelf()
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]any{"display_name": "token-parent", "path": "auth/token/create", "orphan": false, "type": "service"} {
			if self.Data[k] != want {
				t.Errorf("lookup-self %s = %v, want %v", k, self.Data[k], want)
			}
		}
		if ttl, _ := self.TokenTTL(); ttl <= 59*time.Minute || ttl > time.Hour {
			t.Errorf("lookup-self ttl = %v", ttl)
		}
		// Privilege escalation attempts: 403.
		for name, req := range map[string]*vaultapi.TokenCreateRequest{
			"policy the parent lacks": {Policies: []string{"app", "admin"}},
			"root token":              {Policies: []string{"root"}},
			"orphan without sudo":     {NoParent: true},
		} {
			if _, err := pc.Auth().Token().Create(req); !isStatus(err, 403) {
				t.Errorf("%s: %v, want 403", name, err)
			}
		}
		child := keep(mustCreate(t, pc, &vaultapi.TokenCreateRequest{Policies: []string{"app"}}))
		if child.Auth.Orphan {
			t.Fatal("child is an orphan")
		}
		renewed, err := pc.Auth().Token().RenewSelf(7200)
		if err != nil || renewed.Auth.LeaseDuration != 7200 {
			t.Fatalf("renew-self = %+v, %v", renewed, err)
		}
		if _, err := c.Auth().Token().LookupAccessor(child.Auth.Accessor); err != nil {
			t.Fatalf("lookup-accessor: %v", err)
		}
		// Revoking the parent revokes the child; both then get 403.
		if err := c.Auth().Token().RevokeTree(parent.Auth.ClientToken); err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{"parent": parent.Auth.ClientToken, "child": child.Auth.ClientToken} {
			if _, err := as(tok).Auth().Token().LookupSelf(); !isStatus(err, 403) {
				t.Errorf("revoked %s: %v, want 403", name, err)
			}
		}
		// num_uses: two uses, then 403.
		limited := keep(mustCreate(t, c, &vaultapi.TokenCreateRequest{Policies: []string{"default"}, NumUses: 2}))
		lc := as(limited.Auth.ClientToken)
		for i := range 2 {
			if _, err := lc.Auth().Token().LookupSelf(); err != nil {
				t.Fatalf("use %d: %v", i+1, err)
			}
		}
		if _, err := lc.Auth().Token().LookupSelf(); !isStatus(err, 403) {
			t.Fatalf("used-up token: %v, want 403", err)
		}
		// Expired token: refused, then cleaned up by the expiration manager.
		short := keep(mustCreate(t, c, &vaultapi.TokenCreateRequest{Policies: []string{"default"}, TTL: "1s"}))
		waitFor(t, 10*time.Second, "the short token to expire", func() bool {
			_, err := as(short.Auth.ClientToken).Auth().Token().LookupSelf()
			return isStatus(err, 403)
		})
		waitFor(t, 10*time.Second, "the expiration manager to revoke it", func() bool {
			_, err := c.Auth().Token().LookupAccessor(short.Auth.Accessor)
			return isStatus(err, 400)
		})
		// Roles.
		if _, err := c.Logical().Write("auth/token/roles/ci", map[string]any{"allowed_policies": "app", "orphan": true}); err != nil {
			t.Fatal(err)
		}
		rt := keep(mustSecret(t)(c.Auth().Token().CreateWithRole(&vaultapi.TokenCreateRequest{}, "ci")))
		if !rt.Auth.Orphan || !slices.Equal(rt.Auth.Policies, []string{"app", "default"}) {
			t.Fatalf("role token = %+v", rt.Auth)
		}
		acc, err := c.Logical().List("auth/token/accessors")
		if err != nil || acc == nil || !slices.Contains(acc.Data["keys"].([]any), any(rt.Auth.Accessor)) {
			t.Fatalf("accessors = %+v, %v", acc, err)
		}
	})

	t.Run("capabilities", func(t *testing.T) {
		tok := keep(mustCreate(t, c, &vaultapi.TokenCreateRequest{Policies: []string{"app"}}))
		caps, err := as(tok.Auth.ClientToken).Sys().CapabilitiesSelf("secret/data/app/db")
		if err != nil || !slices.Equal(caps, []string{"read"}) {
			t.Fatalf("capabilities-self = %v, %v", caps, err)
		}
		caps, err = c.Sys().Capabilities(tok.Auth.ClientToken, "secret/data/other")
		if err != nil || !slices.Equal(caps, []string{"deny"}) {
			t.Fatalf("capabilities = %v, %v", caps, err)
		}
		caps, err = c.Sys().CapabilitiesAccessor(tok.Auth.Accessor, "secret/data/app/x")
		if err != nil || !slices.Equal(caps, []string{"read"}) {
			t.Fatalf("capabilities-accessor = %v, %v", caps, err)
		}
		caps, err = c.Sys().CapabilitiesSelf("anything")
		if err != nil || !slices.Equal(caps, []string{"root"}) {
			t.Fatalf("root capabilities = %v, %v", caps, err)
		}
	})

	t.Run("cubbyhole", func(t *testing.T) {
		a := as(keep(mustCreate(t, c, &vaultapi.TokenCreateRequest{Policies: []string{"default"}})).Auth.ClientToken)
		b := as(keep(mustCreate(t, c, &vaultapi.TokenCreateRequest{Policies: []string{"default"}})).Auth.ClientToken)
		if _, err := a.Logical().Write("cubbyhole/note", map[string]any{"v": "for-a-only"}); err != nil {
			t.Fatal(err)
		}
		if s, err := a.Logical().Read("cubbyhole/note"); err != nil || s.Data["v"] != "for-a-only" {
			t.Fatalf("a reads %+v, %v", s, err)
		}
		if s, err := b.Logical().Read("cubbyhole/note"); err != nil || s != nil {
			t.Fatalf("b reads a's cubbyhole: %+v, %v", s, err)
		}
	})

	t.Run("wrapping", func(t *testing.T) {
		wc := as(root)
		wc.SetWrappingLookupFunc(func(string, string) string { return "2m" })
		w, err := wc.Logical().Read("secret/data/app/db")
		if err != nil || w == nil || w.WrapInfo == nil || w.WrapInfo.TTL != 120 || w.WrapInfo.CreationPath != "secret/data/app/db" {
			t.Fatalf("wrapped read = %+v, %v", w, err)
		}
		tokens = append(tokens, w.WrapInfo.Token)
		lk, err := as("").Logical().Write("sys/wrapping/lookup", map[string]any{"token": w.WrapInfo.Token})
		if err != nil || lk.Data["creation_path"] != "secret/data/app/db" {
			t.Fatalf("wrapping lookup = %+v, %v", lk, err)
		}
		un, err := as("").Logical().Unwrap(w.WrapInfo.Token)
		if err != nil || un == nil || un.Data["data"].(map[string]any)["password"] != secretValue {
			t.Fatalf("unwrap = %+v, %v", un, err)
		}
		// Reuse fails with a 400, as the caller's token (vault/api sends it
		// in X-Vault-Token when it has no token of its own) or in the body.
		if _, err := as("").Logical().Unwrap(w.WrapInfo.Token); !isStatus(err, 400) {
			t.Fatalf("unwrap again as token: %v, want 400", err)
		}
		if _, err := c.Logical().Unwrap(w.WrapInfo.Token); !isStatus(err, 400) {
			t.Fatalf("unwrap again in the body: %v, want 400", err)
		}
		// sys/wrapping/wrap + a wrapped token create.
		ww, err := wc.Logical().Write("sys/wrapping/wrap", map[string]any{"k": "wrapped-value-123"})
		if err != nil || ww.WrapInfo == nil {
			t.Fatalf("wrap = %+v, %v", ww, err)
		}
		tokens = append(tokens, ww.WrapInfo.Token)
		if un, err := c.Logical().Unwrap(ww.WrapInfo.Token); err != nil || un.Data["k"] != "wrapped-value-123" {
			t.Fatalf("unwrap wrap = %+v, %v", un, err)
		}
		wt, err := wc.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"default"}})
		if err != nil || wt.WrapInfo == nil || wt.WrapInfo.WrappedAccessor == "" {
			t.Fatalf("wrapped create = %+v, %v", wt, err)
		}
		tokens = append(tokens, wt.WrapInfo.Token)
		un, err = c.Logical().Unwrap(wt.WrapInfo.Token)
		if err != nil || un.Auth == nil || un.Auth.Accessor != wt.WrapInfo.WrappedAccessor {
			t.Fatalf("unwrapped token = %+v, %v", un, err)
		}
		keep(un)
	})

	t.Run("leases", func(t *testing.T) {
		tok := keep(mustCreate(t, c, &vaultapi.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h", DisplayName: "leased"}))
		list, err := c.Logical().List("sys/leases/lookup/auth/token/create/")
		if err != nil || list == nil {
			t.Fatalf("lease list: %+v, %v", list, err)
		}
		var leaseID string
		for _, k := range list.Data["keys"].([]any) {
			if strings.HasSuffix(k.(string), "/") {
				continue // a sub-path (auth/token/create/<role>/), not a lease
			}
			id := "auth/token/create/" + k.(string)
			s, err := c.Sys().Lookup(id)
			if err != nil {
				t.Fatalf("lease lookup %s: %v", id, err)
			}
			if ttl, _ := s.Data["ttl"].(json.Number).Int64(); ttl > 3500 && ttl <= 3600 {
				leaseID = id
			}
		}
		if leaseID == "" {
			t.Fatal("the new token's lease is not listed")
		}
		if s, err := c.Sys().Renew(leaseID, 7200); err != nil || s.LeaseDuration != 7200 || s.LeaseID != leaseID {
			t.Fatalf("lease renew = %+v, %v", s, err)
		}
		if err := c.Sys().Revoke(leaseID); err != nil {
			t.Fatal(err)
		}
		if _, err := as(tok.Auth.ClientToken).Auth().Token().LookupSelf(); !isStatus(err, 403) {
			t.Fatalf("token of a revoked lease: %v, want 403", err)
		}
	})

	t.Run("audit", func(t *testing.T) {
		devs, err := c.Sys().ListAudit()
		if err != nil || devs["file/"] == nil || devs["file/"].Options["file_path"] != auditPath {
			t.Fatalf("ListAudit = %v, %v", devs, err)
		}
		rootHash, err := c.Sys().AuditHash("file", root)
		if err != nil || !strings.HasPrefix(rootHash, "hmac-sha256:") {
			t.Fatalf("AuditHash = %q, %v", rootHash, err)
		}
		secretHash, err := c.Sys().AuditHash("file", secretValue)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(auditPath)
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
		if len(lines) < 40 {
			t.Fatalf("only %d audit lines", len(lines))
		}
		for i, l := range lines {
			var e map[string]any
			if err := json.Unmarshal(l, &e); err != nil {
				t.Fatalf("line %d is not JSON: %v", i+1, err)
			}
			if e["type"] != "request" && e["type"] != "response" {
				t.Fatalf("line %d type = %v", i+1, e["type"])
			}
		}
		for _, needle := range append([]string{root, secretValue, "wrapped-value-123"}, tokens...) {
			if bytes.Contains(raw, []byte(needle)) {
				t.Errorf("audit file contains %q unhashed", needle)
			}
		}
		if !bytes.Contains(raw, []byte(rootHash)) || !bytes.Contains(raw, []byte(secretHash)) {
			t.Fatal("the audit file lacks the hashed root token or secret")
		}
		// sys/audit needs sudo.
		tok := keep(mustCreate(t, c, &vaultapi.TokenCreateRequest{Policies: []string{"app"}}))
		if _, err := as(tok.Auth.ClientToken).Sys().ListAudit(); !isStatus(err, 403) {
			t.Fatalf("ListAudit without sudo: %v, want 403", err)
		}
	})

	t.Run("userpass login", func(t *testing.T) {
		if err := c.Sys().EnableAuthWithOptions("userpass", &vaultapi.EnableAuthOptions{Type: "userpass"}); err != nil {
			if isStatus(err, 400) && strings.Contains(err.Error(), "plugin not found") {
				t.Skip("this build has no userpass engine")
			}
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("auth/userpass/users/alice", map[string]any{"password": "alice-pw-123", "token_policies": "app"}); err != nil {
			t.Fatal(err)
		}
		s, err := as("").Logical().Write("auth/userpass/login/alice", map[string]any{"password": "alice-pw-123"})
		if err != nil || s.Auth == nil || !slices.Contains(s.Auth.Policies, "app") || !slices.Contains(s.Auth.Policies, "default") {
			t.Fatalf("login = %+v, %v", s, err)
		}
		keep(s)
		look, err := as(s.Auth.ClientToken).Auth().Token().LookupSelf()
		if err != nil || look.Data["path"] != "auth/userpass/login/alice" || look.Data["display_name"] != "userpass-alice" {
			t.Fatalf("login token lookup = %+v, %v", look, err)
		}
		if _, err := as("").Logical().Write("auth/userpass/login/alice", map[string]any{"password": "wrong"}); err == nil {
			t.Fatal("wrong password accepted")
		}
	})

	// No token ever reaches the server log.
	log := p.Log.String()
	for _, tok := range append(tokens, root) {
		if strings.Contains(log, tok) {
			t.Errorf("the server log contains a token")
		}
	}
}

func mustCreate(t *testing.T, c *vaultapi.Client, req *vaultapi.TokenCreateRequest) *vaultapi.Secret {
	t.Helper()
	s, err := c.Auth().Token().Create(req)
	if err != nil {
		t.Fatalf("token create %+v: %v", req, err)
	}
	return s
}

func mustSecret(t *testing.T) func(*vaultapi.Secret, error) *vaultapi.Secret {
	return func(s *vaultapi.Secret, err error) *vaultapi.Secret {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}
