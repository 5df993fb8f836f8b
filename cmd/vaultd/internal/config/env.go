package config

import (
	"os"
	"strconv"
	"strings"
)

// Environment variables. Each VAULT_* override may also be spelled with a
// VAULTD_ prefix, which wins over the VAULT_ spelling.
const (
	EnvLocalConfig      = "VAULTD_LOCAL_CONFIG"
	EnvVaultLocalConfig = "VAULT_LOCAL_CONFIG"
	EnvAPIAddr          = "VAULT_API_ADDR"
	EnvClusterAddr      = "VAULT_CLUSTER_ADDR"
	EnvRaftNodeID       = "VAULT_RAFT_NODE_ID"
	EnvRaftPath         = "VAULT_RAFT_PATH"
	EnvLogLevel         = "VAULT_LOG_LEVEL"
	EnvLogFormat        = "VAULT_LOG_FORMAT"
	EnvK8sNamespace     = "VAULT_K8S_NAMESPACE"
	EnvK8sPodName       = "VAULT_K8S_POD_NAME"
	// The transit seal's overrides. VAULT_ADDR and VAULT_TOKEN, which
	// Vault also reads for the seal, are deliberately not: in a server pod
	// they usually point the local CLI at the server itself.
	EnvTransitSealToken          = "VAULT_TRANSIT_SEAL_TOKEN"
	EnvTransitSealKeyName        = "VAULT_TRANSIT_SEAL_KEY_NAME"
	EnvTransitSealMountPath      = "VAULT_TRANSIT_SEAL_MOUNT_PATH"
	EnvTransitSealDisableRenewal = "VAULT_TRANSIT_SEAL_DISABLE_RENEWAL"
	envRedirectAddr              = "VAULT_REDIRECT_ADDR"  // Vault's older names for VAULT_API_ADDR
	envAdvertiseAddr             = "VAULT_ADVERTISE_ADDR" //
	vaultdPrefix                 = "VAULTD_"
)

// FromEnv parses the configuration document held in VAULTD_LOCAL_CONFIG,
// or else VAULT_LOCAL_CONFIG (HCL or JSON), as Vault's Docker image does.
// It returns ErrNoEnvConfig when neither is set. A nil getenv means
// os.Getenv.
func FromEnv(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, name := range []string{EnvLocalConfig, EnvVaultLocalConfig} {
		doc := getenv(name)
		if strings.TrimSpace(doc) == "" {
			continue
		}
		c, err := Parse([]byte(doc), "$"+name)
		if err != nil {
			return nil, err
		}
		if name == EnvLocalConfig && strings.TrimSpace(getenv(EnvVaultLocalConfig)) != "" {
			c.Warnings = append(c.Warnings, "$"+EnvVaultLocalConfig+" ignored: $"+EnvLocalConfig+" is set")
		}
		return c, nil
	}
	return nil, ErrNoEnvConfig
}

// ApplyEnv applies the overrides Vault reads from the environment; a set
// variable wins over the file:
//
//	VAULT_API_ADDR (or VAULT_REDIRECT_ADDR, VAULT_ADVERTISE_ADDR)  api_addr
//	VAULT_CLUSTER_ADDR                                           cluster_addr
//	VAULT_RAFT_PATH, VAULT_RAFT_NODE_ID                          raft path, node_id
//	VAULT_LOG_LEVEL, VAULT_LOG_FORMAT                            log_level, log_format
//	VAULT_K8S_NAMESPACE, VAULT_K8S_POD_NAME                      kubernetes service_registration
//
// Each may also be spelled VAULTD_*, which wins. Values are not checked
// here: Validate reports a bad one, naming the variable. A raft variable
// without raft storage is ignored with a warning. A nil getenv means
// os.Getenv.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if c.origin == nil {
		c.origin = make(map[string]loc)
	}
	lookup := func(names ...string) (val, name string) {
		for _, n := range names {
			for _, spelled := range []string{vaultdPrefix + strings.TrimPrefix(n, "VAULT_"), n} {
				if v := strings.TrimSpace(getenv(spelled)); v != "" {
					return v, spelled
				}
			}
		}
		return "", ""
	}
	setString := func(key string, dst *string, names ...string) {
		if v, n := lookup(names...); n != "" {
			*dst = v
			c.origin[key] = loc{file: "$" + n}
		}
	}
	setString("api_addr", &c.APIAddr, EnvAPIAddr, envRedirectAddr, envAdvertiseAddr)
	setString("cluster_addr", &c.ClusterAddr, EnvClusterAddr)
	setString("log_format", &c.LogFormat, EnvLogFormat)
	if v, n := lookup(EnvLogLevel); n != "" {
		if lvl, ok := normalizeLogLevel(v); ok {
			v = lvl
		}
		c.LogLevel = v
		c.origin["log_level"] = loc{file: "$" + n}
	}

	raft := c.Storage != nil && c.Storage.Type == StorageRaft
	for _, e := range []struct {
		dst  func() *string
		name string
	}{
		{func() *string { return &c.Storage.Path }, EnvRaftPath},
		{func() *string { return &c.Storage.NodeID }, EnvRaftNodeID},
	} {
		v, n := lookup(e.name)
		switch {
		case n == "":
		case raft:
			*e.dst() = v
		default:
			c.Warnings = append(c.Warnings, "$"+n+" ignored: storage is not raft")
		}
	}

	if sl := c.EnabledSeal(); sl != nil || c.DisabledSeal() != nil {
		if sl == nil {
			sl = c.DisabledSeal()
		}
		if v, n := lookup(EnvTransitSealToken); n != "" {
			sl.Transit.Token = Secret(v)
		}
		if v, n := lookup(EnvTransitSealKeyName); n != "" {
			sl.Transit.KeyName = v
		}
		if v, n := lookup(EnvTransitSealMountPath); n != "" {
			sl.Transit.MountPath = v
		}
		if v, n := lookup(EnvTransitSealDisableRenewal); n != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				sl.envErr = "$" + n + " is not a boolean"
			} else {
				sl.Transit.DisableRenewal = b
			}
		}
	}
	if sr := c.ServiceRegistration; sr != nil && sr.Type == "kubernetes" {
		if v, n := lookup(EnvK8sNamespace); n != "" {
			sr.Namespace = v
		}
		if v, n := lookup(EnvK8sPodName); n != "" {
			sr.PodName = v
		}
	}
}
