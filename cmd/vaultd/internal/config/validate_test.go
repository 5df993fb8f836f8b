package config_test

import (
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

// validBase is a small valid raft configuration built in code.
func validBase() *config.Config {
	return &config.Config{
		Storage: &config.Storage{
			Type:   config.StorageRaft,
			Path:   "/vault/data",
			NodeID: "vault-0",
			RetryJoin: []config.RetryJoin{
				{LeaderAPIAddr: "https://vault-1:8200"},
			},
		},
		Listeners: []config.Listener{{
			Type:        config.ListenerTCP,
			Address:     "0.0.0.0:8200",
			TLSCertFile: "/tls/tls.crt",
			TLSKeyFile:  "/tls/tls.key",
		}},
		APIAddr:     "https://vault-0:8200",
		ClusterAddr: "https://vault-0:8201",
	}
}

const testCertPEM = "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n"

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(c *config.Config)
		want string // "" = valid; else a substring of the error
		kind error  // default ErrInvalid
	}{
		{name: "base", mod: func(*config.Config) {}},
		{name: "defaults applied", mod: func(c *config.Config) { c.ApplyDefaults() }},
		{name: "dev config", mod: func(c *config.Config) { *c = *config.DevConfig() }},
		{name: "no storage", mod: func(c *config.Config) { c.Storage = nil }, want: "a storage stanza is required"},
		{name: "unsupported storage", mod: func(c *config.Config) { c.Storage.Type = "consul" }, want: `storage type "consul" is not supported`, kind: config.ErrUnsupportedStorage},
		{name: "inmem needs no path or cluster_addr", mod: func(c *config.Config) { c.Storage = &config.Storage{Type: config.StorageInmem}; c.ClusterAddr = "" }},
		{name: "raft path required", mod: func(c *config.Config) { c.Storage.Path = " " }, want: "path is required"},
		{name: "empty node_id is fine", mod: func(c *config.Config) { c.Storage.NodeID = "" }},
		{name: "node_id characters", mod: func(c *config.Config) { c.Storage.NodeID = "node 1" }, want: "node_id"},
		{name: "node_id dot-dot", mod: func(c *config.Config) { c.Storage.NodeID = ".." }, want: "node_id"},
		{name: "node_id length", mod: func(c *config.Config) { c.Storage.NodeID = strings.Repeat("n", 129) }, want: "longer than 128"},
		{name: "performance_multiplier", mod: func(c *config.Config) { c.Storage.PerformanceMultiplier = 11 }, want: "performance_multiplier 11"},
		{name: "negative snapshot_interval", mod: func(c *config.Config) { c.Storage.SnapshotInterval = -time.Second }, want: "must not be negative"},
		{name: "raft needs cluster_addr", mod: func(c *config.Config) { c.ClusterAddr = "" }, want: "cluster_addr is required with raft storage"},
		{name: "retry_join needs an address", mod: func(c *config.Config) { c.Storage.RetryJoin[0].LeaderAPIAddr = "" }, want: "retry_join #1: leader_api_addr is required"},
		{name: "retry_join auto_join only", mod: func(c *config.Config) { c.Storage.RetryJoin[0] = config.RetryJoin{AutoJoin: "provider=k8s"} }},
		{name: "retry_join both", mod: func(c *config.Config) { c.Storage.RetryJoin[0].AutoJoin = "provider=k8s" }, want: "not both"},
		{name: "retry_join bad url", mod: func(c *config.Config) { c.Storage.RetryJoin[0].LeaderAPIAddr = "ftp://x" }, want: "leader_api_addr"},
		{name: "retry_join cert without key", mod: func(c *config.Config) { c.Storage.RetryJoin[0].LeaderClientCertFile = "/c" }, want: "leader_client_cert_file and leader_client_key_file go together"},
		{name: "retry_join files", mod: func(c *config.Config) {
			r := &c.Storage.RetryJoin[0]
			r.LeaderCACertFile, r.LeaderClientCertFile, r.LeaderClientKeyFile = "/ca", "/c", "/k"
		}},
		{name: "retry_join inline", mod: func(c *config.Config) {
			r := &c.Storage.RetryJoin[0]
			r.LeaderCACert, r.LeaderClientCert, r.LeaderClientKey = testCertPEM, testCertPEM, config.Secret(testKeyPEM)
		}},
		{name: "retry_join inline and files", mod: func(c *config.Config) {
			r := &c.Storage.RetryJoin[0]
			r.LeaderCACert, r.LeaderCACertFile = testCertPEM, "/ca"
		}, want: "not both"},
		{name: "retry_join inline key without cert", mod: func(c *config.Config) { c.Storage.RetryJoin[0].LeaderClientKey = config.Secret(testKeyPEM) }, want: "leader_client_cert and leader_client_key go together"},
		{name: "retry_join inline not PEM", mod: func(c *config.Config) {
			r := &c.Storage.RetryJoin[0]
			r.LeaderClientCert, r.LeaderClientKey = testCertPEM, config.Secret("NOT-PEM-SECRET")
		}, want: "leader_client_key is not PEM"},
		{name: "no listener", mod: func(c *config.Config) { c.Listeners = nil }, want: "at least one listener"},
		{name: "listener type", mod: func(c *config.Config) { c.Listeners[0].Type = "unix" }, want: `listener type "unix"`},
		{name: "empty address is the default", mod: func(c *config.Config) { c.Listeners[0].Address = "" }},
		{name: "bad address", mod: func(c *config.Config) { c.Listeners[0].Address = "0.0.0.0" }, want: "address"},
		{name: "bad cluster_address", mod: func(c *config.Config) { c.Listeners[0].ClusterAddress = "x" }, want: "cluster_address"},
		{name: "tls needs files", mod: func(c *config.Config) { c.Listeners[0].TLSKeyFile = "" }, want: "tls_cert_file and tls_key_file are both required"},
		{name: "tls needs files, none given", mod: func(c *config.Config) { c.Listeners[0].TLSCertFile, c.Listeners[0].TLSKeyFile = "", "" }, want: "tls_cert_file and tls_key_file are both required"},
		{name: "tls_disable needs no files", mod: func(c *config.Config) {
			c.Listeners[0].TLSDisable, c.Listeners[0].TLSCertFile, c.Listeners[0].TLSKeyFile = true, "", ""
		}},
		{name: "client cert flags exclusive", mod: func(c *config.Config) {
			c.Listeners[0].TLSRequireAndVerifyClientCert, c.Listeners[0].TLSDisableClientCerts = true, true
		}, want: "mutually exclusive"},
		{name: "tls min above max", mod: func(c *config.Config) { c.Listeners[0].TLSMinVersion, c.Listeners[0].TLSMaxVersion = "tls13", "tls12" }, want: "above tls_max_version"},
		{name: "tls11", mod: func(c *config.Config) { c.Listeners[0].TLSMinVersion = "tls11" }, want: "insecure"},
		{name: "max_request_size cap", mod: func(c *config.Config) { c.Listeners[0].MaxRequestSize = 1<<30 + 1 }, want: "max_request_size"},
		{name: "max_request_size unlimited", mod: func(c *config.Config) { c.Listeners[0].MaxRequestSize = -1 }},
		{name: "negative listener duration", mod: func(c *config.Config) { c.Listeners[0].HTTPReadTimeout = -1 }, want: "durations must not be negative"},
		{name: "duplicate listener address", mod: func(c *config.Config) {
			c.Listeners = append(c.Listeners, c.Listeners[0])
		}, want: "also used by listener #1"},
		{name: "port 0 may repeat", mod: func(c *config.Config) {
			c.Listeners[0].Address = "127.0.0.1:0"
			c.Listeners = append(c.Listeners, c.Listeners[0])
		}},
		{name: "api_addr", mod: func(c *config.Config) { c.APIAddr = "https://vault-0:8200/v1" }, want: "api_addr"},
		{name: "api_addr user info", mod: func(c *config.Config) { c.APIAddr = "https://u:p@vault-0:8200" }, want: "user info"},
		{name: "api_addr port optional", mod: func(c *config.Config) { c.APIAddr = "https://vault.example.com" }},
		{name: "cluster_addr port", mod: func(c *config.Config) { c.ClusterAddr = "https://vault-0" }, want: "needs a port"},
		{name: "cluster_addr ipv6", mod: func(c *config.Config) { c.ClusterAddr = "https://[fd00::1]:8201" }},
		{name: "log level", mod: func(c *config.Config) { c.LogLevel = "WARNING" }, want: "log_level"},
		{name: "log format", mod: func(c *config.Config) { c.LogFormat = "xml" }, want: "log_format"},
		{name: "default ttl above max", mod: func(c *config.Config) { c.DefaultLeaseTTL, c.MaxLeaseTTL = 2*time.Hour, time.Hour }, want: "longer than max_lease_ttl"},
		{name: "default ttl above default max", mod: func(c *config.Config) { c.DefaultLeaseTTL = 800 * time.Hour }, want: "longer than max_lease_ttl"},
		{name: "negative ttl", mod: func(c *config.Config) { c.MaxLeaseTTL = -time.Hour }, want: "must not be negative"},
		{name: "service registration type", mod: func(c *config.Config) { c.ServiceRegistration = &config.ServiceRegistration{Type: "consul"} }, want: "service_registration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validBase()
			tt.mod(c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			}
			kind := tt.kind
			if kind == nil {
				kind = config.ErrInvalid
			}
			if !errors.Is(err, kind) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %q, want %v containing %q", err, kind, tt.want)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Errorf("Validate() error %T is not a *config.Error", err)
			}
			if strings.Contains(err.Error(), "NOT-PEM-SECRET") {
				t.Errorf("Validate() shows key material: %v", err)
			}
		})
	}
}

func TestValidate_ReportsEveryProblemWithItsSource(t *testing.T) {
	c := mustParse(t, `storage "raft" {
  retry_join {}
}
listener "tcp" {}
default_lease_ttl = "48h"
max_lease_ttl = "24h"
`, "v.hcl")
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, want := range []string{
		"v.hcl:1: storage \"raft\": path is required",
		"cluster_addr is required",
		"v.hcl:2: retry_join #1: leader_api_addr is required",
		"v.hcl:4: listener #1 (\"tcp\"): tls_cert_file and tls_key_file",
		"v.hcl:5: default_lease_ttl: 48h0m0s is longer than max_lease_ttl 24h0m0s",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q\nwant it to contain %q", err, want)
		}
	}
	var nilCfg *config.Config
	if err := nilCfg.Validate(); !errors.Is(err, config.ErrInvalid) {
		t.Errorf("nil.Validate() = %v", err)
	}
}

func TestApplyDefaults(t *testing.T) {
	c := &config.Config{
		Storage:   &config.Storage{Type: config.StorageRaft, Path: "/d"},
		Listeners: []config.Listener{{Type: config.ListenerTCP, MaxRequestSize: -7}},
	}
	c.ApplyDefaults()
	s, l := c.Storage, c.Listeners[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"log_level", c.LogLevel, "info"},
		{"log_format", c.LogFormat, "standard"},
		{"default_lease_ttl", c.DefaultLeaseTTL, 768 * time.Hour},
		{"max_lease_ttl", c.MaxLeaseTTL, 768 * time.Hour},
		{"performance_multiplier", s.PerformanceMultiplier, 3},
		{"trailing_logs", s.TrailingLogs, uint64(10000)},
		{"snapshot_threshold", s.SnapshotThreshold, uint64(8192)},
		{"snapshot_interval", s.SnapshotInterval, 5 * time.Second},
		{"max_entry_size", s.MaxEntrySize, uint64(1 << 20)},
		{"address", l.Address, "127.0.0.1:8200"},
		{"max_request_size", l.MaxRequestSize, int64(-1)},
		{"tls_min_version", l.TLSMinVersion, "tls12"},
		{"tls_max_version", l.TLSMaxVersion, "tls13"},
		{"max_request_duration", l.MaxRequestDuration, 90 * time.Second},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	before := *c
	c.ApplyDefaults()
	if c.LogLevel != before.LogLevel || !reflect.DeepEqual(c.Listeners[0], before.Listeners[0]) {
		t.Error("ApplyDefaults is not idempotent")
	}

	clamp := &config.Config{MaxLeaseTTL: time.Hour}
	clamp.ApplyDefaults()
	if clamp.DefaultLeaseTTL != time.Hour {
		t.Errorf("default_lease_ttl = %s, want it clamped to max_lease_ttl 1h", clamp.DefaultLeaseTTL)
	}
}

func TestListener_ClusterListenAddress(t *testing.T) {
	tests := []struct {
		l    config.Listener
		want string
		bad  bool
	}{
		{l: config.Listener{Address: "0.0.0.0:8200"}, want: "0.0.0.0:8201"},
		{l: config.Listener{Address: "[::]:8200"}, want: "[::]:8201"},
		{l: config.Listener{}, want: "127.0.0.1:8201"},
		{l: config.Listener{Address: "127.0.0.1:0"}, want: "127.0.0.1:0"},
		{l: config.Listener{Address: "0.0.0.0:8200", ClusterAddress: "10.0.0.1:9000"}, want: "10.0.0.1:9000"},
		{l: config.Listener{Address: "0.0.0.0:65535"}, bad: true},
		{l: config.Listener{Address: "nonsense"}, bad: true},
	}
	for _, tt := range tests {
		got, err := tt.l.ClusterListenAddress()
		if tt.bad {
			if !errors.Is(err, config.ErrInvalid) {
				t.Errorf("ClusterListenAddress(%+v) = %q, %v; want ErrInvalid", tt.l, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ClusterListenAddress(%q) = %q, %v; want %q", tt.l.Address, got, err, tt.want)
		}
	}
}

func TestSlogLevel(t *testing.T) {
	for lvl, want := range map[string]slog.Level{
		"trace": slog.LevelDebug - 4, "debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError, "": slog.LevelInfo,
	} {
		c := &config.Config{LogLevel: lvl}
		if got := c.SlogLevel(); got != want {
			t.Errorf("SlogLevel(%q) = %v, want %v", lvl, got, want)
		}
	}
}

func TestError_Format(t *testing.T) {
	tests := []struct {
		err  *config.Error
		want string
	}{
		{&config.Error{File: "a.hcl", Line: 3, Column: 7, Msg: "bad", Kind: config.ErrInvalid}, "config: a.hcl:3:7: bad"},
		{&config.Error{File: "a.hcl", Line: 3, Msg: "bad", Kind: config.ErrInvalid}, "config: a.hcl:3: bad"},
		{&config.Error{File: "$VAULT_API_ADDR", Msg: "bad", Kind: config.ErrInvalid}, "config: $VAULT_API_ADDR: bad"},
		{&config.Error{Msg: "bad", Kind: config.ErrInvalid}, "config: bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, config.ErrInvalid) {
			t.Errorf("%q does not unwrap to its kind", tt.err)
		}
	}
}
