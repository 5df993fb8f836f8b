package audit_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/core/audit"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

var errInactive = errors.New("inactive")

func normalize(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", secrets.Errorf(secrets.ErrInvalidRequest, "empty path")
	}
	return p + "/", nil
}

func TestTable_EnableHashDisableReload(t *testing.T) {
	ctx := context.Background()
	b := inmem.New()
	tb := audit.NewTable(audit.TableConfig{NormalizePath: normalize, Inactive: errInactive})
	do := func(op secrets.Operation, path string, data map[string]any) (map[string]any, error) {
		resp, err := tb.Backend().HandleRequest(ctx, &secrets.Request{Operation: op, Path: strings.TrimPrefix(path, "sys/"), Data: data})
		if resp == nil {
			return nil, err
		}
		return resp.Data, err
	}
	if err := tb.Backend().Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := do(secrets.OpRead, "sys/audit", nil); !errors.Is(err, errInactive) {
		t.Fatalf("before Setup: %v", err)
	}
	if err := tb.Setup(ctx, b); err != nil {
		t.Fatal(err)
	}
	if br := tb.Broker(); br == nil || br.Enabled() {
		t.Fatal("an empty table must have a broker with no device")
	}
	file := filepath.Join(t.TempDir(), "audit.log")
	if _, err := do(secrets.OpUpdate, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": file}}); err != nil {
		t.Fatal(err)
	}
	if err := tb.Enable(ctx, "file/", "file", "", map[string]string{"file_path": file}, false); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("enabling the same path twice: %v", err)
	}
	list, err := do(secrets.OpRead, "sys/audit", nil)
	if err != nil || list["file/"] == nil {
		t.Fatalf("list: %v, %v", list, err)
	}
	h1, err := do(secrets.OpUpdate, "sys/audit-hash/file", map[string]any{"input": "secret"})
	if err != nil || !strings.HasPrefix(h1["hash"].(string), "hmac-sha256:") {
		t.Fatalf("audit-hash: %v, %v", h1, err)
	}
	// The table and the salt survive a step-down: the same hash after a reload.
	tb.Teardown()
	if err := tb.Setup(ctx, b); err != nil {
		t.Fatal(err)
	}
	h2, err := do(secrets.OpUpdate, "sys/audit-hash/file", map[string]any{"input": "secret"})
	if err != nil || h2["hash"] != h1["hash"] {
		t.Fatalf("after reload: %v, %v (want %v)", h2, err, h1)
	}
	if _, err := do(secrets.OpDelete, "sys/audit/file", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := do(secrets.OpUpdate, "sys/audit-hash/file", map[string]any{"input": "x"}); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("hash on a disabled device: %v, want 400", err)
	}
	if _, err := do(secrets.OpUpdate, "sys/audit/bad", map[string]any{"type": "file", "options": map[string]any{"file_path": filepath.Join(t.TempDir(), "no", "such", "dir", "x")}}); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("an unopenable file: %v, want 400", err)
	}
	tb.Teardown()
}
