package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Errors returned by this package.
var (
	// ErrAllDevicesFailed: devices are enabled but none recorded the entry.
	// Core turns it into a failed request (fail closed).
	ErrAllDevicesFailed = errors.New("audit: no enabled audit device recorded the entry")
	// ErrUnknownDevice: no device is registered at that path.
	ErrUnknownDevice = errors.New("audit: no audit device at this path")
	// ErrInvalidConfig: a device type or option is not supported.
	ErrInvalidConfig = errors.New("audit: invalid device configuration")
	// ErrClosed: the device was closed.
	ErrClosed = errors.New("audit: device is closed")
)

// Device writes formatted audit lines somewhere. Implementations are safe
// for concurrent use.
type Device interface {
	// Write writes one complete line (JSON plus a trailing newline) or
	// fails; it never writes part of a line on purpose.
	Write(ctx context.Context, line []byte) error
	// Reopen closes and reopens the underlying file (log rotation). It is a
	// no-op for devices without a file.
	Reopen() error
	// Close releases the device. Later writes fail with ErrClosed.
	Close() error
}

// Auth describes the token a request used, or the token a response
// issued. ClientToken and Accessor are hashed before they are written.
type Auth struct {
	ClientToken    string
	Accessor       string
	DisplayName    string
	Policies       []string
	TokenPolicies  []string
	Metadata       map[string]string
	NumUses        int
	EntityID       string
	TokenType      string
	TokenTTL       int64 // seconds
	TokenIssueTime time.Time
	Orphan         bool
}

// Request is the audited view of a request.
type Request struct {
	ID                  string
	Operation           string
	MountType           string
	MountPoint          string
	Path                string
	Data                map[string]any
	ClientToken         string
	ClientTokenAccessor string
	RemoteAddress       string
	WrapTTL             time.Duration
}

// WrapInfo is a response-wrapping token handed to the client.
type WrapInfo struct {
	Token           string
	Accessor        string
	TTL             time.Duration
	CreationTime    time.Time
	CreationPath    string
	WrappedAccessor string
}

// Response is the audited view of a response.
type Response struct {
	MountType  string
	MountPoint string
	Data       map[string]any
	Auth       *Auth
	WrapInfo   *WrapInfo
	Warnings   []string
}

// Input is one audit event. Auth is the caller's token (nil for an
// unauthenticated request), Response is nil for a request entry, Error is
// the request's error text, if any.
type Input struct {
	Time     time.Time
	Auth     *Auth
	Request  *Request
	Response *Response
	Error    string
}

// Options tune how one device formats entries.
type Options struct {
	// HMACAccessor hashes accessors (Vault's default: true).
	HMACAccessor bool
	// ElideListResponses replaces the "keys" of list responses by their
	// count, as Vault's elide_list_responses does.
	ElideListResponses bool
}

type backend struct {
	dev  Device
	h    *Hasher
	opts Options
}

// Broker fans entries out to the registered devices.
type Broker struct {
	log *slog.Logger

	mu       sync.RWMutex // guards backends
	backends map[string]*backend
}

// NewBroker returns an empty broker. A nil logger discards.
func NewBroker(log *slog.Logger) *Broker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Broker{log: log.With("component", "audit"), backends: map[string]*backend{}}
}

// Register adds (or replaces) the device at path, hashing with salt. The
// broker owns dev from now on and closes it on Deregister or Close. The
// salt is copied.
func (b *Broker) Register(path string, dev Device, salt []byte, opts Options) {
	be := &backend{dev: dev, h: NewHasher(salt), opts: opts}
	b.mu.Lock()
	old := b.backends[path]
	b.backends[path] = be
	b.mu.Unlock()
	if old != nil {
		_ = old.dev.Close()
		old.h.zero()
	}
}

// Deregister removes and closes the device at path (ErrUnknownDevice when
// there is none).
func (b *Broker) Deregister(path string) error {
	b.mu.Lock()
	be, ok := b.backends[path]
	delete(b.backends, path)
	b.mu.Unlock()
	if !ok {
		return ErrUnknownDevice
	}
	be.h.zero()
	return be.dev.Close()
}

// Close closes every device. The broker is empty afterwards.
func (b *Broker) Close() {
	b.mu.Lock()
	bes := b.backends
	b.backends = map[string]*backend{}
	b.mu.Unlock()
	for path, be := range bes {
		if err := be.dev.Close(); err != nil {
			b.log.Warn("closing audit device", "path", path, "error", err)
		}
		be.h.zero()
	}
}

// Enabled reports whether any device is registered.
func (b *Broker) Enabled() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.backends) > 0
}

// Paths lists the registered device paths, sorted.
func (b *Broker) Paths() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]string, 0, len(b.backends))
	for p := range b.backends {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Hash returns the HMAC the device at path writes for input
// ("hmac-sha256:<hex>").
func (b *Broker) Hash(path, input string) (string, error) {
	b.mu.RLock()
	be, ok := b.backends[path]
	b.mu.RUnlock()
	if !ok {
		return "", ErrUnknownDevice
	}
	return be.h.Hash(input), nil
}

// Reopen reopens every device's file (log rotation). It returns the
// first error but tries every device.
func (b *Broker) Reopen() error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var first error
	for path, be := range b.backends {
		if err := be.dev.Reopen(); err != nil {
			b.log.Error("reopening audit device", "path", path, "error", err)
			if first == nil {
				first = fmt.Errorf("audit: reopen %s: %w", path, err)
			}
		}
	}
	return first
}

// LogRequest records a request entry on every device.
func (b *Broker) LogRequest(ctx context.Context, in *Input) error {
	return b.log1(ctx, "request", in)
}

// LogResponse records a response entry on every device.
func (b *Broker) LogResponse(ctx context.Context, in *Input) error {
	return b.log1(ctx, "response", in)
}

func (b *Broker) log1(ctx context.Context, typ string, in *Input) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.backends) == 0 {
		return nil
	}
	ok := 0
	for path, be := range b.backends {
		line, err := be.format(typ, in)
		if err != nil {
			// The cause names no value: formatting errors come from types.
			b.log.Error("formatting audit entry", "path", path, "error", err)
			continue
		}
		if err := be.dev.Write(ctx, line); err != nil {
			b.log.Error("writing audit entry", "path", path, "error", err)
			continue
		}
		ok++
	}
	if ok == 0 {
		return ErrAllDevicesFailed
	}
	return nil
}

// ---- entry format (Vault's JSON audit shape) ----

type entry struct {
	Time     string         `json:"time"`
	Type     string         `json:"type"`
	Auth     *entryAuth     `json:"auth,omitempty"`
	Request  *entryRequest  `json:"request,omitempty"`
	Response *entryResponse `json:"response,omitempty"`
	Error    string         `json:"error,omitempty"`
}

type entryAuth struct {
	ClientToken    string            `json:"client_token,omitempty"`
	Accessor       string            `json:"accessor,omitempty"`
	DisplayName    string            `json:"display_name,omitempty"`
	Policies       []string          `json:"policies,omitempty"`
	TokenPolicies  []string          `json:"token_policies,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	NumUses        int               `json:"num_uses,omitempty"`
	EntityID       string            `json:"entity_id,omitempty"`
	TokenType      string            `json:"token_type,omitempty"`
	TokenTTL       int64             `json:"token_ttl,omitempty"`
	TokenIssueTime string            `json:"token_issue_time,omitempty"`
	Orphan         bool              `json:"orphan,omitempty"`
}

type entryNamespace struct {
	ID string `json:"id"`
}

type entryRequest struct {
	ID                  string          `json:"id,omitempty"`
	Operation           string          `json:"operation,omitempty"`
	MountType           string          `json:"mount_type,omitempty"`
	MountPoint          string          `json:"mount_point,omitempty"`
	ClientToken         string          `json:"client_token,omitempty"`
	ClientTokenAccessor string          `json:"client_token_accessor,omitempty"`
	Namespace           *entryNamespace `json:"namespace,omitempty"`
	Path                string          `json:"path,omitempty"`
	Data                map[string]any  `json:"data,omitempty"`
	RemoteAddress       string          `json:"remote_address,omitempty"`
	WrapTTL             int64           `json:"wrap_ttl,omitempty"`
}

type entryWrapInfo struct {
	TTL             int64  `json:"ttl"`
	Token           string `json:"token"`
	Accessor        string `json:"accessor"`
	CreationTime    string `json:"creation_time"`
	CreationPath    string `json:"creation_path"`
	WrappedAccessor string `json:"wrapped_accessor,omitempty"`
}

type entryResponse struct {
	MountType  string         `json:"mount_type,omitempty"`
	MountPoint string         `json:"mount_point,omitempty"`
	Auth       *entryAuth     `json:"auth,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
	WrapInfo   *entryWrapInfo `json:"wrap_info,omitempty"`
	Warnings   []string       `json:"warnings,omitempty"`
}

var rootNamespace = &entryNamespace{ID: "root"}

// format builds the hashed entry and encodes it as one line.
func (be *backend) format(typ string, in *Input) ([]byte, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: nil input", ErrInvalidConfig)
	}
	e := entry{Time: in.Time.UTC().Format(time.RFC3339Nano), Type: typ, Error: in.Error}
	e.Auth = be.auth(in.Auth)
	if e.Auth == nil {
		e.Auth = &entryAuth{}
	}
	if r := in.Request; r != nil {
		data, err := be.h.hashMap(r.Data)
		if err != nil {
			return nil, err
		}
		e.Request = &entryRequest{
			ID: r.ID, Operation: r.Operation, MountType: r.MountType, MountPoint: r.MountPoint,
			ClientToken: be.h.hashNonEmpty(r.ClientToken), ClientTokenAccessor: be.accessor(r.ClientTokenAccessor),
			Namespace: rootNamespace, Path: r.Path, Data: data, RemoteAddress: r.RemoteAddress,
			WrapTTL: int64(r.WrapTTL / time.Second),
		}
	}
	if typ == "response" {
		er := &entryResponse{}
		if r := in.Response; r != nil {
			data, err := be.h.hashMap(r.Data)
			if err != nil {
				return nil, err
			}
			if be.opts.ElideListResponses {
				data = elideKeys(data)
			}
			er.MountType, er.MountPoint, er.Data, er.Warnings = r.MountType, r.MountPoint, data, r.Warnings
			er.Auth = be.auth(r.Auth)
			if w := r.WrapInfo; w != nil {
				er.WrapInfo = &entryWrapInfo{
					TTL: int64(w.TTL / time.Second), Token: be.h.hashNonEmpty(w.Token), Accessor: be.accessor(w.Accessor),
					CreationTime: w.CreationTime.UTC().Format(time.RFC3339Nano), CreationPath: w.CreationPath,
					WrappedAccessor: be.accessor(w.WrappedAccessor),
				}
			}
		}
		e.Response = er
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("audit: encoding entry: %w", err)
	}
	return append(b, '\n'), nil
}

func (be *backend) accessor(a string) string {
	if be.opts.HMACAccessor {
		return be.h.hashNonEmpty(a)
	}
	return a
}

func (be *backend) auth(a *Auth) *entryAuth {
	if a == nil {
		return nil
	}
	out := &entryAuth{
		ClientToken: be.h.hashNonEmpty(a.ClientToken), Accessor: be.accessor(a.Accessor),
		DisplayName: a.DisplayName, Policies: a.Policies, TokenPolicies: a.TokenPolicies,
		Metadata: a.Metadata, NumUses: a.NumUses, EntityID: a.EntityID, TokenType: a.TokenType,
		TokenTTL: a.TokenTTL, Orphan: a.Orphan,
	}
	if !a.TokenIssueTime.IsZero() {
		out.TokenIssueTime = a.TokenIssueTime.UTC().Format(time.RFC3339)
	}
	return out
}

// elideKeys replaces a list response's "keys" by their number.
func elideKeys(data map[string]any) map[string]any {
	keys, ok := data["keys"].([]any)
	if !ok {
		return data
	}
	out := make(map[string]any, len(data))
	for k, v := range data {
		out[k] = v
	}
	out["keys"] = len(keys)
	return out
}
