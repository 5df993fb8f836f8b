package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// TestIdentityCluster_TokensAcrossNodesAndFailover drives auth, policies,
// tokens and audit on a 3-process cluster through its standbys: a token
// made on one node works (and is refused where its policy says so) through
// every node, a revocation through a standby holds everywhere, and after
// the active node is killed with SIGKILL the tokens keep working, keep
// their policies, and the new active's expiration manager revokes what
// expires.
func TestIdentityCluster_TokensAcrossNodesAndFailover(t *testing.T) {
	nodes, root := startCluster(t)
	ctx := t.Context()
	as := func(i int, tok string) *vaultapi.Client { return newClient(t, nodes[i].addr, tok) }
	act := activeOf(t, nodes, -1)
	if act < 0 {
		t.Fatal("no active node")
	}
	sb1, sb2 := (act+1)%3, (act+2)%3

	// The official client's HAStatus decodes the top-level "nodes" copy.
	hs, err := as(sb1, root).Sys().HAStatus()
	if err != nil {
		t.Fatalf("HAStatus through a standby: %v", err)
	}
	var actives []string
	for _, n := range hs.Nodes {
		if n.ActiveNode {
			actives = append(actives, n.APIAddress)
		}
	}
	if len(hs.Nodes) != 3 || !slices.Equal(actives, []string{nodes[act].addr}) {
		t.Fatalf("HAStatus = %+v, want 3 nodes with %s the only active", hs.Nodes, nodes[act].addr)
	}

	// Set everything up through the standbys (forwarded to the active).
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	if err := as(sb2, root).Sys().EnableAuditWithOptions("file", &vaultapi.EnableAuditOptions{
		Type: "file", Options: map[string]string{"file_path": auditPath},
	}); err != nil {
		t.Fatalf("enable audit through a standby: %v", err)
	}
	if err := as(sb1, root).Sys().Mount("secret", &vaultapi.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount through a standby: %v", err)
	}
	const appSecret = "app-db-password-e2e"
	for p, v := range map[string]string{"app/db": appSecret, "other/db": "not-for-app"} {
		if _, err := as(sb2, root).KVv2("secret").Put(ctx, p, map[string]any{"password": v}); err != nil {
			t.Fatalf("kv put %s: %v", p, err)
		}
	}
	if err := as(sb1, root).Sys().PutPolicy("app", `
path "secret/data/app/*" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update"] }
`); err != nil {
		t.Fatalf("put policy through a standby: %v", err)
	}
	if err := as(sb1, root).Sys().EnableAuthWithOptions("userpass", &vaultapi.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatalf("enable userpass through a standby: %v", err)
	}
	const password = "c0rrect-h0rse-cluster"
	if _, err := as(sb2, root).Logical().Write("auth/userpass/users/alice", map[string]any{
		"password": password, "token_policies": "app", "token_ttl": "1h",
	}); err != nil {
		t.Fatalf("create user through a standby: %v", err)
	}

	login := func(i int) string {
		t.Helper()
		s, err := as(i, "").Logical().Write("auth/userpass/login/alice", map[string]any{"password": password})
		if err != nil || s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
			t.Fatalf("login through %s: %+v, %v", nodes[i].id, s, err)
		}
		return s.Auth.ClientToken
	}
	loginTok := login(1)
	created := mustCreate(t, as(2, root), &vaultapi.TokenCreateRequest{Policies: []string{"app"}, TTL: "1h", DisplayName: "cluster"})
	createdTok := created.Auth.ClientToken
	// A batch token is not stored: any node opens it (its key derives
	// from the replicated token salt), before and after failover.
	batch := mustCreate(t, as(1, root), &vaultapi.TokenCreateRequest{Policies: []string{"app"}, TTL: "1h", Type: "batch"})
	tokens := map[string]string{"userpass login": loginTok, "auth/token/create": createdTok, "batch token": batch.Auth.ClientToken}
	// alice's entity (made at her login) gets a team policy through a
	// group, set through a standby; it must hold after failover.
	if err := as(sb1, root).Sys().PutPolicy("team", `path "secret/data/team/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if _, err := as(sb2, root).KVv2("secret").Put(ctx, "team/db", map[string]any{"password": "team-secret"}); err != nil {
		t.Fatal(err)
	}
	self, err := as(sb2, loginTok).Auth().Token().LookupSelf()
	if err != nil || self.Data["entity_id"] == "" {
		t.Fatalf("login token lookup-self = %+v, %v", self, err)
	}
	if _, err := as(sb1, root).Logical().Write("identity/group", map[string]any{
		"name": "team", "policies": "team", "member_entity_ids": []any{self.Data["entity_id"]},
	}); err != nil {
		t.Fatalf("identity group through a standby: %v", err)
	}
	readsTeam := func(i int) error {
		_, err := as(i, loginTok).KVv2("secret").Get(ctx, "team/db")
		return err
	}
	for i := range nodes {
		if err := readsTeam(i); err != nil {
			t.Fatalf("group policy through %s: %v", nodes[i].id, err)
		}
	}

	// works asserts what an "app" token may and may not do through node i.
	works := func(t *testing.T, name, tok string, i int) {
		t.Helper()
		c := as(i, tok)
		s, err := c.KVv2("secret").Get(ctx, "app/db")
		if err != nil || s.Data["password"] != appSecret {
			t.Fatalf("%s: read allowed path through %s = %+v, %v", name, nodes[i].id, s, err)
		}
		if _, err := c.KVv2("secret").Get(ctx, "other/db"); !isStatus(err, 403) {
			t.Fatalf("%s: read denied path through %s: %v, want 403", name, nodes[i].id, err)
		}
		if _, err := c.KVv2("secret").Put(ctx, "app/db", map[string]any{"password": "x"}); !isStatus(err, 403) {
			t.Fatalf("%s: write without capability through %s: %v, want 403", name, nodes[i].id, err)
		}
		if err := c.Sys().PutPolicy("app", `path "*" { capabilities = ["sudo", "update"] }`); !isStatus(err, 403) {
			t.Fatalf("%s: policy write through %s: %v, want 403", name, nodes[i].id, err)
		}
	}
	// refused asserts that tok is rejected through node i.
	refused := func(tok string, i int) bool {
		c := as(i, tok)
		_, err1 := c.Auth().Token().LookupSelf()
		_, err2 := c.KVv2("secret").Get(ctx, "app/db")
		return isStatus(err1, 403) && isStatus(err2, 403)
	}

	t.Run("tokens work through every node", func(t *testing.T) {
		for name, tok := range tokens {
			for i := range nodes {
				works(t, name, tok, i)
			}
		}
	})

	t.Run("revocation through a standby holds everywhere", func(t *testing.T) {
		doomed := login(2)
		works(t, "second login", doomed, 0)
		if err := as(sb2, root).Auth().Token().RevokeTree(doomed); err != nil {
			t.Fatalf("revoke through a standby: %v", err)
		}
		for i := range nodes {
			if !refused(doomed, i) {
				t.Fatalf("revoked token still accepted through %s", nodes[i].id)
			}
		}
		for name, tok := range tokens { // the other login of the same user is untouched
			works(t, name, tok, sb1)
		}
	})

	t.Run("audit device records the requests", func(t *testing.T) {
		lines := auditLines(t, auditPath)
		var reqs, resps, logins int
		for _, l := range lines {
			switch l.Type {
			case "request":
				reqs++
			case "response":
				resps++
			}
			if l.Request.Path == "auth/userpass/login/alice" && l.Type == "response" {
				logins++
			}
		}
		if reqs == 0 || resps == 0 || logins < 2 {
			t.Fatalf("audit file: %d requests, %d responses, %d login responses", reqs, resps, logins)
		}
		raw, _ := os.ReadFile(auditPath)
		for _, s := range []string{loginTok, createdTok, batch.Auth.ClientToken, root, password, appSecret} {
			if bytes.Contains(raw, []byte(s)) {
				t.Fatal("a token, password or secret value reached the audit file unhashed")
			}
		}
	})

	// A 2 s parent and its 1 h child, made right before the kill: once the
	// parent expires, only the expiration manager revokes the child, and
	// the old active is dead by then.
	auditBefore := len(auditLines(t, auditPath))
	began := time.Now()
	short := mustCreate(t, as(act, root), &vaultapi.TokenCreateRequest{Policies: []string{"app"}, TTL: "2s"})
	child := mustCreate(t, as(act, short.Auth.ClientToken), &vaultapi.TokenCreateRequest{Policies: []string{"app"}, TTL: "1h"})
	victim := act
	nodes[victim].p.Kill()
	if d := time.Since(began); d > 1500*time.Millisecond {
		t.Fatalf("the 2s token was made %s before the kill; too slow to tell which node expired it", d)
	}
	killedAt := time.Now()
	var survivors []int
	for i := range nodes {
		if i != victim {
			survivors = append(survivors, i)
		}
	}
	newAct := -1
	waitFor(t, 15*time.Second, "a new active node", func() bool {
		newAct = activeOf(t, nodes, victim)
		return newAct >= 0
	})
	t.Logf("kill -9 of %s → %s active in %s", nodes[victim].id, nodes[newAct].id, time.Since(killedAt))

	t.Run("after failover", func(t *testing.T) {
		for name, tok := range tokens {
			for _, i := range survivors {
				works(t, name, tok, i)
			}
		}
		for _, i := range survivors {
			if err := readsTeam(i); err != nil {
				t.Fatalf("group policy after failover through %s: %v", nodes[i].id, err)
			}
		}
		for _, i := range survivors {
			s, err := as(i, createdTok).Auth().Token().LookupSelf()
			if err != nil {
				t.Fatalf("lookup-self through %s: %v", nodes[i].id, err)
			}
			pols, err := s.TokenPolicies()
			slices.Sort(pols)
			if err != nil || !slices.Equal(pols, []string{"app", "default"}) {
				t.Fatalf("policies after failover through %s = %v, %v", nodes[i].id, pols, err)
			}
			if s.Data["display_name"] != "token-cluster" {
				t.Fatalf("display_name after failover = %v", s.Data["display_name"])
			}
		}
		// The expired parent is refused; the new active's expiration
		// manager revokes it and, with it, the child.
		waitFor(t, 10*time.Second, "the 2s token and its child to be refused through every survivor", func() bool {
			for _, i := range survivors {
				if !refused(short.Auth.ClientToken, i) || !refused(child.Auth.ClientToken, i) {
					return false
				}
			}
			return true
		})
		if _, err := as(survivors[0], root).Auth().Token().LookupAccessor(child.Auth.Accessor); !isStatus(err, 400) && !isStatus(err, 403) {
			t.Fatalf("lookup-accessor of the revoked child: %v, want 400 or 403", err)
		}
		hs, err := as(survivors[0], root).Sys().HAStatus()
		if err != nil {
			t.Fatalf("HAStatus after failover: %v", err)
		}
		var actives []string
		for _, n := range hs.Nodes {
			if n.ActiveNode {
				actives = append(actives, n.APIAddress)
			}
		}
		if !slices.Equal(actives, []string{nodes[newAct].addr}) {
			t.Fatalf("HAStatus after failover: actives %v, want [%s]", actives, nodes[newAct].addr)
		}
		// The new active keeps writing the (replicated) audit device.
		if n := len(auditLines(t, auditPath)); n <= auditBefore {
			t.Fatalf("audit file did not grow after failover: %d lines, %d before", n, auditBefore)
		}
	})
}

// auditLine is the part of an audit entry the cluster test reads.
type auditLine struct {
	Type    string `json:"type"`
	Request struct {
		Path string `json:"path"`
	} `json:"request"`
}

// auditLines parses every line of the audit file at path.
func auditLines(t *testing.T, path string) []auditLine {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read audit file: %v", err)
	}
	var out []auditLine
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if l == "" {
			continue
		}
		var a auditLine
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("audit line is not JSON: %v", err)
		}
		out = append(out, a)
	}
	return out
}
