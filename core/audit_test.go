package core_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
)

type auditLine struct {
	Type string `json:"type"`
	Auth struct {
		ClientToken string   `json:"client_token"`
		Accessor    string   `json:"accessor"`
		Policies    []string `json:"policies"`
	} `json:"auth"`
	Request struct {
		ID          string         `json:"id"`
		Operation   string         `json:"operation"`
		Path        string         `json:"path"`
		ClientToken string         `json:"client_token"`
		Data        map[string]any `json:"data"`
	} `json:"request"`
	Response *struct {
		Data map[string]any `json:"data"`
		Auth *struct {
			ClientToken string `json:"client_token"`
		} `json:"auth"`
		WrapInfo *struct {
			Token string `json:"token"`
		} `json:"wrap_info"`
	} `json:"response"`
	Error string `json:"error"`
}

func readAudit(t *testing.T, path string) ([]auditLine, []byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditLine
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("audit line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, l)
	}
	return out, raw
}

func TestAudit_FileDevice(t *testing.T) {
	n := newNode(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	// sys/audit needs sudo.
	n.policy("auditor", `path "sys/audit*" { capabilities = ["create", "read", "update", "delete", "list"] }`)
	nonSudo := n.token(map[string]any{"policies": []any{"auditor"}}).ClientToken
	n.wantErr(nonSudo, secrets.OpUpdate, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": logPath}}, errDenied)
	n.wantErr(n.root, secrets.OpUpdate, "sys/audit/file", map[string]any{"type": "syslog"}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": logPath, "log_raw": "true"}}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": dir}}, errInvalid)
	n.must(n.root, secrets.OpUpdate, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": logPath}, "description": "main"})
	n.wantErr(n.root, secrets.OpUpdate, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": logPath}}, errInvalid)
	list := n.must(n.root, secrets.OpRead, "sys/audit", nil).Data
	if dev, ok := list["file/"].(map[string]any); !ok || dev["type"] != "file" || dev["path"] != "file/" {
		t.Fatalf("sys/audit = %v", list)
	}
	if st, err := os.Stat(logPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("audit file mode: %v %v", st, err)
	}

	const secretValue = "correct-horse-battery-staple"
	n.must(n.root, secrets.OpUpdate, "sys/mounts/kv", map[string]any{"type": "kv"})
	n.must(n.root, secrets.OpUpdate, "kv/app", map[string]any{"password": secretValue, "port": float64(5432)})
	child := n.token(map[string]any{"policies": []any{"default"}})
	n.must(child.ClientToken, secrets.OpUpdate, "cubbyhole/x", map[string]any{"note": secretValue})
	n.must(n.root, secrets.OpRead, "kv/app", nil)
	n.wantErr("hvs.not-a-real-token", secrets.OpRead, "kv/app", nil, errDenied)
	if _, err := wrapped(n, n.root, "kv/app", secrets.OpRead, nil, time.Minute); err != nil {
		t.Fatal(err)
	}

	lines, raw := readAudit(t, logPath)
	if len(lines) < 12 || len(lines)%2 != 0 {
		t.Fatalf("%d audit lines, want a request and a response per request", len(lines))
	}
	for _, needle := range []string{n.root, child.ClientToken, child.Accessor, secretValue, "hvs.not-a-real-token"} {
		if bytes.Contains(raw, []byte(needle)) {
			t.Errorf("audit log contains %q in the clear", needle)
		}
	}
	hash := func(in string) string {
		return n.must(n.root, secrets.OpUpdate, "sys/audit-hash/file", map[string]any{"input": in}).Data["hash"].(string)
	}
	rootHash, secretHash := hash(n.root), hash(secretValue)
	if !strings.HasPrefix(rootHash, "hmac-sha256:") || rootHash == hash(child.ClientToken) {
		t.Fatalf("audit-hash = %q", rootHash)
	}
	var sawWrite, sawCreateResp, sawDenied, sawWrap bool
	for _, l := range lines {
		switch {
		case l.Type == "request" && l.Request.Path == "kv/app" && l.Request.Operation == "update":
			sawWrite = true
			if l.Auth.ClientToken != rootHash || l.Request.ClientToken != rootHash {
				t.Errorf("request token hashes %q / %q, want %q", l.Auth.ClientToken, l.Request.ClientToken, rootHash)
			}
			if l.Request.Data["password"] != secretHash || l.Request.Data["port"] != float64(5432) {
				t.Errorf("request data = %v: strings hashed, numbers kept", l.Request.Data)
			}
		case l.Type == "response" && l.Request.Path == "auth/token/create" && l.Response != nil && l.Response.Auth != nil:
			sawCreateResp = true
			if l.Response.Auth.ClientToken != hash(child.ClientToken) {
				t.Errorf("issued token logged as %q", l.Response.Auth.ClientToken)
			}
		case l.Type == "response" && l.Error == "permission denied":
			sawDenied = true
		case l.Type == "response" && l.Response != nil && l.Response.WrapInfo != nil:
			sawWrap = strings.HasPrefix(l.Response.WrapInfo.Token, "hmac-sha256:")
		}
	}
	if !sawWrite || !sawCreateResp || !sawDenied || !sawWrap {
		t.Fatalf("audit log lacks entries: write %v, create response %v, denied %v, wrap %v", sawWrite, sawCreateResp, sawDenied, sawWrap)
	}

	// hmac_accessor=false leaves accessors readable.
	plain := filepath.Join(dir, "plain.log")
	n.must(n.root, secrets.OpUpdate, "sys/audit/plain", map[string]any{"type": "file", "options": map[string]any{"file_path": plain, "hmac_accessor": "false"}})
	n.must(child.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil)
	if b, _ := os.ReadFile(plain); !bytes.Contains(b, []byte(child.Accessor)) || bytes.Contains(b, []byte(child.ClientToken)) {
		t.Fatalf("hmac_accessor=false: accessor shown %v, token hidden %v", bytes.Contains(b, []byte(child.Accessor)), !bytes.Contains(b, []byte(child.ClientToken)))
	}
	n.must(n.root, secrets.OpDelete, "sys/audit/plain", nil)
	n.wantErr(n.root, secrets.OpUpdate, "sys/audit-hash/plain", map[string]any{"input": "x"}, errInvalid)
}

func TestAudit_FailClosed(t *testing.T) {
	n := newNode(t)
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "audit.log")
	n.must(n.root, secrets.OpUpdate, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": logPath}})
	// Make the file impossible to reopen, then restart the node's active
	// state: the device comes back failing, and with every device failing
	// nothing is served.
	n.c.SealNode()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	n.unseal()
	_, err := n.do(n.root, secrets.OpRead, "auth/token/lookup-self", nil)
	if !errors.Is(err, core.ErrAuditFailed) {
		t.Fatalf("request with every audit device failing: err = %v, want ErrAuditFailed", err)
	}
	// Once the path works again the device recovers by itself.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the audit device to recover", func() bool {
		_, err := n.do(n.root, secrets.OpRead, "auth/token/lookup-self", nil)
		return err == nil
	})
	if lines, _ := readAudit(t, logPath); len(lines) == 0 {
		t.Fatal("the recovered device wrote nothing")
	}
}
