package transit_test

import (
	"net/http"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

func TestBatch_EncryptDecrypt(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/k", nil)
	in := []any{
		map[string]any{"plaintext": b64("a"), "reference": "r1"},
		map[string]any{"plaintext": b64("b")},
		map[string]any{"plaintext": b64("")},
	}
	d := f.must(secrets.OpUpdate, "encrypt/k", map[string]any{"batch_input": in})
	res := d["batch_results"].([]any)
	if len(res) != 3 {
		t.Fatalf("batch_results = %v", res)
	}
	var cts []any
	for i, r := range res {
		m := r.(map[string]any)
		if m["key_version"] != float64(1) || m["ciphertext"] == nil || m["error"] != nil {
			t.Fatalf("item %d = %v", i, m)
		}
		cts = append(cts, map[string]any{"ciphertext": m["ciphertext"], "reference": i})
	}
	if res[0].(map[string]any)["reference"] != "r1" {
		t.Fatalf("reference not echoed: %v", res[0])
	}
	dec := f.must(secrets.OpUpdate, "decrypt/k", map[string]any{"batch_input": cts})["batch_results"].([]any)
	for i, want := range []string{"a", "b", ""} {
		m := dec[i].(map[string]any)
		if unb64(t, m["plaintext"]) != want || m["reference"] != float64(i) {
			t.Fatalf("decrypt item %d = %v", i, m)
		}
	}
	// Rewrap in batch.
	f.must(secrets.OpUpdate, "keys/k/rotate", nil)
	rw := f.must(secrets.OpUpdate, "rewrap/k", map[string]any{"batch_input": cts})["batch_results"].([]any)
	for i, r := range rw {
		if r.(map[string]any)["key_version"] != float64(2) {
			t.Fatalf("rewrap item %d = %v", i, r)
		}
	}
}

func TestBatch_PerItemErrors(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/k", nil)
	good := f.encrypt("k", "ok")
	items := []any{
		map[string]any{"ciphertext": good},
		map[string]any{"ciphertext": "garbage"},
		map[string]any{"ciphertext": "vault:v7:AAAA"},
		map[string]any{},
	}
	resp, err := f.Do(secrets.OpUpdate, "decrypt/k", map[string]any{"batch_input": items})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", resp.StatusCode)
	}
	res := asJSON(t, resp.Data)["batch_results"].([]any)
	wantErr := []string{"", "invalid ciphertext: no prefix", "invalid ciphertext: version is too new", "missing ciphertext to decrypt"}
	for i, w := range wantErr {
		m := res[i].(map[string]any)
		if w == "" {
			if m["error"] != nil || unb64(t, m["plaintext"]) != "ok" {
				t.Fatalf("item %d = %v", i, m)
			}
			continue
		}
		if m["error"] != w || m["plaintext"] != nil {
			t.Fatalf("item %d = %v, want error %q", i, m, w)
		}
	}
	// partial_failure_response_code applies when some items succeeded.
	resp, err = f.Do(secrets.OpUpdate, "decrypt/k", map[string]any{"batch_input": items, "partial_failure_response_code": 207})
	if err != nil || resp.StatusCode != 207 {
		t.Fatalf("partial failure code: %+v, %v", resp, err)
	}
	resp, err = f.Do(secrets.OpUpdate, "decrypt/k", map[string]any{"batch_input": items[1:], "partial_failure_response_code": 207})
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("all failed: %+v, %v", resp, err)
	}
	// Encrypt batch with a bad item.
	resp, err = f.Do(secrets.OpUpdate, "encrypt/k", map[string]any{"batch_input": []any{
		map[string]any{"plaintext": "***"}, map[string]any{"plaintext": b64("x")},
	}})
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("encrypt batch: %+v, %v", resp, err)
	}
	res = asJSON(t, resp.Data)["batch_results"].([]any)
	if res[0].(map[string]any)["error"] != "failed to base64-decode plaintext" || res[1].(map[string]any)["ciphertext"] == nil {
		t.Fatalf("encrypt batch results = %v", res)
	}
}

func TestBatch_Malformed(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/k", nil)
	for _, bi := range []any{"nope", []any{}, []any{"x"}, map[string]any{}} {
		f.fail(secrets.OpUpdate, "decrypt/k", map[string]any{"batch_input": bi}, secrets.ErrInvalidRequest, "batch input")
	}
	// A malformed batch to encrypt does not create the key.
	f.fail(secrets.OpUpdate, "encrypt/new", map[string]any{"batch_input": "x"}, secrets.ErrInvalidRequest, "batch input")
	f.fail(secrets.OpRead, "keys/new", nil, secrets.ErrNotFound, "")
}
