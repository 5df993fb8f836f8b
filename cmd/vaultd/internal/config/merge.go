package config

import (
	"maps"
	"slices"
	"time"
)

// Merge returns c overlaid with other, the way Vault merges the files of a
// configuration directory: settings other sets win (a boolean set to false
// in other counts as set), other's listeners are appended to c's, and
// other's storage, service_registration and telemetry stanzas replace c's.
// Warnings are concatenated. Merge does not refuse a second storage
// stanza; LoadDir and Resolve do. Neither input is modified, the result
// shares no memory with them, and either may be nil.
func (c *Config) Merge(other *Config) *Config {
	res := c.clone()
	if other == nil {
		return res
	}
	o := other.clone()

	if o.Storage != nil {
		res.Storage = o.Storage
	}
	res.Listeners = append(res.Listeners, o.Listeners...)
	if o.ServiceRegistration != nil {
		res.ServiceRegistration = o.ServiceRegistration
	}
	if o.Seals != nil { // a later file's seal stanzas replace the earlier ones
		res.Seals = o.Seals
	}
	if o.Telemetry != nil {
		res.Telemetry = o.Telemetry
	}
	if o.RequestLimiter != nil {
		res.RequestLimiter = o.RequestLimiter
	}
	if o.CPUPool != nil {
		res.CPUPool = o.CPUPool
	}
	res.Warnings = append(res.Warnings, o.Warnings...)

	// set reports whether other sets key, and records where it did.
	set := func(key string, nonZero bool) bool {
		at, explicit := o.origin[key]
		if !explicit && !nonZero {
			return false
		}
		if explicit {
			res.origin[key] = at
		} else {
			delete(res.origin, key)
		}
		return true
	}
	mergeString := func(key string, dst *string, v string) {
		if set(key, v != "") {
			*dst = v
		}
	}
	mergeBool := func(key string, dst *bool, v bool) {
		if set(key, v) {
			*dst = v
		}
	}
	mergeDuration := func(key string, dst *time.Duration, v time.Duration) {
		if set(key, v != 0) {
			*dst = v
		}
	}
	mergeString("api_addr", &res.APIAddr, o.APIAddr)
	mergeString("cluster_addr", &res.ClusterAddr, o.ClusterAddr)
	mergeString("cluster_name", &res.ClusterName, o.ClusterName)
	mergeString("plugin_directory", &res.PluginDirectory, o.PluginDirectory)
	mergeString("log_level", &res.LogLevel, o.LogLevel)
	mergeString("log_format", &res.LogFormat, o.LogFormat)
	mergeBool("disable_mlock", &res.DisableMlock, o.DisableMlock)
	mergeBool("ui", &res.UI, o.UI)
	mergeDuration("default_lease_ttl", &res.DefaultLeaseTTL, o.DefaultLeaseTTL)
	mergeDuration("max_lease_ttl", &res.MaxLeaseTTL, o.MaxLeaseTTL)
	return res
}

// clone returns a deep copy; a nil Config clones to an empty one.
func (c *Config) clone() *Config {
	if c == nil {
		return &Config{origin: make(map[string]loc)}
	}
	res := *c
	if c.Storage != nil {
		s := *c.Storage
		s.RetryJoin = make([]RetryJoin, len(c.Storage.RetryJoin))
		for i, r := range c.Storage.RetryJoin {
			r.LeaderClientKey = slices.Clone(r.LeaderClientKey)
			s.RetryJoin[i] = r
		}
		if c.Storage.RetryJoin == nil {
			s.RetryJoin = nil
		}
		res.Storage = &s
	}
	res.Listeners = slices.Clone(c.Listeners)
	if c.ServiceRegistration != nil {
		sr := *c.ServiceRegistration
		res.ServiceRegistration = &sr
	}
	if c.Seals != nil {
		res.Seals = make([]*Seal, len(c.Seals))
		for i, sl := range c.Seals {
			cp := *sl
			cp.Transit.Token = slices.Clone(sl.Transit.Token)
			res.Seals[i] = &cp
		}
	}
	if c.Telemetry != nil {
		res.Telemetry = deepCopy(c.Telemetry).(map[string]any)
	}
	if c.RequestLimiter != nil {
		rl := *c.RequestLimiter
		res.RequestLimiter = &rl
	}
	if c.CPUPool != nil {
		cp := *c.CPUPool
		res.CPUPool = &cp
	}
	res.Warnings = slices.Clone(c.Warnings)
	res.origin = maps.Clone(c.origin)
	if res.origin == nil {
		res.origin = make(map[string]loc)
	}
	return &res
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = deepCopy(e)
		}
		return l
	default:
		return v
	}
}
