package cidr_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/auth/internal/cidr"
	"github.com/vaultd/vaultd/secrets"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when it does not parse
	}{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3", "10.1.2.3/32"},
		{"::1", "::1/128"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"::ffff:1.2.3.4", "1.2.3.4/32"},
		{"::ffff:0:0/95", "::ffff:0.0.0.0/95"},
		{"fe80::1%eth0", ""},
		{"10.0.0.0/33", ""},
		{"garbage", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, ok := cidr.Parse(tt.in)
			if tt.want == "" {
				if ok {
					t.Fatalf("Parse(%q) = %v, want no parse", tt.in, p)
				}
				return
			}
			if !ok || p.String() != tt.want {
				t.Fatalf("Parse(%q) = %v, %v; want %s", tt.in, p, ok, tt.want)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	got, err := cidr.Canonical("token_bound_cidrs", []string{"10.0.0.0/8", "127.0.0.1/32", "::1", "10.0.0.0/8", "::ffff:192.168.0.0/112"})
	want := []string{"10.0.0.0/8", "127.0.0.1", "192.168.0.0/16", "::1"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Canonical = %q, %v; want %q", got, err, want)
	}
	got, err = cidr.Canonical("f", nil)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Canonical(nil) = %#v, %v; want an empty list", got, err)
	}
	_, err = cidr.Canonical("cidr_list", []string{"10.0.0.0/8", "nope"})
	if !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("Canonical(bad) err = %v, want kind ErrInvalidRequest", err)
	}
	if msg := err.Error(); msg != `invalid CIDR block "nope" in "cidr_list"` {
		t.Fatalf("Canonical(bad) err = %q", msg)
	}
}

func TestValidate(t *testing.T) {
	got, err := cidr.Validate("f", []string{"127.0.0.1/32", "10.0.0.0/8", "::1", "127.0.0.1/32"})
	if want := []string{"127.0.0.1/32", "10.0.0.0/8", "::1"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Validate = %q, %v; want %q as submitted", got, err, want)
	}
	_, err = cidr.Validate("f", []string{"10.0.0.0/8", "nope"})
	if !errors.Is(err, secrets.ErrInvalidRequest) || err.Error() != `invalid CIDR block "nope" in "f"` {
		t.Fatalf("Validate(nope) err = %v", err)
	}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		remote string
		cidrs  []string
		want   bool
	}{
		{"anything", nil, true},
		{"", []string{}, true},
		{"10.1.2.3", []string{"10.0.0.0/8"}, true},
		{"10.1.2.3:8200", []string{"10.0.0.0/8"}, true},
		{"11.0.0.1", []string{"10.0.0.0/8"}, false},
		{"[::1]:1", []string{"127.0.0.1", "::1"}, true},
		{"::ffff:10.0.0.1", []string{"10.0.0.0/8"}, true},
		{"10.0.0.1", []string{"::ffff:10.0.0.0/104"}, true},
		{"fe80::1%eth0", []string{"fe80::/10"}, true},
		{"garbage", []string{"0.0.0.0/0"}, false},
		{"", []string{"0.0.0.0/0"}, false},
		{"10.0.0.1", []string{"bad", "10.0.0.1"}, true},
		{"10.0.0.1", []string{"bad"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.remote+"_in_"+strings.Join(tt.cidrs, ","), func(t *testing.T) {
			if got := cidr.Allowed(tt.remote, tt.cidrs); got != tt.want {
				t.Fatalf("Allowed(%q, %q) = %v, want %v", tt.remote, tt.cidrs, got, tt.want)
			}
		})
	}
}

// FuzzCanonical: a canonical list is sorted, free of duplicates, made of
// blocks that parse, and canonical again; every address is allowed by the
// single-address bound it canonicalizes to.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8,::1", "::ffff:10.0.0.0/104", "1.2.3.4", "fe80::1%eth0", "10.1.2.3/8", "x"} {
		f.Add(s, "10.1.2.3:80")
	}
	f.Fuzz(func(t *testing.T, list, remote string) {
		in := strings.Split(list, ",")
		got, err := cidr.Canonical("f", in)
		if err != nil {
			if !errors.Is(err, secrets.ErrInvalidRequest) {
				t.Fatalf("Canonical(%q) err = %v, want kind ErrInvalidRequest", in, err)
			}
			return
		}
		again, err := cidr.Canonical("f", got)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("Canonical(%q) = %q, not canonical: %q, %v", in, got, again, err)
		}
		for i, s := range got {
			if _, ok := cidr.Parse(s); !ok {
				t.Fatalf("Canonical(%q) has %q, which does not parse", in, s)
			}
			if i > 0 && got[i-1] >= s {
				t.Fatalf("Canonical(%q) = %q, not sorted and unique", in, got)
			}
		}
		_ = cidr.Allowed(remote, got)
		if p, ok := cidr.Parse(remote); ok && p.IsSingleIP() && !cidr.Allowed(p.Addr().String(), []string{p.String()}) {
			t.Fatalf("%s is not allowed by its own block", remote)
		}
	})
}
