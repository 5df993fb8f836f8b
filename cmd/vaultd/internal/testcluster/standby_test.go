package testcluster_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/testcluster"
)

// TestStandbyReads_LinearizableAndFresh: a standby answers KV reads
// itself (no forwarding), every read sees the write acknowledged by the
// active node just before it, and changes to policies, tokens and the
// mount table made on the active node hold on the standby's very next
// read (the caches follow the replicated writes). The modes that must
// forward do.
func TestStandbyReads_LinearizableAndFresh(t *testing.T) {
	c := testcluster.New(t, 3)
	c.InitAndUnseal(t)
	act := c.Active(t)
	sb := c.Standbys(t)[0]
	ca := c.Client(t, act.Index)
	mustWrite(t, ca, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	mustWrite(t, ca, "sys/policy/reader", map[string]any{"policy": `path "secret/data/*" { capabilities = ["read"] }`})
	sec, err := ca.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"reader"}})
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	cs := c.Client(t, sb.Index)
	cs.SetToken(sec.Auth.ClientToken)

	served := func() uint64 { s, _, _ := sb.Core.LocalReadStats(); return s }
	forwarded := func() uint64 { _, f, _ := sb.Core.LocalReadStats(); return f }

	for i := range 30 {
		mustWrite(t, ca, "secret/data/a", map[string]any{"data": map[string]any{"v": fmt.Sprint(i)}})
		if got := kvGet(t, cs, "secret/data/a"); got != fmt.Sprint(i) {
			t.Fatalf("standby read after write %d = %q", i, got)
		}
	}
	if served() < 30 {
		t.Fatalf("the standby served %d reads itself, want 30 (forwarded %d)", served(), forwarded())
	}

	// A policy change on the active node holds on the standby at once.
	mustWrite(t, ca, "sys/policy/reader", map[string]any{"policy": `path "secret/data/other" { capabilities = ["read"] }`})
	if _, err := cs.Logical().Read("secret/data/a"); statusOf(err) != http.StatusForbidden {
		t.Fatalf("read after the policy was narrowed: %v, want 403", err)
	}
	mustWrite(t, ca, "sys/policy/reader", map[string]any{"policy": `path "secret/data/*" { capabilities = ["read"] }`})
	if got := kvGet(t, cs, "secret/data/a"); got != "29" {
		t.Fatalf("read after the policy was widened again = %q", got)
	}

	// A new mount is usable on the standby at once.
	mustWrite(t, ca, "sys/mounts/more", map[string]any{"type": "kv", "options": map[string]any{"version": "1"}})
	mustWrite(t, ca, "more/x", map[string]any{"v": "y"})
	croot := c.Client(t, sb.Index)
	before := served()
	if s, err := croot.Logical().Read("more/x"); err != nil || s == nil || s.Data["v"] != "y" {
		t.Fatalf("standby read of a new mount: %v %v", s, err)
	}
	if served() != before+1 {
		t.Fatal("the read of the new mount was not served by the standby")
	}

	// X-Vault-Inconsistent: forward-active-node forwards.
	before = served()
	fwd := c.Client(t, sb.Index)
	fwd.AddHeader("X-Vault-Inconsistent", "forward-active-node")
	if s, err := fwd.Logical().Read("more/x"); err != nil || s == nil {
		t.Fatalf("forwarded read: %v %v", s, err)
	}
	if served() != before {
		t.Fatal("a read with X-Vault-Inconsistent: forward-active-node was served locally")
	}

	// Bounded staleness: answered locally.
	st := c.Client(t, sb.Index)
	st.AddHeader("X-Vaultd-Max-Staleness", "5s")
	before = served()
	if s, err := st.Logical().Read("more/x"); err != nil || s == nil || s.Data["v"] != "y" {
		t.Fatalf("bounded-staleness read: %v %v", s, err)
	}
	if served() != before+1 {
		t.Fatal("a bounded-staleness read was not served by the standby")
	}
	bad := c.Client(t, sb.Index)
	bad.AddHeader("X-Vaultd-Max-Staleness", "soon")
	if _, err := bad.Logical().Read("more/x"); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("invalid X-Vaultd-Max-Staleness: %v, want 400", err)
	}

	// X-Vault-Index: a write's answer carries a state token in Vault's
	// format; a bounded-staleness read presenting it is answered locally
	// and sees the write; a tampered token is refused.
	var state string
	mustWriteState := ca.WithResponseCallbacks(vaultapi.RecordState(&state))
	if _, err := mustWriteState.Logical().Write("more/x", map[string]any{"v": "indexed"}); err != nil {
		t.Fatal(err)
	}
	ws, err := vaultapi.ParseReplicationState(state, nil)
	if err != nil || ws.LocalIndex == 0 {
		t.Fatalf("X-Vault-Index %q: %+v, %v", state, ws, err)
	}
	ryw := st.WithRequestCallbacks(vaultapi.RequireState(state))
	before = served()
	if s, err := ryw.Logical().Read("more/x"); err != nil || s == nil || s.Data["v"] != "indexed" {
		t.Fatalf("bounded-staleness read with the write's state token: %v %v", s, err)
	}
	if served() != before+1 {
		t.Fatal("a read with a state token was not served by the standby")
	}
	forged := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("v1:%s:%d:0:%s", ws.ClusterID, ws.LocalIndex+1, strings.Repeat("00", 32))))
	if _, err := st.WithRequestCallbacks(vaultapi.RequireState(forged)).Logical().Read("more/x"); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("read with a forged state token: %v, want 400", err)
	}
	mustWrite(t, ca, "more/x", map[string]any{"v": "y"})

	// A token with uses left is used on the active node: forwarded, and
	// its uses run out as they should.
	lim, err := ca.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"reader"}, NumUses: 2})
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	cl := c.Client(t, sb.Index)
	cl.SetToken(lim.Auth.ClientToken)
	before = served()
	for range 2 {
		if kvGet(t, cl, "secret/data/a") != "29" {
			t.Fatal("read with a limited-use token")
		}
	}
	if _, err := cl.Logical().Read("secret/data/a"); statusOf(err) != http.StatusForbidden {
		t.Fatalf("third use of a two-use token: %v, want 403", err)
	}
	if served() != before+1 { // the 403 of the used-up token is the standby's own
		t.Fatalf("limited-use token reads served locally: %d", served()-before)
	}

	// A revoked token is refused on the standby at once.
	if err := ca.Auth().Token().RevokeOrphan(sec.Auth.ClientToken); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := cs.Logical().Read("secret/data/a"); statusOf(err) != http.StatusForbidden {
		t.Fatalf("read with a revoked token: %v, want 403", err)
	}

	// With an audit device enabled, the standby still answers reads
	// itself and audits them on its own devices (request and response).
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	mustWrite(t, ca, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": auditPath}})
	before = served()
	reqs := sb.Core.Stats().Audit.Requests
	resps := sb.Core.Stats().Audit.Responses
	if s, err := croot.Logical().Read("more/x"); err != nil || s == nil {
		t.Fatalf("standby read with audit on: %v %v", s, err)
	}
	if served() != before+1 {
		t.Fatal("with an audit device enabled, the read was not served by the standby")
	}
	if st := sb.Core.Stats().Audit; st.Requests != reqs+1 || st.Responses != resps+1 {
		t.Fatalf("the standby audited %d requests and %d responses, want 1 and 1", st.Requests-reqs, st.Responses-resps)
	}
	if b, err := os.ReadFile(auditPath); err != nil || !strings.Contains(string(b), `"path":"more/x"`) {
		t.Fatalf("audit file after a standby read: %v\n%s", err, b)
	}

	// Writes through the standby are forwarded as before.
	mustWrite(t, croot, "more/x", map[string]any{"v": "z"})
	if s, err := croot.Logical().Read("more/x"); err != nil || s.Data["v"] != "z" {
		t.Fatalf("read after a write through the standby: %v %v", s, err)
	}
}
