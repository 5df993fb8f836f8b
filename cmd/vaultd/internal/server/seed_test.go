package server

import (
	"os"
	"testing"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

func TestIsSeed(t *testing.T) {
	hn, _ := os.Hostname()
	rj := func(addrs ...string) *config.Config {
		c := &config.Config{Storage: &config.Storage{Type: "raft", NodeID: "vaultd-1"}}
		for _, a := range addrs {
			c.Storage.RetryJoin = append(c.Storage.RetryJoin, config.RetryJoin{LeaderAPIAddr: a})
		}
		return c
	}
	cases := []struct {
		name string
		cfg  *config.Config
		api  string
		want bool
	}{
		{"no retry_join", &config.Config{Storage: &config.Storage{Type: "raft"}}, "http://127.0.0.1:8200", true},
		{"first is me by address", rj("http://127.0.0.1:8200", "http://127.0.0.1:8210"), "http://127.0.0.1:8200", true},
		{"first is another address", rj("http://127.0.0.1:8210", "http://127.0.0.1:8200"), "http://127.0.0.1:8200", false},
		{"first is me by node_id", rj("https://vaultd-1.vaultd-internal:8200"), "https://10.0.0.7:8200", true},
		{"first is a peer by name", rj("https://vaultd-0.vaultd-internal:8200", "https://vaultd-1.vaultd-internal:8200"), "https://10.0.0.7:8200", false},
		{"first is me by hostname", rj("https://" + hn + ".svc:8200"), "https://10.0.0.7:8200", true},
		{"garbage address", rj("::not a url"), "http://127.0.0.1:8200", false},
	}
	for _, tc := range cases {
		if got := isSeed(tc.cfg, tc.api); got != tc.want {
			t.Errorf("%s: isSeed = %v, want %v", tc.name, got, tc.want)
		}
	}
}
