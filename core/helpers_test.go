package core_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/cubbyhole"
	"github.com/vaultd/vaultd/secrets/enginetest"
	"github.com/vaultd/vaultd/secrets/kv"
	"github.com/vaultd/vaultd/storage/inmem"
)

// clock is an injectable, advanceable clock.
type clock = enginetest.Clock

// fakeAuth is a minimal auth method for core's login plumbing: login/<user>
// with password "pw-<user>" succeeds; "whoami" needs a token.
type fakeAuth struct {
	ttl, maxTTL time.Duration
}

func (fakeAuth) UnauthenticatedPaths() []string { return []string{"login/*"} }

func (f fakeAuth) HandleRequest(_ context.Context, req *secrets.Request) (*secrets.Response, error) {
	if user, ok := strings.CutPrefix(req.Path, "login/"); ok {
		if req.Operation != secrets.OpUpdate && req.Operation != secrets.OpCreate {
			return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
		}
		if pw, _ := req.Data["password"].(string); pw != "pw-"+user {
			return nil, secrets.Errorf(secrets.ErrInvalidRequest, "invalid username or password")
		}
		return &secrets.Response{Auth: &secrets.Auth{
			Policies: []string{"kv-read"}, Metadata: map[string]string{"username": user},
			DisplayName: user, TTL: f.ttl, MaxTTL: f.maxTTL, Renewable: true, Alias: user,
			TokenType: func() string { s, _ := req.Data["token_type"].(string); return s }(),
		}}, nil
	}
	if req.Path == "whoami" && req.Operation == secrets.OpRead {
		return &secrets.Response{Data: map[string]any{"accessor": req.TokenAccessor, "client_token": req.ClientToken}}, nil
	}
	return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
}

func testEngines() map[string]secrets.Factory {
	return map[string]secrets.Factory{
		"kv":        kv.Factory,
		"cubbyhole": cubbyhole.Factory,
		"userpass": func(context.Context, secrets.Config) (secrets.Backend, error) {
			return fakeAuth{ttl: 2 * time.Hour}, nil
		},
		"spy": func(context.Context, secrets.Config) (secrets.Backend, error) { // canonical_test.go
			s := &spyEngine{}
			lastSpy.Store(s)
			return s, nil
		},
		"rawfake": func(context.Context, secrets.Config) (secrets.Backend, error) {
			return rawFake{}, nil
		},
	}
}

// node is one in-process core over inmem storage, initialised, unsealed
// and active.
type node struct {
	t     testing.TB
	c     *core.Core
	phys  *inmem.Backend
	clock *clock
	root  string
	key   []byte
}

func newNode(t testing.TB) *node {
	t.Helper()
	return newNodeAt(t, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// newNodeAt is newNode with the node's clock starting at start.
func newNodeAt(t testing.TB, start time.Time) *node {
	t.Helper()
	return newNodeWith(t, start, testEngines())
}

// newNodeWith is newNodeAt with the given engines.
func newNodeWith(t testing.TB, start time.Time, engines map[string]secrets.Factory) *node {
	t.Helper()
	n := &node{t: t, phys: inmem.New(), clock: enginetest.NewClock(start)}
	c, err := core.New(core.Config{
		Storage: n.phys, Cluster: core.NewStandaloneCluster("n1"), Engines: engines,
		Now: n.clock.Now, Logger: slog.New(slog.DiscardHandler),
		DefaultLeaseTTL: 24 * time.Hour, MaxLeaseTTL: 48 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	n.c = c
	ctx := runCore(t, c)
	res, err := c.Init(ctx, core.InitRequest{SecretShares: 1, SecretThreshold: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.root = res.RootToken
	n.key = append([]byte(nil), res.Shares[0]...)
	n.unseal()
	return n
}

// runCore runs c until the test ends and returns the context it runs
// under (cancelled, and Run waited for, at cleanup).
func runCore(t testing.TB, c *core.Core) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = c.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ctx
}

func (n *node) unseal() {
	n.t.Helper()
	if _, err := n.c.Unseal(context.Background(), n.key); err != nil {
		n.t.Fatal(err)
	}
	waitFor(n.t, 10*time.Second, "node to become active", n.c.IsActive)
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// do runs one request through the pipeline.
func (n *node) do(token string, op secrets.Operation, path string, data map[string]any) (*core.Response, error) {
	return n.c.HandleRequest(context.Background(), &core.Request{
		ID: "req", Operation: op, Path: path, Data: data, ClientToken: token, RemoteAddr: "127.0.0.1",
	})
}

// must runs a request that must succeed.
func (n *node) must(token string, op secrets.Operation, path string, data map[string]any) *core.Response {
	n.t.Helper()
	resp, err := n.do(token, op, path, data)
	if err != nil {
		n.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// wantErr runs a request that must fail with kind.
func (n *node) wantErr(token string, op secrets.Operation, path string, data map[string]any, kind error) error {
	n.t.Helper()
	_, err := n.do(token, op, path, data)
	if !errors.Is(err, kind) {
		n.t.Fatalf("%s %s: err = %v, want %v", op, path, err, kind)
	}
	return err
}

// token creates a token with the given create parameters, as root.
func (n *node) token(data map[string]any) *core.ResponseAuth {
	n.t.Helper()
	return n.tokenAs(n.root, data)
}

func (n *node) tokenAs(parent string, data map[string]any) *core.ResponseAuth {
	n.t.Helper()
	resp := n.must(parent, secrets.OpUpdate, "auth/token/create", data)
	if resp.Auth == nil || resp.Auth.ClientToken == "" {
		n.t.Fatalf("token create returned no auth block: %+v", resp)
	}
	return resp.Auth
}

func (n *node) policy(name, rules string) {
	n.t.Helper()
	n.must(n.root, secrets.OpUpdate, "sys/policies/acl/"+name, map[string]any{"policy": rules})
}

// alive reports whether token still authenticates.
func (n *node) alive(token string) bool {
	_, err := n.do(token, secrets.OpRead, "auth/token/lookup-self", nil)
	return err == nil
}

var (
	errDenied  = secrets.ErrPermissionDenied
	errInvalid = secrets.ErrInvalidRequest
)
