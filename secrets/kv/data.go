package kv

import (
	"context"
	"net/http"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Vault's check-and-set messages.
const (
	msgCASMismatch = "check-and-set parameter did not match the current version"
	msgCASRequired = "check-and-set parameter required for this call"
	msgCASParse    = "error parsing check-and-set parameter"
	msgNoData      = "no data provided"
)

// versionParam reads the optional ?version=N; 0 (or absent) means latest.
func versionParam(d *endpoint.Data) uint64 {
	n := d.Int64("version")
	if n < 0 {
		return 0
	}
	return uint64(n)
}

// dataRead serves GET data/:path[?version=N]. A deleted or destroyed
// version answers 404 with {"data": null, "metadata": {...}}, as Vault does.
func (b *v2) dataRead(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	if err := checkWriteKey(key); err != nil {
		return nil, err
	}
	want := versionParam(d)
	l := b.locks.forKey(key)
	l.RLock()
	defer l.RUnlock()

	meta, err := loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, notFound()
	}
	n := meta.CurrentVersion
	if want > 0 {
		n = want
	}
	vm := meta.Versions[n]
	if vm == nil {
		return nil, notFound()
	}
	resp := &secrets.Response{Data: map[string]any{
		"data":     nil,
		"metadata": meta.versionView(n, vm),
	}}
	if vm.Destroyed || vm.isDeleted(b.now()) {
		resp.StatusCode = http.StatusNotFound
		return resp, nil
	}
	data, err := loadVersionData(ctx, req.Storage, key, n)
	if err != nil {
		return nil, err
	}
	resp.Data["data"] = data
	return resp, nil
}

// checkCAS applies the cas option (and cas_required of mount or key).
func checkCAS(d *endpoint.Data, c *mountConfig, meta *keyMetadata) error {
	var casRaw any
	casSet := false
	if opts := d.Map("options"); opts != nil {
		casRaw, casSet = opts["cas"]
	}
	if casSet {
		v, err := endpoint.Convert("cas", endpoint.TypeInt64, casRaw)
		if err != nil || casRaw == nil {
			return invalidf(msgCASParse)
		}
		cas := v.(int64)
		if cas < 0 || uint64(cas) != meta.CurrentVersion {
			return secrets.Errorf(secrets.ErrCASMismatch, msgCASMismatch)
		}
		return nil
	}
	if c.CASRequired || meta.CASRequired {
		return invalidf(msgCASRequired)
	}
	return nil
}

// dataWrite serves POST/PUT data/:path {"data": {...}, "options": {"cas": N}}:
// it adds a version and answers its metadata.
func (b *v2) dataWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	if err := checkWriteKey(key); err != nil {
		return nil, err
	}
	data, ok := d.Map("data"), d.Has("data")
	if !ok {
		return nil, invalidf(msgNoData)
	}
	raw, err := encodeObject(data)
	if err != nil {
		return nil, err
	}

	l := b.locks.forKey(key)
	l.Lock()
	defer l.Unlock()

	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	meta, err := loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		meta = &keyMetadata{Versions: map[uint64]*versionMeta{}}
	}
	if err := checkCAS(d, c, meta); err != nil {
		return nil, err
	}
	return b.commitVersion(ctx, req.Storage, key, c, meta, raw)
}

// commitVersion adds a version holding raw to meta and writes version,
// trimmed versions and metadata in one Txn. The caller holds key's lock.
func (b *v2) commitVersion(ctx context.Context, s storage.Backend, key string, c *mountConfig, meta *keyMetadata, raw []byte) (*secrets.Response, error) {
	now := b.now().UTC()
	n, removed := meta.addVersion(now, deletionTimeFor(now, c, meta), c)
	vop, err := putOp(versionKey(key, n), versionRecord{Data: raw})
	if err != nil {
		return nil, err
	}
	ops := make([]storage.Op, 0, len(removed)+3)
	ops = append(ops, metaCheck(key, meta), vop)
	for _, v := range removed {
		ops = append(ops, storage.Op{Kind: storage.OpDelete, Key: versionKey(key, v)})
	}
	mop, err := putOp(metadataKey(key), meta)
	if err != nil {
		return nil, err
	}
	ops = append(ops, mop)
	if err := txn(ctx, s, ops); err != nil {
		return nil, err
	}
	vm := meta.Versions[n]
	return &secrets.Response{Data: meta.versionView(n, vm)}, nil
}

// dataPatch serves PATCH data/:path: an RFC 7386 merge patch of "data" onto
// the latest version, written as a new version. The latest version must
// exist and be neither deleted nor destroyed.
func (b *v2) dataPatch(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	if err := checkWriteKey(key); err != nil {
		return nil, err
	}
	patch, ok := d.Map("data"), d.Has("data")
	if !ok {
		return nil, invalidf(msgNoData)
	}

	l := b.locks.forKey(key)
	l.Lock()
	defer l.Unlock()

	meta, err := loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, notFound()
	}
	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if err := checkCAS(d, c, meta); err != nil {
		return nil, err
	}
	cur := meta.CurrentVersion
	vm := meta.Versions[cur]
	if vm == nil {
		return nil, notFound()
	}
	if vm.Destroyed || vm.isDeleted(b.now()) {
		// Vault answers the version's metadata, flat, with the 404.
		return &secrets.Response{Data: meta.versionView(cur, vm), StatusCode: http.StatusNotFound}, nil
	}
	existing, err := loadVersionData(ctx, req.Storage, key, cur)
	if err != nil {
		return nil, err
	}
	merged, _ := mergePatch(existing, patch).(map[string]any) // patch is an object, so the result is too
	raw, err := encodeObject(merged)
	if err != nil {
		return nil, err
	}
	return b.commitVersion(ctx, req.Storage, key, c, meta, raw)
}

// dataDelete serves DELETE data/:path: a soft delete of the latest version.
// It is a no-op when there is nothing to delete.
func (b *v2) dataDelete(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	if err := checkWriteKey(key); err != nil {
		return nil, err
	}
	l := b.locks.forKey(key)
	l.Lock()
	defer l.Unlock()

	meta, err := loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return noContent(), nil
	}
	now := b.now().UTC()
	lv := meta.Versions[meta.CurrentVersion]
	if lv == nil || lv.Destroyed || lv.isDeleted(now) {
		return noContent(), nil
	}
	lv.DeletionTime = now
	if err := writeMeta(ctx, req.Storage, key, meta); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// writeMeta writes key's metadata alone, provided the stored record is
// still the one meta was read from.
func writeMeta(ctx context.Context, s storage.Backend, key string, meta *keyMetadata) error {
	op, err := putOp(metadataKey(key), meta)
	if err != nil {
		return err
	}
	return txn(ctx, s, []storage.Op{metaCheck(key, meta), op})
}
