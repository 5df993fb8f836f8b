// Package telemetry is vaultd's metrics registry: one Prometheus registry
// per node, created by the composition root and handed to the subsystems
// that observe something (no package-level state: two nodes in one
// process, as in tests and -dev-cluster, never share a series).
//
// Series carry Vault's names where Vault has one ("vault.core.handle_request"
// becomes vault_core_handle_request), so existing dashboards and alerts
// mostly work. Vault's timers are go-metrics summaries in milliseconds;
// vaultd's are Prometheus histograms in milliseconds, so _sum and _count
// mean the same as Vault's and histogram_quantile replaces the quantile
// label.
//
// The registry renders itself in the Prometheus text format and in the
// JSON shape of Vault's default sys/metrics answer (Gauges, Counters,
// Samples); docs/observability.md lists every series.
//
// This package imports the standard library and client_golang only;
// subsystems that must not depend on it (raftstore, seal, core) declare
// small observer interfaces or expose counters that the composition root
// reads at scrape time.
package telemetry
