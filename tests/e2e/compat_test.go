package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

// TestCompat drives one real vaultd through the official client the way
// third-party Vault clients' own tests do (issue 15 items 2, 4, 5, 7, 11):
// remount, wrapping edge cases, the legacy policy list, and the identity
// store with logins, group policies and ACL templating.
func TestCompat(t *testing.T) {
	p, c, root := unsealedNode(t)
	as := func(tok string) *vaultapi.Client { return newClient(t, p.Addr, tok) }

	t.Run("remount", func(t *testing.T) {
		if err := c.Sys().Mount("old-kv", &vaultapi.MountInput{Type: "kv"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("old-kv/app", map[string]any{"k": "moved-value"}); err != nil {
			t.Fatal(err)
		}
		out, err := c.Sys().StartRemount("old-kv", "new-kv")
		if err != nil || out.MigrationID == "" {
			t.Fatalf("start remount = %+v, %v", out, err)
		}
		st, err := c.Sys().RemountStatus(out.MigrationID)
		if err != nil || st.MigrationInfo == nil || st.MigrationInfo.MigrationStatus != "success" ||
			st.MigrationInfo.SourceMount != "old-kv/" || st.MigrationInfo.TargetMount != "new-kv/" {
			t.Fatalf("remount status = %+v, %v", st, err)
		}
		s, err := c.Logical().Read("new-kv/app")
		if err != nil || s == nil || s.Data["k"] != "moved-value" {
			t.Fatalf("read after remount = %+v, %v", s, err)
		}
		// Sys().Remount polls the status until done.
		if err := c.Sys().Remount("new-kv", "kv-again"); err != nil {
			t.Fatal(err)
		}
		if err := c.Sys().Remount("kv-again", "cubbyhole"); !isStatus(err, 400) {
			t.Fatalf("remount onto cubbyhole err = %v, want 400", err)
		}
		if err := c.Sys().Remount("sys", "sys2"); !isStatus(err, 400) {
			t.Fatalf("remount of sys/ err = %v, want 400", err)
		}
		if err := c.Sys().EnableAuthWithOptions("up", &vaultapi.EnableAuthOptions{Type: "userpass"}); err != nil {
			t.Fatal(err)
		}
		if err := c.Sys().Remount("auth/up", "auth/userpass"); err != nil {
			t.Fatal(err)
		}
		auths, err := c.Sys().ListAuth()
		if err != nil || auths["userpass/"] == nil || auths["up/"] != nil {
			t.Fatalf("auth mounts after remount = %v, %v", auths, err)
		}
	})

	t.Run("wrapping", func(t *testing.T) {
		wc := as(root)
		wc.SetWrappingLookupFunc(func(string, string) string { return "5m" })
		w, err := wc.Logical().Write("sys/wrapping/wrap", nil)
		if err != nil || w == nil || w.WrapInfo == nil || w.WrapInfo.Token == "" {
			t.Fatalf("wrap of an empty body = %+v, %v", w, err)
		}
		// Unwrap with the wrapping token in X-Vault-Token, twice.
		if _, err := as(w.WrapInfo.Token).Logical().Unwrap(""); err != nil {
			t.Fatal(err)
		}
		_, err = as(w.WrapInfo.Token).Logical().Unwrap("")
		if !isStatus(err, 400) || !strings.Contains(err.Error(), "wrapping token is not valid or does not exist") {
			t.Fatalf("second unwrap err = %v, want 400 wrapping token is not valid", err)
		}
	})

	t.Run("legacy policy list", func(t *testing.T) {
		resp, err := c.Logical().ReadRawWithContext(t.Context(), "sys/policy")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		data, _ := body["data"].(map[string]any)
		for _, k := range []string{"keys", "policies"} {
			top, _ := body[k].([]any)
			if !slices.Contains(top, any("default")) || data == nil || len(data[k].([]any)) != len(top) {
				t.Fatalf("sys/policy %s: top %v, data %v", k, body[k], data)
			}
		}
	})

	t.Run("identity", func(t *testing.T) {
		auths, err := c.Sys().ListAuth()
		if err != nil {
			t.Fatal(err)
		}
		acc := auths["userpass/"].Accessor
		if err := c.Sys().Mount("kv", &vaultapi.MountInput{Type: "kv"}); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"kv/users/alice/db", "kv/users/bob/db", "kv/teams/ops/db"} {
			if _, err := c.Logical().Write(path, map[string]any{"v": path}); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Sys().PutPolicy("own", `
path "kv/users/{{identity.entity.aliases.`+acc+`.name}}/*" { capabilities = ["read"] }
`); err != nil {
			t.Fatal(err)
		}
		if err := c.Sys().PutPolicy("ops", `path "kv/teams/ops/*" { capabilities = ["read"] }`); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("auth/userpass/users/alice", map[string]any{"password": "alice-pw-1", "policies": "own"}); err != nil {
			t.Fatal(err)
		}
		login, err := c.Logical().Write("auth/userpass/login/alice", map[string]any{"password": "alice-pw-1"})
		if err != nil || login.Auth == nil || login.Auth.EntityID == "" {
			t.Fatalf("login = %+v, %v", login, err)
		}
		alice := as(login.Auth.ClientToken)
		if s, err := alice.Logical().Read("kv/users/alice/db"); err != nil || s == nil {
			t.Fatalf("templated read of own path = %+v, %v", s, err)
		}
		if _, err := alice.Logical().Read("kv/users/bob/db"); !isStatus(err, http.StatusForbidden) {
			t.Fatalf("read of bob's path err = %v, want 403", err)
		}
		// The entity is found by its alias; a group gives it "ops" without a
		// new login.
		ent, err := c.Logical().Write("identity/lookup/entity", map[string]any{"alias_name": "alice", "alias_mount_accessor": acc})
		if err != nil || ent == nil || ent.Data["id"] != login.Auth.EntityID {
			t.Fatalf("lookup entity = %+v, %v", ent, err)
		}
		if _, err := alice.Logical().Read("kv/teams/ops/db"); !isStatus(err, http.StatusForbidden) {
			t.Fatalf("read before the group err = %v, want 403", err)
		}
		g, err := c.Logical().Write("identity/group", map[string]any{"name": "ops", "policies": []string{"ops"}, "member_entity_ids": []string{login.Auth.EntityID}})
		if err != nil || g == nil || g.Data["id"] == nil {
			t.Fatalf("create group = %+v, %v", g, err)
		}
		if s, err := alice.Logical().Read("kv/teams/ops/db"); err != nil || s == nil {
			t.Fatalf("read through the group = %+v, %v", s, err)
		}
		self, err := alice.Auth().Token().LookupSelf()
		if err != nil {
			t.Fatal(err)
		}
		ip, _ := self.Data["identity_policies"].([]any)
		if len(ip) != 1 || ip[0] != "ops" || self.Data["entity_id"] != login.Auth.EntityID {
			t.Fatalf("lookup-self: identity_policies %v, entity_id %v", self.Data["identity_policies"], self.Data["entity_id"])
		}
		// A second login lands in the same entity.
		again, err := c.Logical().Write("auth/userpass/login/alice", map[string]any{"password": "alice-pw-1"})
		if err != nil || again.Auth.EntityID != login.Auth.EntityID {
			t.Fatalf("second login entity = %v, %v", again, err)
		}
		// Lists and reads by name.
		names, err := c.Logical().List("identity/group/name")
		if err != nil || names == nil || !slices.Contains(names.Data["keys"].([]any), any("ops")) {
			t.Fatalf("group names = %+v, %v", names, err)
		}
		rg, err := c.Logical().Read("identity/group/name/ops")
		if err != nil || rg == nil || rg.Data["id"] != g.Data["id"] {
			t.Fatalf("read group by name = %+v, %v", rg, err)
		}
		// Batch tokens: from a userpass user with token_type=batch, and from
		// the token store.
		if _, err := c.Logical().Write("auth/userpass/users/robot", map[string]any{"password": "robot-pw-1", "policies": "ops", "token_type": "batch"}); err != nil {
			t.Fatal(err)
		}
		bl, err := c.Logical().Write("auth/userpass/login/robot", map[string]any{"password": "robot-pw-1"})
		if err != nil || bl.Auth == nil || !strings.HasPrefix(bl.Auth.ClientToken, "hvb.") || bl.Auth.Accessor != "" || bl.Auth.Renewable {
			t.Fatalf("batch login = %+v, %v", bl, err)
		}
		robot := as(bl.Auth.ClientToken)
		if s, err := robot.Logical().Read("kv/teams/ops/db"); err != nil || s == nil {
			t.Fatalf("read with a batch token = %+v, %v", s, err)
		}
		if _, err := robot.Auth().Token().RenewSelf(0); !isStatus(err, 400) {
			t.Fatalf("renew of a batch token err = %v, want 400", err)
		}
		bt, err := c.Auth().Token().Create(&vaultapi.TokenCreateRequest{Type: "batch", Policies: []string{"ops"}, TTL: "10m"})
		if err != nil || !strings.HasPrefix(bt.Auth.ClientToken, "hvb.") {
			t.Fatalf("batch token create = %+v, %v", bt, err)
		}
		bself, err := as(bt.Auth.ClientToken).Auth().Token().LookupSelf()
		if err != nil || bself.Data["type"] != "batch" {
			t.Fatalf("batch lookup-self = %+v, %v", bself, err)
		}
		// AppRole logins get an entity too, aliased by role ID.
		if err := c.Sys().EnableAuthWithOptions("approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("auth/approle/role/app", map[string]any{"token_policies": "ops"}); err != nil {
			t.Fatal(err)
		}
		rid, err := c.Logical().Read("auth/approle/role/app/role-id")
		if err != nil {
			t.Fatal(err)
		}
		sid, err := c.Logical().Write("auth/approle/role/app/secret-id", nil)
		if err != nil {
			t.Fatal(err)
		}
		al, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": rid.Data["role_id"], "secret_id": sid.Data["secret_id"]})
		if err != nil || al.Auth == nil || al.Auth.EntityID == "" {
			t.Fatalf("approle login = %+v, %v", al, err)
		}
		auths, err = c.Sys().ListAuth()
		if err != nil {
			t.Fatal(err)
		}
		ae, err := c.Logical().Write("identity/lookup/entity", map[string]any{"alias_name": rid.Data["role_id"], "alias_mount_accessor": auths["approle/"].Accessor})
		if err != nil || ae == nil || ae.Data["id"] != al.Auth.EntityID {
			t.Fatalf("approle entity lookup = %+v, %v", ae, err)
		}
		// Out of the group: the policy goes at once.
		if _, err := c.Logical().Write("identity/group/name/ops", map[string]any{"member_entity_ids": []string{}}); err != nil {
			t.Fatal(err)
		}
		if _, err := alice.Logical().Read("kv/teams/ops/db"); !isStatus(err, http.StatusForbidden) {
			t.Fatalf("read after leaving the group err = %v, want 403", err)
		}
	})
}
