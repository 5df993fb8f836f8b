package config

import (
	"strconv"
	"strings"
	"time"
)

// Telemetry is what vaultd applies of the top-level telemetry stanza.
// Vault's other keys (statsd, statsite, dogstatsd, circonus, stackdriver
// sinks, gauge periods, lease metric buckets, filters) are warned about at
// parse time as ignored: vaultd serves its metrics only at /v1/sys/metrics.
type Telemetry struct {
	// PrometheusRetention is prometheus_retention_time (Vault's default
	// 24h); 0 disables ?format=prometheus, as in Vault.
	PrometheusRetention time.Duration
	// EnableHostnameLabel adds the host label to every series.
	EnableHostnameLabel bool
}

// DefaultPrometheusRetention is Vault's default prometheus_retention_time.
const DefaultPrometheusRetention = 24 * time.Hour

var telemetrySinkKeys = []string{"statsite_address", "statsd_address", "dogstatsd_addr", "dogstatsd_tags", "circonus_", "stackdriver_"}

var telemetryIgnored = map[string]string{
	"usage_gauge_period":                 "vaultd computes its gauges at scrape time",
	"maximum_gauge_cardinality":          "vaultd's series have bounded labels",
	"lease_metrics_epsilon":              "vaultd has no lease-expiry histogram",
	"num_lease_metrics_buckets":          "vaultd has no lease-expiry histogram",
	"add_lease_metrics_namespace_labels": "vaultd has no namespaces",
	"filter_default":                     "vaultd serves every series it has",
	"prefix_filter":                      "vaultd serves every series it has",
	"add_mount_point_rollback_metrics":   "vaultd has no rollback manager",
}

// telemetry validates the top-level telemetry stanza (kept verbatim in
// Config.Telemetry): applied keys are type-checked, the rest warned about.
func (d *decoder) telemetry(body *value) {
	const where = "telemetry"
	ig := ignoredKeys{keys: telemetryIgnored}
	for _, k := range telemetrySinkKeys {
		if strings.HasSuffix(k, "_") {
			ig.prefixes = append(ig.prefixes, k)
		} else {
			ig.keys[k] = "vaultd serves metrics only at /v1/sys/metrics (Prometheus pull)"
		}
	}
	d.walk(body, where, handlers{
		"prometheus_retention_time": func(f *field) {
			if t, ok := d.duration(f, where); ok && t < 0 {
				d.invalid(f.val.pos, "%s: must not be negative", keyPath(where, f.key))
			}
		},
		"disable_hostname": func(f *field) {
			if v, ok := d.boolean(f, where); ok && !v {
				d.warnf(f.pos, "telemetry: disable_hostname = false is not applied: vaultd never prefixes metric names with the host name (use enable_hostname_label for a host label)")
			}
		},
		"enable_hostname_label": func(f *field) { d.boolean(f, where) },
		"metrics_prefix": func(f *field) {
			if s, ok := d.str(f, where); ok && s != "vault" {
				d.invalid(f.val.pos, "%s: vaultd's series are named vault_*; only \"vault\" is supported", keyPath(where, f.key))
			}
		},
	}, ig)
}

// TelemetrySettings returns the applied telemetry settings (Parse has
// validated the stanza; a value it would refuse reads as the default).
func (c *Config) TelemetrySettings() Telemetry {
	t := Telemetry{PrometheusRetention: DefaultPrometheusRetention}
	for k, v := range c.Telemetry {
		switch strings.ToLower(k) {
		case "prometheus_retention_time":
			if d, ok := anyDuration(v); ok && d >= 0 {
				t.PrometheusRetention = d
			}
		case "enable_hostname_label":
			if b, ok := v.(bool); ok {
				t.EnableHostnameLabel = b
			} else if s, ok := v.(string); ok {
				t.EnableHostnameLabel, _ = strconv.ParseBool(strings.TrimSpace(s))
			} else if n, ok := v.(int64); ok {
				t.EnableHostnameLabel = n != 0
			}
		}
	}
	return t
}

// anyDuration reads a duration kept verbatim: a number of seconds or a
// Go/Vault duration string ("24h", "30s", "90").
func anyDuration(v any) (time.Duration, bool) {
	switch x := v.(type) {
	case int64:
		d, err := secondsToDuration(x)
		return d, err == nil
	case string:
		if d, err := ParseDuration(x); err == nil {
			return d, true
		}
	}
	return 0, false
}
