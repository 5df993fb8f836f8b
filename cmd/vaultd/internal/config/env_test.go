package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantUI   bool
		warnings []string
		err      error
		errText  string
	}{
		{name: "unset", env: nil, err: config.ErrNoEnvConfig},
		{name: "blank", env: map[string]string{"VAULT_LOCAL_CONFIG": " \n\t"}, err: config.ErrNoEnvConfig},
		{name: "vault json", env: map[string]string{"VAULT_LOCAL_CONFIG": `{"ui": true}`}, wantUI: true},
		{name: "vaultd hcl", env: map[string]string{"VAULTD_LOCAL_CONFIG": "ui = true\n"}, wantUI: true},
		{
			name:     "vaultd wins",
			env:      map[string]string{"VAULTD_LOCAL_CONFIG": "ui = true", "VAULT_LOCAL_CONFIG": "ui = false"},
			wantUI:   true,
			warnings: []string{"$VAULT_LOCAL_CONFIG ignored"},
		},
		{
			name:    "bad document names the variable and line",
			env:     map[string]string{"VAULT_LOCAL_CONFIG": "ui = true\nlistener \"tcp\" {\n  tls_disable = \"nope\"\n}\n"},
			err:     config.ErrInvalid,
			errText: "$VAULT_LOCAL_CONFIG:3:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.FromEnv(envFunc(tt.env))
			if tt.err != nil {
				if c != nil || !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("FromEnv = %v, %v; want nil and %v containing %q", c, err, tt.err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if c.UI != tt.wantUI {
				t.Errorf("UI = %v, want %v", c.UI, tt.wantUI)
			}
			checkWarnings(t, c.Warnings, tt.warnings)
		})
	}
}

func TestApplyEnv(t *testing.T) {
	base := func() *config.Config {
		return mustParse(t, `
storage "raft" {
  path    = "/file/path"
  node_id = "file-node"
}
listener "tcp" { tls_disable = true }
service_registration "kubernetes" {
  namespace = "file-ns"
}
api_addr     = "https://file:8200"
cluster_addr = "https://file:8201"
log_level    = "info"
`, "base.hcl")
	}
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c *config.Config)
	}{
		{
			name: "nothing set keeps the file",
			check: func(t *testing.T, c *config.Config) {
				if c.APIAddr != "https://file:8200" || c.Storage.Path != "/file/path" || c.Storage.NodeID != "file-node" || c.LogLevel != "info" {
					t.Errorf("got %+v / %+v", c, c.Storage)
				}
			},
		},
		{
			name: "vault variables win over the file",
			env: map[string]string{
				"VAULT_API_ADDR":      "https://env:8200",
				"VAULT_CLUSTER_ADDR":  "https://env:8201",
				"VAULT_RAFT_PATH":     "/env/path",
				"VAULT_RAFT_NODE_ID":  " env-node\n",
				"VAULT_LOG_LEVEL":     "WARNING",
				"VAULT_LOG_FORMAT":    "json",
				"VAULT_K8S_NAMESPACE": "vault",
				"VAULT_K8S_POD_NAME":  "vault-0",
			},
			check: func(t *testing.T, c *config.Config) {
				got := []string{c.APIAddr, c.ClusterAddr, c.Storage.Path, c.Storage.NodeID, c.LogLevel, c.LogFormat, c.ServiceRegistration.Namespace, c.ServiceRegistration.PodName}
				want := []string{"https://env:8200", "https://env:8201", "/env/path", "env-node", "warn", "json", "vault", "vault-0"}
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("got %q, want %q", got, want)
				}
				if err := c.Validate(); err != nil {
					t.Errorf("Validate: %v", err)
				}
			},
		},
		{
			name: "VAULTD_ spelling wins over VAULT_",
			env:  map[string]string{"VAULT_API_ADDR": "https://vault:8200", "VAULTD_API_ADDR": "https://vaultd:8200"},
			check: func(t *testing.T, c *config.Config) {
				if c.APIAddr != "https://vaultd:8200" {
					t.Errorf("APIAddr = %q", c.APIAddr)
				}
			},
		},
		{
			name: "legacy redirect address",
			env:  map[string]string{"VAULT_REDIRECT_ADDR": "https://redirect:8200"},
			check: func(t *testing.T, c *config.Config) {
				if c.APIAddr != "https://redirect:8200" {
					t.Errorf("APIAddr = %q", c.APIAddr)
				}
			},
		},
		{
			name: "a bad value is reported by Validate, naming the variable",
			env:  map[string]string{"VAULT_API_ADDR": "vault-0:8200", "VAULT_LOG_LEVEL": "loud"},
			check: func(t *testing.T, c *config.Config) {
				err := c.Validate()
				if !errors.Is(err, config.ErrInvalid) {
					t.Fatalf("Validate = %v, want ErrInvalid", err)
				}
				for _, want := range []string{"$VAULT_API_ADDR: api_addr", "$VAULT_LOG_LEVEL: log_level"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("Validate error %q does not contain %q", err, want)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			c.ApplyEnv(envFunc(tt.env))
			tt.check(t, c)
		})
	}

	t.Run("raft variables without raft storage", func(t *testing.T) {
		c := mustParse(t, `storage "inmem" {}`, "i.hcl")
		c.Warnings = nil
		c.ApplyEnv(envFunc(map[string]string{"VAULT_RAFT_PATH": "/x", "VAULTD_RAFT_NODE_ID": "n"}))
		checkWarnings(t, c.Warnings, []string{"$VAULT_RAFT_PATH ignored: storage is not raft", "$VAULTD_RAFT_NODE_ID ignored"})
	})
	t.Run("kubernetes variables without service registration", func(t *testing.T) {
		c := &config.Config{}
		c.ApplyEnv(envFunc(map[string]string{"VAULT_K8S_POD_NAME": "vault-0"}))
		if c.ServiceRegistration != nil || len(c.Warnings) != 0 {
			t.Errorf("got %+v", c)
		}
	})
}
