package mounts

import (
	"fmt"

	"github.com/vaultd/vaultd/core/internal/reqfield"
	"github.com/vaultd/vaultd/secrets"
)

// How mount entries show in the sys/ endpoints (sys/mounts, sys/auth,
// their tune paths, sys/internal/ui/mounts) and how those endpoints'
// bodies become an entry's configuration.

func badRequest(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

// Output is an entry as sys/mounts shows it.
func Output(me *Entry) map[string]any {
	opts := map[string]any{}
	for k, v := range me.Options {
		opts[k] = v
	}
	var optsOut any = opts
	if len(opts) == 0 {
		optsOut = nil
	}
	return map[string]any{
		"type":        me.Type,
		"description": me.Description,
		"accessor":    me.Accessor,
		"uuid":        me.UUID,
		"config": map[string]any{
			"default_lease_ttl": me.Config.DefaultLeaseTTL,
			"max_lease_ttl":     me.Config.MaxLeaseTTL,
			"force_no_cache":    me.Config.ForceNoCache,
		},
		"options":                 optsOut,
		"local":                   me.Local,
		"seal_wrap":               me.SealWrap,
		"external_entropy_access": false,
		"plugin_version":          "",
		"running_plugin_version":  "v0.0.0+builtin.vaultd",
		"running_sha256":          "",
	}
}

// System is how sys/ itself shows in sys/mounts, as in Vault.
var System = &Entry{Path: "sys/", Type: "system", Description: "system endpoints used for control, policy and debugging", Accessor: "system_00000000", UUID: "00000000-0000-0000-0000-000000000000"}

// ApplyTune applies the tunable settings of a body (default_lease_ttl,
// max_lease_ttl, force_no_cache, token_type) to cfg.
func ApplyTune(cfg *Config, m map[string]any) error {
	if v, ok := m["default_lease_ttl"]; ok {
		n, err := reqfield.TTLSeconds(v)
		if err != nil {
			return err
		}
		cfg.DefaultLeaseTTL = n
	}
	if v, ok := m["max_lease_ttl"]; ok {
		n, err := reqfield.TTLSeconds(v)
		if err != nil {
			return err
		}
		cfg.MaxLeaseTTL = n
	}
	if v, ok := m["force_no_cache"].(bool); ok {
		cfg.ForceNoCache = v
	}
	if v, ok := m["token_type"]; ok {
		s, _ := v.(string)
		switch s {
		case "", "default", "default-service":
			cfg.TokenType = ""
		case "default-batch", "service", "batch":
			cfg.TokenType = s
		default:
			return badRequest("invalid value for \"token_type\": %q", fmt.Sprint(v))
		}
	}
	if cfg.MaxLeaseTTL > 0 && cfg.DefaultLeaseTTL > cfg.MaxLeaseTTL {
		return badRequest("default lease TTL cannot be greater than max lease TTL")
	}
	return nil
}

// TokenTypeShown is an auth mount's token_type as Vault shows it.
func TokenTypeShown(me *Entry) string {
	if me.Config.TokenType == "" {
		return "default-service"
	}
	return me.Config.TokenType
}

// AuthOutput is an entry as sys/auth shows it.
func AuthOutput(me *Entry) map[string]any {
	out := Output(me)
	if cfg, ok := out["config"].(map[string]any); ok {
		cfg["token_type"] = TokenTypeShown(me)
	}
	return out
}

// TuneOutput is the body of a read of sys/mounts/<path>/tune or
// sys/auth/<path>/tune, with the effective lease TTLs in seconds.
func TuneOutput(me *Entry, defTTL, maxTTL int64) map[string]any {
	out := map[string]any{
		"default_lease_ttl": defTTL, "max_lease_ttl": maxTTL, "force_no_cache": me.Config.ForceNoCache,
		"description": me.Description,
	}
	if len(me.Options) > 0 {
		out["options"] = me.Options
	}
	return out
}

// EnableParams reads the body of a mount-enable request (sys/mounts/<path>
// and sys/auth/<path>): the backend type, description, options and tuning.
func EnableParams(data map[string]any) (typ, desc string, opts map[string]string, cfg Config, err error) {
	typ, _ = data["type"].(string)
	if typ == "" {
		return "", "", nil, Config{}, badRequest("backend type must be specified as a string")
	}
	desc, _ = data["description"].(string)
	opts = map[string]string{}
	if o, ok := data["options"].(map[string]any); ok {
		for k, v := range o {
			opts[k] = fmt.Sprint(v)
		}
	}
	if m, ok := data["config"].(map[string]any); ok {
		if err := ApplyTune(&cfg, m); err != nil {
			return "", "", nil, Config{}, err
		}
	}
	return typ, desc, opts, cfg, nil
}
