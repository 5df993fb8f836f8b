package server

import "testing"

func TestSourceIP(t *testing.T) {
	for bind, want := range map[string]string{
		"127.0.77.11:8201": "127.0.77.11",
		"10.1.2.3:8201":    "10.1.2.3",
		"[::1]:8201":       "::1",
		"0.0.0.0:8201":     "",
		"[::]:8201":        "",
		":8201":            "",
		"vault-0:8201":     "", // a name: let the kernel pick
		"garbage":          "",
	} {
		got := ""
		if ip := sourceIP(bind); ip != nil {
			got = ip.String()
		}
		if got != want {
			t.Errorf("sourceIP(%q) = %q, want %q", bind, got, want)
		}
	}
}
