package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

// ignoreInternal drops the unexported source locations from comparisons.
var ignoreInternal = cmpopts.IgnoreUnexported(config.Config{}, config.Storage{}, config.RetryJoin{}, config.Listener{})

func mustParse(t *testing.T, src, name string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(src), name)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return c
}

// tcp is a parsed listener with every default filled in.
func tcp(addr string, mod func(*config.Listener)) config.Listener {
	l := config.Listener{
		Type:               config.ListenerTCP,
		Address:            addr,
		TLSMinVersion:      "tls12",
		TLSMaxVersion:      "tls13",
		MaxRequestSize:     32 << 20,
		MaxRequestDuration: 90 * time.Second,
	}
	if mod != nil {
		mod(&l)
	}
	return l
}

// raft is a parsed raft stanza with every default filled in.
func raft(path, nodeID string, mod func(*config.Storage)) *config.Storage {
	s := &config.Storage{
		Type:                  config.StorageRaft,
		Path:                  path,
		NodeID:                nodeID,
		PerformanceMultiplier: config.DefaultPerformanceMultiplier,
		TrailingLogs:          10000,
		SnapshotThreshold:     8192,
		SnapshotInterval:      5 * time.Second,
		MaxEntrySize:          1 << 20,
	}
	if mod != nil {
		mod(s)
	}
	return s
}

func tlsFiles(rj config.RetryJoin) config.RetryJoin {
	rj.LeaderCACertFile = "/vault/tls/ca.pem"
	rj.LeaderClientCertFile = "/vault/tls/tls.crt"
	rj.LeaderClientKeyFile = "/vault/tls/tls.key"
	return rj
}

func TestParse_VaultSamples(t *testing.T) {
	tests := []struct {
		file     string
		want     *config.Config
		warnings []string // substrings, in order
		valid    bool     // Validate() == nil as loaded, before env overrides
	}{
		{
			file: "testdata/single-node.hcl",
			want: &config.Config{
				Storage:      raft("/opt/vault/data", "node1", nil),
				Listeners:    []config.Listener{tcp("127.0.0.1:8200", func(l *config.Listener) { l.TLSDisable = true })},
				APIAddr:      "http://127.0.0.1:8200",
				ClusterAddr:  "https://127.0.0.1:8201",
				UI:           true,
				DisableMlock: true,
			},
			valid: true,
		},
		{
			file: "testdata/cluster-node1.hcl",
			want: &config.Config{
				Storage: raft("/vault/data", "vault-0", func(s *config.Storage) {
					s.PerformanceMultiplier = 1
					s.RetryJoin = []config.RetryJoin{
						tlsFiles(config.RetryJoin{LeaderAPIAddr: "https://vault-0.vault-internal:8200"}),
						tlsFiles(config.RetryJoin{LeaderAPIAddr: "https://vault-1.vault-internal:8200"}),
						tlsFiles(config.RetryJoin{LeaderAPIAddr: "https://vault-2.vault-internal:8200", LeaderTLSServerName: "vault.internal"}),
					}
				}),
				Listeners: []config.Listener{tcp("0.0.0.0:8200", func(l *config.Listener) {
					l.ClusterAddress = "0.0.0.0:8201"
					l.TLSCertFile = "/vault/tls/tls.crt"
					l.TLSKeyFile = "/vault/tls/tls.key"
					l.TLSClientCAFile = "/vault/tls/ca.pem"
					l.TLSMinVersion = "tls13"
				})},
				APIAddr:         "https://vault-0.vault-internal:8200",
				ClusterAddr:     "https://vault-0.vault-internal:8201",
				LogLevel:        "debug",
				LogFormat:       "json",
				DefaultLeaseTTL: 168 * time.Hour,
				MaxLeaseTTL:     32 * 24 * time.Hour,
				ClusterName:     "vaultd-prod",
			},
			valid: true,
		},
		{
			// hashicorp/vault-helm's HA raft config: cluster_addr comes from
			// VAULT_CLUSTER_ADDR, so it does not validate on its own.
			file: "testdata/helm-ha.hcl",
			want: &config.Config{
				Storage: raft("/vault/data", "", nil),
				Listeners: []config.Listener{tcp("[::]:8200", func(l *config.Listener) {
					l.ClusterAddress = "[::]:8201"
					l.TLSDisable = true
					l.UnauthenticatedMetricsAccess = true
				})},
				UI:                  true,
				ServiceRegistration: &config.ServiceRegistration{Type: "kubernetes"},
			},
			valid: false,
		},
		{
			file: "testdata/docker.json",
			want: &config.Config{
				Storage: raft("/vault/file", "docker-1", func(s *config.Storage) {
					s.SnapshotInterval = time.Minute
					s.TrailingLogs = 5000
					s.RetryJoin = []config.RetryJoin{
						{LeaderAPIAddr: "http://vault-a:8200"},
						{LeaderAPIAddr: "http://vault-b:8200"},
					}
				}),
				Listeners: []config.Listener{
					tcp("0.0.0.0:8200", func(l *config.Listener) { l.TLSDisable = true; l.MaxRequestSize = 1 << 20 }),
					tcp("0.0.0.0:8300", func(l *config.Listener) { l.TLSDisable = true; l.MaxRequestSize = -1 }),
				},
				APIAddr:         "http://vault-a:8200",
				ClusterAddr:     "http://vault-a:8201",
				DefaultLeaseTTL: 168 * time.Hour,
				MaxLeaseTTL:     720 * time.Hour,
				UI:              true,
				Telemetry:       map[string]any{"prometheus_retention_time": "24h", "disable_hostname": true},
			},
			warnings: []string{`testdata/docker.json:16: max_request_size < 0 in listener "tcp" disables the request size limit`},
			valid:    true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := config.LoadFile(tt.file)
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreInternal, cmpopts.IgnoreFields(config.Config{}, "Warnings"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
			checkWarnings(t, got.Warnings, tt.warnings)
			if err := got.Validate(); (err == nil) != tt.valid {
				t.Errorf("Validate() = %v, want valid=%v", err, tt.valid)
			}
		})
	}
}

// checkWarnings requires exactly len(want) warnings, each containing its substring.
func checkWarnings(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("warnings = %q, want %d matching %q", got, len(want), want)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("warning[%d] = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func TestParse_HCLAndJSONAgree(t *testing.T) {
	hcl := `
storage "raft" {
  path = "/data"
  node_id = "n1"
  snapshot_threshold = 100
  retry_join { leader_api_addr = "https://a:8200" }
  retry_join { leader_api_addr = "https://b:8200" }
}
listener "tcp" {
  address = "0.0.0.0:8200"
  tls_cert_file = "/c.pem"
  tls_key_file = "/k.pem"
}
listener "tcp" {
  address = "127.0.0.1:8300"
  tls_disable = true
}
api_addr = "https://a:8200"
cluster_addr = "https://a:8201"
service_registration "kubernetes" { namespace = "vault" }
`
	jsonDocs := map[string]string{
		"listener array": `{
  "storage": {"raft": {"path": "/data", "node_id": "n1", "snapshot_threshold": 100,
    "retry_join": [{"leader_api_addr": "https://a:8200"}, {"leader_api_addr": "https://b:8200"}]}},
  "listener": [
    {"tcp": {"address": "0.0.0.0:8200", "tls_cert_file": "/c.pem", "tls_key_file": "/k.pem"}},
    {"tcp": {"address": "127.0.0.1:8300", "tls_disable": true}}
  ],
  "api_addr": "https://a:8200",
  "cluster_addr": "https://a:8201",
  "service_registration": {"kubernetes": {"namespace": "vault"}}
}`,
		"repeated keys and label lists": `{
  "storage": [{"raft": {"path": "/data", "node_id": "n1", "snapshot_threshold": "100",
    "retry_join": {"leader_api_addr": "https://a:8200"}, "retry_join": {"leader_api_addr": "https://b:8200"}}}],
  "listener": {"tcp": [
    {"address": "0.0.0.0:8200", "tls_cert_file": "/c.pem", "tls_key_file": "/k.pem"},
    {"address": "127.0.0.1:8300", "tls_disable": "true"}
  ]},
  "api_addr": "https://a:8200",
  "cluster_addr": "https://a:8201",
  "service_registration": {"kubernetes": {"namespace": "vault"}}
}`,
	}
	want := mustParse(t, hcl, "a.hcl")
	if err := want.Validate(); err != nil {
		t.Fatalf("HCL config does not validate: %v", err)
	}
	for name, doc := range jsonDocs {
		t.Run(name, func(t *testing.T) {
			got := mustParse(t, doc, "a.json")
			if diff := cmp.Diff(want, got, ignoreInternal); diff != "" {
				t.Errorf("JSON and HCL differ (-hcl +json):\n%s", diff)
			}
		})
	}
}

func TestParse_Durations(t *testing.T) {
	tests := []struct {
		val  string
		want time.Duration
		bad  bool
	}{
		{val: `"768h"`, want: 768 * time.Hour},
		{val: `"32d"`, want: 32 * 24 * time.Hour},
		{val: `"1h30m"`, want: 90 * time.Minute},
		{val: `3600`, want: time.Hour},
		{val: `"3600"`, want: time.Hour},
		{val: `"0"`, want: 0},
		{val: `86400.0`, want: 24 * time.Hour},
		{val: `""`, want: 0},
		{val: `"1x"`, bad: true},
		{val: `"d"`, bad: true},
		{val: `"1.5d"`, bad: true},
		{val: `1.5`, bad: true},
		{val: `true`, bad: true},
		{val: `["1h"]`, bad: true},
		{val: `"-1h"`, bad: true},
		{val: `-5`, bad: true},
		{val: `99999999999999`, bad: true},       // seconds overflow a Duration
		{val: `"999999999999d"`, bad: true},      // days overflow a Duration
		{val: `99999999999999999999`, bad: true}, // not even an int64
	}
	for _, tt := range tests {
		for _, syntax := range []string{"hcl", "json"} {
			t.Run(syntax+" "+tt.val, func(t *testing.T) {
				src := "max_lease_ttl = " + tt.val + "\n"
				if syntax == "json" {
					src = `{"max_lease_ttl": ` + tt.val + `}`
				}
				c, err := config.Parse([]byte(src), "d."+syntax)
				if tt.bad {
					if err == nil {
						t.Fatalf("Parse(%s) = %v, want an error", src, c.MaxLeaseTTL)
					}
					if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "d."+syntax+":1:") {
						t.Errorf("error %q: want ErrInvalid naming d.%s:1", err, syntax)
					}
					return
				}
				if err != nil {
					t.Fatalf("Parse(%s): %v", src, err)
				}
				if c.MaxLeaseTTL != tt.want {
					t.Errorf("max_lease_ttl = %s, want %s", c.MaxLeaseTTL, tt.want)
				}
			})
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "10": 10 * time.Second, " 2d ": 48 * time.Hour, "90s": 90 * time.Second} {
		if got, err := config.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "1e3", "9223372036855d"} {
		if got, err := config.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %s, want an error", in, got)
		}
	}
}

func TestParse_TLSDisable(t *testing.T) {
	tests := []struct {
		val  string
		want bool
		bad  bool
	}{
		{val: `true`, want: true},
		{val: `false`, want: false},
		{val: `"true"`, want: true},
		{val: `"TRUE"`, want: true},
		{val: `"1"`, want: true},
		{val: `1`, want: true},
		{val: `0`, want: false},
		{val: `"0"`, want: false},
		{val: `"false"`, want: false},
		{val: `""`, want: false},
		{val: `"maybe"`, bad: true},
		{val: `"yes"`, bad: true},
		{val: `1.5`, bad: true},
		{val: `["true"]`, bad: true},
	}
	for _, tt := range tests {
		for _, syntax := range []string{"hcl", "json"} {
			t.Run(syntax+" "+tt.val, func(t *testing.T) {
				src := "listener \"tcp\" {\n  tls_disable = " + tt.val + "\n}\n"
				if syntax == "json" {
					src = "{\"listener\": {\"tcp\": {\n  \"tls_disable\": " + tt.val + "\n}}}"
				}
				c, err := config.Parse([]byte(src), "l."+syntax)
				if tt.bad {
					if err == nil {
						t.Fatalf("Parse(%s) succeeded, want an error", src)
					}
					if want := "l." + syntax + ":2:"; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "tls_disable") {
						t.Errorf("error %q: want it to name %s and tls_disable", err, want)
					}
					return
				}
				if err != nil {
					t.Fatalf("Parse(%s): %v", src, err)
				}
				if got := c.Listeners[0].TLSDisable; got != tt.want {
					t.Errorf("tls_disable = %v, want %v", got, tt.want)
				}
			})
		}
	}
}

func TestParse_MaxRequestSize(t *testing.T) {
	tests := []struct {
		name      string
		line      string // inside listener "tcp" {}
		want      int64
		limit     int64
		limited   bool
		warning   bool
		bad       bool
		validates bool
	}{
		{name: "unset", line: "", want: 32 << 20, limit: 32 << 20, limited: true, validates: true},
		{name: "zero is the default", line: "max_request_size = 0", want: 32 << 20, limit: 32 << 20, limited: true, validates: true},
		{name: "explicit", line: "max_request_size = 1048576", want: 1 << 20, limit: 1 << 20, limited: true, validates: true},
		{name: "string", line: `max_request_size = "2048"`, want: 2048, limit: 2048, limited: true, validates: true},
		{name: "negative disables", line: "max_request_size = -1", want: -1, limited: false, warning: true, validates: true},
		{name: "any negative is -1", line: "max_request_size = -100", want: -1, limited: false, warning: true, validates: true},
		{name: "above the cap", line: "max_request_size = 2147483648", want: 2 << 30, limit: 2 << 30, limited: true, validates: false},
		{name: "not a number", line: `max_request_size = "32MiB"`, bad: true},
		{name: "fraction", line: "max_request_size = 1.5", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("storage \"inmem\" {}\nlistener \"tcp\" {\n tls_disable = true\n %s\n}\n", tt.line)
			c, err := config.Parse([]byte(src), "m.hcl")
			if tt.bad {
				if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "m.hcl:4:") {
					t.Fatalf("Parse error = %v, want ErrInvalid at m.hcl:4", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			l := c.Listeners[0]
			if l.MaxRequestSize != tt.want {
				t.Errorf("MaxRequestSize = %d, want %d", l.MaxRequestSize, tt.want)
			}
			if n, limited := l.RequestSizeLimit(); n != tt.limit || limited != tt.limited {
				t.Errorf("RequestSizeLimit() = %d, %v; want %d, %v", n, limited, tt.limit, tt.limited)
			}
			hasWarning := false
			for _, w := range c.Warnings {
				hasWarning = hasWarning || strings.Contains(w, "max_request_size")
			}
			if hasWarning != tt.warning {
				t.Errorf("warnings = %q, want a max_request_size warning: %v", c.Warnings, tt.warning)
			}
			if err := c.Validate(); (err == nil) != tt.validates {
				t.Errorf("Validate() = %v, want valid=%v", err, tt.validates)
			}
		})
	}
}

func TestParse_UnknownInputWarns(t *testing.T) {
	src := `storage "raft" {
  path = "/d"
  retry_join_as_non_voter = true
  bogus_raft = 1
  retry_join {
    auto_join = "provider=k8s label_selector=\"app=vault\""
  }
}
ha_storage "consul" {
  address = "127.0.0.1:8500"
}
seal "shamir" {

}
seal "shamir" {}
listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
  foo = "bar"
  x_forwarded_for_client_cert_header = "X-Cert"
  telemetry {
    unauthenticated_metrics_access = true
    bar = 1
  }
}
foo = 1
whatever {
  x = 1
}
plugin_directory = "/plugins"
service_registration "consul" {}
telemetry {
  statsite_address = "127.0.0.1:8125"
}
`
	c := mustParse(t, src, "u.hcl")
	checkWarnings(t, c.Warnings, []string{
		`u.hcl:3: unsupported key "retry_join_as_non_voter" in storage "raft" ignored`,
		`u.hcl:4: unknown key "bogus_raft" in storage "raft"`,
		`u.hcl:6: auto_join in retry_join #1 ignored`,
		`u.hcl:9: unsupported stanza "ha_storage" ignored: raft storage provides HA`,
		`u.hcl:19: unknown key "foo" in listener "tcp"`,
		`u.hcl:20: unsupported key "x_forwarded_for_client_cert_header" in listener "tcp" ignored`,
		`u.hcl:23: unknown key "bar" in listener "tcp" telemetry`,
		`u.hcl:26: unknown key "foo"`,
		`u.hcl:27: unknown stanza "whatever"`,
		`u.hcl:30: plugin_directory is accepted but unused`,
		`u.hcl:31: unsupported stanza service_registration "consul" ignored`,
		`u.hcl:33: unsupported key "statsite_address" in telemetry ignored: vaultd serves metrics only at /v1/sys/metrics`,
	})
	for _, w := range c.Warnings {
		if strings.Contains(w, "secret-key-id") || strings.Contains(w, "10.0.0.0/8") {
			t.Errorf("warning %q shows an ignored value", w)
		}
	}
	if !c.Listeners[0].UnauthenticatedMetricsAccess {
		t.Error("listener telemetry unauthenticated_metrics_access was not read")
	}
	if c.ServiceRegistration != nil {
		t.Errorf("ServiceRegistration = %+v, want nil for consul", c.ServiceRegistration)
	}
	if got := c.Storage.RetryJoin; len(got) != 1 || got[0].AutoJoin == "" {
		t.Errorf("RetryJoin = %+v, want one auto_join entry", got)
	}
	if c.PluginDirectory != "/plugins" || c.Telemetry["statsite_address"] != "127.0.0.1:8125" {
		t.Errorf("plugin_directory = %q, telemetry = %v", c.PluginDirectory, c.Telemetry)
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name string
		file string
		src  string
		kind error
		line int    // 0: do not check
		msg  string // substring
	}{
		{name: "unclosed block", file: "a.hcl", src: "storage \"raft\" {\n  path = \"/d\"\n", kind: config.ErrSyntax, line: 3},
		{name: "missing value", file: "a.hcl", src: "ui = true\napi_addr =\n", kind: config.ErrSyntax, line: 2, msg: "missing value"},
		{name: "garbage", file: "a.hcl", src: "listener \"tcp\" {\n  address = \"x\" ]\n}\n", kind: config.ErrSyntax, line: 2},
		{name: "bad JSON", file: "a.json", src: "{\n  \"ui\": true,\n  \"api_addr\": }\n", kind: config.ErrSyntax, line: 3},
		{name: "truncated JSON", file: "a.json", src: "{\n  \"ui\": true,\n", kind: config.ErrSyntax, line: 3},
		{name: "JSON trailing data", file: "a.json", src: "{\"ui\": true}\n{}", kind: config.ErrSyntax, line: 2},
		{name: "storage consul", file: "a.hcl", src: "ui = true\nstorage \"consul\" {\n  address = \"x\"\n}\n", kind: config.ErrUnsupportedStorage, line: 2, msg: `storage type "consul" is not supported (vaultd supports raft)`},
		{name: "storage file JSON", file: "a.json", src: "{\n \"storage\": {\"file\": {\"path\": \"/vault/file\"}}\n}", kind: config.ErrUnsupportedStorage, line: 2, msg: `storage type "file" is not supported`},
		{name: "two storage stanzas", file: "a.hcl", src: "storage \"raft\" { path = \"/a\" }\nstorage \"raft\" { path = \"/b\" }\n", kind: config.ErrInvalid, line: 2, msg: "only one storage stanza"},
		{name: "storage and backend", file: "a.hcl", src: "backend \"raft\" { path = \"/a\" }\nstorage \"raft\" { path = \"/b\" }\n", kind: config.ErrInvalid, line: 2, msg: "only one storage stanza"},
		{name: "storage without label", file: "a.hcl", src: "storage {\n  path = \"/a\"\n}\n", kind: config.ErrInvalid, line: 2, msg: `expected storage "TYPE"`},
		{name: "listener without label", file: "a.hcl", src: "listener {}\n", kind: config.ErrInvalid, line: 1, msg: "needs a type label"},
		{name: "listener unix", file: "a.hcl", src: "listener \"unix\" {\n address = \"/run/v.sock\"\n}\n", kind: config.ErrInvalid, line: 1, msg: `listener type "unix" is not supported`},
		{name: "listener is a string", file: "a.hcl", src: "listener = \"tcp\"\n", kind: config.ErrInvalid, line: 1, msg: "expected a stanza"},
		{name: "retry_join is a string", file: "a.hcl", src: "storage \"raft\" {\n  retry_join = \"http://a:8200\"\n}\n", kind: config.ErrInvalid, line: 2, msg: "retry_join: expected a stanza"},
		{name: "bad bool", file: "a.hcl", src: "ui = \"yes\"\n", kind: config.ErrInvalid, line: 1, msg: `ui: expected a boolean, got "yes"`},
		{name: "string is a list", file: "a.hcl", src: "\n\napi_addr = [\"http://a:8200\"]\n", kind: config.ErrInvalid, line: 3, msg: "api_addr: expected a string, got a list"},
		{name: "api_addr without scheme", file: "a.hcl", src: "api_addr = \"vault:8200\"\n", kind: config.ErrInvalid, line: 1, msg: "http:// or https://"},
		{name: "cluster_addr without port", file: "a.hcl", src: "cluster_addr = \"https://10.0.0.1\"\n", kind: config.ErrInvalid, line: 1, msg: "needs a port"},
		{name: "sockaddr template", file: "a.hcl", src: "api_addr = \"http://{{ GetPrivateIP }}:8200\"\n", kind: config.ErrInvalid, line: 1, msg: "templates are not supported"},
		{name: "address not host:port", file: "a.hcl", src: "listener \"tcp\" {\n  address = \"localhost\"\n}\n", kind: config.ErrInvalid, line: 2, msg: "not host:port"},
		{name: "bad port", file: "a.hcl", src: "listener \"tcp\" {\n  address = \"localhost:99999\"\n}\n", kind: config.ErrInvalid, line: 2, msg: "invalid port"},
		{name: "log level", file: "a.hcl", src: "log_level = \"verbose\"\n", kind: config.ErrInvalid, line: 1, msg: "log_level"},
		{name: "log format", file: "a.hcl", src: "log_format = \"xml\"\n", kind: config.ErrInvalid, line: 1, msg: "log_format"},
		{name: "tls10", file: "a.hcl", src: "listener \"tcp\" {\n  tls_min_version = \"tls10\"\n}\n", kind: config.ErrInvalid, line: 2, msg: "TLS 1.0 and 1.1 are insecure"},
		{name: "performance_multiplier range", file: "a.hcl", src: "storage \"raft\" {\n  performance_multiplier = 11\n}\n", kind: config.ErrInvalid, line: 2, msg: "out of range [0, 10]"},
		{name: "trailing_logs overflow", file: "a.hcl", src: "storage \"raft\" {\n  trailing_logs = 99999999999999999999\n}\n", kind: config.ErrInvalid, line: 2, msg: "expected an integer"},
		{name: "negative trailing_logs", file: "a.json", src: "{\"storage\": {\"raft\": {\n\"trailing_logs\": -1}}}", kind: config.ErrInvalid, line: 2, msg: "out of range"},
		{name: "node_id with slash", file: "a.hcl", src: "storage \"raft\" {\n  node_id = \"a/b\"\n}\n", kind: config.ErrInvalid, line: 2, msg: "node_id"},
		{name: "retry_join bad url", file: "a.hcl", src: "storage \"raft\" {\n  retry_join {\n    leader_api_addr = \"vault-1:8200\"\n  }\n}\n", kind: config.ErrInvalid, line: 3, msg: "retry_join #1: leader_api_addr"},
		{name: "auto_join_port range", file: "a.hcl", src: "storage \"raft\" {\n  retry_join {\n    auto_join_port = 70000\n  }\n}\n", kind: config.ErrInvalid, line: 3, msg: "auto_join_port"},
		{name: "duplicate attribute", file: "a.hcl", src: "api_addr = \"http://a:8200\"\nui = true\napi_addr = \"http://b:8200\"\n", kind: config.ErrInvalid, line: 3, msg: `duplicate attribute "api_addr" (already set at line 1)`},
		{name: "duplicate attribute in block", file: "a.hcl", src: "listener \"tcp\" {\n  tls_disable = true\n  TLS_DISABLE = false\n}\n", kind: config.ErrInvalid, line: 3, msg: "duplicate attribute"},
		{name: "duplicate attribute JSON", file: "a.json", src: "{\n\"ui\": true,\n\"ui\": false\n}", kind: config.ErrInvalid, line: 3, msg: `duplicate attribute "ui"`},
		{name: "attribute and block", file: "a.hcl", src: "telemetry = 1\ntelemetry {}\n", kind: config.ErrInvalid, line: 2, msg: "duplicate attribute"},
		{name: "two telemetry stanzas", file: "a.hcl", src: "telemetry {}\ntelemetry {}\n", kind: config.ErrInvalid, line: 2, msg: "only one telemetry"},
		{name: "two service registrations", file: "a.hcl", src: "service_registration \"kubernetes\" {}\nservice_registration \"kubernetes\" {}\n", kind: config.ErrInvalid, line: 2, msg: "only one service_registration"},
		{name: "secret value is never echoed", file: "a.hcl", src: "storage \"raft\" {\n  retry_join {\n    leader_client_key = 31337\n  }\n}\n", kind: config.ErrInvalid, line: 3, msg: "leader_client_key: expected a string, got a number"},
		{name: "deep nesting", file: "a.hcl", src: "telemetry " + strings.Repeat("{ a ", 200) + strings.Repeat("}", 200), kind: config.ErrSyntax, line: 1, msg: "nesting deeper"},
		{name: "deep JSON nesting", file: "a.json", src: "{\"telemetry\": " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "}", kind: config.ErrSyntax, line: 1, msg: "nesting deeper"},
		{name: "too many labels", file: "a.hcl", src: strings.Repeat("a ", 100) + "{}", kind: config.ErrSyntax, line: 1, msg: "too many labels"},
		{name: "JSON array at top", file: "a.json", src: "[1]", kind: config.ErrSyntax},
		{name: "too large", file: "a.hcl", src: "# " + strings.Repeat("x", config.MaxConfigSize), kind: config.ErrInvalid, msg: "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.src), tt.file)
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want an error", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with its error")
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %q does not match %v", err, tt.kind)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %q is not a *config.Error", err)
			}
			if ce.File != tt.file {
				t.Errorf("Error.File = %q, want %q", ce.File, tt.file)
			}
			if tt.line != 0 {
				if ce.Line != tt.line {
					t.Errorf("Error.Line = %d, want %d (%v)", ce.Line, tt.line, err)
				}
				if want := fmt.Sprintf("%s:%d:", tt.file, tt.line); !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), "31337") {
				t.Errorf("error %q shows a secret value", err)
			}
		})
	}
}

func TestParse_ReportsEveryError(t *testing.T) {
	src := "ui = \"maybe\"\nlistener \"tcp\" {\n  tls_disable = \"perhaps\"\n}\nstorage \"consul\" {}\n"
	_, err := config.Parse([]byte(src), "m.hcl")
	if err == nil {
		t.Fatal("Parse succeeded, want errors")
	}
	for _, want := range []string{"m.hcl:1:", "m.hcl:3:", "m.hcl:5:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if !errors.Is(err, config.ErrUnsupportedStorage) || !errors.Is(err, config.ErrInvalid) {
		t.Errorf("errors.Is fails on the joined error %q", err)
	}
}

func TestParse_Details(t *testing.T) {
	t.Run("keys are case-insensitive", func(t *testing.T) {
		c := mustParse(t, "API_ADDR = \"http://a:8200\"\nListener \"TCP\" { Address = \"1.2.3.4:80\"\n TLS_Disable = true }\n", "c.hcl")
		if c.APIAddr != "http://a:8200" || len(c.Listeners) != 1 || c.Listeners[0].Address != "1.2.3.4:80" || !c.Listeners[0].TLSDisable {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("log level aliases", func(t *testing.T) {
		for in, want := range map[string]string{"WARNING": "warn", "notice": "info", "err": "error", "Trace": "trace"} {
			if c := mustParse(t, `log_level = "`+in+`"`, "l.hcl"); c.LogLevel != want {
				t.Errorf("log_level %q = %q, want %q", in, c.LogLevel, want)
			}
		}
	})
	t.Run("byte order mark", func(t *testing.T) {
		c := mustParse(t, "\uFEFF{\"ui\": true}", "bom.json")
		if !c.UI {
			t.Error("ui not read after a BOM")
		}
	})
	t.Run("node_id given as a number", func(t *testing.T) {
		c := mustParse(t, "storage \"raft\" {\n  node_id = 7\n}\n", "n.hcl")
		if c.Storage.NodeID != "7" {
			t.Errorf("node_id = %q, want \"7\"", c.Storage.NodeID)
		}
	})
	t.Run("JSON null is absent", func(t *testing.T) {
		c := mustParse(t, `{"api_addr": null, "ui": null, "listener": {"tcp": {"address": null}}}`, "n.json")
		if c.APIAddr != "" || c.UI || c.Listeners[0].Address != config.DefaultListenerAddress {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("retry_join as an HCL list", func(t *testing.T) {
		c := mustParse(t, "storage \"raft\" {\n retry_join = [{ leader_api_addr = \"https://a:8200\" }, { leader_api_addr = \"https://b:8200\" }]\n}\n", "r.hcl")
		if got := c.Storage.RetryJoin; len(got) != 2 || got[1].LeaderAPIAddr != "https://b:8200" {
			t.Errorf("RetryJoin = %+v", got)
		}
	})
	t.Run("hex numbers in HCL", func(t *testing.T) {
		c := mustParse(t, "storage \"raft\" {\n snapshot_threshold = 0x100\n}\n", "h.hcl")
		if c.Storage.SnapshotThreshold != 256 {
			t.Errorf("snapshot_threshold = %d, want 256", c.Storage.SnapshotThreshold)
		}
	})
	t.Run("empty document", func(t *testing.T) {
		c := mustParse(t, "# nothing here\n", "e.hcl")
		if c.Storage != nil || len(c.Listeners) != 0 || len(c.Warnings) != 0 {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("inmem storage warns", func(t *testing.T) {
		c := mustParse(t, "storage \"inmem\" {}\n", "i.hcl")
		if c.Storage.Type != config.StorageInmem {
			t.Errorf("storage type = %q", c.Storage.Type)
		}
		checkWarnings(t, c.Warnings, []string{"i.hcl:1: storage \"inmem\" keeps everything in memory"})
	})
	t.Run("tls files with tls_disable warn", func(t *testing.T) {
		c := mustParse(t, "listener \"tcp\" {\n tls_disable = true\n tls_cert_file = \"/c\"\n}\n", "t.hcl")
		checkWarnings(t, c.Warnings, []string{"t.hcl:1: listener \"tcp\": tls_disable is set, so its TLS files are ignored"})
	})
	t.Run("listener durations", func(t *testing.T) {
		c := mustParse(t, "listener \"tcp\" {\n max_request_duration = \"30s\"\n http_read_timeout = 10\n http_idle_timeout = \"2m\"\n http_read_header_timeout = \"5s\"\n http_write_timeout = \"1m\"\n}\n", "t.hcl")
		l := c.Listeners[0]
		got := []time.Duration{l.MaxRequestDuration, l.HTTPReadTimeout, l.HTTPIdleTimeout, l.HTTPReadHeaderTimeout, l.HTTPWriteTimeout}
		want := []time.Duration{30 * time.Second, 10 * time.Second, 2 * time.Minute, 5 * time.Second, time.Minute}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("durations (-want +got):\n%s", diff)
		}
	})
}

const testKeyPEM = "-----BEGIN EC PRIVATE KEY-----\nTUFURVJJQUwtVEhBVC1NVVNULU5PVC1MRUFL\n-----END EC PRIVATE KEY-----\n"

func TestParse_InlineTLSAndSecretRedaction(t *testing.T) {
	src := `storage "raft" {
  path = "/d"
  retry_join {
    leader_api_addr    = "https://vault-1:8200"
    leader_ca_cert     = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"
    leader_client_cert = <<EOT
-----BEGIN CERTIFICATE-----
Q0VSVA==
-----END CERTIFICATE-----
EOT
    leader_client_key  = "` + strings.ReplaceAll(testKeyPEM, "\n", `\n`) + `"
  }
}
listener "tcp" { tls_disable = true }
cluster_addr = "https://vault-0:8201"
`
	c := mustParse(t, src, "inline.hcl")
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	rj := c.Storage.RetryJoin[0]
	if string(rj.LeaderClientKey) != testKeyPEM {
		t.Fatalf("leader_client_key not decoded: %d bytes", len(rj.LeaderClientKey))
	}
	if !strings.HasPrefix(rj.LeaderClientCert, "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n") {
		t.Errorf("heredoc leader_client_cert = %q", rj.LeaderClientCert)
	}

	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("config", "config", c, "key", rj.LeaderClientKey, "rj", rj)
	marshalled, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	outputs := map[string]string{
		"%v":        fmt.Sprintf("%v", rj),
		"%+v":       fmt.Sprintf("%+v", c.Storage),
		"%#v":       fmt.Sprintf("%#v", rj),
		"%s key":    fmt.Sprintf("%s %v", rj.LeaderClientKey, rj.LeaderClientKey),
		"%x key":    fmt.Sprintf("%x", rj.LeaderClientKey),
		"%q key":    fmt.Sprintf("%q", rj.LeaderClientKey),
		"slog":      logged.String(),
		"json":      string(marshalled),
		"LogValue":  c.LogValue().String(),
		"Warnings":  strings.Join(c.Warnings, "\n"),
		"Validate*": fmt.Sprint(c.Validate()),
	}
	for name, out := range outputs {
		if strings.Contains(out, "TUFURVJJQUwtVEhBVC1NVVNULU5PVC1MRUFL") || strings.Contains(out, "4d4154455249414c") {
			t.Errorf("%s output leaks the key: %s", name, out)
		}
	}
	if !strings.Contains(outputs["%v"], "[redacted]") {
		t.Errorf("%%v output %q does not show [redacted]", outputs["%v"])
	}
}

func TestParse_LargeDocuments(t *testing.T) {
	const keys = 50000
	var js, hc strings.Builder
	js.WriteString("{\"telemetry\": {\n")
	hc.WriteString("telemetry {\n")
	for i := range keys {
		fmt.Fprintf(&js, "  \"k%d\": %d,\n", i, i)
		fmt.Fprintf(&hc, "  k%d = %d\n", i, i)
	}
	js.WriteString("  \"last\": }}\n") // a syntax error on line keys+2
	hc.WriteString("}\n")
	for i := range 150 {
		fmt.Fprintf(&hc, "unknown_%d = 1\n", i)
	}

	_, err := config.Parse([]byte(js.String()), "big.json")
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Line != keys+2 || ce.Column != 11 {
		t.Errorf("error = %v, want a syntax error at big.json:%d:11", err, keys+2)
	}

	c := mustParse(t, hc.String(), "big.hcl")
	if len(c.Telemetry) != keys {
		t.Errorf("telemetry has %d keys, want %d", len(c.Telemetry), keys)
	}
	if n := len(c.Warnings); n != 101 || !strings.Contains(c.Warnings[100], "50 more warnings not shown") {
		t.Errorf("got %d warnings ending %q; want 100 and a summary", n, c.Warnings[n-1])
	}
	// The telemetry stanza's keys are checked too: unknown ones warn first.
	if want := `big.hcl:2: unknown key "k0" in telemetry`; c.Warnings[0] != want {
		t.Errorf("first warning = %q, want %q", c.Warnings[0], want)
	}
}

func TestParse_Testdata_NoWarningsForCleanSamples(t *testing.T) {
	for _, f := range []string{"testdata/single-node.hcl", "testdata/cluster-node1.hcl", "testdata/helm-ha.hcl"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if c := mustParse(t, string(data), f); len(c.Warnings) != 0 {
			t.Errorf("%s: unexpected warnings %q", f, c.Warnings)
		}
	}
}
