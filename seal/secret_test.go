package seal_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/seal"
)

func TestSecret_NeverPrints(t *testing.T) {
	s := seal.Secret("hunter2-hunter2-hunter2")
	raw := []byte("hunter2")
	hex := fmt.Sprintf("%x", raw)
	check := func(what, out string) {
		t.Helper()
		if strings.Contains(out, "hunter2") || strings.Contains(out, hex) || strings.Contains(out, "104 117") {
			t.Errorf("%s leaks the secret: %s", what, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s = %q, want [redacted]", what, out)
		}
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%08b"} {
		check(verb, fmt.Sprintf(verb, s))
	}
	check("String", s.String())
	check("struct %+v", fmt.Sprintf("%+v", struct{ Key seal.Secret }{s}))
	check("slice %v", fmt.Sprint([]seal.Secret{s}))

	j, err := json.Marshal(map[string]any{"key": s})
	if err != nil {
		t.Fatal(err)
	}
	check("json", string(j))

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("msg", "key", s, slog.Any("any", s))
	}
	check("slog", buf.String())
}

func TestSecret_Zero(t *testing.T) {
	s := seal.Secret{1, 2, 3}
	alias := []byte(s)
	s.Zero()
	if !bytes.Equal(alias, []byte{0, 0, 0}) {
		t.Fatalf("Zero left %v", alias)
	}
	var empty seal.Secret
	empty.Zero() // no panic on nil
}
