package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parse parses one configuration document, HCL or JSON. filename is used in
// messages only. Errors are *Error values (joined when there are several)
// naming the file and line; ignored input is listed in Config.Warnings.
// The result is not validated: see Validate.
func Parse(src []byte, filename string) (*Config, error) {
	if len(src) > MaxConfigSize {
		return nil, &Error{File: filename, Kind: ErrInvalid,
			Msg: fmt.Sprintf("document is %d bytes, more than the %d allowed", len(src), MaxConfigSize)}
	}
	src = trimBOM(src)
	root, err := parseTree(src, filename)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: filename}
	c := d.root(root)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	if d.suppressed > 0 {
		d.warnings = append(d.warnings, fmt.Sprintf("%s: %d more warnings not shown", filename, d.suppressed))
	}
	c.Warnings = d.warnings
	return c, nil
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

// maxErrors and maxWarnings bound how many problems one Parse reports.
const (
	maxErrors   = 20
	maxWarnings = 100
)

type decoder struct {
	file       string
	errs       []error
	warnings   []string
	suppressed int // warnings beyond maxWarnings
}

func (d *decoder) errorf(p pos, kind error, format string, args ...any) {
	if len(d.errs) >= maxErrors {
		return
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: p.line, Column: p.col, Kind: kind, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) invalid(p pos, format string, args ...any) {
	d.errorf(p, ErrInvalid, format, args...)
}

func (d *decoder) warnf(p pos, format string, args ...any) {
	if len(d.warnings) >= maxWarnings {
		d.suppressed++
		return
	}
	msg := fmt.Sprintf(format, args...)
	if loc := location(d.file, p.line, 0); loc != "" {
		msg = loc + ": " + msg
	}
	d.warnings = append(d.warnings, msg)
}

func (d *decoder) loc(p pos) loc { return loc{file: d.file, line: p.line} }

// keyPath names a setting inside a stanza for messages: `listener "tcp": address`.
func keyPath(where, key string) string {
	if where == "" {
		return key
	}
	return where + ": " + key
}

// ---- walking objects ----

type handlers map[string]func(f *field)

// ignoredKeys are settings Vault knows and vaultd deliberately ignores,
// with the reason shown in the warning ("" for none).
type ignoredKeys struct {
	keys     map[string]string
	prefixes []string
}

func (ig ignoredKeys) lookup(key string) (reason string, ok bool) {
	if r, ok := ig.keys[key]; ok {
		return r, true
	}
	for _, p := range ig.prefixes {
		if strings.HasPrefix(key, p) {
			return "", true
		}
	}
	return "", false
}

// walk dispatches each field of obj to its handler; unknown and ignored
// keys become warnings. A JSON null is treated as absent.
func (d *decoder) walk(obj *value, where string, h handlers, ig ignoredKeys) {
	for _, f := range obj.obj {
		if f.val.kind == kindNull {
			continue
		}
		k := strings.ToLower(f.key)
		if fn, ok := h[k]; ok {
			fn(f)
			continue
		}
		what := "key"
		if isBlock(f.val) {
			what = "stanza"
		}
		in := ""
		if where != "" {
			in = " in " + where
		}
		if reason, ok := ig.lookup(k); ok {
			if reason != "" {
				reason = ": " + reason
			}
			d.warnf(f.pos, "unsupported %s %q%s ignored%s", what, f.key, in, reason)
			continue
		}
		d.warnf(f.pos, "unknown %s %q%s", what, f.key, in)
	}
}

type labelled struct {
	label string
	pos   pos
	body  *value
}

// labelledBlocks expands a stanza with one label, `name "label" { ... }`,
// written in HCL or as JSON `"name": {"label": {...}}` or
// `"name": [{"label": {...}}, ...]`.
func (d *decoder) labelledBlocks(f *field, name string) []labelled {
	var out []labelled
	fromObject := func(v *value) {
		if len(v.obj) == 0 {
			d.invalid(v.pos, "%s stanza needs a type label, e.g. %s %q { ... }", name, name, exampleLabel(name))
			return
		}
		for _, lf := range v.obj {
			switch {
			case lf.val.kind == kindObject:
				out = append(out, labelled{label: lf.key, pos: lf.pos, body: lf.val})
			case isBlock(lf.val):
				for _, e := range lf.val.list {
					out = append(out, labelled{label: lf.key, pos: e.pos, body: e})
				}
			default:
				d.invalid(lf.pos, "%s: expected %s \"TYPE\" { ... }, found %q = %s", name, name, lf.key, describe(lf.val))
			}
		}
	}
	switch {
	case f.val.kind == kindObject:
		fromObject(f.val)
	case isBlock(f.val):
		for _, e := range f.val.list {
			fromObject(e)
		}
	default:
		d.invalid(f.val.pos, "%s: expected a stanza, got %s", name, describe(f.val))
	}
	return out
}

func exampleLabel(name string) string {
	switch name {
	case "listener":
		return "tcp"
	case "service_registration":
		return "kubernetes"
	default:
		return "raft"
	}
}

// blocks expands a stanza without a label (retry_join, telemetry), written
// as a block, a JSON object, or a list of objects.
func (d *decoder) blocks(f *field, name string) []*value {
	switch {
	case f.val.kind == kindObject:
		return []*value{f.val}
	case isBlock(f.val):
		return f.val.list
	default:
		d.invalid(f.val.pos, "%s: expected a stanza, got %s", name, describe(f.val))
		return nil
	}
}

// ---- the top level ----

var topIgnored = ignoredKeys{
	keys: map[string]string{
		"ha_storage":                          "raft storage provides HA",
		"ha_backend":                          "raft storage provides HA",
		"audit":                               "enable audit devices through the API",
		"user_lockout":                        "",
		"entropy":                             "",
		"initialize":                          "",
		"plugin":                              "vaultd runs no plugins",
		"plugin_file_uid":                     "vaultd runs no plugins",
		"plugin_file_permissions":             "vaultd runs no plugins",
		"plugin_auto_download":                "vaultd runs no plugins",
		"plugin_auto_register":                "vaultd runs no plugins",
		"plugin_download_behavior":            "vaultd runs no plugins",
		"cache_size":                          "",
		"disable_cache":                       "",
		"disable_clustering":                  "raft storage always clusters",
		"disable_performance_standby":         "",
		"disable_sealwrap":                    "",
		"disable_printable_check":             "",
		"disable_sentinel_trace":              "",
		"disable_standby_reads":               "",
		"raw_storage_endpoint":                "",
		"introspection_endpoint":              "",
		"enable_response_header_hostname":     "",
		"enable_response_header_raft_node_id": "",
		"pid_file":                            "",
		"log_file":                            "",
		"log_rotate_duration":                 "",
		"log_rotate_bytes":                    "",
		"log_rotate_max_files":                "",
		"log_requests_level":                  "",
		"license_path":                        "",
		"default_max_request_duration":        "set max_request_duration on the listener",
		"detect_deadlocks":                    "",
		"imprecise_lease_role_tracking":       "",
		"experiments":                         "",
		"administrative_namespace_path":       "",
		"unsafe_allow_api_audit_creation":     "",
		"allow_audit_log_prefixing":           "",
		"enable_post_unseal_trace":            "",
		"post_unseal_trace_directory":         "",
		"allow_unauthenticated_workflows":     "",
		"disable_ssct_tokens":                 "",
		"disable_mlock_warning":               "",
		"reporting":                           "",
		"replication":                         "",
		"sentinel":                            "",
		"kms_library":                         "",
		"api_addr_template":                   "",
	},
}

func (d *decoder) root(v *value) *Config {
	c := &Config{origin: make(map[string]loc)}
	set := func(key string, f *field) { c.origin[key] = d.loc(f.pos) }
	var storageAt, telemetryAt, srAt *field

	str := func(key string, dst *string, check func(string) error) func(*field) {
		return func(f *field) {
			s, ok := d.str(f, "")
			if !ok {
				return
			}
			if check != nil {
				if err := check(s); err != nil {
					d.invalid(f.val.pos, "%s: %v", key, err)
					return
				}
			}
			*dst = s
			set(key, f)
		}
	}
	boolean := func(key string, dst *bool) func(*field) {
		return func(f *field) {
			if b, ok := d.boolean(f, ""); ok {
				*dst = b
				set(key, f)
			}
		}
	}
	duration := func(key string, dst *time.Duration) func(*field) {
		return func(f *field) {
			if t, ok := d.duration(f, ""); ok {
				if t < 0 {
					d.invalid(f.val.pos, "%s: must not be negative", key)
					return
				}
				*dst = t
				set(key, f)
			}
		}
	}

	storage := func(f *field) {
		if storageAt != nil {
			d.invalid(f.pos, "only one storage stanza is allowed (another at line %d)", storageAt.pos.line)
			return
		}
		storageAt = f
		blocks := d.labelledBlocks(f, "storage")
		if len(blocks) > 1 {
			d.invalid(blocks[1].pos, "only one storage stanza is allowed (another at line %d)", blocks[0].pos.line)
			return
		}
		if len(blocks) == 1 {
			c.Storage = d.storage(blocks[0])
		}
	}

	d.walk(v, "", handlers{
		"storage": storage,
		"backend": storage, // Vault's original name for the stanza
		"listener": func(f *field) {
			for _, b := range d.labelledBlocks(f, "listener") {
				if l, ok := d.listener(b); ok {
					c.Listeners = append(c.Listeners, l)
				}
			}
		},
		"seal": func(f *field) {
			for _, b := range d.labelledBlocks(f, "seal") {
				if strings.EqualFold(b.label, "shamir") {
					continue // the default
				}
				if sl := d.seal(b); sl != nil {
					for _, o := range c.Seals {
						if o.Disabled == sl.Disabled {
							what := "enabled"
							if sl.Disabled {
								what = "disabled"
							}
							d.invalid(b.pos, "only one %s seal stanza is allowed (another at line %d)", what, o.at.line)
						} else if o.Type == sl.Type {
							d.invalid(b.pos, "a seal migration between two %q seals is not supported", sl.Type)
						}
					}
					c.Seals = append(c.Seals, sl)
				}
			}
		},
		"service_registration": func(f *field) {
			if srAt != nil {
				d.invalid(f.pos, "only one service_registration stanza is allowed (another at line %d)", srAt.pos.line)
				return
			}
			srAt = f
			blocks := d.labelledBlocks(f, "service_registration")
			if len(blocks) > 1 {
				d.invalid(blocks[1].pos, "only one service_registration stanza is allowed (another at line %d)", blocks[0].pos.line)
				return
			}
			if len(blocks) == 1 {
				c.ServiceRegistration = d.serviceRegistration(blocks[0])
			}
		},
		"telemetry": func(f *field) {
			bodies := d.blocks(f, "telemetry")
			if telemetryAt != nil || len(bodies) > 1 {
				d.invalid(f.pos, "only one telemetry stanza is allowed")
				return
			}
			telemetryAt = f
			if len(bodies) == 1 {
				c.Telemetry = toMap(bodies[0])
				d.telemetry(bodies[0]) // telemetry.go: validates and warns
			}
		},
		"request_limiter": func(f *field) {
			bodies := d.blocks(f, "request_limiter")
			if c.RequestLimiter != nil || len(bodies) > 1 {
				d.invalid(f.pos, "only one request_limiter stanza is allowed")
				return
			}
			rl := &RequestLimiter{}
			for _, b := range bodies {
				d.walk(b, "request_limiter", handlers{
					"disable": func(f *field) { rl.Disable, _ = d.boolean(f, "request_limiter") },
					"min_limit": func(f *field) {
						if n, ok := d.integer(f, "request_limiter", 0, 1<<20); ok {
							rl.MinLimit = int(n)
						}
					},
					"max_limit": func(f *field) {
						if n, ok := d.integer(f, "request_limiter", 0, 1<<20); ok {
							rl.MaxLimit = int(n)
						}
					},
				}, ignoredKeys{})
			}
			if rl.MaxLimit > 0 && rl.MinLimit > rl.MaxLimit {
				d.invalid(f.pos, "request_limiter: min_limit %d is above max_limit %d", rl.MinLimit, rl.MaxLimit)
			}
			c.RequestLimiter = rl
		},
		"cpu_pool": func(f *field) {
			bodies := d.blocks(f, "cpu_pool")
			if c.CPUPool != nil || len(bodies) > 1 {
				d.invalid(f.pos, "only one cpu_pool stanza is allowed")
				return
			}
			cp := &CPUPool{}
			for _, b := range bodies {
				d.walk(b, "cpu_pool", handlers{
					"disable": func(f *field) { cp.Disable, _ = d.boolean(f, "cpu_pool") },
					"size": func(f *field) {
						if n, ok := d.integer(f, "cpu_pool", 0, 4096); ok {
							cp.Size = int(n)
						}
					},
					"queue": func(f *field) {
						if n, ok := d.integer(f, "cpu_pool", 0, 1<<20); ok {
							cp.Queue = int(n)
						}
					},
					"max_wait": func(f *field) {
						if t, ok := d.duration(f, "cpu_pool"); ok {
							if t < 0 {
								d.invalid(f.val.pos, "cpu_pool: max_wait must not be negative")
								return
							}
							cp.MaxWait = t
						}
					},
				}, ignoredKeys{})
			}
			c.CPUPool = cp
		},
		"api_addr":     str("api_addr", &c.APIAddr, func(s string) error { return checkURL(s, false) }),
		"cluster_addr": str("cluster_addr", &c.ClusterAddr, func(s string) error { return checkURL(s, true) }),
		"cluster_name": str("cluster_name", &c.ClusterName, nil),
		"plugin_directory": func(f *field) {
			str("plugin_directory", &c.PluginDirectory, nil)(f)
			d.warnf(f.pos, "plugin_directory is accepted but unused: vaultd runs no plugins")
		},
		"disable_mlock":     boolean("disable_mlock", &c.DisableMlock),
		"ui":                boolean("ui", &c.UI),
		"default_lease_ttl": duration("default_lease_ttl", &c.DefaultLeaseTTL),
		"max_lease_ttl":     duration("max_lease_ttl", &c.MaxLeaseTTL),
		"log_level": func(f *field) {
			s, ok := d.str(f, "")
			if !ok {
				return
			}
			lvl, ok := normalizeLogLevel(s)
			if !ok {
				d.invalid(f.val.pos, "log_level: %q is not one of trace, debug, info, warn, error", clip(s))
				return
			}
			c.LogLevel = lvl
			set("log_level", f)
		},
		"log_format": str("log_format", &c.LogFormat, checkLogFormat),
	}, topIgnored)

	return c
}

// ---- storage ----

var raftIgnored = ignoredKeys{
	keys: map[string]string{
		"retry_join_as_non_voter":                  "vaultd has no non-voters",
		"non_voter":                                "vaultd has no non-voters",
		"max_transaction_size":                     "",
		"max_mount_and_namespace_table_entry_size": "",
		"autopilot_upgrade_version":                "",
		"autopilot_redundancy_zone":                "",
		"raft_wal":                                 "",
		"raft_log_verifier_enabled":                "",
		"raft_log_verification_interval":           "",
		"max_batch_entries":                        "",
		"max_batch_size":                           "",
		"snapshot_delay":                           "",
	},
}

func (d *decoder) storage(b labelled) *Storage {
	typ := strings.ToLower(b.label)
	s := &Storage{Type: typ, at: d.loc(b.pos)}
	where := fmt.Sprintf("storage %q", b.label)
	switch typ {
	case StorageInmem:
		d.warnf(b.pos, "storage %q keeps everything in memory: all data is lost when the server stops (tests and -dev only)", b.label)
		d.walk(b.body, where, nil, ignoredKeys{})
		return s
	case StorageRaft:
	default:
		d.errorf(b.pos, ErrUnsupportedStorage, "storage type %q is not supported (vaultd supports raft)", clip(b.label))
		return nil
	}
	uintKey := func(dst *uint64, min int64) func(*field) {
		return func(f *field) {
			if n, ok := d.integer(f, where, min, math.MaxInt64); ok {
				*dst = uint64(n)
			}
		}
	}
	durKey := func(dst *time.Duration) func(*field) {
		return func(f *field) {
			if t, ok := d.duration(f, where); ok {
				if t < 0 {
					d.invalid(f.val.pos, "%s: must not be negative", keyPath(where, f.key))
					return
				}
				*dst = t
			}
		}
	}
	d.walk(b.body, where, handlers{
		"path": func(f *field) { s.Path, _ = d.str(f, where) },
		"node_id": func(f *field) {
			id, ok := d.str(f, where)
			if !ok {
				return
			}
			if err := checkNodeID(id); err != nil {
				d.invalid(f.val.pos, "%s: %v", keyPath(where, f.key), err)
				return
			}
			s.NodeID = id
		},
		"performance_multiplier": func(f *field) {
			if n, ok := d.integer(f, where, 0, MaxPerformanceMultiplier); ok {
				s.PerformanceMultiplier = int(n)
			}
		},
		"trailing_logs":                uintKey(&s.TrailingLogs, 0),
		"snapshot_threshold":           uintKey(&s.SnapshotThreshold, 0),
		"max_entry_size":               uintKey(&s.MaxEntrySize, 0),
		"snapshot_interval":            durKey(&s.SnapshotInterval),
		"autopilot_reconcile_interval": durKey(&s.AutopilotReconcileInterval),
		"autopilot_update_interval":    durKey(&s.AutopilotUpdateInterval),
		"retry_join": func(f *field) {
			for _, body := range d.blocks(f, "retry_join") {
				s.RetryJoin = append(s.RetryJoin, d.retryJoin(body, len(s.RetryJoin)+1))
			}
		},
	}, raftIgnored)
	s.applyDefaults()
	return s
}

func (d *decoder) retryJoin(body *value, n int) RetryJoin {
	r := RetryJoin{at: d.loc(body.pos)}
	where := fmt.Sprintf("retry_join #%d", n)
	str := func(dst *string) func(*field) {
		return func(f *field) { *dst, _ = d.str(f, where) }
	}
	d.walk(body, where, handlers{
		"leader_api_addr": func(f *field) {
			s, ok := d.str(f, where)
			if !ok {
				return
			}
			if err := checkURL(s, false); err != nil {
				d.invalid(f.val.pos, "%s: %v", keyPath(where, f.key), err)
				return
			}
			r.LeaderAPIAddr = s
		},
		"leader_tls_servername":   str(&r.LeaderTLSServerName),
		"leader_ca_cert_file":     str(&r.LeaderCACertFile),
		"leader_client_cert_file": str(&r.LeaderClientCertFile),
		"leader_client_key_file":  str(&r.LeaderClientKeyFile),
		"leader_ca_cert":          str(&r.LeaderCACert),
		"leader_client_cert":      str(&r.LeaderClientCert),
		"leader_client_key": func(f *field) {
			if f.val.kind != kindString {
				d.invalid(f.val.pos, "%s: expected a string, got %s", keyPath(where, f.key), kindName(f.val))
				return
			}
			r.LeaderClientKey = Secret(f.val.str)
		},
		"auto_join": func(f *field) {
			if s, ok := d.str(f, where); ok {
				r.AutoJoin = s
				d.warnf(f.pos, "auto_join in %s ignored: vaultd does not support cloud auto-join; use leader_api_addr", where)
			}
		},
		"auto_join_scheme": func(f *field) {
			s, ok := d.str(f, where)
			if !ok {
				return
			}
			if s != "" && s != "http" && s != "https" {
				d.invalid(f.val.pos, "%s: %q is not http or https", keyPath(where, f.key), clip(s))
				return
			}
			r.AutoJoinScheme = s
		},
		"auto_join_port": func(f *field) {
			if n, ok := d.integer(f, where, 1, math.MaxUint16); ok {
				r.AutoJoinPort = uint16(n)
			}
		},
	}, ignoredKeys{})
	return r
}

// ---- listeners ----

var listenerIgnored = ignoredKeys{
	keys: map[string]string{
		"tls_prefer_server_cipher_suites":      "",
		"tls_curve_preferences":                "",
		"tls_auto_reload":                      "",
		"profiling":                            "",
		"inflight_requests_logging":            "",
		"custom_response_headers":              "",
		"disable_replication_status_endpoints": "",
		"chroot_namespace":                     "",
		"agent_api":                            "",
		"purpose":                              "",
		"role":                                 "",
		"require_request_header":               "",
		"socket_mode":                          "",
		"socket_user":                          "",
		"socket_group":                         "",
		"metrics_only":                         "",
		"disallow_metrics":                     "",
		"metrics_path":                         "",
	},
	prefixes: []string{"x_forwarded_for_client_cert_", "proxy_protocol_", "tls_acme_", "max_json_", "max_request_json_", "redact_"},
}

func (d *decoder) listener(b labelled) (Listener, bool) {
	typ := strings.ToLower(b.label)
	if typ != ListenerTCP {
		d.invalid(b.pos, "listener type %q is not supported (vaultd supports tcp)", clip(b.label))
		return Listener{}, false
	}
	l := Listener{Type: typ, at: d.loc(b.pos)}
	where := fmt.Sprintf("listener %q", b.label)
	strList := func(dst *[]string) func(*field) {
		return func(f *field) {
			var out []string
			switch f.val.kind {
			case kindString:
				for _, p := range strings.Split(f.val.str, ",") {
					if p = strings.TrimSpace(p); p != "" {
						out = append(out, p)
					}
				}
			case kindList:
				for _, e := range f.val.list {
					if e.kind != kindString {
						d.invalid(e.pos, "%s: expected a list of strings, got %s in it", keyPath(where, f.key), kindName(e))
						return
					}
					out = append(out, strings.TrimSpace(e.str))
				}
			default:
				d.invalid(f.val.pos, "%s: expected a string or a list of strings, got %s", keyPath(where, f.key), kindName(f.val))
				return
			}
			*dst = out
		}
	}
	// refuseTrue: a security setting vaultd does not implement. Accepting
	// it and then not acting on it would leave the operator believing in a
	// protection that is not there, so true is refused at start.
	refuseTrue := func(why string) func(*field) {
		return func(f *field) {
			if v, ok := d.boolean(f, where); ok && v {
				d.invalid(f.val.pos, "%s = true is not supported: %s", keyPath(where, f.key), why)
			}
		}
	}
	str := func(dst *string) func(*field) {
		return func(f *field) { *dst, _ = d.str(f, where) }
	}
	addr := func(dst *string) func(*field) {
		return func(f *field) {
			s, ok := d.str(f, where)
			if !ok {
				return
			}
			if err := checkHostPort(s); err != nil {
				d.invalid(f.val.pos, "%s: %v", keyPath(where, f.key), err)
				return
			}
			*dst = s
		}
	}
	boolean := func(dst *bool) func(*field) {
		return func(f *field) {
			if v, ok := d.boolean(f, where); ok {
				*dst = v
			}
		}
	}
	negated := func(dst *bool) func(*field) {
		return func(f *field) {
			if v, ok := d.boolean(f, where); ok {
				*dst = !v
			}
		}
	}
	tlsVersion := func(dst *string) func(*field) {
		return func(f *field) {
			s, ok := d.str(f, where)
			if !ok {
				return
			}
			if err := checkTLSVersion(s); err != nil {
				d.invalid(f.val.pos, "%s: %v", keyPath(where, f.key), err)
				return
			}
			*dst = s
		}
	}
	dur := func(dst *time.Duration) func(*field) {
		return func(f *field) {
			if t, ok := d.duration(f, where); ok {
				if t < 0 {
					d.invalid(f.val.pos, "%s: must not be negative", keyPath(where, f.key))
					return
				}
				*dst = t
			}
		}
	}
	d.walk(b.body, where, handlers{
		"type":                               func(*field) {}, // the label already says tcp
		"address":                            addr(&l.Address),
		"cluster_address":                    addr(&l.ClusterAddress),
		"tls_disable":                        boolean(&l.TLSDisable),
		"tls_cert_file":                      str(&l.TLSCertFile),
		"tls_key_file":                       str(&l.TLSKeyFile),
		"tls_client_ca_file":                 str(&l.TLSClientCAFile),
		"tls_min_version":                    tlsVersion(&l.TLSMinVersion),
		"tls_max_version":                    tlsVersion(&l.TLSMaxVersion),
		"tls_require_and_verify_client_cert": boolean(&l.TLSRequireAndVerifyClientCert),
		"tls_disable_client_certs":           boolean(&l.TLSDisableClientCerts),
		"tls_cipher_suites": func(f *field) {
			strList(&l.TLSCipherSuites)(f)
			if err := CheckCipherSuites(l.TLSCipherSuites); err != nil {
				d.invalid(f.val.pos, "%s: %v", keyPath(where, f.key), err)
			}
		},
		"x_forwarded_for_authorized_addrs": func(f *field) {
			strList(&l.XFFAuthorizedAddrs)(f)
			if err := checkAddrs(l.XFFAuthorizedAddrs); err != nil {
				d.invalid(f.val.pos, "%s: %v", keyPath(where, f.key), err)
			}
		},
		"x_forwarded_for_hop_skips": func(f *field) {
			if n, ok := d.integer(f, where, 0, 1<<16); ok {
				l.XFFHopSkips = int(n)
			}
		},
		"x_forwarded_for_reject_not_authorized":    negated(&l.XFFAllowNotAuthorized),
		"x_forwarded_for_reject_not_present":       negated(&l.XFFAllowNotPresent),
		"disable_unauthed_rekey_endpoints":         refuseTrue("vaultd always serves the unauthenticated rekey endpoints, as the Vault default does"),
		"disable_unauthed_generate_root_endpoints": refuseTrue("vaultd always serves the unauthenticated generate-root endpoints, as the Vault default does"),
		"disable_request_limiter":                  boolean(&l.DisableRequestLimiter),
		"max_request_size": func(f *field) {
			if n, ok := d.integer(f, where, math.MinInt64, math.MaxInt64); ok {
				l.MaxRequestSize = n
				if n < 0 {
					d.warnf(f.pos, "max_request_size < 0 in %s disables the request size limit", where)
				}
			}
		},
		"max_request_duration":     dur(&l.MaxRequestDuration),
		"http_idle_timeout":        dur(&l.HTTPIdleTimeout),
		"http_read_header_timeout": dur(&l.HTTPReadHeaderTimeout),
		"http_read_timeout":        dur(&l.HTTPReadTimeout),
		"http_write_timeout":       dur(&l.HTTPWriteTimeout),
		"telemetry": func(f *field) {
			for _, body := range d.blocks(f, "telemetry") {
				d.walk(body, where+" telemetry", handlers{
					"unauthenticated_metrics_access": boolean(&l.UnauthenticatedMetricsAccess),
				}, ignoredKeys{})
			}
		},
	}, listenerIgnored)
	if l.TLSDisable && (l.TLSCertFile != "" || l.TLSKeyFile != "" || l.TLSClientCAFile != "") {
		d.warnf(b.pos, "%s: tls_disable is set, so its TLS files are ignored", where)
	}
	l.applyDefaults()
	return l, true
}

// ---- service registration ----

// seal decodes a seal stanza other than "shamir". A seal type vaultd does
// not implement is refused, not ignored: ignoring it would leave the root
// key under a weaker protection than the operator asked for.
func (d *decoder) seal(b labelled) *Seal {
	typ := strings.ToLower(b.label)
	if typ != "transit" {
		d.invalid(b.pos, "seal %q is not supported: vaultd implements the shamir and transit seals, and will not start with a seal it cannot apply", b.label)
		return nil
	}
	sl := &Seal{Type: typ, at: d.loc(b.pos)}
	t := &sl.Transit
	where := fmt.Sprintf("seal %q", b.label)
	strf := func(dst *string) func(f *field) {
		return func(f *field) {
			if v, ok := d.str(f, where); ok {
				*dst = v
			}
		}
	}
	boolf := func(dst *bool) func(f *field) {
		return func(f *field) {
			if v, ok := d.boolean(f, where); ok {
				*dst = v
			}
		}
	}
	d.walk(b.body, where, handlers{
		"address":         strf(&t.Address),
		"mount_path":      strf(&t.MountPath),
		"key_name":        strf(&t.KeyName),
		"key_id_prefix":   strf(&t.KeyIDPrefix),
		"tls_ca_cert":     strf(&t.TLSCACert),
		"tls_client_cert": strf(&t.TLSClientCert),
		"tls_client_key":  strf(&t.TLSClientKey),
		"tls_server_name": strf(&t.TLSServerName),
		"tls_skip_verify": boolf(&t.TLSSkipVerify),
		"disable_renewal": boolf(&t.DisableRenewal),
		"disabled":        boolf(&sl.Disabled),
		"token": func(f *field) {
			if v, ok := d.str(f, where); ok {
				t.Token = Secret(v)
			}
		},
		"namespace": func(f *field) {
			if v, ok := d.str(f, where); ok && strings.Trim(v, "/ ") != "" {
				d.invalid(f.val.pos, "%s: namespace is not supported: vaultd has no namespaces, and the transit key must be in the root namespace", where)
			}
		},
	}, ignoredKeys{})
	return sl
}

func (d *decoder) serviceRegistration(b labelled) *ServiceRegistration {
	typ := strings.ToLower(b.label)
	if typ != "kubernetes" {
		d.warnf(b.pos, "unsupported stanza service_registration %q ignored: vaultd supports kubernetes", b.label)
		return nil
	}
	sr := &ServiceRegistration{Type: typ}
	where := fmt.Sprintf("service_registration %q", b.label)
	d.walk(b.body, where, handlers{
		"namespace": func(f *field) { sr.Namespace, _ = d.str(f, where) },
		"pod_name":  func(f *field) { sr.PodName, _ = d.str(f, where) },
	}, ignoredKeys{})
	return sr
}

// ---- typed values ----

func kindName(v *value) string {
	switch v.kind {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindList:
		return "a list"
	case kindObject:
		return "a stanza"
	default:
		return "null"
	}
}

// describe shows a value in a message: its kind, plus short scalars.
func describe(v *value) string {
	switch v.kind {
	case kindString:
		return strconv.Quote(clip(v.str))
	case kindNumber:
		return clip(v.str)
	case kindBool:
		return strconv.FormatBool(v.b)
	default:
		return kindName(v)
	}
}

// clip shortens s for a message.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (d *decoder) str(f *field, where string) (string, bool) {
	switch f.val.kind {
	case kindString:
		return f.val.str, true
	case kindNumber:
		return f.val.str, true // node_id = 1 means "1", as in Vault
	default:
		d.invalid(f.val.pos, "%s: expected a string, got %s", keyPath(where, f.key), kindName(f.val))
		return "", false
	}
}

// boolean accepts true/false, the strings strconv.ParseBool accepts ("1",
// "true", "FALSE", ...; "" is false) and numbers (non-zero is true), as
// Vault's weak decoding does.
func (d *decoder) boolean(f *field, where string) (bool, bool) {
	v := f.val
	switch v.kind {
	case kindBool:
		return v.b, true
	case kindString:
		s := strings.TrimSpace(v.str)
		if s == "" {
			return false, true
		}
		b, err := strconv.ParseBool(s)
		if err == nil {
			return b, true
		}
	case kindNumber:
		if n, err := parseInt(v); err == nil {
			return n != 0, true
		}
	}
	d.invalid(v.pos, "%s: expected a boolean, got %s", keyPath(where, f.key), describe(v))
	return false, false
}

// integer accepts numbers and decimal strings within [lo, hi].
func (d *decoder) integer(f *field, where string, lo, hi int64) (int64, bool) {
	v := f.val
	var n int64
	var err error
	switch v.kind {
	case kindNumber:
		n, err = parseInt(v)
	case kindString:
		s := strings.TrimSpace(v.str)
		if s == "" {
			n = 0
		} else {
			n, err = strconv.ParseInt(s, 10, 64)
		}
	default:
		err = errNotInteger
	}
	if err != nil {
		d.invalid(v.pos, "%s: expected an integer, got %s", keyPath(where, f.key), describe(v))
		return 0, false
	}
	if n < lo || n > hi {
		d.invalid(v.pos, "%s: %d is out of range [%d, %d]", keyPath(where, f.key), n, lo, hi)
		return 0, false
	}
	return n, true
}

var errNotInteger = errors.New("not an integer")

func parseInt(v *value) (int64, error) {
	if v.float {
		fl, err := strconv.ParseFloat(v.str, 64)
		if err != nil || fl != math.Trunc(fl) || fl < math.MinInt64 || fl >= math.MaxInt64 {
			return 0, errNotInteger
		}
		return int64(fl), nil
	}
	base := 10
	if v.hcl {
		base = 0 // HCL reads 0x1F and 017 as Go does
	}
	return strconv.ParseInt(v.str, base, 64)
}

func (d *decoder) duration(f *field, where string) (time.Duration, bool) {
	v := f.val
	var t time.Duration
	var err error
	switch v.kind {
	case kindNumber:
		var n int64
		if n, err = parseInt(v); err == nil {
			t, err = secondsToDuration(n)
		}
	case kindString:
		t, err = ParseDuration(v.str)
	default:
		err = errNotInteger
	}
	if err != nil {
		d.invalid(v.pos, "%s: expected a duration such as \"768h\", \"32d\" or a number of seconds, got %s",
			keyPath(where, f.key), describe(v))
		return 0, false
	}
	return t, true
}

// ParseDuration reads a duration the way Vault does: a Go duration
// ("768h", "1h30m"), a whole number of days ("32d"), or a whole number of
// seconds ("3600"). The empty string is zero.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return secondsToDuration(n)
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", clip(s))
		}
		if n > math.MaxInt64/int64(24*time.Hour) || n < math.MinInt64/int64(24*time.Hour) {
			return 0, fmt.Errorf("duration %q overflows", clip(s))
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	t, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", clip(s))
	}
	return t, nil
}

func secondsToDuration(n int64) (time.Duration, error) {
	if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
		return 0, fmt.Errorf("duration of %d seconds overflows", n)
	}
	return time.Duration(n) * time.Second, nil
}

// toMap converts a stanza kept verbatim (telemetry) into Go values. A key
// that repeats keeps its last value.
func toMap(v *value) map[string]any {
	m := make(map[string]any, len(v.obj))
	for _, f := range v.obj {
		m[f.key] = toAny(f.val)
	}
	return m
}

func toAny(v *value) any {
	switch v.kind {
	case kindString:
		return v.str
	case kindBool:
		return v.b
	case kindNumber:
		if !v.float {
			if n, err := parseInt(v); err == nil {
				return n
			}
		}
		if fl, err := strconv.ParseFloat(v.str, 64); err == nil {
			return fl
		}
		return v.str
	case kindList:
		l := make([]any, len(v.list))
		for i, e := range v.list {
			l[i] = toAny(e)
		}
		return l
	case kindObject:
		return toMap(v)
	default:
		return nil
	}
}
