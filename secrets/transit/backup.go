package transit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// backupFormat tags vaultd's backup documents.
const backupFormat = "vaultd-transit-backup-v1"

// backupDoc is what GET backup/:name returns, base64-encoded JSON: the
// whole key (every version's material) and when it was taken. It is
// plaintext key material, so Vault's rules apply: only keys that are
// both exportable and allow_plaintext_backup can be backed up.
type backupDoc struct {
	Format     string          `json:"format"`
	Policy     json.RawMessage `json:"policy"`
	BackupTime time.Time       `json:"backup_time"`
	Version    int             `json:"backup_version"`
}

// backup answers GET backup/:name.
func (e *engine) backup(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	p, release, err := e.lockPolicy(ctx, req.Storage, pr.name, invalidf("key %q not found", pr.name))
	if err != nil {
		return nil, err
	}
	defer release()
	if !p.Exportable {
		return nil, invalidf("exporting is disallowed on the policy")
	}
	if !p.AllowPlaintextBackup {
		return nil, invalidf("plaintext backup is disallowed on the policy")
	}
	pj, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("transit: encode backup: %w", err)
	}
	defer clear(pj)
	doc, err := json.Marshal(backupDoc{Format: backupFormat, Policy: pj, BackupTime: e.now().UTC(), Version: p.LatestVersion})
	if err != nil {
		return nil, fmt.Errorf("transit: encode backup: %w", err)
	}
	defer clear(doc)
	e.log.Info("transit key backed up", "key", pr.name)
	return &secrets.Response{Data: map[string]any{"backup": base64.StdEncoding.EncodeToString(doc)}}, nil
}

// restore answers POST restore and restore/:name: the key comes back
// under the path's name (or "name", or its own), with all its versions
// and settings. An existing key is replaced only with force=true.
func (e *engine) restore(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	b64, _, err := stringField(req.Data, "backup")
	if err != nil {
		return nil, err
	}
	if b64 == "" {
		return nil, invalidf("'backup' must be supplied")
	}
	force, _, err := boolField(req.Data, "force")
	if err != nil {
		return nil, err
	}
	name := pr.name
	if name == "" {
		if name, _, err = stringField(req.Data, "name"); err != nil {
			return nil, err
		}
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, invalidf("failed to decode the backup: not base64")
	}
	defer clear(raw)
	var doc backupDoc
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Format != backupFormat || len(doc.Policy) == 0 {
		return nil, invalidf("failed to decode the backup: not a vaultd transit backup")
	}
	var p policy
	if err := json.Unmarshal(doc.Policy, &p); err != nil {
		return nil, invalidf("failed to decode the backup: malformed key")
	}
	defer clear(doc.Policy)
	if name == "" {
		name = p.Name
	}
	if !validName(name) {
		p.zero()
		return nil, invalidf("invalid key name %q", name)
	}
	p.Name = name
	if err := p.init(); err != nil || p.Versions[p.LatestVersion] == nil || p.MinAvailableVersion > p.MinDecryptionVersion {
		p.zero()
		return nil, invalidf("failed to decode the backup: inconsistent key")
	}
	defer p.zero()
	mu := e.lock(name)
	mu.Lock()
	defer mu.Unlock()
	old, err := loadPolicy(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if old != nil {
		old.zero()
		if !force {
			return nil, invalidf("key %q already exists", name)
		}
	}
	if err := p.save(ctx, req.Storage); err != nil {
		return nil, err
	}
	e.log.Info("transit key restored", "key", name, "forced", old != nil)
	return &secrets.Response{}, nil
}

// keyTrim answers POST keys/:name/trim: versions below
// min_available_version are deleted for good. Vault's rules: it needs
// min_encryption_version set, and may not exceed it nor
// min_decryption_version, nor go down.
func (e *engine) keyTrim(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	v, set, err := versionField(req.Data, "min_available_version")
	if err != nil {
		return nil, err
	}
	if !set {
		return nil, invalidf("missing min_available_version")
	}
	if v <= 0 {
		return nil, invalidf("minimum available version should be positive")
	}
	p, release, err := e.lockPolicy(ctx, req.Storage, pr.name, invalidf("invalid key name %q", pr.name))
	if err != nil {
		return nil, err
	}
	defer release()
	switch {
	case v < p.MinAvailableVersion:
		return nil, invalidf("minimum available version cannot be decremented")
	case p.MinEncryptionVersion == 0:
		return nil, invalidf("minimum available version cannot be set when minimum encryption version is not set")
	case v > p.MinEncryptionVersion:
		return nil, invalidf("minimum available version cannot be greater than minimum encryption version")
	case v > p.MinDecryptionVersion:
		return nil, invalidf("minimum available version cannot be greater than minimum decryption version")
	}
	for ver, kv := range p.Versions {
		if ver < v {
			kv.Key.zero()
			kv.HMACKey.zero()
			delete(p.Versions, ver)
		}
	}
	p.MinAvailableVersion = v
	if err := p.save(ctx, req.Storage); err != nil {
		return nil, err
	}
	e.log.Info("transit key trimmed", "key", pr.name, "min_available_version", v)
	return &secrets.Response{Data: p.info()}, nil
}
