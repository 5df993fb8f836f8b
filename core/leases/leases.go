// Package leases serves vaultd's lease endpoints. Tokens are the only
// leased objects vaultd has. A token's lease ID is
// "<token path>/<salted ID hash>", e.g. "auth/userpass/login/alice/3f9c…"
// or "auth/token/create/8b1e…": the path it was created through (so
// revoke-prefix "auth/userpass/" revokes every userpass login) and the
// hash its entry is stored under (never the token itself). LIST
// sys/leases/lookup/<prefix> (sudo) walks these IDs.
//
// It keeps no state of its own: it reads and revokes through core/tokens.
// It imports secrets, core/tokens and core/internal/reqfield.
package leases

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/vaultd/vaultd/core/internal/reqfield"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/secrets"
)

// Config configures a Service.
type Config struct {
	Tokens *tokens.Store
	Now    func() time.Time
	Logger *slog.Logger
}

// Service serves the lease endpoints over the token store.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New builds a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, log: cfg.Logger}
}

// Response is what a lease endpoint answers: Data, or a renewed lease.
// Empty means 204.
type Response struct {
	Data          map[string]any
	Warnings      []string
	LeaseID       string
	LeaseDuration int
	Renewable     bool
}

func badRequest(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

func unsupportedOp() error {
	return secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
}

// leaseID is te's lease ID.
func leaseID(te *tokens.Entry) string { return te.Path + "/" + te.IDHash }

// tokenByLease resolves a lease ID to its token (tokens.ErrNotFound when it
// names none).
func (s *Service) tokenByLease(ctx context.Context, id string) (*tokens.Entry, error) {
	i := strings.LastIndexByte(id, '/')
	if i <= 0 || !isHexHash(id[i+1:]) {
		return nil, tokens.ErrNotFound
	}
	te, err := s.cfg.Tokens.GetByHash(ctx, id[i+1:])
	if err != nil {
		return nil, err
	}
	if te.Path != id[:i] || te.Expired(s.cfg.Now()) || te.NumUses < 0 {
		return nil, tokens.ErrNotFound
	}
	return te, nil
}

func isHexHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}

// RevokePrefix revokes every token whose lease ID starts with prefix
// (with its children) and returns how many it revoked.
func (s *Service) RevokePrefix(ctx context.Context, prefix string) (int, error) {
	var hashes []string
	err := s.cfg.Tokens.ForEach(ctx, func(te *tokens.Entry) error {
		if strings.HasPrefix(leaseID(te), prefix) {
			hashes = append(hashes, te.IDHash)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, h := range hashes {
		if err := s.cfg.Tokens.RevokeTree(ctx, h); err != nil {
			return 0, err
		}
	}
	return len(hashes), nil
}

func leaseIDField(d map[string]any, fromPath string) (string, error) {
	id, err := reqfield.String(d, "lease_id")
	if err != nil {
		return "", err
	}
	if id == "" {
		id = fromPath
	}
	if id == "" {
		return "", badRequest("lease_id must be specified")
	}
	return id, nil
}

// Handle serves sys/leases/{lookup,renew,revoke,revoke-prefix,
// revoke-force,tidy} and the legacy sys/renew, sys/revoke,
// sys/revoke-prefix, sys/revoke-force.
func (s *Service) Handle(ctx context.Context, op secrets.Operation, path string, d map[string]any) (*Response, error) {
	sub := strings.TrimPrefix(strings.TrimPrefix(path, "sys/leases"), "/")
	if !strings.HasPrefix(path, "sys/leases") {
		sub = strings.TrimPrefix(path, "sys/") // renew, revoke, revoke-prefix/…, revoke-force/…
	}
	write := op == secrets.OpUpdate || op == secrets.OpCreate
	verb, arg, _ := strings.Cut(sub, "/")
	switch verb {
	case "lookup":
		if op == secrets.OpList {
			return s.listLeases(ctx, arg)
		}
		if !write || arg != "" {
			return nil, unsupportedOp()
		}
		id, err := leaseIDField(d, "")
		if err != nil {
			return nil, err
		}
		te, err := s.tokenByLease(ctx, id)
		if errors.Is(err, tokens.ErrNotFound) {
			return nil, badRequest("invalid lease")
		}
		if err != nil {
			return nil, err
		}
		var expire any
		ttl := int64(0)
		if !te.ExpireTime.IsZero() {
			expire = te.ExpireTime.UTC().Format(time.RFC3339Nano)
			ttl = max(int64(te.ExpireTime.Sub(s.cfg.Now())/time.Second), 0)
		}
		var lastRenewal any
		if !te.LastRenewal.IsZero() {
			lastRenewal = te.LastRenewal.UTC().Format(time.RFC3339Nano)
		}
		return &Response{Data: map[string]any{
			"id": id, "issue_time": te.CreationTime.UTC().Format(time.RFC3339Nano), "expire_time": expire,
			"last_renewal": lastRenewal, "renewable": te.Renewable && !te.ExpireTime.IsZero(), "ttl": ttl,
		}}, nil
	case "renew":
		if !write {
			return nil, unsupportedOp()
		}
		id, err := leaseIDField(d, arg)
		if err != nil {
			return nil, err
		}
		inc, _, err := reqfield.Duration(d, "increment")
		if err != nil {
			return nil, err
		}
		te, err := s.tokenByLease(ctx, id)
		if errors.Is(err, tokens.ErrNotFound) {
			return nil, badRequest("lease not found")
		}
		if err != nil {
			return nil, err
		}
		updated, ttl, warnings, err := s.cfg.Tokens.Renew(ctx, te.IDHash, inc)
		if errors.Is(err, tokens.ErrNotFound) {
			return nil, badRequest("lease not found")
		}
		if err != nil {
			return nil, err
		}
		return &Response{LeaseID: id, Renewable: updated.Renewable, LeaseDuration: int(ttl / time.Second), Warnings: warnings, Data: map[string]any{}}, nil
	case "revoke":
		if !write {
			return nil, unsupportedOp()
		}
		id, err := leaseIDField(d, arg)
		if err != nil {
			return nil, err
		}
		te, err := s.tokenByLease(ctx, id)
		if errors.Is(err, tokens.ErrNotFound) {
			return &Response{}, nil // revoking an absent lease succeeds, as in Vault
		}
		if err != nil {
			return nil, err
		}
		if err := s.cfg.Tokens.RevokeTree(ctx, te.IDHash); err != nil {
			return nil, err
		}
		return &Response{}, nil
	case "revoke-prefix", "revoke-force":
		if !write {
			return nil, unsupportedOp()
		}
		if arg == "" {
			return nil, badRequest("a prefix is required")
		}
		if !strings.HasSuffix(arg, "/") {
			arg += "/" // Vault: a prefix names whole path segments
		}
		if _, err := s.RevokePrefix(ctx, arg); err != nil {
			return nil, err
		}
		return &Response{}, nil
	case "tidy":
		if !write {
			return nil, unsupportedOp()
		}
		s.cfg.Tokens.RevokeExpired(ctx, s.log)
		return &Response{}, nil
	}
	return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
}

// listLeases lists the next segment of every lease ID below prefix.
func (s *Service) listLeases(ctx context.Context, prefix string) (*Response, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	now := s.cfg.Now()
	seen := map[string]bool{}
	err := s.cfg.Tokens.ForEach(ctx, func(te *tokens.Entry) error {
		if te.Expired(now) || te.NumUses < 0 {
			return nil
		}
		id := leaseID(te)
		rest, ok := strings.CutPrefix(id, prefix)
		if !ok {
			return nil
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i+1]
		}
		seen[rest] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(seen) == 0 {
		return nil, secrets.Errorf(secrets.ErrNotFound, "not found")
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return &Response{Data: map[string]any{"keys": keys}}, nil
}
