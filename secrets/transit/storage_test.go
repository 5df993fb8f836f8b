package transit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/transit"
	"github.com/vaultd/vaultd/storage"
)

// failing is a Backend whose writes fail.
type failing struct {
	storage.Backend
}

var errDisk = errors.New("disk on fire")

func (failing) Put(context.Context, *storage.Entry) error { return errDisk }

func TestStorage_CorruptAndFailing(t *testing.T) {
	f := newTransit(t)
	ctx := context.Background()
	for _, v := range []string{"{not json", `{"name":"bad","type":"rot13","latest_version":1,"min_decryption_version":1}`,
		`{"name":"bad","type":"aes256-gcm96","latest_version":1,"min_decryption_version":1,"versions":{"1":{"key":"AAAA"}}}`,
		`{"name":"bad","type":"ed25519","latest_version":1,"min_decryption_version":1,"versions":{"1":{"key":"AAAA"}}}`,
	} {
		if err := f.View.Put(ctx, &storage.Entry{Key: "policy/bad", Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"keys/bad", "decrypt/bad", "sign/bad", "export/public-key/bad"} {
			op := secrets.OpUpdate
			if strings.HasPrefix(p, "keys/") || strings.HasPrefix(p, "export/") {
				op = secrets.OpRead
			}
			_, err := f.Eng.HandleRequest(ctx, &secrets.Request{Operation: op, Path: p, Storage: f.View,
				Data: map[string]any{"ciphertext": "vault:v1:AA==", "input": "AA=="}})
			var se *secrets.Error
			if !errors.Is(err, transit.ErrCorrupt) || errors.As(err, &se) {
				t.Fatalf("%s on corrupt record %q: %v", p, v, err)
			}
		}
	}

	// Write failures surface wrapped, as internal errors.
	bad := failing{f.View}
	for _, p := range []string{"keys/new", "encrypt/new"} {
		_, err := f.Eng.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpCreate, Path: p, Storage: bad,
			Data: map[string]any{"plaintext": "AA=="}})
		if !errors.Is(err, errDisk) {
			t.Fatalf("%s with failing storage: %v", p, err)
		}
	}
	f.must(secrets.OpUpdate, "keys/ok", nil)
	_, err := f.Eng.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpUpdate, Path: "keys/ok/rotate", Storage: bad})
	if !errors.Is(err, errDisk) {
		t.Fatalf("rotate with failing storage: %v", err)
	}
	// Cancelled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.Eng.HandleRequest(cctx, &secrets.Request{Operation: secrets.OpRead, Path: "keys/ok", Storage: f.View}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestSecretBytes_Redacted(t *testing.T) {
	s := transit.SecretBytes("super-secret-key-material")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("key", "k", s)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("key", "k", s)
	for _, out := range []string{buf.String(), s.String(), s.GoString(), fmt.Sprintf("%v %s %x %q %#v %+v", s, s, s, s, s, s)} {
		if strings.Contains(out, "super") || strings.Contains(out, "7375706572") || !strings.Contains(out, "[redacted]") {
			t.Fatalf("secret leaked or not redacted: %q", out)
		}
	}
}
