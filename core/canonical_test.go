package core_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vaultd/vaultd/core/acl"
	"github.com/vaultd/vaultd/secrets"
)

// spyEngine names things case-insensitively ("users/<name>..."), like
// userpass, and records the path of every request it is given.
type spyEngine struct {
	mu      sync.Mutex
	touched []string
}

func (s *spyEngine) CanonicalPath(p string) string {
	rest, ok := strings.CutPrefix(p, "users/")
	if !ok {
		return p
	}
	name, tail, found := strings.Cut(rest, "/")
	if found {
		return "users/" + strings.ToLower(name) + "/" + tail
	}
	return "users/" + strings.ToLower(name)
}

func (s *spyEngine) HandleRequest(_ context.Context, req *secrets.Request) (*secrets.Response, error) {
	s.mu.Lock()
	s.touched = append(s.touched, req.Path)
	s.mu.Unlock()
	return &secrets.Response{Data: map[string]any{"ok": true}}, nil
}

func (s *spyEngine) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.touched
	s.touched = nil
	return t
}

// TestCanonical_DecisionOnRequestEqualsDecisionOnTouchedPath is issue 10's
// property: for random policies and request paths (random case, bare
// mount, trailing slash), the decision core makes on the request equals
// the ACL decision on the path the engine actually touches.
func TestCanonical_DecisionOnRequestEqualsDecisionOnTouchedPath(t *testing.T) {
	n := newNode(t)
	n.must(n.root, secrets.OpUpdate, "sys/mounts/spy", map[string]any{"type": "spy"})
	spy := spyOf(t, n)
	rng := rand.New(rand.NewPCG(10, 1))
	names := []string{"admin", "Admin", "ADMIN", "bob", "adm", "administrator"}
	pats := []string{"spy/users/admin", "spy/users/admin*", "spy/users/adm*", "spy/users/+", "spy/users/+/password",
		"spy/users/*", "spy/*", "spy/users/bob", "spy/users/admin/password", "spy/", "spy"}
	caps := []string{`["read", "update"]`, `["deny"]`, `["read"]`, `["update"]`}
	randCase := func(s string) string {
		b := []byte(s)
		for i := range b {
			if rng.IntN(2) == 0 && b[i] >= 'a' && b[i] <= 'z' {
				b[i] -= 'a' - 'A'
			}
		}
		return string(b)
	}
	for iter := 0; iter < 60; iter++ {
		var rules strings.Builder
		for k := 1 + rng.IntN(4); k > 0; k-- {
			fmt.Fprintf(&rules, "path %q { capabilities = %s }\n", pats[rng.IntN(len(pats))], caps[rng.IntN(len(caps))])
		}
		pol := fmt.Sprintf("p%d", iter)
		n.policy(pol, rules.String())
		parsed, err := acl.Parse(pol, rules.String())
		if err != nil {
			t.Fatal(err)
		}
		ref, err := acl.New(parsed)
		if err != nil {
			t.Fatal(err)
		}
		tok := n.token(map[string]any{"policies": pol, "no_default_policy": true}).ClientToken
		for j := 0; j < 25; j++ {
			var p string
			switch rng.IntN(5) {
			case 0:
				p = "spy"
			case 1:
				p = "spy/users/" + randCase(names[rng.IntN(len(names))]) + "/password"
			default:
				p = "spy/users/" + randCase(names[rng.IntN(len(names))])
			}
			op := []secrets.Operation{secrets.OpRead, secrets.OpUpdate}[rng.IntN(2)]
			_, err := n.do(tok, op, p, map[string]any{})
			touched := spy.take()
			denied := errors.Is(err, secrets.ErrPermissionDenied)
			if err != nil && !denied {
				t.Fatalf("%s %s: %v", op, p, err)
			}
			if denied != (len(touched) == 0) {
				t.Fatalf("%s %s: denied=%v but the engine was given %q", op, p, denied, touched)
			}
			// The path the engine would touch (when refused: what it would
			// have been given).
			want := "spy/" + spyCanonical(p)
			if len(touched) == 1 {
				if got := "spy/" + touched[0]; got != want {
					t.Fatalf("%s %s: engine touched %q, want %q", op, p, got, want)
				}
			}
			if allowed := ref.Check(acl.Request{Operation: string(op), Path: want}).Allowed; allowed == denied {
				t.Fatalf("%s %s with policy\n%s: decision on the request (denied=%v) differs from the ACL on the touched path %q (allowed=%v)",
					op, p, rules.String(), denied, want, allowed)
			}
		}
	}
}

func spyCanonical(p string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(p, "spy"), "/")
	return (&spyEngine{}).CanonicalPath(rel)
}

// lastSpy is the spy engine the factory made last.
var lastSpy atomic.Pointer[spyEngine]

func spyOf(t *testing.T, _ *node) *spyEngine {
	t.Helper()
	s := lastSpy.Load()
	if s == nil {
		t.Fatal("no spy engine was created")
	}
	return s
}
