package core_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

// rawFake is a secrets engine with unauthenticated paths that answers
// raw (non-JSON) bodies, as PKI does for its CA and CRL reads.
type rawFake struct{}

func (rawFake) UnauthenticatedPaths() []string { return []string{"ca", "cert/*", "issuer/+/pem"} }

func (rawFake) HandleRequest(_ context.Context, req *secrets.Request) (*secrets.Response, error) {
	if req.ClientToken != "" && req.Path != "private" {
		return nil, errors.New("an unauthenticated path saw a token")
	}
	return &secrets.Response{RawBody: []byte("raw:" + req.Path), ContentType: "application/pkix-cert"}, nil
}

func TestSecretEngineUnauthenticatedPaths(t *testing.T) {
	n := newNode(t)
	n.must(n.root, secrets.OpUpdate, "sys/mounts/pki", map[string]any{"type": "rawfake"})
	for _, p := range []string{"pki/ca", "pki/cert/01-02", "pki/cert/ca_chain", "pki/issuer/default/pem"} {
		resp, err := n.do("", secrets.OpRead, p, nil)
		if err != nil {
			t.Fatalf("%s without a token: %v", p, err)
		}
		b, _ := io.ReadAll(resp.RawBody)
		if string(b) != "raw:"+p[len("pki/"):] || resp.ContentType != "application/pkix-cert" {
			t.Fatalf("%s: body %q type %q", p, b, resp.ContentType)
		}
	}
	// Everything else still needs a token, including near misses.
	for _, p := range []string{"pki/private", "pki/cax", "pki/issuer/default/der", "pki/issuer/a/b/pem"} {
		n.wantErr("", secrets.OpRead, p, nil, secrets.ErrPermissionDenied)
		n.wantErr("bogus-token", secrets.OpRead, p, nil, secrets.ErrPermissionDenied)
	}
	n.wantErr("", secrets.OpRead, "sys/mounts", nil, secrets.ErrPermissionDenied)
}
