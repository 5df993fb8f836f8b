// Package layers checks the import rules of docs/architecture.md (from
// shared/style.md §3) on the real dependency graph, as `go list -deps`
// reports it: a violation fails the test run, and so CI.
package layers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/vaultd/vaultd"

// pkg is what `go list -json` tells about one package.
type pkg struct {
	ImportPath string
	Standard   bool
	Deps       []string
	Module     *struct{ Path string }
}

// rule says that no package matching From may depend (directly or
// transitively) on a package matching any of Forbidden; when StdlibOnly is
// set, it may depend only on the standard library and on Allowed.
type rule struct {
	Why        string
	From       []string // package patterns: "core", "core/..." or "secrets/*" (relative to the module)
	Except     []string // packages of From the rule does not cover
	Forbidden  []string
	StdlibOnly bool
	Allowed    []string // with StdlibOnly: module packages it may use
}

var rules = []rule{
	{Why: "core reaches raft through interfaces it declares; only the composition root knows raftstore",
		From: []string{"core/..."}, Forbidden: []string{"raftstore/...", "api/...", "cmd/...", "secrets/*", "auth/..."}},
	{Why: "core and the HTTP layer reach raft only through interfaces core declares (style.md §3)",
		From: []string{"core/...", "api/..."}, Forbidden: []string{"github.com/hashicorp/raft", "github.com/hashicorp/raft-boltdb/v2"}},
	{Why: "the cluster's TLS material is plain crypto, for core and the cluster port alike",
		From: []string{"clusterport/clustertls"}, StdlibOnly: true, Allowed: []string{"seal", "seal/shamir", "storage"}},
	{Why: "raftstore stores ciphertexts and never holds keys: the join challenge goes through an interface it declares",
		From: []string{"raftstore/..."}, Forbidden: []string{"seal/...", "core/...", "api/...", "clusterport/...", "cmd/..."}},
	{Why: "an engine or auth method sees only its storage view and the engine contract",
		From: []string{"secrets/...", "auth/..."}, Forbidden: []string{"core/...", "seal/...", "raftstore/...", "clusterport/...", "api/...", "cmd/..."}},
	{Why: "the HTTP layer talks to core, never to raft storage",
		From: []string{"api/..."}, Forbidden: []string{"raftstore/...", "cmd/..."}},
	{Why: "the cluster port is below core and beside raftstore",
		From: []string{"clusterport/..."}, Forbidden: []string{"core/...", "raftstore/...", "api/...", "cmd/..."}},
	{Why: "storage is the leaf contract every layer shares",
		From: []string{"storage"}, StdlibOnly: true},
	{Why: "Shamir's scheme is pure arithmetic",
		From: []string{"seal/shamir"}, StdlibOnly: true},
	{Why: "the barrier needs only the storage contract and Shamir",
		From: []string{"seal"}, StdlibOnly: true, Allowed: []string{"storage", "seal/shamir"}},
	{Why: "the transit auto seal is a plain net/http client of a remote vault",
		From: []string{"seal/transit"}, StdlibOnly: true},
	{Why: "core and the HTTP layer see an auto seal only as a seal.Wrapper; the composition root builds it",
		From: []string{"core/...", "api/..."}, Forbidden: []string{"seal/transit"}},
	{Why: "the endpoint declarations serve engines, auth methods and core alike",
		From: []string{"endpoint"}, StdlibOnly: true, Allowed: []string{"storage", "secrets"}},
	{Why: "the identity store is declared like an engine and holds only its own state",
		From: []string{"core/identity"}, StdlibOnly: true, Allowed: []string{"storage", "secrets", "endpoint"}},
	{Why: "the mount tables know engines only through the secrets contract and storage only through the barrier they are given",
		From: []string{"core/mounts"}, StdlibOnly: true, Allowed: []string{"storage", "secrets", "core/internal/reqfield", "github.com/google/uuid"}},
	{Why: "core's subsystems are wired by core, never the other way round",
		From: []string{"core/*"}, Forbidden: []string{"core"}},
	{Why: "the replication stream sees only raw storage (ciphertexts) and its own state; the server adapts raftstore and the cluster port to it",
		From: []string{"replication"}, StdlibOnly: true, Allowed: []string{"storage"}},
	{Why: "forwarding is plain net/http",
		From: []string{"api/forward"}, StdlibOnly: true},
	{Why: "the web UI is embedded static files; the browser reaches vaultd only through the public HTTP API",
		From: []string{"ui"}, StdlibOnly: true},
	{Why: "no production package imports test harnesses",
		From: []string{"..."}, Except: []string{"tests/..."}, Forbidden: []string{"tests/...", "storage/storagetest"}},
}

// match reports whether import path p (full) matches pattern pat, which
// is relative to the module: "x" matches exactly x, "x/..." matches x and
// everything below it, "x/*" everything strictly below x, "..." every
// package of the module. A pattern whose first element holds a dot is a
// full import path outside the module (exact, or with "/..." a tree).
func match(pat, p string) bool {
	if first, _, _ := strings.Cut(pat, "/"); first != "..." && strings.Contains(first, ".") {
		// A full import path outside the module ("github.com/hashicorp/raft").
		base, tree := strings.CutSuffix(pat, "/...")
		return p == base || (tree && strings.HasPrefix(p, base+"/"))
	}
	rel, ok := strings.CutPrefix(p, module)
	if !ok || (rel != "" && rel[0] != '/') {
		return false
	}
	rel = strings.TrimPrefix(rel, "/")
	if pat == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pat, "/*"); ok {
		return strings.HasPrefix(rel, base+"/")
	}
	if base, ok := strings.CutSuffix(pat, "/..."); ok {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == pat
}

func matchAny(pats []string, p string) bool {
	return slices.ContainsFunc(pats, func(pat string) bool { return match(pat, p) })
}

// violations checks pkgs (production packages, with their transitive
// dependencies) against rules. std reports whether an import path is in
// the standard library.
func violations(pkgs []pkg, std map[string]bool, rules []rule) []string {
	var out []string
	for _, r := range rules {
		for _, p := range pkgs {
			if !matchAny(r.From, p.ImportPath) || matchAny(r.Except, p.ImportPath) {
				continue
			}
			for _, d := range p.Deps {
				bad := matchAny(r.Forbidden, d)
				if r.StdlibOnly && !std[d] && !matchAny(r.Allowed, d) {
					bad = true
				}
				if bad {
					out = append(out, fmt.Sprintf("%s imports %s: %s", p.ImportPath, d, r.Why))
				}
			}
		}
	}
	return out
}

// goList runs `go list -deps -json` over the module's production code
// (test files are not part of it: test-only imports are free).
func goList(t *testing.T) ([]pkg, map[string]bool) {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Deps,Module", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	std := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(outb))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		std[p.ImportPath] = p.Standard
		if p.Module != nil && p.Module.Path == module {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, std
}

// touchSources stats every Go file and directory of the module, so that
// go test's result cache (which tracks the files a test opens or stats,
// not those its `go list` child reads) is invalidated by any change.
func touchSources(t *testing.T) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			_, err := os.ReadDir(p)
			return err
		}
		if strings.HasSuffix(p, ".go") || d.Name() == "go.mod" {
			_, err := os.Stat(p)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking the module: %v", err)
	}
}

func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	touchSources(t)
	pkgs, std := goList(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages of %s", len(pkgs), module)
	}
	// Every rule must apply to at least one package, or it checks nothing
	// (a renamed package would silently escape its rule).
	for _, r := range rules {
		n := 0
		for _, p := range pkgs {
			if matchAny(r.From, p.ImportPath) && !matchAny(r.Except, p.ImportPath) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("rule %q matches no package: update it", r.Why)
		}
	}
	for _, v := range violations(pkgs, std, rules) {
		t.Error(v)
	}
}

// TestViolationsDetected proves the checker itself catches each kind of
// breach, so a green TestImportRules means something.
func TestViolationsDetected(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	std := map[string]bool{"fmt": true, "context": true}
	pkgs := []pkg{
		{ImportPath: m("core"), Deps: []string{"fmt", m("seal"), m("raftstore")}},
		{ImportPath: m("core/acl"), Deps: []string{"fmt", m("secrets"), m("secrets/kv")}},
		{ImportPath: m("tests/e2e"), Deps: []string{m("tests/linkproxy"), m("raftstore")}},
		{ImportPath: m("raftstore"), Deps: []string{m("seal"), m("storage")}},
		{ImportPath: m("secrets/kv"), Deps: []string{m("core"), m("secrets")}},
		{ImportPath: m("auth/userpass"), Deps: []string{m("seal")}},
		{ImportPath: m("api"), Deps: []string{m("core"), m("raftstore")}},
		{ImportPath: m("storage"), Deps: []string{"context", "github.com/x/y"}},
		{ImportPath: m("seal"), Deps: []string{m("storage"), m("seal/shamir"), m("secrets")}},
		{ImportPath: m("seal/shamir"), Deps: []string{"fmt", m("storage")}},
		{ImportPath: m("cmd/vaultd"), Deps: []string{m("raftstore"), m("core"), m("seal")}},
		{ImportPath: m("clusterport"), Deps: []string{m("tests/faultnet")}},
		{ImportPath: m("api"), Deps: []string{"github.com/hashicorp/raft"}},
	}
	got := violations(pkgs, std, rules)
	want := []string{
		m("core") + " imports " + m("raftstore"),
		m("core/acl") + " imports " + m("secrets/kv"),
		m("raftstore") + " imports " + m("seal"),
		m("secrets/kv") + " imports " + m("core"),
		m("auth/userpass") + " imports " + m("seal"),
		m("api") + " imports " + m("raftstore"),
		m("storage") + " imports github.com/x/y",
		m("seal") + " imports " + m("secrets"),
		m("seal/shamir") + " imports " + m("storage"),
		m("clusterport") + " imports " + m("tests/faultnet"),
		m("api") + " imports github.com/hashicorp/raft",
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w+":") }) {
			t.Errorf("missing violation %q in %q", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d violations, want %d: %q", len(got), len(want), got)
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pat, p string
		want   bool
	}{
		{"core", module + "/core", true},
		{"core", module + "/core/acl", false},
		{"core/...", module + "/core/acl", true},
		{"core/...", module + "/core", true},
		{"core/...", module + "/corex", false},
		{"...", module + "/x", true},
		{"secrets/*", module + "/secrets", false},
		{"secrets/*", module + "/secrets/kv", true},
		{"...", "github.com/vaultd/vaultdx/y", false},
		{"storage", "storage", false},
		{"github.com/hashicorp/raft", "github.com/hashicorp/raft", true},
		{"github.com/hashicorp/raft", "github.com/hashicorp/raft-boltdb/v2", false},
		{"github.com/hashicorp/raft/...", "github.com/hashicorp/raft/x", true},
	} {
		if got := match(c.pat, c.p); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.pat, c.p, got, c.want)
		}
	}
}
