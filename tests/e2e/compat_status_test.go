package e2e

import (
	"net/http"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

// TestCompat_DocumentedStatus checks, against a real vaultd through the
// official client, a sample of what docs/api.md's "vs Vault" column and
// its list of missing endpoints claim (the table is
// cmd/vaultd/internal/server/apistatus_test.go): the refusals named as
// differences are 400s, the vaultd-only behaviours are there, and the
// endpoints listed as missing are 404s.
func TestCompat_DocumentedStatus(t *testing.T) {
	_, c, _ := unsealedNode(t)
	for _, m := range []struct{ path, typ string }{{"transit", "transit"}, {"pki", "pki"}} {
		if err := c.Sys().Mount(m.path, &vaultapi.MountInput{Type: m.typ}); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []string{"approle", "jwt", "kubernetes"} {
		if err := c.Sys().EnableAuthWithOptions(a, &vaultapi.EnableAuthOptions{Type: a}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Logical().Write("transit/keys/a", nil); err != nil {
		t.Fatal(err)
	}

	t.Run("differences are refused", func(t *testing.T) {
		for _, w := range []struct {
			path string
			data map[string]any
		}{
			{"transit/keys/derived", map[string]any{"derived": true}},
			{"transit/encrypt/a", map[string]any{"plaintext": "eA==", "nonce": "AAAAAAAAAAAAAAAA"}},
			{"pki/roles/r", map[string]any{"allow_any_name": true, "generate_lease": true}},
			{"pki/config/urls", map[string]any{"enable_templating": true}},
			{"auth/jwt/config", map[string]any{"oidc_client_id": "x", "jwt_validation_pubkeys": []string{"x"}}},
			{"auth/jwt/role/r", map[string]any{"role_type": "oidc", "user_claim": "sub"}},
			{"auth/kubernetes/role/r", map[string]any{"bound_service_account_names": "a", "bound_service_account_namespaces": "b", "bound_service_account_namespace_selector": "{}"}},
			{"auth/token/roles/r", map[string]any{"token_type": "batch"}},
			{"sys/policies/acl/cg", map[string]any{"policy": `path "secret/*" { capabilities = ["read"] control_group = {} }`}},
		} {
			if _, err := c.Logical().Write(w.path, w.data); !isStatus(err, http.StatusBadRequest) {
				t.Errorf("write %s: %v, want the documented 400", w.path, err)
			}
		}
		err := c.Sys().EnableAuditWithOptions("sl", &vaultapi.EnableAuditOptions{Type: "syslog"})
		if !isStatus(err, http.StatusBadRequest) {
			t.Errorf("enable a syslog audit device: %v, want 400 (only file)", err)
		}
	})

	t.Run("vaultd behaviours", func(t *testing.T) {
		s, err := c.Logical().Write("auth/approle/tidy/secret-id", nil)
		if err != nil || s == nil || s.Data["secret_ids_deleted"] == nil {
			t.Errorf("approle tidy = %+v, %v; want secret_ids_deleted in a 200", s, err)
		}
		s, err = c.Logical().Read("sys/ha-status")
		if err != nil || s == nil {
			t.Fatalf("sys/ha-status: %v", err)
		}
		if _, ok := s.Data["leader_changes"]; !ok {
			t.Errorf("sys/ha-status lacks leader_changes: %v", s.Data)
		}
		if _, err := c.Logical().Read("sys/storage/raft/known-peers"); err != nil {
			t.Errorf("sys/storage/raft/known-peers: %v", err)
		}
	})

	t.Run("missing endpoints are 404", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, "transit/wrapping_key"},
			{http.MethodPost, "transit/keys/a/import"},
			{http.MethodGet, "pki/crl/delta"},
			{http.MethodPost, "pki/root/sign-self-issued"},
			{http.MethodGet, "auth/approle/role/x/policies"},
			{http.MethodPost, "auth/jwt/oidc/auth_url"},
			{http.MethodPost, "identity/entity/merge"},
			{http.MethodPost, "sys/tools/random"},
			{http.MethodGet, "sys/host-info"},
			{http.MethodGet, "sys/config/cors"},
			{http.MethodGet, "sys/loggers"},
			{http.MethodGet, "sys/quotas/config"},
			{http.MethodGet, "sys/version-history"},
		} {
			req := c.NewRequest(r.method, "/v1/"+r.path)
			resp, err := c.RawRequest(req)
			if resp != nil {
				resp.Body.Close()
			}
			if !isStatus(err, http.StatusNotFound) {
				t.Errorf("%s %s: %v, want 404 (listed as missing)", r.method, r.path, err)
			}
		}
	})
}
