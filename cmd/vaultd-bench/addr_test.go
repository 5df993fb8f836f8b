package main

import (
	"errors"
	"net/url"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"127.0.0.1:8200", "http://127.0.0.1:8200", nil},
		{"http://127.0.0.1:8200/", "http://127.0.0.1:8200", nil},
		{"https://127.9.8.7:8200", "https://127.9.8.7:8200", nil},
		{"http://localhost:8200", "http://localhost:8200", nil},
		{"LOCALHOST:1", "http://LOCALHOST:1", nil},
		{"http://[::1]:8200", "http://[::1]:8200", nil},
		{"http://10.0.0.1:8200", "", ErrNotLoopback},
		{"http://0.0.0.0:8200", "", ErrNotLoopback},
		{"http://vault.example.com:8200", "", ErrNotLoopback},
		{"http://localhost.example.com:8200", "", ErrNotLoopback},
		{"http://127.0.0.1.nip.io:8200", "", ErrNotLoopback},
		{"http://[::2]:8200", "", ErrNotLoopback},
		{"", "", ErrBadAddr},
		{"ftp://127.0.0.1:21", "", ErrBadAddr},
		{"http://127.0.0.1:8200/v1/sys", "", ErrBadAddr},
		{"http://user:pw@127.0.0.1:8200", "", ErrBadAddr},
		{"http://127.0.0.1:", "", ErrBadAddr},
		{"http://:8200", "", ErrBadAddr},
		{"http://%zz", "", ErrBadAddr},
	} {
		got, err := parseTarget(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("parseTarget(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// FuzzParseTarget pins the safety property: whatever is accepted points at
// a loopback host and round-trips through parseTarget unchanged.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8200", "http://[::1]:1", "localhost", "http://10.1.1.1", "https://x@127.0.0.1", "http://[::ffff:127.0.0.1]:9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTarget(s)
		if err != nil {
			return
		}
		u, perr := url.Parse(got)
		if perr != nil || !isLoopbackHost(u.Hostname()) {
			t.Fatalf("parseTarget(%q) accepted %q", s, got)
		}
		again, err := parseTarget(got)
		if err != nil || again != got {
			t.Fatalf("parseTarget(%q) = %q, %v; not idempotent", got, again, err)
		}
	})
}
