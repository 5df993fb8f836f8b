package clustertls_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vaultd/vaultd/clusterport/clustertls"
)

func TestIssueEncodeDecode(t *testing.T) {
	ca, err := clustertls.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := ca.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ca2, err := clustertls.DecodeCA(enc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ca2.Issue("node1")
	if err != nil {
		t.Fatal(err)
	}
	menc, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := clustertls.DecodeMaterial(menc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m2.Compile()
	if err != nil || c.Pool == nil || c.Cert.Leaf == nil {
		t.Fatalf("Compile: %+v, %v", c, err)
	}
	// The key never prints.
	if s := fmt.Sprintf("%v %+v %s", ca.KeyPEM, m, m.NodeKeyPEM); s == "" || containsPEM(s) {
		t.Fatalf("key material printed: %q", s)
	}
	// A node certificate from another CA does not verify against this one.
	other, err := clustertls.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	om, err := other.Issue("intruder")
	if err != nil {
		t.Fatal(err)
	}
	mixed := &clustertls.Material{CACertPEM: m.CACertPEM, NodeCertPEM: om.NodeCertPEM, NodeKeyPEM: om.NodeKeyPEM}
	if _, err := mixed.Compile(); !errors.Is(err, clustertls.ErrBadMaterial) {
		t.Fatalf("mixed material: %v, want ErrBadMaterial", err)
	}
	if _, err := clustertls.DecodeCA([]byte("{}")); !errors.Is(err, clustertls.ErrBadMaterial) {
		t.Fatalf("an empty CA: %v", err)
	}
}

func containsPEM(s string) bool {
	for i := 0; i+10 <= len(s); i++ {
		if s[i:i+10] == "-----BEGIN" {
			return true
		}
	}
	return false
}
