package config

import (
	"errors"
	"strings"
	"testing"
)

func TestSeal_Transit(t *testing.T) {
	src := `
storage "raft" { path = "/d" }
listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
}
cluster_addr = "https://127.0.0.1:8201"
seal "transit" {
  address = "https://vault-a:8200"
  token = "s.file"
  mount_path = "transit/"
  key_name = "autounseal"
  key_id_prefix = "dc1-"
  tls_ca_cert = "/ca.pem"
  tls_server_name = "vault-a"
  tls_skip_verify = "false"
  disable_renewal = "true"
}
`
	c, err := Parse([]byte(src), "s.hcl")
	if err != nil {
		t.Fatal(err)
	}
	sl := c.EnabledSeal()
	if sl == nil || sl.Type != "transit" || c.DisabledSeal() != nil {
		t.Fatalf("seals = %+v", c.Seals)
	}
	tr := sl.Transit
	if tr.Address != "https://vault-a:8200" || string(tr.Token) != "s.file" || tr.MountPath != "transit/" || tr.KeyName != "autounseal" ||
		tr.KeyIDPrefix != "dc1-" || tr.TLSCACert != "/ca.pem" || tr.TLSServerName != "vault-a" || tr.TLSSkipVerify || !tr.DisableRenewal {
		t.Fatalf("transit = %+v", tr)
	}
	if len(c.Warnings) != 0 {
		t.Fatalf("warnings: %v", c.Warnings)
	}
	env := map[string]string{
		EnvTransitSealToken: "s.env", EnvTransitSealKeyName: "k2", EnvTransitSealMountPath: "t2", EnvTransitSealDisableRenewal: "false",
	}
	c.ApplyEnv(func(k string) string { return env[k] })
	tr = c.EnabledSeal().Transit
	if string(tr.Token) != "s.env" || tr.KeyName != "k2" || tr.MountPath != "t2" || tr.DisableRenewal {
		t.Fatalf("after env: %+v", tr)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// The token never prints.
	if s := strings.Join([]string{c.EnabledSeal().Transit.Token.String()}, ""); strings.Contains(s, "s.env") {
		t.Fatal("token printed")
	}
	env[EnvTransitSealDisableRenewal] = "maybe"
	c.ApplyEnv(func(k string) string { return env[k] })
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), EnvTransitSealDisableRenewal) {
		t.Fatalf("bad env boolean: %v", err)
	}
}

func TestSeal_Refused(t *testing.T) {
	for name, src := range map[string]string{
		"awskms":          `seal "awskms" { kms_key_id = "x" }`,
		"pkcs11":          `seal "pkcs11" { lib = "/x.so" }`,
		"namespace":       `seal "transit" { address = "http://a:1" token = "t" mount_path = "m" key_name = "k" namespace = "ns1/" }`,
		"two enabled":     "seal \"transit\" {\n address = \"http://a:1\"\n}\nseal \"transit\" {\n address = \"http://b:1\"\n}",
		"transit2transit": "seal \"transit\" {\n address = \"http://a:1\"\n}\nseal \"transit\" {\n disabled = true\n}",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(src), "r.hcl")
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse = %v, want ErrInvalid", err)
			}
		})
	}
	c, err := Parse([]byte(`storage "raft" { path = "/d" }
listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
}
cluster_addr = "https://127.0.0.1:8201"
seal "transit" { address = "http://a:1" }`), "m.hcl")
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "token") || !strings.Contains(err.Error(), "key_name") {
		t.Fatalf("Validate with missing fields: %v", err)
	}
	// The migration back to shamir: a disabled transit stanza.
	c, err = Parse([]byte(`seal "transit" {
  address = "http://a:1"
  token = "t"
  mount_path = "m"
  key_name = "k"
  disabled = "true"
}
seal "shamir" {}`), "d.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if c.EnabledSeal() != nil || c.DisabledSeal() == nil {
		t.Fatalf("seals = %+v", c.Seals)
	}
}
