package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/cubbyhole"
	"github.com/vaultd/vaultd/secrets/kv"
	"github.com/vaultd/vaultd/storage/inmem"
)

// The happy path on a real core over inmem storage, driven only by the
// official client: init, unseal, mount, KV v2 write/read/list/delete.
func TestRealCoreOfficialClient(t *testing.T) {
	c, err := core.New(core.Config{
		Storage: inmem.New(), Cluster: core.NewStandaloneCluster("n1"),
		Engines: map[string]secrets.Factory{"kv": kv.Factory, "cubbyhole": cubbyhole.Factory},
		Logger:  discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })

	srv := newServer(t, api.Config{StorageType: "inmem"}, c)
	cl := newClient(t, srv)

	if ok, err := cl.Sys().InitStatus(); err != nil || ok {
		t.Fatalf("init status %v %v", ok, err)
	}
	if h, err := cl.Sys().Health(); err != nil || h.Initialized {
		t.Fatalf("health before init %+v %v", h, err)
	}
	ir, err := cl.Sys().Init(&vaultapi.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(ir.Keys) != 3 || len(ir.KeysB64) != 3 || ir.RootToken == "" {
		t.Fatalf("init %+v", ir)
	}
	if _, err := cl.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1}); !isStatus(err, 400) {
		t.Fatalf("second init: %v, want 400", err)
	}
	if s, err := cl.Sys().SealStatus(); err != nil || !s.Sealed || s.T != 2 || s.N != 3 || s.StorageType != "inmem" {
		t.Fatalf("seal status %+v %v", s, err)
	}

	// Sealed: logical paths answer 503.
	cl.SetToken(ir.RootToken)
	if _, err := cl.Logical().Read("secret/data/x"); !isStatus(err, 503) {
		t.Fatalf("read while sealed: %v, want 503", err)
	}

	// One hex share, then one base64 share.
	if s, err := cl.Sys().Unseal(ir.Keys[0]); err != nil || !s.Sealed || s.Progress != 1 {
		t.Fatalf("first share %+v %v", s, err)
	}
	if s, err := cl.Sys().Unseal(ir.KeysB64[1]); err != nil || s.Sealed {
		t.Fatalf("second share %+v %v", s, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !c.IsActive() {
		if time.Now().After(deadline) {
			t.Fatal("core did not become active")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := do(t, srv, http.MethodGet, "/v1/sys/health", nil, nil); r.code != http.StatusOK {
		t.Fatalf("health when active: %d", r.code)
	}

	if err := cl.Sys().Mount("kvt", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	kv2 := cl.KVv2("kvt")
	if _, err := kv2.Put(ctx, "app/db", map[string]any{"password": "s3cret", "n": json.Number("12345678901234567890")}); err != nil {
		t.Fatal(err)
	}
	got, err := kv2.Get(ctx, "app/db")
	if err != nil || got.Data["password"] != "s3cret" || got.VersionMetadata == nil || got.VersionMetadata.Version != 1 {
		t.Fatalf("get %+v %v", got, err)
	}
	l, err := cl.Logical().List("kvt/metadata/app")
	if err != nil || l == nil {
		t.Fatalf("list %v %v", l, err)
	}
	if keys, _ := l.Data["keys"].([]any); len(keys) != 1 || keys[0] != "db" {
		t.Fatalf("list keys %v", l.Data["keys"])
	}
	if s, err := cl.Logical().Read("kvt/data/missing"); err != nil || s != nil {
		t.Fatalf("missing read %v %v, want nil, nil", s, err)
	}
	if err := kv2.Delete(ctx, "app/db"); err != nil {
		t.Fatal(err)
	}
	// As on Vault: a soft-deleted version reads as a 404 that still carries
	// its metadata, which the client returns with nil data.
	gone, err := kv2.Get(ctx, "app/db")
	if err != nil && !errors.Is(err, vaultapi.ErrSecretNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err == nil && (gone.Data != nil || gone.VersionMetadata == nil || gone.VersionMetadata.DeletionTime.IsZero()) {
		t.Fatalf("get after delete: %+v %+v", gone, gone.VersionMetadata)
	}
	if r := do(t, srv, http.MethodGet, "/v1/kvt/data/app/db", nil, map[string]string{"X-Vault-Token": ir.RootToken}); r.code != http.StatusNotFound {
		t.Fatalf("raw read after delete: %d %s", r.code, r.body)
	}

	// No token and a bad token are both refused with 403.
	anon := newClient(t, srv)
	if _, err := anon.Logical().Read("kvt/data/app/db"); !isStatus(err, 403) {
		t.Fatalf("anonymous read: %v, want 403", err)
	}
	anon.SetToken("hvs.bogus")
	if _, err := anon.Logical().Read("kvt/data/app/db"); !isStatus(err, 403) {
		t.Fatalf("bogus token read: %v, want 403", err)
	}
	// Bearer works as well as X-Vault-Token.
	r := do(t, srv, http.MethodGet, "/v1/auth/token/lookup-self", nil, map[string]string{"Authorization": "Bearer " + ir.RootToken})
	if r.code != http.StatusOK {
		t.Fatalf("lookup-self with bearer: %d %s", r.code, r.body)
	}
}

func isStatus(err error, code int) bool {
	var re *vaultapi.ResponseError
	return errors.As(err, &re) && re.StatusCode == code
}
