package config_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

func TestMerge(t *testing.T) {
	first := mustParse(t, `
storage "raft" {
  path = "/a"
  retry_join { leader_api_addr = "https://a:8200" }
}
listener "tcp" { address = "127.0.0.1:8200" }
api_addr          = "https://a:8200"
cluster_name      = "one"
ui                = true
disable_mlock     = true
default_lease_ttl = "1h"
telemetry { disable_hostname = true }
bogus = 1
`, "1.hcl")
	second := mustParse(t, `
listener "tcp" { address = "127.0.0.1:8300" }
api_addr = "https://b:8200"
ui       = false
log_level = "error"
telemetry { statsite_address = "x:1" }
service_registration "kubernetes" { pod_name = "p" }
other = 2
`, "2.hcl")
	firstBefore := cloneForCompare(t, first)
	secondBefore := cloneForCompare(t, second)

	got := first.Merge(second)

	want := &config.Config{
		Storage: raft("/a", "", func(s *config.Storage) {
			s.RetryJoin = []config.RetryJoin{{LeaderAPIAddr: "https://a:8200"}}
		}),
		Listeners:           []config.Listener{tcp("127.0.0.1:8200", nil), tcp("127.0.0.1:8300", nil)},
		APIAddr:             "https://b:8200", // set in both: the later wins
		ClusterName:         "one",            // set only in the first
		UI:                  false,            // explicit false wins
		DisableMlock:        true,             // absent from the second: kept
		DefaultLeaseTTL:     time.Hour,
		LogLevel:            "error",
		Telemetry:           map[string]any{"statsite_address": "x:1"}, // replaced, not merged
		ServiceRegistration: &config.ServiceRegistration{Type: "kubernetes", PodName: "p"},
		Warnings: []string{`1.hcl:13: unknown key "bogus"`,
			`2.hcl:6: unsupported key "statsite_address" in telemetry ignored: vaultd serves metrics only at /v1/sys/metrics (Prometheus pull)`,
			`2.hcl:8: unknown key "other"`},
	}
	if diff := cmp.Diff(want, got, ignoreInternal); diff != "" {
		t.Errorf("Merge mismatch (-want +got):\n%s", diff)
	}

	// The result shares no memory with its inputs.
	got.Storage.RetryJoin[0].LeaderAPIAddr = "changed"
	got.Listeners[0].Address = "changed"
	got.Telemetry["statsite_address"] = "changed"
	got.ServiceRegistration.PodName = "changed"
	got.Warnings[0] = "changed"
	if diff := cmp.Diff(firstBefore, first, ignoreInternal); diff != "" {
		t.Errorf("Merge changed its receiver (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(secondBefore, second, ignoreInternal); diff != "" {
		t.Errorf("Merge changed its argument (-before +after):\n%s", diff)
	}
}

func TestMerge_Nil(t *testing.T) {
	c := mustParse(t, "ui = true\nlistener \"tcp\" {}\n", "c.hcl")
	var nilCfg *config.Config
	for name, got := range map[string]*config.Config{
		"nil receiver": nilCfg.Merge(c),
		"nil argument": c.Merge(nil),
	} {
		if diff := cmp.Diff(c, got, ignoreInternal); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if got := nilCfg.Merge(nil); got == nil || got.Storage != nil || len(got.Listeners) != 0 {
		t.Errorf("nil.Merge(nil) = %+v, want an empty config", got)
	}
}

func TestMerge_ProgrammaticBooleans(t *testing.T) {
	// Without parse origins, Merge can only tell true from unset.
	a := &config.Config{UI: true, LogLevel: "debug"}
	b := &config.Config{DisableMlock: true}
	got := a.Merge(b)
	if !got.UI || !got.DisableMlock || got.LogLevel != "debug" {
		t.Errorf("got %+v", got)
	}
}

// cloneForCompare deep-copies c by hand, independently of the Merge code
// under test, so that changes to c can be detected.
func cloneForCompare(t *testing.T, c *config.Config) *config.Config {
	t.Helper()
	cp := *c
	if c.Storage != nil {
		s := *c.Storage
		s.RetryJoin = append([]config.RetryJoin(nil), c.Storage.RetryJoin...)
		cp.Storage = &s
	}
	cp.Listeners = append([]config.Listener(nil), c.Listeners...)
	cp.Warnings = append([]string(nil), c.Warnings...)
	if c.ServiceRegistration != nil {
		sr := *c.ServiceRegistration
		cp.ServiceRegistration = &sr
	}
	if c.Telemetry != nil {
		cp.Telemetry = map[string]any{}
		for k, v := range c.Telemetry {
			cp.Telemetry[k] = v
		}
	}
	if !cmp.Equal(c, &cp, ignoreInternal, cmpopts.EquateEmpty()) {
		t.Fatal("cloneForCompare is not a copy")
	}
	return &cp
}
