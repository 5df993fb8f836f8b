package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Storage types.
const (
	StorageRaft  = "raft"
	StorageInmem = "inmem" // tests and -dev only: nothing survives a restart
)

// ListenerTCP is the only listener type vaultd serves.
const ListenerTCP = "tcp"

// Defaults, as documented by Vault.
const (
	DefaultListenerAddress       = "127.0.0.1:8200"
	DefaultMaxRequestSize  int64 = 32 << 20 // 32 MiB
	// MaxMaxRequestSize bounds max_request_size; a larger value is a typo
	// more often than an intention, and a limit is a memory bound.
	MaxMaxRequestSize         int64 = 1 << 30
	DefaultTLSMinVersion            = "tls12"
	DefaultTLSMaxVersion            = "tls13"
	DefaultMaxRequestDuration       = 90 * time.Second

	// DefaultPerformanceMultiplier is 3 (Vault: 5): at 1, a login storm on
	// a loaded 2-core host deposed the leader in 4 of 9 runs; at 3 in none
	// (docs/benchmarks.md). Failover takes ≈ 1.5–3 s; set 1 for sub-second
	// failover on a quiet LAN (docs/operations.md).
	DefaultPerformanceMultiplier = 3
	MaxPerformanceMultiplier     = 10
	DefaultTrailingLogs          = 10000
	DefaultSnapshotThreshold     = 8192
	// DefaultSnapshotInterval is how often raft checks snapshot_threshold
	// (Vault: 120 s). At 120 s a node taking 1.5 k writes/s logged ≈ 180 k
	// entries between checks, and bolt keeps the file at its peak size;
	// at 5 s the log is truncated soon after the threshold is reached
	// (docs/benchmarks.md, disk). raftstore raises the threshold for a
	// large state, so short checks do not rewrite a big state often.
	DefaultSnapshotInterval = 5 * time.Second
	DefaultMaxEntrySize     = 1 << 20

	DefaultLogLevel    = LogLevelInfo
	DefaultLeaseTTL    = 768 * time.Hour // 32 days
	DefaultMaxLeaseTTL = 768 * time.Hour

	// MaxConfigSize bounds one configuration document.
	MaxConfigSize = 4 << 20
)

// Log levels, in order of decreasing verbosity. Parse and ApplyEnv also
// accept Vault's aliases "notice" (info), "warning" (warn) and "err" (error).
const (
	LogLevelTrace = "trace"
	LogLevelDebug = "debug"
	LogLevelInfo  = "info"
	LogLevelWarn  = "warn"
	LogLevelError = "error"
)

// Log formats.
const (
	LogFormatStandard = "standard"
	LogFormatJSON     = "json"
)

// Sentinel errors. Every error from this package matches one of them with
// errors.Is; file I/O errors additionally match their fs sentinel.
var (
	// ErrSyntax: the document is not valid HCL or JSON.
	ErrSyntax = errors.New("config syntax error")
	// ErrInvalid: the document parses, but a value has the wrong type or a
	// setting is missing or out of range.
	ErrInvalid = errors.New("invalid config")
	// ErrUnsupportedStorage: a storage type other than raft (or inmem). It
	// also matches ErrInvalid.
	ErrUnsupportedStorage = fmt.Errorf("%w: unsupported storage type", ErrInvalid)
	// ErrNoEnvConfig: neither VAULTD_LOCAL_CONFIG nor VAULT_LOCAL_CONFIG is set.
	ErrNoEnvConfig = errors.New("no config document in VAULTD_LOCAL_CONFIG or VAULT_LOCAL_CONFIG")
	// ErrNoConfigFiles: a config directory holds no *.hcl or *.json file.
	ErrNoConfigFiles = errors.New("no *.hcl or *.json config files")
)

// Error is a configuration problem, located when the location is known.
type Error struct {
	File   string // file name, or "$VAULT_LOCAL_CONFIG"; "" when unknown
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	Msg    string // what is wrong, naming the setting (never a secret value)
	Kind   error  // ErrSyntax, ErrInvalid or ErrUnsupportedStorage
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if loc := location(e.File, e.Line, e.Column); loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the error's kind.
func (e *Error) Unwrap() error { return e.Kind }

func location(file string, line, col int) string {
	s := file
	if line > 0 {
		if s != "" {
			s += ":"
		}
		s += fmt.Sprint(line)
		if col > 0 {
			s += fmt.Sprintf(":%d", col)
		}
	}
	return s
}

// Secret holds key material read from the config (an inline
// leader_client_key). It never prints, logs or marshals its contents.
type Secret []byte

const redacted = "[redacted]"

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Config is a vaultd server configuration. The zero value of a top-level
// field means "not set": see ApplyDefaults.
type Config struct {
	Storage   *Storage
	Listeners []Listener

	APIAddr     string // URL advertised to clients, e.g. "https://vault-0:8200"
	ClusterAddr string // URL advertised to peers for raft and forwarding; the scheme is ignored

	DisableMlock bool   // accepted for compatibility; vaultd does not mlock
	UI           bool   // serve the web UI at /ui/ (package ui, docs/ui.md)
	LogLevel     string // one of the LogLevel constants
	LogFormat    string // one of the LogFormat constants, or "" (standard)

	DefaultLeaseTTL time.Duration
	MaxLeaseTTL     time.Duration

	ClusterName     string
	PluginDirectory string // accepted for compatibility; vaultd runs no plugins

	ServiceRegistration *ServiceRegistration

	// Seals are the seal stanzas other than "shamir" (the default): at most
	// one enabled auto seal, and at most one disabled one (disabled =
	// "true": the seal to migrate away from). Only "transit" is
	// implemented; any other type is refused.
	Seals []*Seal

	// RequestLimiter is the request_limiter stanza (Vault 1.16); nil means
	// the defaults (on).
	RequestLimiter *RequestLimiter
	// CPUPool is the cpu_pool stanza (vaultd); nil means the defaults (on).
	CPUPool *CPUPool

	// Telemetry is the telemetry stanza as parsed (strings, int64, float64,
	// bool, []any, map[string]any); TelemetrySettings is what vaultd
	// applies of it (telemetry.go), the other keys are warned about.
	Telemetry map[string]any

	// Warnings lists ignored input: unknown or unsupported stanzas and
	// keys, auto_join. Each names its file and line. The
	// server should log them at warn level.
	Warnings []string

	// origin maps a top-level key ("api_addr") to where its value came from
	// (a file and line, or "$VAULT_API_ADDR"). Merge uses it to tell an
	// explicit false from an absent boolean; Validate uses it in messages.
	origin map[string]loc
}

// Storage is the storage stanza.
type Storage struct {
	Type string // StorageRaft or StorageInmem

	// Raft settings; Parse fills the defaults of the numeric ones.
	Path                       string
	NodeID                     string // "" → the server generates and persists one
	PerformanceMultiplier      int
	TrailingLogs               uint64
	SnapshotThreshold          uint64
	SnapshotInterval           time.Duration
	MaxEntrySize               uint64
	AutopilotReconcileInterval time.Duration // 0 → the raft store's default
	AutopilotUpdateInterval    time.Duration // 0 → the raft store's default
	RetryJoin                  []RetryJoin

	at loc // where the stanza is
}

// RetryJoin is one retry_join block of the raft storage stanza.
type RetryJoin struct {
	LeaderAPIAddr       string
	LeaderTLSServerName string

	// TLS material either as files...
	LeaderCACertFile     string
	LeaderClientCertFile string
	LeaderClientKeyFile  string
	// ...or inline PEM, but not both in one block.
	LeaderCACert     string
	LeaderClientCert string
	LeaderClientKey  Secret

	// Cloud auto-join (go-discover) is not supported: these are kept so the
	// server can say so, and an entry with only AutoJoin is never dialled.
	AutoJoin       string
	AutoJoinScheme string
	AutoJoinPort   uint16

	at loc
}

// Listener is a listener stanza.
type Listener struct {
	Type           string // ListenerTCP
	Address        string // host:port
	ClusterAddress string // host:port; "" → Address's port + 1 (see ClusterListenAddress)

	TLSDisable                    bool
	TLSCertFile                   string
	TLSKeyFile                    string
	TLSClientCAFile               string
	TLSMinVersion                 string // "tls12" or "tls13"
	TLSMaxVersion                 string
	TLSRequireAndVerifyClientCert bool
	TLSDisableClientCerts         bool
	// TLSCipherSuites are Go cipher suite names (TLS 1.2; TLS 1.3 suites
	// are not configurable in Go and are refused). Empty: Go's defaults.
	TLSCipherSuites []string

	// X-Forwarded-For handling, as Vault: when the connecting address is in
	// XFFAuthorizedAddrs the client address is taken from the header.
	XFFAuthorizedAddrs []string // CIDRs or addresses
	XFFHopSkips        int
	// XFFAllowNotAuthorized is x_forwarded_for_reject_not_authorized =
	// false, XFFAllowNotPresent is x_forwarded_for_reject_not_present =
	// false: stored negated so that the zero value is Vault's default
	// (reject).
	XFFAllowNotAuthorized bool
	XFFAllowNotPresent    bool

	// MaxRequestSize is the request body limit in bytes: Parse turns 0 into
	// DefaultMaxRequestSize and any negative value into -1, "no limit".
	// RequestSizeLimit interprets it.
	MaxRequestSize     int64
	MaxRequestDuration time.Duration // 0 → DefaultMaxRequestDuration

	HTTPIdleTimeout       time.Duration // 0 → the server's default
	HTTPReadHeaderTimeout time.Duration
	HTTPReadTimeout       time.Duration
	HTTPWriteTimeout      time.Duration

	// UnauthenticatedMetricsAccess is telemetry { unauthenticated_metrics_access }.
	UnauthenticatedMetricsAccess bool

	// DisableRequestLimiter turns the request limiter off for this
	// listener (Vault 1.16's disable_request_limiter).
	DisableRequestLimiter bool

	at loc
}

// RequestLimiter is the request_limiter stanza: the adaptive concurrency
// limit of the HTTP request path (see package admission). Zero limits take
// the defaults (32 and 4096).
type RequestLimiter struct {
	Disable            bool
	MinLimit, MaxLimit int
}

// CPUPool is the cpu_pool stanza: the bounded pool CPU-heavy work (bcrypt,
// RSA) runs in. Zero values take the defaults: Size = the cores
// (GOMAXPROCS), Queue = 4·Size, MaxWait = 2s.
type CPUPool struct {
	Disable     bool
	Size, Queue int
	MaxWait     time.Duration
}

// Seal is a seal stanza.
type Seal struct {
	Type     string // "transit"
	Disabled bool   // the seal to migrate away from
	Transit  TransitSeal
	at       loc
	envErr   string // a bad override from the environment (Validate refuses it)
}

// TransitSeal is a seal "transit" stanza. Token, KeyName, MountPath and
// DisableRenewal may come from VAULT_TRANSIT_SEAL_TOKEN,
// VAULT_TRANSIT_SEAL_KEY_NAME, VAULT_TRANSIT_SEAL_MOUNT_PATH and
// VAULT_TRANSIT_SEAL_DISABLE_RENEWAL (see ApplyEnv).
type TransitSeal struct {
	Address        string
	Token          Secret
	MountPath      string
	KeyName        string
	KeyIDPrefix    string
	TLSCACert      string
	TLSClientCert  string
	TLSClientKey   string
	TLSServerName  string
	TLSSkipVerify  bool
	DisableRenewal bool
}

// EnabledSeal returns the enabled auto seal stanza, or nil (Shamir).
func (c *Config) EnabledSeal() *Seal {
	for _, s := range c.Seals {
		if !s.Disabled {
			return s
		}
	}
	return nil
}

// DisabledSeal returns the disabled auto seal stanza (a migration away
// from it), or nil.
func (c *Config) DisabledSeal() *Seal {
	for _, s := range c.Seals {
		if s.Disabled {
			return s
		}
	}
	return nil
}

// ServiceRegistration is a service_registration "kubernetes" stanza. The
// server may take Namespace and PodName from VAULT_K8S_NAMESPACE and
// VAULT_K8S_POD_NAME instead (see ApplyEnv), as Vault's Helm chart does.
type ServiceRegistration struct {
	Type      string // "kubernetes"
	Namespace string
	PodName   string
}

// RequestSizeLimit returns the listener's request body limit in bytes and
// whether there is a limit at all.
func (l *Listener) RequestSizeLimit() (n int64, limited bool) {
	switch {
	case l.MaxRequestSize < 0:
		return 0, false
	case l.MaxRequestSize == 0:
		return DefaultMaxRequestSize, true
	default:
		return l.MaxRequestSize, true
	}
}

// LogValue summarises the configuration for a log line. It leaves out the
// telemetry stanza (which may hold credentials) and never shows a Secret.
func (c *Config) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("<nil>")
	}
	attrs := []slog.Attr{
		slog.String("api_addr", c.APIAddr),
		slog.String("cluster_addr", c.ClusterAddr),
		slog.String("log_level", c.LogLevel),
		slog.Bool("ui", c.UI),
	}
	if s := c.Storage; s != nil {
		attrs = append(attrs, slog.Group("storage",
			slog.String("type", s.Type),
			slog.String("path", s.Path),
			slog.String("node_id", s.NodeID),
			slog.Int("retry_join", len(s.RetryJoin)),
		))
	}
	addrs := make([]string, 0, len(c.Listeners))
	for _, l := range c.Listeners {
		scheme := "https"
		if l.TLSDisable {
			scheme = "http"
		}
		addrs = append(addrs, scheme+"://"+l.Address)
	}
	attrs = append(attrs, slog.Any("listeners", addrs), slog.Int("warnings", len(c.Warnings)))
	return slog.GroupValue(attrs...)
}

// SlogLevel maps LogLevel to a slog level: trace is slog.LevelDebug-4, and
// an empty or unknown level is info.
func (c *Config) SlogLevel() slog.Level {
	switch c.LogLevel {
	case LogLevelTrace:
		return slog.LevelDebug - 4
	case LogLevelDebug:
		return slog.LevelDebug
	case LogLevelWarn:
		return slog.LevelWarn
	case LogLevelError:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// DevConfig returns the configuration of `vaultd server -dev`: in-memory
// storage and one plain-HTTP listener on 127.0.0.1:8200.
func DevConfig() *Config {
	c := &Config{
		Storage: &Storage{Type: StorageInmem},
		Listeners: []Listener{{
			Type:       ListenerTCP,
			Address:    DefaultListenerAddress,
			TLSDisable: true,
		}},
		APIAddr:      "http://" + DefaultListenerAddress,
		DisableMlock: true,
		UI:           true,
	}
	c.ApplyDefaults()
	return c
}

// normalizeLogLevel maps Vault's spellings to the canonical level; ok is
// false when s is not a level.
func normalizeLogLevel(s string) (level string, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return LogLevelTrace, true
	case "debug":
		return LogLevelDebug, true
	case "info", "notice":
		return LogLevelInfo, true
	case "warn", "warning":
		return LogLevelWarn, true
	case "err", "error":
		return LogLevelError, true
	}
	return s, false
}
