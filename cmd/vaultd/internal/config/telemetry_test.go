package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

func TestTelemetry_Applied(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      config.Telemetry
	}{
		{"absent", ``, config.Telemetry{PrometheusRetention: 24 * time.Hour}},
		{"retention and label", `telemetry {
  prometheus_retention_time = "30s"
  enable_hostname_label     = true
  disable_hostname          = true
  metrics_prefix            = "vault"
}`, config.Telemetry{PrometheusRetention: 30 * time.Second, EnableHostnameLabel: true}},
		{"retention off", `telemetry { prometheus_retention_time = 0 }`, config.Telemetry{}},
		{"retention in seconds, label as a string", `telemetry {
  prometheus_retention_time = 3600
  enable_hostname_label = "true"
}`, config.Telemetry{PrometheusRetention: time.Hour, EnableHostnameLabel: true}},
		{"JSON", `{"telemetry": {"prometheus_retention_time": "2d"}}`, config.Telemetry{PrometheusRetention: 48 * time.Hour}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.src, "t.hcl")
			if got := c.TelemetrySettings(); got != tt.want {
				t.Errorf("TelemetrySettings() = %+v, want %+v", got, tt.want)
			}
			if len(c.Warnings) != 0 {
				t.Errorf("warnings %q", c.Warnings)
			}
		})
	}
}

func TestTelemetry_RefusedAndWarned(t *testing.T) {
	for _, tt := range []struct{ src, msg string }{
		{`telemetry { prometheus_retention_time = "-1s" }`, "must not be negative"},
		{`telemetry { prometheus_retention_time = "soon" }`, "expected a duration"},
		{`telemetry { metrics_prefix = "bao" }`, `only "vault" is supported`},
		{`telemetry { enable_hostname_label = "maybe" }`, "expected a boolean"},
	} {
		_, err := config.Parse([]byte(tt.src), "t.hcl")
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), "t.hcl:1") {
			t.Errorf("%s: err = %v, want ErrInvalid with %q at t.hcl:1", tt.src, err, tt.msg)
		}
	}
	c := mustParse(t, `telemetry {
  disable_hostname   = false
  statsd_address     = "127.0.0.1:8125"
  circonus_api_token = "tok"
  usage_gauge_period = "10m"
  bogus              = 1
}`, "w.hcl")
	checkWarnings(t, c.Warnings, []string{
		`w.hcl:2: telemetry: disable_hostname = false is not applied`,
		`w.hcl:3: unsupported key "statsd_address" in telemetry ignored: vaultd serves metrics only at /v1/sys/metrics`,
		`w.hcl:4: unsupported key "circonus_api_token" in telemetry ignored`,
		`w.hcl:5: unsupported key "usage_gauge_period" in telemetry ignored: vaultd computes its gauges at scrape time`,
		`w.hcl:6: unknown key "bogus" in telemetry`,
	})
	for _, w := range c.Warnings {
		if strings.Contains(w, "tok\"") || strings.Contains(w, "127.0.0.1:8125") {
			t.Errorf("warning %q shows a value", w)
		}
	}
}
