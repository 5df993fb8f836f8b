package cli

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWrap_MatchesVault(t *testing.T) {
	// Vault's own output for 10 shares (min-raggedness layout at 78 columns).
	in := "Vault initialized with 10 key shares and a key threshold of 3. Please " +
		"securely distribute the key shares printed above. When the Vault is " +
		"re-sealed, restarted, or stopped, you must supply at least 3 of " +
		"these keys to unseal it before it can start servicing requests."
	want := `Vault initialized with 10 key shares and a key threshold of 3. Please
securely distribute the key shares printed above. When the Vault is re-sealed,
restarted, or stopped, you must supply at least 3 of these keys to unseal it
before it can start servicing requests.`
	if got := wrap(in, maxLineLength); got != want {
		t.Errorf("wrap =\n%s\nwant\n%s", got, want)
	}
	if got := wrap("short", 78); got != "short" {
		t.Errorf("wrap(short) = %q", got)
	}
	if got := wrap("", 78); got != "" {
		t.Errorf("wrap(empty) = %q", got)
	}
	long := strings.Repeat("x", 100) + " y"
	if got := wrap(long, 78); got != strings.Repeat("x", 100)+"\ny" {
		t.Errorf("wrap(overlong word) = %q", got)
	}
}

func TestTable(t *testing.T) {
	got := table([]string{"Key | Value", "Seal Type | shamir", "Unseal Nonce | ", "Sealed | false"}, "|")
	want := "Key             Value\n" +
		"---             -----\n" +
		"Seal Type       shamir\n" +
		"Unseal Nonce    n/a\n" +
		"Sealed          false"
	if got != want {
		t.Errorf("table =\n%q\nwant\n%q", got, want)
	}
}

func TestPadEqualSigns(t *testing.T) {
	for _, tc := range []struct {
		h    string
		n    int
		want string
	}{
		{"Secret Path", len("secret/data/creds"), "== Secret Path =="},
		{"Secret Path", len("secret/data/foo"), "= Secret Path ="},
		{"Metadata Path", len("secret/metadata/creds"), "=== Metadata Path ==="},
		{"Data", 1 + 9, "== Data =="},
		{"Metadata", len("custom_metadata") + 9, "======= Metadata ======="},
		{"Long header", 3, "== Long header =="},
	} {
		if got := padEqualSigns(tc.h, tc.n); got != tc.want {
			t.Errorf("padEqualSigns(%q, %d) = %q, want %q", tc.h, tc.n, got, tc.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0s", 768 * time.Hour: "768h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s", time.Hour + 5*time.Second: "1h5s"} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestNormalizeArgs(t *testing.T) {
	got := NormalizeArgs([]string{"kv", "put", "-mount=secret", "-h", "-5", "-", "k=-v", "--cas=1", "--", "-x"})
	want := []string{"kv", "put", "--mount=secret", "-h", "-5", "-", "k=-v", "--cas=1", "--", "-x"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("NormalizeArgs = %q, want %q", got, want)
	}
}

func TestParseKV(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(f, []byte("line1\nline2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	j := filepath.Join(dir, "body.json")
	if err := os.WriteFile(j, []byte(`{"n": 1, "o": {"a": true}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := parseKV(strings.NewReader("from stdin\n"), []string{"a=b=c", "cert=@" + f, "pw=-", "@" + j})
	if err != nil {
		t.Fatal(err)
	}
	if got["a"] != "b=c" || got["cert"] != "line1\nline2\n" || got["pw"] != "from stdin\n" || got["o"] == nil {
		t.Errorf("parseKV = %#v", got)
	}
	for _, tc := range []struct {
		args []string
		want error
	}{
		{[]string{"novalue"}, errKVFormat},
		{[]string{"=v"}, errKVFormat},
		{[]string{"a=-", "b=-"}, errStdinTwice},
		{[]string{"-"}, errNotJSONObj},
		{[]string{"a=@"}, errKVFileEmpty},
	} {
		if _, err := parseKV(strings.NewReader("[1]"), tc.args); !errors.Is(err, tc.want) {
			t.Errorf("parseKV(%q) = %v, want %v", tc.args, err, tc.want)
		}
	}
	if _, err := parseKV(nil, []string{"a=@" + filepath.Join(dir, "missing")}); err == nil {
		t.Error("parseKV(missing file) = nil error")
	}
}

func TestValidShare(t *testing.T) {
	for in, want := range map[string]bool{
		strings.Repeat("ab", 33):                       true,  // 33 bytes hex
		strings.Repeat("ab", 32):                       true,  // 32 bytes hex (1-of-1)
		strings.Repeat("A", 44):                        false, // hex: 22 bytes
		"zZIVce5Pp3ZzBQumgaaM1wq7BFdOF+lRSBtNkL+5f7XM": true,
		"not a share":                                  false,
		`"},"reset":true,"x":"`:                        false, // no JSON injection into the body
		"":                                             false,
	} {
		if got := validShare([]byte(in)); got != want {
			t.Errorf("validShare(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestReadLine(t *testing.T) {
	r := strings.NewReader("first\nsecond\n")
	a, err := readLine(r)
	if err != nil || string(a) != "first" {
		t.Fatalf("readLine = %q, %v", a, err)
	}
	b, err := readLine(r)
	if err != nil || string(b) != "second" {
		t.Fatalf("readLine = %q, %v", b, err)
	}
	if _, err := readLine(r); !errors.Is(err, errNoInput) {
		t.Fatalf("readLine at EOF = %v, want errNoInput", err)
	}
	if _, err := readLine(bytes.NewReader(bytes.Repeat([]byte("x"), maxSecretInput+2))); err == nil {
		t.Fatal("readLine accepted an over-long line")
	}
}

func TestDecodeToken(t *testing.T) {
	otp := "abcdefghijklmnopqrstuvwxyz01"
	tok := "hvs.ABCDEFGHIJKLMNOPQRSTUVWX"
	x := make([]byte, len(tok))
	for i := range x {
		x[i] = tok[i] ^ otp[i]
	}
	enc := strings.TrimRight(b64(x), "=")
	got, err := decodeToken(enc, otp)
	if err != nil || got != tok {
		t.Fatalf("decodeToken = %q, %v", got, err)
	}
	if _, err := decodeToken(enc, otp[:10]); err == nil {
		t.Fatal("decodeToken with a short OTP = nil error")
	}
	if _, err := decodeToken("!!", otp); err == nil {
		t.Fatal("decodeToken(!!) = nil error")
	}
}

func FuzzParseKV(f *testing.F) {
	f.Add("a=b", "{}")
	f.Add("-", `{"x":1}`)
	f.Add("k=-", "value")
	f.Fuzz(func(t *testing.T, arg, stdin string) {
		if strings.Contains(arg, "@") {
			return // no file reads while fuzzing
		}
		m, err := parseKV(strings.NewReader(stdin), []string{arg})
		if err == nil && m == nil {
			t.Fatal("nil map without error")
		}
	})
}

func FuzzValidShare(f *testing.F) {
	f.Add("zZIVce5Pp3ZzBQumgaaM1wq7BFdOF+lRSBtNkL+5f7XM")
	f.Add(strings.Repeat("ab", 33))
	f.Fuzz(func(t *testing.T, s string) {
		if validShare([]byte(s)) && strings.ContainsAny(s, "\"\\ \n") {
			t.Fatalf("validShare accepted %q, which would break the JSON body", s)
		}
	})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
