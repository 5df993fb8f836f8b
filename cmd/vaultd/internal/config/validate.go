package config

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ApplyDefaults fills every unset setting with Vault's default. It is
// idempotent. A DefaultLeaseTTL left unset next to a MaxLeaseTTL below 768h
// becomes MaxLeaseTTL (Vault would refuse to start instead).
func (c *Config) ApplyDefaults() {
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.LogFormat == "" {
		c.LogFormat = LogFormatStandard
	}
	if c.MaxLeaseTTL == 0 {
		c.MaxLeaseTTL = DefaultMaxLeaseTTL
	}
	if c.DefaultLeaseTTL == 0 {
		c.DefaultLeaseTTL = min(DefaultLeaseTTL, c.MaxLeaseTTL)
	}
	if c.Storage != nil {
		c.Storage.applyDefaults()
	}
	for i := range c.Listeners {
		c.Listeners[i].applyDefaults()
	}
}

func (s *Storage) applyDefaults() {
	if s.Type != StorageRaft {
		return
	}
	if s.PerformanceMultiplier == 0 {
		s.PerformanceMultiplier = DefaultPerformanceMultiplier
	}
	if s.TrailingLogs == 0 {
		s.TrailingLogs = DefaultTrailingLogs
	}
	if s.SnapshotThreshold == 0 {
		s.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if s.SnapshotInterval == 0 {
		s.SnapshotInterval = DefaultSnapshotInterval
	}
	if s.MaxEntrySize == 0 {
		s.MaxEntrySize = DefaultMaxEntrySize
	}
}

func (l *Listener) applyDefaults() {
	if l.Address == "" {
		l.Address = DefaultListenerAddress
	}
	switch {
	case l.MaxRequestSize == 0:
		l.MaxRequestSize = DefaultMaxRequestSize
	case l.MaxRequestSize < 0:
		l.MaxRequestSize = -1
	}
	if l.TLSMinVersion == "" {
		l.TLSMinVersion = DefaultTLSMinVersion
	}
	if l.TLSMaxVersion == "" {
		l.TLSMaxVersion = DefaultTLSMaxVersion
	}
	if l.MaxRequestDuration == 0 {
		l.MaxRequestDuration = DefaultMaxRequestDuration
	}
}

// ClusterListenAddress is the host:port the listener's cluster port binds:
// cluster_address, or else address with the port plus one (Vault's rule; a
// port of 0 stays 0, "any free port").
func (l *Listener) ClusterListenAddress() (string, error) {
	if l.ClusterAddress != "" {
		return l.ClusterAddress, nil
	}
	addr := l.Address
	if addr == "" {
		addr = DefaultListenerAddress
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%w: listener address %q is not host:port", ErrInvalid, clip(addr))
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p >= 65535 {
		return "", fmt.Errorf("%w: no cluster port follows listener address %q; set cluster_address", ErrInvalid, clip(addr))
	}
	if p > 0 {
		p++
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// Validate checks that the configuration can run a server: storage, at
// least one listener, consistent TLS settings, well-formed addresses and
// ranges. It reports every problem it finds, joined, each an *Error
// matching ErrInvalid (ErrUnsupportedStorage for a storage type) that names
// where the setting came from when that is known. Unset values count as
// their defaults, so Validate may run before or after ApplyDefaults.
func (c *Config) Validate() error {
	if c == nil {
		return &Error{Kind: ErrInvalid, Msg: "no configuration"}
	}
	v := &validator{c: c}
	v.storage()
	v.listeners()
	v.url("api_addr", c.APIAddr, false)
	v.url("cluster_addr", c.ClusterAddr, true)
	if c.LogLevel != "" {
		if lvl, ok := normalizeLogLevel(c.LogLevel); !ok || lvl != c.LogLevel {
			v.top("log_level", "%q is not one of trace, debug, info, warn, error", clip(c.LogLevel))
		}
	}
	if err := checkLogFormat(c.LogFormat); err != nil {
		v.top("log_format", "%v", err)
	}
	if c.DefaultLeaseTTL < 0 {
		v.top("default_lease_ttl", "must not be negative")
	}
	if c.MaxLeaseTTL < 0 {
		v.top("max_lease_ttl", "must not be negative")
	}
	maxTTL := c.MaxLeaseTTL
	if maxTTL == 0 {
		maxTTL = DefaultMaxLeaseTTL
	}
	if c.DefaultLeaseTTL > maxTTL {
		v.top("default_lease_ttl", "%s is longer than max_lease_ttl %s", c.DefaultLeaseTTL, maxTTL)
	}
	if sr := c.ServiceRegistration; sr != nil && sr.Type != "kubernetes" {
		v.add(loc{}, ErrInvalid, "service_registration type %q is not supported (vaultd supports kubernetes)", clip(sr.Type))
	}
	v.seals()
	return errors.Join(v.errs...)
}

// seals checks the seal stanzas after the environment overrides: a transit
// seal needs an address, a token, a mount path and a key name.
func (v *validator) seals() {
	for _, sl := range v.c.Seals {
		if sl.Type != "transit" {
			v.add(sl.at, ErrInvalid, "seal %q is not supported", clip(sl.Type))
			continue
		}
		if sl.envErr != "" {
			v.add(sl.at, ErrInvalid, "seal %q: %s", sl.Type, sl.envErr)
		}
		t := sl.Transit
		var missing []string
		if strings.TrimSpace(t.Address) == "" {
			missing = append(missing, "address")
		}
		if len(t.Token) == 0 {
			missing = append(missing, "token (or $"+EnvTransitSealToken+")")
		}
		if strings.Trim(t.MountPath, "/ ") == "" {
			missing = append(missing, "mount_path")
		}
		if strings.TrimSpace(t.KeyName) == "" {
			missing = append(missing, "key_name")
		}
		if len(missing) > 0 {
			v.add(sl.at, ErrInvalid, "seal \"transit\": missing %s", strings.Join(missing, ", "))
		} else if err := checkURL(t.Address, false); err != nil {
			v.add(sl.at, ErrInvalid, "seal \"transit\": address: %v", err)
		}
		if (t.TLSClientCert == "") != (t.TLSClientKey == "") {
			v.add(sl.at, ErrInvalid, "seal \"transit\": tls_client_cert and tls_client_key go together")
		}
	}
}

// loc is where a setting came from: a file and line, or an environment
// variable (file "$VAULT_API_ADDR", line 0).
type loc struct {
	file string
	line int
}

type validator struct {
	c    *Config
	errs []error
}

func (v *validator) add(at loc, kind error, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: at.file, Line: at.line, Kind: kind, Msg: fmt.Sprintf(format, args...)})
}

// top reports a problem with a top-level setting, located by its origin.
func (v *validator) top(key, format string, args ...any) {
	v.add(v.c.origin[key], ErrInvalid, key+": "+format, args...)
}

func (v *validator) url(key, raw string, requirePort bool) {
	if err := checkURL(raw, requirePort); err != nil {
		v.top(key, "%v", err)
	}
}

func (v *validator) storage() {
	s := v.c.Storage
	if s == nil {
		v.add(loc{}, ErrInvalid, `a storage stanza is required, e.g. storage "raft" { path = "/vault/data" }`)
		return
	}
	where := fmt.Sprintf("storage %q", s.Type)
	switch s.Type {
	case StorageInmem:
		return
	case StorageRaft:
	default:
		v.add(s.at, ErrUnsupportedStorage, "storage type %q is not supported (vaultd supports raft)", clip(s.Type))
		return
	}
	if strings.TrimSpace(s.Path) == "" {
		v.add(s.at, ErrInvalid, "%s: path is required (or set VAULT_RAFT_PATH)", where)
	}
	if err := checkNodeID(s.NodeID); err != nil {
		v.add(s.at, ErrInvalid, "%s: node_id: %v", where, err)
	}
	if s.PerformanceMultiplier < 0 || s.PerformanceMultiplier > MaxPerformanceMultiplier {
		v.add(s.at, ErrInvalid, "%s: performance_multiplier %d is out of range [0, %d]", where, s.PerformanceMultiplier, MaxPerformanceMultiplier)
	}
	if s.SnapshotInterval < 0 || s.AutopilotReconcileInterval < 0 || s.AutopilotUpdateInterval < 0 {
		v.add(s.at, ErrInvalid, "%s: intervals must not be negative", where)
	}
	if v.c.ClusterAddr == "" {
		v.add(loc{}, ErrInvalid, "cluster_addr is required with raft storage (or set VAULT_CLUSTER_ADDR), e.g. cluster_addr = \"https://10.0.0.1:8201\"")
	}
	for i := range s.RetryJoin {
		v.retryJoin(&s.RetryJoin[i], fmt.Sprintf("retry_join #%d", i+1))
	}
}

func (v *validator) retryJoin(r *RetryJoin, where string) {
	switch {
	case r.LeaderAPIAddr == "" && r.AutoJoin == "":
		v.add(r.at, ErrInvalid, "%s: leader_api_addr is required", where)
	case r.LeaderAPIAddr != "" && r.AutoJoin != "":
		v.add(r.at, ErrInvalid, "%s: set leader_api_addr or auto_join, not both", where)
	}
	if err := checkURL(r.LeaderAPIAddr, false); err != nil {
		v.add(r.at, ErrInvalid, "%s: leader_api_addr: %v", where, err)
	}
	files := r.LeaderCACertFile != "" || r.LeaderClientCertFile != "" || r.LeaderClientKeyFile != ""
	inline := r.LeaderCACert != "" || r.LeaderClientCert != "" || len(r.LeaderClientKey) > 0
	if files && inline {
		v.add(r.at, ErrInvalid, "%s: give TLS material as leader_*_file paths or inline, not both", where)
	}
	if (r.LeaderClientCertFile == "") != (r.LeaderClientKeyFile == "") {
		v.add(r.at, ErrInvalid, "%s: leader_client_cert_file and leader_client_key_file go together", where)
	}
	if (r.LeaderClientCert == "") != (len(r.LeaderClientKey) == 0) {
		v.add(r.at, ErrInvalid, "%s: leader_client_cert and leader_client_key go together", where)
	}
	// Inline material must at least be PEM; its content is never shown.
	if r.LeaderCACert != "" && !isPEM([]byte(r.LeaderCACert)) {
		v.add(r.at, ErrInvalid, "%s: leader_ca_cert is not PEM", where)
	}
	if r.LeaderClientCert != "" && !isPEM([]byte(r.LeaderClientCert)) {
		v.add(r.at, ErrInvalid, "%s: leader_client_cert is not PEM", where)
	}
	if len(r.LeaderClientKey) > 0 && !isPEM(r.LeaderClientKey) {
		v.add(r.at, ErrInvalid, "%s: leader_client_key is not PEM", where)
	}
}

func isPEM(b []byte) bool {
	blk, _ := pem.Decode(b)
	return blk != nil
}

func (v *validator) listeners() {
	if len(v.c.Listeners) == 0 {
		v.add(loc{}, ErrInvalid, `at least one listener stanza is required, e.g. listener "tcp" { address = "0.0.0.0:8200" }`)
		return
	}
	seen := make(map[string]int)
	for i := range v.c.Listeners {
		l := &v.c.Listeners[i]
		where := fmt.Sprintf("listener #%d (%q)", i+1, l.Type)
		if l.Type != ListenerTCP {
			v.add(l.at, ErrInvalid, "listener type %q is not supported (vaultd supports tcp)", clip(l.Type))
			continue
		}
		addr := l.Address
		if addr == "" {
			addr = DefaultListenerAddress
		}
		if err := checkHostPort(addr); err != nil {
			v.add(l.at, ErrInvalid, "%s: address: %v", where, err)
		} else if prev, dup := seen[addr]; dup && !strings.HasSuffix(addr, ":0") {
			v.add(l.at, ErrInvalid, "%s: address %s is also used by listener #%d", where, addr, prev)
		} else {
			seen[addr] = i + 1
		}
		if l.ClusterAddress != "" {
			if err := checkHostPort(l.ClusterAddress); err != nil {
				v.add(l.at, ErrInvalid, "%s: cluster_address: %v", where, err)
			}
		}
		if !l.TLSDisable && (l.TLSCertFile == "" || l.TLSKeyFile == "") {
			v.add(l.at, ErrInvalid, "%s: tls_cert_file and tls_key_file are both required unless tls_disable = true", where)
		}
		if l.TLSRequireAndVerifyClientCert && l.TLSDisableClientCerts {
			v.add(l.at, ErrInvalid, "%s: tls_require_and_verify_client_cert and tls_disable_client_certs are mutually exclusive", where)
		}
		minV, maxV := l.TLSMinVersion, l.TLSMaxVersion
		if minV == "" {
			minV = DefaultTLSMinVersion
		}
		if maxV == "" {
			maxV = DefaultTLSMaxVersion
		}
		errMin, errMax := checkTLSVersion(minV), checkTLSVersion(maxV)
		if errMin != nil {
			v.add(l.at, ErrInvalid, "%s: tls_min_version: %v", where, errMin)
		}
		if errMax != nil {
			v.add(l.at, ErrInvalid, "%s: tls_max_version: %v", where, errMax)
		}
		if errMin == nil && errMax == nil && minV > maxV {
			v.add(l.at, ErrInvalid, "%s: tls_min_version %s is above tls_max_version %s", where, minV, maxV)
		}
		if err := CheckCipherSuites(l.TLSCipherSuites); err != nil {
			v.add(l.at, ErrInvalid, "%s: tls_cipher_suites: %v", where, err)
		}
		if err := checkAddrs(l.XFFAuthorizedAddrs); err != nil {
			v.add(l.at, ErrInvalid, "%s: x_forwarded_for_authorized_addrs: %v", where, err)
		}
		if l.XFFHopSkips < 0 {
			v.add(l.at, ErrInvalid, "%s: x_forwarded_for_hop_skips must not be negative", where)
		}
		if l.MaxRequestSize > MaxMaxRequestSize {
			v.add(l.at, ErrInvalid, "%s: max_request_size %d is above %d bytes (use a negative value for no limit)", where, l.MaxRequestSize, MaxMaxRequestSize)
		}
		if l.MaxRequestDuration < 0 || l.HTTPIdleTimeout < 0 || l.HTTPReadHeaderTimeout < 0 || l.HTTPReadTimeout < 0 || l.HTTPWriteTimeout < 0 {
			v.add(l.at, ErrInvalid, "%s: durations must not be negative", where)
		}
	}
}

// ---- single-setting checks, shared by Parse (with a line) and Validate ----

// checkURL accepts "" (unset) or an absolute http(s) URL with a host and no
// path, query, fragment or user info. requirePort also demands a port.
func checkURL(raw string, requirePort bool) error {
	if raw == "" {
		return nil
	}
	if strings.Contains(raw, "{{") {
		return fmt.Errorf("%q: go-sockaddr templates are not supported", clip(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", clip(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must be a URL starting with http:// or https://", clip(raw))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q has no host", clip(raw))
	}
	if u.User != nil {
		return fmt.Errorf("%q must not contain user info", clip(raw))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return fmt.Errorf("%q must not have a path, query or fragment", clip(raw))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q has an invalid port", clip(raw))
		}
	} else if requirePort {
		return fmt.Errorf("%q needs a port, e.g. https://10.0.0.1:8201", clip(raw))
	}
	return nil
}

// checkHostPort accepts host:port with a numeric port (0 means any free
// port) and an empty host meaning every interface.
func checkHostPort(addr string) error {
	if strings.Contains(addr, "{{") {
		return fmt.Errorf("%q: go-sockaddr templates are not supported", clip(addr))
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", clip(addr))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has an invalid port", clip(addr))
	}
	if strings.ContainsAny(host, " /\t\n") {
		return fmt.Errorf("%q has an invalid host", clip(addr))
	}
	return nil
}

// maxNodeIDLen bounds node_id; Vault's generated IDs are 36-character UUIDs.
const maxNodeIDLen = 128

// checkNodeID accepts "" (the server generates an ID) or letters, digits,
// '.', '_' and '-'. The ID becomes part of storage keys and raft server IDs.
func checkNodeID(id string) error {
	if id == "" {
		return nil
	}
	if len(id) > maxNodeIDLen {
		return fmt.Errorf("longer than %d characters", maxNodeIDLen)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("%q is not a valid node ID", id)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return fmt.Errorf("%q may only contain letters, digits, '.', '_' and '-'", clip(id))
		}
	}
	return nil
}

func checkTLSVersion(s string) error {
	switch s {
	case "tls12", "tls13":
		return nil
	case "tls10", "tls11":
		return fmt.Errorf("%s is not supported: TLS 1.0 and 1.1 are insecure; use tls12 or tls13", s)
	default:
		return fmt.Errorf("%q is not tls12 or tls13", clip(s))
	}
}

func checkLogFormat(s string) error {
	switch s {
	case "", LogFormatStandard, LogFormatJSON:
		return nil
	}
	return fmt.Errorf("%q is not standard or json", clip(s))
}

// CheckCipherSuites accepts the names of Go's secure TLS 1.2 cipher
// suites. TLS 1.3 suites cannot be chosen in Go and insecure ones are
// refused, so that no listed suite is silently left out.
func CheckCipherSuites(names []string) error {
	_, err := CipherSuiteIDs(names)
	return err
}

// CipherSuiteIDs maps cipher suite names to their IDs (see CheckCipherSuites).
func CipherSuiteIDs(names []string) ([]uint16, error) {
	var ids []uint16
	for _, n := range names {
		id, ok := uint16(0), false
		for _, cs := range tls.CipherSuites() {
			if cs.Name == n {
				id, ok = cs.ID, true
				if len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13 {
					return nil, fmt.Errorf("%s is a TLS 1.3 cipher suite; TLS 1.3 suites are not configurable", n)
				}
			}
		}
		if !ok {
			for _, cs := range tls.InsecureCipherSuites() {
				if cs.Name == n {
					return nil, fmt.Errorf("%s is insecure and not supported", n)
				}
			}
			return nil, fmt.Errorf("%q is not a known cipher suite name", clip(n))
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// checkAddrs accepts IP addresses and CIDRs.
func checkAddrs(addrs []string) error {
	_, err := ParsePrefixes(addrs)
	return err
}

// ParsePrefixes parses IP addresses (as /32 or /128) and CIDRs.
func ParsePrefixes(addrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR", clip(a))
		}
		ip = ip.Unmap()
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}
