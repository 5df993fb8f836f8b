package transit

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// getKey returns a key for using it (encrypt, decrypt, sign, verify, HMAC,
// export, read), applying a due auto-rotation first, and the func that
// releases it; (nil, noRelease, nil) when absent. The policy may be shared
// (engine.readKey): the caller must not change or zero it.
func (e *engine) getKey(ctx context.Context, s storage.Backend, name string) (*policy, func(), error) {
	p, release, err := e.readKey(ctx, s, name)
	if err != nil || p == nil || !p.rotationDue(e.now()) {
		return p, release, err
	}
	release()
	mu := e.lock(name)
	mu.Lock()
	defer mu.Unlock()
	p, err = loadPolicy(ctx, s, name)
	if err != nil || p == nil {
		return nil, noRelease, err
	}
	if !p.rotationDue(e.now()) {
		return p, p.zero, nil
	}
	if err := p.rotate(e.now(), e.rand); err != nil {
		p.zero()
		return nil, noRelease, err
	}
	if err := p.save(ctx, s); err != nil {
		p.zero()
		return nil, noRelease, err
	}
	e.log.Info("transit key auto-rotated", "key", name, "version", p.LatestVersion)
	return p, p.zero, nil
}

// keyList answers LIST keys/.
func (e *engine) keyList(ctx context.Context, req *secrets.Request, _ params) (*secrets.Response, error) {
	names, err := req.Storage.List(ctx, policyPrefix)
	if err != nil {
		return nil, fmt.Errorf("transit: list keys: %w", err)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !strings.HasSuffix(n, "/") {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, notFound()
	}
	return &secrets.Response{Data: map[string]any{"keys": out}}, nil
}

// keyCreate answers a write to keys/:name. Writing an existing key is not
// an error: Vault answers the key with a warning.
func (e *engine) keyCreate(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	d := req.Data
	typ, _, err := stringField(d, "type")
	if err != nil {
		return nil, err
	}
	if typ == "" {
		typ = defaultKeyType
	}
	spec, ok := keyTypes[typ]
	if !ok {
		return nil, invalidf("unknown key type %v", typ)
	}
	derived, _, err := boolField(d, "derived")
	if err != nil {
		return nil, err
	}
	convergent, _, err := boolField(d, "convergent_encryption")
	if err != nil {
		return nil, err
	}
	if convergent && !derived {
		return nil, invalidf("convergent encryption requires derivation to be enabled")
	}
	if derived {
		return nil, invalidf("key derivation (derived=true) is not supported")
	}
	exportable, _, err := boolField(d, "exportable")
	if err != nil {
		return nil, err
	}
	backup, _, err := boolField(d, "allow_plaintext_backup")
	if err != nil {
		return nil, err
	}
	period, _, err := durationField(d, "auto_rotate_period")
	if err != nil {
		return nil, err
	}
	if err := checkRotatePeriod(period); err != nil {
		return nil, err
	}

	mu := e.lock(pr.name)
	mu.Lock()
	defer mu.Unlock()
	p, err := loadPolicy(ctx, req.Storage, pr.name)
	if err != nil {
		return nil, err
	}
	if p != nil {
		defer p.zero()
		resp := &secrets.Response{Data: p.info()}
		resp.Warnings = []string{fmt.Sprintf("key %s already existed", pr.name)}
		return resp, nil
	}
	p, err = newPolicy(pr.name, spec, e.now(), e.rand)
	if err != nil {
		return nil, err
	}
	defer p.zero()
	p.Exportable, p.AllowPlaintextBackup, p.AutoRotatePeriod = exportable, backup, period
	if err := p.save(ctx, req.Storage); err != nil {
		return nil, err
	}
	e.log.Info("transit key created", "key", pr.name, "type", typ)
	return &secrets.Response{Data: p.info()}, nil
}

// checkRotatePeriod is Vault's rule: 0 disables, else at least an hour.
func checkRotatePeriod(d time.Duration) error {
	if d != 0 && d < time.Hour {
		return invalidf("auto rotate period must be 0 to disable or at least an hour")
	}
	return nil
}

// keyRead answers GET keys/:name.
func (e *engine) keyRead(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	p, release, err := e.getKey(ctx, req.Storage, pr.name)
	if err != nil {
		return nil, err
	}
	defer release()
	if p == nil {
		return nil, notFound()
	}
	return &secrets.Response{Data: p.info()}, nil
}

// info is the key's public description (Vault's formatKeyPolicy); it
// never includes private key material.
func (p *policy) info() map[string]any {
	keys := map[string]any{}
	for v, kv := range p.Versions {
		if v < p.MinDecryptionVersion {
			continue
		}
		if kv == nil {
			continue // trimmed
		}
		if p.spec.aead() {
			keys[versionKey(v)] = kv.CreationTime.Unix()
			continue
		}
		pub, _ := publicKeyString(kv)
		keys[versionKey(v)] = map[string]any{
			"name":              signerName(p.spec),
			"public_key":        pub,
			"certificate_chain": "",
			"creation_time":     kv.CreationTime.Format(time.RFC3339Nano),
		}
	}
	return map[string]any{
		"name":                   p.Name,
		"type":                   p.Type,
		"keys":                   keys,
		"latest_version":         p.LatestVersion,
		"min_available_version":  p.MinAvailableVersion,
		"min_decryption_version": p.MinDecryptionVersion,
		"min_encryption_version": p.MinEncryptionVersion,
		"deletion_allowed":       p.DeletionAllowed,
		"derived":                false,
		"exportable":             p.Exportable,
		"allow_plaintext_backup": p.AllowPlaintextBackup,
		"auto_rotate_period":     int64(p.AutoRotatePeriod / time.Second),
		"imported_key":           false,
		"supports_encryption":    p.spec.encrypts(),
		"supports_decryption":    p.spec.encrypts(),
		"supports_derivation":    p.spec.derivation(),
		"supports_signing":       p.spec.signing(),
	}
}

// signerName is Vault's "name" of an asymmetric key version.
func signerName(s *keySpec) string {
	if s.ed {
		return "ed25519"
	}
	if s.rsa > 0 {
		return s.name
	}
	return s.curveName()
}

// publicKeyString is Vault's public key rendering: base64 for ed25519,
// PEM (PKIX) for ECDSA.
func publicKeyString(kv *keyVersion) (string, error) {
	switch k := kv.signer.Public().(type) {
	case ed25519.PublicKey:
		return base64.StdEncoding.EncodeToString(k), nil
	case *ecdsa.PublicKey, *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return "", fmt.Errorf("transit: encode public key: %w", err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
	default:
		return "", fmt.Errorf("%w: no public key", ErrCorrupt)
	}
}

// keyDelete answers DELETE keys/:name; allowed only once
// deletion_allowed is set.
func (e *engine) keyDelete(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	p, release, err := e.lockPolicy(ctx, req.Storage, pr.name, invalidf("error deleting policy %s: could not delete key; not found", pr.name))
	if err != nil {
		return nil, err
	}
	defer release()
	if !p.DeletionAllowed {
		return nil, invalidf("error deleting policy %s: deletion is not allowed for this key", pr.name)
	}
	if err := req.Storage.Delete(ctx, policyKey(pr.name)); err != nil {
		return nil, fmt.Errorf("transit: delete key: %w", err)
	}
	e.log.Info("transit key deleted", "key", pr.name)
	return &secrets.Response{}, nil
}

// keyRotate answers keys/:name/rotate.
func (e *engine) keyRotate(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	p, release, err := e.lockPolicy(ctx, req.Storage, pr.name, invalidf("key not found"))
	if err != nil {
		return nil, err
	}
	defer release()
	if err := p.rotate(e.now(), e.rand); err != nil {
		return nil, err
	}
	if err := p.save(ctx, req.Storage); err != nil {
		return nil, err
	}
	e.log.Info("transit key rotated", "key", pr.name, "version", p.LatestVersion)
	return &secrets.Response{Data: p.info()}, nil
}

// keyConfig answers keys/:name/config.
func (e *engine) keyConfig(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	d := req.Data
	p, release, err := e.lockPolicy(ctx, req.Storage, pr.name, invalidf("no existing key named %s could be found", pr.name))
	if err != nil {
		return nil, err
	}
	defer release()
	var warnings []string
	changed := false

	if v, set, err := versionField(d, "min_decryption_version"); err != nil {
		return nil, err
	} else if set {
		switch {
		case v < 0:
			return nil, invalidf("min decryption version cannot be negative")
		case v == 0:
			v = 1
			warnings = append(warnings, "since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1")
		}
		if v > p.LatestVersion {
			return nil, invalidf("cannot set min decryption version of %d, latest key version is %d", v, p.LatestVersion)
		}
		if v < p.MinAvailableVersion {
			return nil, invalidf("cannot set min decryption version of %d below the min available version %d: older versions were trimmed", v, p.MinAvailableVersion)
		}
		if v != p.MinDecryptionVersion {
			p.MinDecryptionVersion, changed = v, true
		}
	}
	if v, set, err := versionField(d, "min_encryption_version"); err != nil {
		return nil, err
	} else if set {
		if v < 0 {
			return nil, invalidf("min encryption version cannot be negative")
		}
		if v > p.LatestVersion {
			return nil, invalidf("cannot set min encryption version of %d, latest key version is %d", v, p.LatestVersion)
		}
		if v != p.MinEncryptionVersion {
			p.MinEncryptionVersion, changed = v, true
		}
	}
	if p.MinEncryptionVersion > 0 && p.MinEncryptionVersion < p.MinDecryptionVersion {
		return nil, invalidf("min encryption version should not be less than min decryption version")
	}
	for _, f := range []struct {
		name   string
		v      *bool
		oneWay string // when set, the flag cannot go back to false: the error
	}{
		{"deletion_allowed", &p.DeletionAllowed, ""},
		{"exportable", &p.Exportable, "exportable key setting cannot be disabled"},
		{"allow_plaintext_backup", &p.AllowPlaintextBackup, "plaintext backup cannot be disabled"},
	} {
		b, set, err := boolField(d, f.name)
		switch {
		case err != nil:
			return nil, err
		case !set:
			continue
		case f.oneWay != "" && *f.v && !b:
			return nil, invalidf("%s", f.oneWay)
		case b != *f.v:
			*f.v, changed = b, true
		}
	}
	if period, set, err := durationField(d, "auto_rotate_period"); err != nil {
		return nil, err
	} else if set {
		if err := checkRotatePeriod(period); err != nil {
			return nil, err
		}
		if period != p.AutoRotatePeriod {
			p.AutoRotatePeriod, changed = period, true
		}
	}
	if changed {
		if err := p.save(ctx, req.Storage); err != nil {
			return nil, err
		}
		e.log.Info("transit key config updated", "key", pr.name)
	}
	return &secrets.Response{Data: p.info(), Warnings: warnings}, nil
}
